"""Plain create and update of records, shared by every record type.

Only the fields listed in EDITABLE_FIELDS may be set here; state fields (deal stage and status,
lead conversion, ticket response times…) change only through their own services.
"""

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext as _

from crm.custom_fields import same_values, validate_custom_values
from crm.limits import check_text_lengths
from crm.models import Company, Contact, Deal, Expense, Lead, SurveyAnswer, Task, Ticket, User

from .events import changes_between, event_record, events_record_each, snapshot

EDITABLE_FIELDS: dict[type[models.Model], list[str]] = {
    Company: ["name", "domain", "industry", "size_band", "owner", "team", "address", "notes"],
    Contact: [
        "first_name",
        "last_name",
        "email",
        "phone",
        "title",
        "company",
        "lifecycle_stage",
        "language",
        "owner",
        "team",
    ],
    Lead: ["name", "email", "phone", "company_name", "source", "score", "owner", "team"],
    Deal: [
        "name",
        "company",
        "contact",
        "amount",
        "currency",
        "exchange_rate",
        "kind",
        "expected_close_date",
        "owner",
        "team",
    ],
    Task: [
        "title",
        "notes",
        "due_at",
        "priority",
        "assignee",
        "parent",
        "lead",
        "contact",
        "company",
        "deal",
        "ticket",
    ],
    Ticket: [
        "subject",
        "description",
        "contact",
        "company",
        "channel",
        "priority",
        "assignee",
        "team",
    ],
    Expense: ["spent_on", "amount", "currency", "category", "description"],
    SurveyAnswer: [],
}
# Fields a record may be given when it is created, besides its editable ones.
CREATE_ONLY_FIELDS: dict[type[models.Model], list[str]] = {
    Company: ["created_at"],
    Contact: ["created_at"],
    Lead: ["created_at"],
    Deal: ["created_at", "source_lead"],
    Task: ["created_at", "created_by"],
    Ticket: ["created_at"],
    Expense: [],
}


def record_create(
    model: type[models.Model], *, actor: User | None, data: dict, state: dict | None = None
) -> models.Model:
    """Create a record from user data; `state` holds fields the calling service decided."""
    allowed = EDITABLE_FIELDS[model] + CREATE_ONLY_FIELDS.get(model, [])
    _refuse_unknown_fields(model, data, allowed)
    state = state or {}
    instance = model(**{k: v for k, v in data.items() if k != "custom"}, **state)
    if _has_custom_fields(model) and "custom" in data:
        instance.custom = validate_custom_values(_record_type(model), data["custom"])
    # Without "custom" nobody was asked for values (a conversion, a public request, an
    # automation): the record starts with none, like one made before a field was required.
    _apply_defaults(instance, actor)
    check_text_lengths(instance)
    instance.full_clean()
    with transaction.atomic():
        instance.save()
        fields = [n for n in allowed if n in data or n in ("owner", "team")] + list(state)
        changes = {name: [None, value] for name, value in snapshot(instance, fields).items()}
        if _has_custom_fields(model) and instance.custom:
            changes["custom"] = [None, instance.custom]
        event_record(
            type=f"{model._meta.model_name}.created",
            instance=instance,
            actor=actor,
            changes=changes,
        )
    return instance


def records_create_many(
    model: type[models.Model], *, actor: User | None, rows: list[dict]
) -> list[models.Model | ValidationError]:
    """Many records of one model, each checked as record_create checks it (fields, custom
    values, defaults, lengths, full_clean) and given its own "<type>.created" event, written
    with one insert per table (an import's batch: 100,000 rows one by one took minutes).

    Returns, in order, each saved record or the ValidationError of a row that was refused
    (not written). A related record given as a saved instance was read from the database by
    the caller, so it is not looked up again."""
    allowed = EDITABLE_FIELDS[model] + CREATE_ONLY_FIELDS.get(model, [])
    results: list = []
    for data in rows:
        try:
            _refuse_unknown_fields(model, data, allowed)
            instance = model(**{k: v for k, v in data.items() if k != "custom"})
            if _has_custom_fields(model) and "custom" in data:
                instance.custom = validate_custom_values(_record_type(model), data["custom"])
            _apply_defaults(instance, actor)
            check_text_lengths(instance)
            instance.full_clean(exclude=_saved_relations(instance))
        except ValidationError as error:
            results.append(error)
        else:
            results.append(instance)
    saved = [
        (result, data)
        for result, data in zip(results, rows, strict=True)
        if not isinstance(result, ValidationError)
    ]
    with transaction.atomic():
        model._default_manager.bulk_create([instance for instance, _data in saved])
        events_record_each(
            type=f"{model._meta.model_name}.created",
            changes_by_instance=[
                (instance, _creation_changes(instance, data, allowed)) for instance, data in saved
            ],
            actor=actor,
        )
    return results


def _saved_relations(instance: models.Model) -> list[str]:
    return [
        field.name
        for field in instance._meta.concrete_fields
        if field.many_to_one
        and field.is_cached(instance)
        and getattr(field.get_cached_value(instance), "pk", None) is not None
    ]


def _creation_changes(instance: models.Model, data: dict, allowed: list[str]) -> dict:
    fields = [n for n in allowed if n in data or n in ("owner", "team")]
    changes = {name: [None, value] for name, value in snapshot(instance, fields).items()}
    if _has_custom_fields(type(instance)) and instance.custom:
        changes["custom"] = [None, instance.custom]
    return changes


def record_update(instance: models.Model, *, actor: User | None, data: dict) -> models.Model:
    model = type(instance)
    _refuse_unknown_fields(model, data, EDITABLE_FIELDS[model])
    fields = [name for name in data if name != "custom"]
    before = snapshot(instance, fields)
    before_custom = dict(getattr(instance, "custom", {}) or {})
    for name in fields:
        setattr(instance, name, data[name])
    if "custom" in data:
        instance.custom = validate_custom_values(
            _record_type(model), data["custom"], existing=before_custom
        )
    check_text_lengths(instance, fields)
    instance.full_clean()
    changes = changes_between(before, snapshot(instance, fields))
    if "custom" in data and not same_values(before_custom, instance.custom):
        changes["custom"] = [before_custom, instance.custom]
    if not changes:
        return instance
    with transaction.atomic():
        instance.save(update_fields=_fields_to_save(instance, changes))
        event_record(
            type=f"{model._meta.model_name}.updated",
            instance=instance,
            actor=actor,
            changes=changes,
        )
    return instance


def _fields_to_save(instance, changes: dict) -> list[str]:
    fields = list(changes)
    if hasattr(instance, "updated_at"):
        fields.append("updated_at")
    return fields


def _refuse_unknown_fields(model, data: dict, allowed: list[str]) -> None:
    extra = sorted(set(data) - set(allowed) - ({"custom"} if _has_custom_fields(model) else set()))
    if extra:
        raise ValidationError({name: _("This field cannot be set here.") for name in extra})


def _has_custom_fields(model) -> bool:
    return any(field.name == "custom" for field in model._meta.concrete_fields)


def _record_type(model) -> str:
    return model._meta.model_name


def _apply_defaults(instance, actor: User | None) -> None:
    """New records belong to whoever creates them, and to that person's first team."""
    if hasattr(instance, "owner_id") and instance.owner_id is None and actor is not None:
        instance.owner = actor
    if hasattr(instance, "team_id") and instance.team_id is None:
        owner = getattr(instance, "owner", None)
        if owner is not None:
            instance.team = owner.teams.order_by("id").first()


def company_set_lifecycle(*, company: Company, lifecycle: str, actor: User | None) -> Company:
    """Move a company to a lifecycle stage by hand (automations, admins); subscriptions move it
    on their own. Becoming a customer stamps `customer_since`, churning stamps `churned_at`."""
    from django.utils import timezone

    from crm.models import Lifecycle

    if lifecycle not in Lifecycle.values:
        raise ValidationError({"lifecycle": _("Unknown lifecycle stage.")})
    with transaction.atomic():
        company = Company.objects.select_for_update().get(pk=company.pk)
        if company.lifecycle == lifecycle:
            return company
        now = timezone.now()
        changes = {"lifecycle": [company.lifecycle, lifecycle]}
        if lifecycle == Lifecycle.CUSTOMER:
            changes["customer_since"] = [company.customer_since, now]
            changes["churned_at"] = [company.churned_at, None]
            company.customer_since, company.churned_at = now, None
        elif lifecycle == Lifecycle.CHURNED:
            if company.customer_since is None:
                changes["customer_since"] = [None, now]
                company.customer_since = now
            changes["churned_at"] = [company.churned_at, now]
            company.churned_at = now
        company.lifecycle = lifecycle
        company.save(update_fields=["lifecycle", "customer_since", "churned_at", "updated_at"])
        event_record(
            type="company.lifecycle_changed",
            instance=company,
            actor=actor,
            changes={k: v for k, v in changes.items() if v[0] != v[1]},
        )
    return company
