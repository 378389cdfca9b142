"""What a file's column can become, per record type: model fields, custom fields, the
external id. Each record type also names its match keys and the services that write it."""

from dataclasses import dataclass, field

from django.db import models
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from crm import custom_fields
from crm.models import (
    Company,
    Contact,
    Deal,
    Expense,
    Lead,
    Subscription,
    Task,
    Ticket,
)

from .models import ImportType, MatchKey

EXTERNAL_ID = "external_id"
CUSTOM_PREFIX = "custom:"


@dataclass(frozen=True)
class Target:
    key: str
    label: str
    kind: str  # text, choice, decimal, integer, date, datetime, user, team, company, contact...
    required: bool = False
    choices: tuple = ()  # (value, label) pairs of a choice field
    custom: object = None  # the CustomField definition of a custom target


@dataclass(frozen=True)
class RecordKind:
    model: type[models.Model]
    fields: tuple[str, ...]
    match_keys: tuple[str, ...]
    # The field that holds a person responsible for the row (owner, assignee).
    person_field: str = ""
    # The extra choice-less targets that are no model field ("pipeline", "stage").
    extra: dict = field(default_factory=dict)
    updatable: bool = True


KINDS: dict[str, RecordKind] = {
    ImportType.COMPANY: RecordKind(
        Company,
        (
            "name",
            "domain",
            "industry",
            "size_band",
            "address",
            "notes",
            "owner",
            "team",
            "created_at",
        ),
        (MatchKey.DOMAIN, MatchKey.NAME, MatchKey.EXTERNAL_ID),
        person_field="owner",
    ),
    ImportType.CONTACT: RecordKind(
        Contact,
        (
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
            "created_at",
        ),
        (MatchKey.EMAIL, MatchKey.PHONE, MatchKey.EXTERNAL_ID),
        person_field="owner",
    ),
    ImportType.LEAD: RecordKind(
        Lead,
        (
            "name",
            "email",
            "phone",
            "company_name",
            "source",
            "score",
            "owner",
            "team",
            "created_at",
        ),
        (MatchKey.EMAIL, MatchKey.PHONE, MatchKey.NAME, MatchKey.EXTERNAL_ID),
        person_field="owner",
    ),
    ImportType.DEAL: RecordKind(
        Deal,
        (
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
            "created_at",
        ),
        (MatchKey.NAME, MatchKey.EXTERNAL_ID),
        person_field="owner",
        extra={"pipeline": "pipeline", "stage": "stage"},
    ),
    ImportType.TASK: RecordKind(
        Task,
        ("title", "notes", "due_at", "priority", "assignee", "contact", "company", "created_at"),
        (MatchKey.NAME, MatchKey.EXTERNAL_ID),
        person_field="assignee",
    ),
    ImportType.TICKET: RecordKind(
        Ticket,
        (
            "subject",
            "description",
            "contact",
            "company",
            "channel",
            "priority",
            "assignee",
            "team",
            "created_at",
        ),
        (MatchKey.NAME, MatchKey.EXTERNAL_ID),
        person_field="assignee",
    ),
    ImportType.SUBSCRIPTION: RecordKind(
        Subscription,
        ("company", "plan_name", "monthly_value", "start_date", "end_date", "term_end"),
        (MatchKey.EXTERNAL_ID,),
        updatable=False,
    ),
    ImportType.EXPENSE: RecordKind(
        Expense,
        ("spent_on", "amount", "currency", "category", "description"),
        (MatchKey.EXTERNAL_ID,),
    ),
}

# The field a "name" match compares, per model.
NAME_FIELDS = {Company: "name", Lead: "name", Deal: "name", Task: "title", Ticket: "subject"}
EMAIL_FIELDS = {Contact: "email", Lead: "email"}
PHONE_FIELDS = {Contact: "phone", Lead: "phone"}
DOMAIN_FIELDS = {Company: "domain"}


def kind_for(record_type: str) -> RecordKind:
    return KINDS[record_type]


def has_custom_fields(record_type: str) -> bool:
    return any(f.name == "custom" for f in kind_for(record_type).model._meta.concrete_fields)


def targets_for(record_type: str) -> list[Target]:
    """Every target of the record type, in form order: its fields, custom fields, the id."""
    kind = kind_for(record_type)
    targets = [_model_target(kind.model, name) for name in kind.fields]
    if kind.extra:
        targets += [
            Target("pipeline", _("Pipeline"), "pipeline"),
            Target("stage", _("Stage"), "stage"),
        ]
    if has_custom_fields(record_type):
        targets += [
            Target(
                CUSTOM_PREFIX + definition.key,
                definition.label,
                "custom",
                required=definition.required,
                custom=definition,
            )
            for definition in custom_fields.definitions_for(record_type)
        ]
    targets.append(Target(EXTERNAL_ID, _("External id (the file's own id)"), "external_id"))
    return targets


_RELATION_KINDS = {"user": "user", "team": "team", "company": "company", "contact": "contact"}


def _model_target(model, name: str) -> Target:
    model_field = model._meta.get_field(name)
    label = capfirst(str(model_field.verbose_name))
    required = not model_field.blank and not model_field.has_default()
    if model_field.is_relation:
        related = model_field.related_model._meta.model_name
        return Target(name, label, _RELATION_KINDS.get(related, related), required)
    if model_field.choices:
        choices = tuple((str(value), str(text)) for value, text in model_field.flatchoices)
        return Target(name, label, "choice", required, choices=choices)
    if isinstance(model_field, models.DecimalField):
        return Target(name, label, "decimal", required)
    if isinstance(model_field, models.IntegerField):
        return Target(name, label, "integer", required)
    if isinstance(model_field, models.DateTimeField):
        return Target(name, label, "datetime", required and name != "created_at")
    if isinstance(model_field, models.DateField):
        return Target(name, label, "date", required)
    if isinstance(model_field, models.EmailField):
        return Target(name, label, "email", required)
    return Target(name, label, "text", required)
