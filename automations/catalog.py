"""What a rule may talk about: the fields of each record type, and checking a rule's shapes.

`fields_for(record_type)` lists the fields a condition (or an update action) can name — the
record's own fields, those of its company / contact / owner / team, and the active custom fields —
each with a type and, for choice-like types, the values to offer in a menu.

`validate_rule(trigger=, conditions=, actions=)` checks a rule against automations/schema.py and
raises ValidationError({"trigger": [...], "conditions": [...], "actions": [...]}) with sentences
a person can act on. Any input, however malformed, ends in a ValidationError or in None.

Canonical values (what `clean_value` returns, what the builder stores, and how Event.changes
records them): text and choice → str; number → int or float; money → str with 2 places
("1000.00"); date → "YYYY-MM-DD"; datetime → ISO 8601; user / team / stage → int id;
boolean → bool; a multi-select custom field holds a list of str.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cached_property

from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from webhooks import outbound

from .schema import (
    ACTION_TYPES,
    CHANGE_OPERATORS,
    OPERATORS,
    RECORD_MODELS,
    RECORD_TYPES,
    TIME_TRIGGERS,
    TRIGGER_TYPES,
    VALUELESS_OPERATORS,
)

FIELD_TYPES = (
    "text",
    "number",
    "money",
    "date",
    "datetime",
    "choice",
    "user",
    "team",
    "stage",
    "boolean",
)
ORDERED_TYPES = {"number", "money", "date", "datetime"}
REFERENCE_TYPES = {"choice", "user", "team", "stage"}
COMMON_OPERATORS = ["eq", "ne", "is_empty", "not_empty", *CHANGE_OPERATORS]
OPERATORS_BY_TYPE = {
    "text": [*COMMON_OPERATORS, "contains", "in"],
    "number": [*COMMON_OPERATORS, "lt", "lte", "gt", "gte"],
    "money": [*COMMON_OPERATORS, "lt", "lte", "gt", "gte"],
    "date": [*COMMON_OPERATORS, "lt", "lte", "gt", "gte"],
    "datetime": [*COMMON_OPERATORS, "lt", "lte", "gt", "gte"],
    "choice": [*COMMON_OPERATORS, "in"],
    "user": [*COMMON_OPERATORS, "in"],
    "team": [*COMMON_OPERATORS, "in"],
    "stage": [*COMMON_OPERATORS, "in"],
    "boolean": ["eq", "ne", "changed", "changed_from", "changed_to"],
}
MULTI_CHOICE_OPERATORS = ["contains", "is_empty", "not_empty", "changed"]

# Relations whose fields a condition may read, as "<relation>.<field>".
RELATIONS = ("company", "contact", "owner", "team")
USER_RELATION_FIELDS = ("username", "first_name", "last_name", "email")
# Foreign keys offered as menus of their own kind.
REFERENCE_FKS = {"User": "user", "Team": "team", "Stage": "stage", "Pipeline": "choice"}
# Record types activities, notes and "no activity" apply to (Activity has a key to each).
TIMELINE_TYPES = {"lead", "contact", "company", "deal", "ticket"}
OWNED_TYPES = {"lead", "contact", "company", "deal"}
ASSIGNABLE_TYPES = OWNED_TYPES | {"ticket", "task"}
# Records whose "owner" and "team" recipients the engine finds (records.owner_of / team_of): an
# activity's owner is its author (`user`), its team that of its record or of its author.
RECIPIENT_TYPES = ASSIGNABLE_TYPES | {"activity"}
COMPANY_TYPES = {"company", "contact", "deal", "ticket", "surveyanswer", "subscription"}
SURVEY_TYPES = {"contact", "deal", "ticket"}
# Which record a trigger without a record_type is about.
IMPLIED_RECORD_TYPES = {
    "ticket.created": "ticket",
    "ticket.replied": "ticket",
    "ticket.resolved": "ticket",
    "ticket.sla_breached": "ticket",
    "survey.answered": "surveyanswer",
    "activity.logged": "activity",
    "kpi.alert": "kpialert",
}
RECORD_TRIGGERS = {
    "record.created",
    "record.updated",
    "record.deleted",
    "field.changed",
    "date.reached",
    "no_activity",
}
SURVEY_KINDS = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
KPI_GRAINS = ("day", "week", "month", "quarter", "year")
# A per-customer threshold counts each customer's engagement (automations/timed.py), which is what
# this KPI measures over the whole company; the rule is then about a company.
PER_COMPANY_KPI = "engagement_rate"
MAX_WINDOW_DAYS = 365
MAX_OFFSET_DAYS = 365
MAX_IDLE_DAYS = 365
MAX_DUE_HOURS = 24 * 365
MAX_GROUP_DEPTH = 4
MAX_CONDITION_ROWS = 100
MAX_ACTIONS = 20
MAX_TEXT = 1000


@dataclass(frozen=True)
class FieldSpec:
    path: str
    label: str
    type: str
    choices: tuple[tuple[str, str], ...] = ()
    # A multi-select custom field (its value is a list of choices).
    multiple: bool = False
    # An update_field action may set it (EDITABLE_FIELDS of crm.services.records, or custom).
    writable: bool = False

    @property
    def operators(self) -> list[str]:
        if self.multiple:
            return MULTI_CHOICE_OPERATORS
        return OPERATORS_BY_TYPE[self.type]

    @property
    def is_date(self) -> bool:
        return self.type in ("date", "datetime")

    @property
    def on_record(self) -> bool:
        """The record's own field or custom field (not one reached through a relation)."""
        return "." not in self.path or self.path.startswith("custom.")


@dataclass
class References:
    """The menus' values (users, teams, stages, pipelines, custom fields), loaded once each."""

    loaded: dict = field(default_factory=dict)

    @cached_property
    def users(self) -> tuple[tuple[str, str], ...]:
        User = apps.get_model("crm", "User")
        return tuple((str(u.pk), str(u)) for u in User.objects.filter(is_active=True))

    @cached_property
    def teams(self) -> tuple[tuple[str, str], ...]:
        Team = apps.get_model("crm", "Team")
        return tuple((str(t.pk), t.name) for t in Team.objects.order_by("name"))

    @cached_property
    def stages(self) -> tuple[tuple[str, str], ...]:
        Stage = apps.get_model("crm", "Stage")
        rows = Stage.objects.select_related("pipeline").order_by("pipeline__order", "order")
        return tuple((str(s.pk), str(s)) for s in rows)

    @cached_property
    def pipelines(self) -> tuple[tuple[str, str], ...]:
        Pipeline = apps.get_model("crm", "Pipeline")
        return tuple((str(p.pk), p.name) for p in Pipeline.objects.order_by("order", "name"))

    @cached_property
    def custom_fields(self) -> dict[str, list]:
        CustomField = apps.get_model("crm", "CustomField")
        grouped: dict[str, list] = {}
        for custom in CustomField.objects.filter(is_active=True):
            grouped.setdefault(custom.record_type, []).append(custom)
        return grouped

    def for_type(self, kind: str) -> tuple[tuple[str, str], ...]:
        return {"user": self.users, "team": self.teams, "stage": self.stages}.get(kind, ())


def record_model(record_type: str) -> type[models.Model] | None:
    label = RECORD_MODELS.get(record_type) if isinstance(record_type, str) else None
    return apps.get_model(label) if label else None


def fields_for(record_type: str, *, refs: References | None = None) -> list[FieldSpec]:
    """The fields conditions on this record type may name (empty for an unknown type)."""
    model = record_model(record_type)
    if model is None:
        return []
    refs = refs or References()
    specs = _model_fields(model, refs, prefix="", label_prefix="", writable=_editable(model))
    specs += _custom_fields(record_type, refs, prefix="", label_prefix="")
    for relation in RELATIONS:
        related = _foreign_key(model, relation)
        if related is not None:
            specs += _relation_fields(relation, related, refs)
    return specs


def fields_by_path(record_type: str, *, refs: References | None = None) -> dict[str, FieldSpec]:
    return {spec.path: spec for spec in fields_for(record_type, refs=refs)}


def _editable(model) -> set[str]:
    from crm.services.records import EDITABLE_FIELDS

    return set(EDITABLE_FIELDS.get(model, []))


def _foreign_key(model, name: str):
    try:
        model_field = model._meta.get_field(name)
    except Exception:  # noqa: BLE001 (FieldDoesNotExist: the relation is not on this model)
        return None
    return model_field.related_model if model_field.many_to_one else None


def _relation_fields(relation: str, related, refs: References) -> list[FieldSpec]:
    label_prefix = f"{related._meta.verbose_name.capitalize()} · "
    prefix = f"{relation}."
    if related.__name__ == "User":
        return [
            FieldSpec(f"{prefix}{name}", label_prefix + _label(related, name), "text")
            for name in USER_RELATION_FIELDS
        ]
    if related.__name__ == "Team":
        return [FieldSpec(f"{prefix}name", label_prefix + _label(related, "name"), "text")]
    record_type = related._meta.model_name
    specs = _model_fields(related, refs, prefix=prefix, label_prefix=label_prefix, writable=set())
    return specs + _custom_fields(record_type, refs, prefix=prefix, label_prefix=label_prefix)


def _label(model, name: str) -> str:
    return str(model._meta.get_field(name).verbose_name).capitalize()


def _model_fields(model, refs, *, prefix, label_prefix, writable) -> list[FieldSpec]:
    specs = []
    for model_field in model._meta.concrete_fields:
        kind, choices = _field_type(model_field, refs)
        if kind is None:
            continue
        specs.append(
            FieldSpec(
                path=prefix + model_field.name,
                label=label_prefix + str(model_field.verbose_name).capitalize(),
                type=kind,
                choices=choices,
                writable=model_field.name in writable,
            )
        )
    return specs


def _field_type(model_field, refs: References):
    """(type, choices) of a model field, or (None, ()) for fields rules do not look at."""
    if model_field.primary_key or isinstance(model_field, models.JSONField):
        return None, ()
    if model_field.many_to_one:
        kind = REFERENCE_FKS.get(model_field.related_model.__name__)
        if kind == "choice":
            return kind, refs.pipelines
        return (kind, refs.for_type(kind)) if kind else (None, ())
    if model_field.choices:
        return "choice", tuple((str(v), str(label)) for v, label in model_field.flatchoices)
    if isinstance(model_field, models.BooleanField):
        return "boolean", ()
    if isinstance(model_field, models.DecimalField):
        return "money" if model_field.decimal_places == 2 else "number", ()
    if isinstance(model_field, models.IntegerField | models.FloatField):
        return "number", ()
    if isinstance(model_field, models.DateTimeField):
        return "datetime", ()
    if isinstance(model_field, models.DateField):
        return "date", ()
    if isinstance(model_field, models.CharField | models.TextField):
        return "text", ()
    return None, ()


CUSTOM_TYPES = {
    "text": "text",
    "long_text": "text",
    "url": "text",
    "email": "text",
    "number": "number",
    "money": "money",
    "date": "date",
    "datetime": "datetime",
    "select": "choice",
    "multi_select": "choice",
    "checkbox": "boolean",
    "user": "user",
}


def _custom_fields(record_type, refs, *, prefix, label_prefix) -> list[FieldSpec]:
    specs = []
    for custom in refs.custom_fields.get(record_type, []):
        kind = CUSTOM_TYPES.get(custom.field_type, "text")
        if kind == "choice":
            choices = tuple((str(c), str(c)) for c in custom.choices or [])
        else:
            choices = refs.for_type(kind)
        specs.append(
            FieldSpec(
                path=f"{prefix}custom.{custom.key}",
                label=label_prefix + custom.label,
                type=kind,
                choices=choices,
                multiple=custom.field_type == "multi_select",
                writable=not prefix,
            )
        )
    return specs


# --- values -----------------------------------------------------------------------------------


def clean_value(spec: FieldSpec, raw):
    """The canonical value of `raw` for the field (see the module docstring), or ValidationError."""
    if isinstance(raw, dict | list | tuple):
        raise ValidationError(_("%(field)s takes a single value.") % {"field": spec.label})
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise ValidationError(_("Enter a value for %(field)s.") % {"field": spec.label})
    cleaner = VALUE_CLEANERS[spec.type]
    return cleaner(spec, raw.strip() if isinstance(raw, str) else raw)


def _clean_text(spec, raw):
    if isinstance(raw, bool):
        raise ValidationError(_("%(field)s takes text.") % {"field": spec.label})
    text = str(raw)
    if len(text) > MAX_TEXT:
        raise ValidationError(_("Enter at most %(limit)d characters.") % {"limit": MAX_TEXT})
    return text


def _decimal(spec, raw) -> Decimal:
    message = _("%(field)s takes a number, not “%(value)s”.") % {
        "field": spec.label,
        "value": str(raw)[:40],
    }
    if isinstance(raw, bool) or not isinstance(raw, int | float | str | Decimal):
        raise ValidationError(message)
    try:
        number = Decimal(repr(raw) if isinstance(raw, float) else str(raw))
    except InvalidOperation:
        raise ValidationError(message) from None
    if not number.is_finite() or abs(number) >= Decimal(10**15):
        raise ValidationError(message)
    return number


def _clean_number(spec, raw):
    number = _decimal(spec, raw)
    return int(number) if number == number.to_integral_value() else float(number)


def _clean_money(spec, raw):
    return str(_decimal(spec, raw).quantize(Decimal("0.01")) + 0)


def _clean_date(spec, raw):
    try:
        return date.fromisoformat(str(raw)).isoformat()
    except ValueError:
        raise ValidationError(
            _("%(field)s takes a date such as 2026-03-31.") % {"field": spec.label}
        ) from None


def _clean_datetime(spec, raw):
    try:
        return datetime.fromisoformat(str(raw)).isoformat()
    except ValueError:
        raise ValidationError(
            _("%(field)s takes a date and time such as 2026-03-31T09:00.") % {"field": spec.label}
        ) from None


def _clean_choice(spec, raw):
    value = str(raw)
    if value not in {v for v, _label in spec.choices}:
        raise ValidationError(
            _("“%(value)s” is not one of the values of %(field)s.")
            % {"value": value[:40], "field": spec.label}
        )
    return value


def _clean_reference(spec, raw):
    value = _clean_choice(spec, raw)
    return int(value)


def _clean_boolean(spec, raw):
    if isinstance(raw, bool):
        return raw
    text = str(raw).lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise ValidationError(_("%(field)s takes yes or no.") % {"field": spec.label})


VALUE_CLEANERS = {
    "text": _clean_text,
    "number": _clean_number,
    "money": _clean_money,
    "date": _clean_date,
    "datetime": _clean_datetime,
    "choice": _clean_choice,
    "user": _clean_reference,
    "team": _clean_reference,
    "stage": _clean_reference,
    "boolean": _clean_boolean,
}


def _messages(error: ValidationError) -> list[str]:
    return [str(message) for message in error.messages]


def _key(value) -> str | None:
    """`value` if it is a string, for dict and set lookups (hostile JSON may be unhashable)."""
    return value if isinstance(value, str) else None


def _int_in(raw, low: int, high: int) -> int | None:
    """`raw` as an int within [low, high], or None."""
    if isinstance(raw, bool):
        return None
    try:
        number = int(str(raw).strip())
    except (TypeError, ValueError):
        return None
    return number if low <= number <= high else None


# --- the rule ---------------------------------------------------------------------------------


def trigger_record_type(trigger) -> str:
    """The record type a trigger is about ("" for schedules and whole-company KPI thresholds;
    "company" for a per-customer threshold, as triggers.record_type_of says)."""
    if not isinstance(trigger, dict):
        return ""
    kind = _key(trigger.get("type"))
    if is_per_company(trigger):
        return "company"
    if kind in RECORD_TRIGGERS:
        record_type = _key(trigger.get("record_type"))
        return record_type if record_type in RECORD_TYPES else ""
    return IMPLIED_RECORD_TYPES.get(kind, "")


def validate_rule(*, trigger, conditions, actions, refs: References | None = None) -> None:
    """Raise ValidationError({"trigger"|"conditions"|"actions": [sentences]}) if the rule is
    not one the engine can run; return None if it is. Checking many rules, pass one `refs` so
    the menus' values are read once."""
    refs = refs or References()
    errors = {
        "trigger": trigger_errors(trigger, refs=refs),
        "conditions": condition_errors(conditions, trigger=trigger, refs=refs),
        "actions": actions_errors(actions, trigger=trigger, refs=refs),
    }
    errors = {key: messages for key, messages in errors.items() if messages}
    if errors:
        raise ValidationError(errors)


def trigger_errors(trigger, *, refs: References | None = None) -> list[str]:
    refs = refs or References()
    if not isinstance(trigger, dict):
        return [_("Choose what starts the rule.")]
    kind = _key(trigger.get("type"))
    if kind not in TRIGGER_TYPES:
        return [_("Choose what starts the rule: “%(type)s” is not a trigger.") % _named(kind)]
    if kind in RECORD_TRIGGERS and _key(trigger.get("record_type")) not in RECORD_TYPES:
        return [_("Choose the record type the rule is about.")]
    checker = TRIGGER_CHECKS.get(kind)
    return checker(trigger, refs) if checker else []


def _named(value) -> dict:
    return {"type": str(value)[:40] if value not in (None, "") else _("nothing")}


def _check_field_changed(trigger, refs) -> list[str]:
    specs = fields_by_path(trigger["record_type"], refs=refs)
    spec = specs.get(_key(trigger.get("field")))
    if spec is None or not spec.on_record:
        return [_("Choose the field whose change starts the rule.")]
    errors, values = [], {}
    for end in ("from", "to"):
        raw = trigger.get(end)
        if raw is None or raw == "":
            continue
        try:
            values[end] = clean_value(spec, raw)
        except ValidationError as error:
            errors += _messages(error)
    if not errors and "from" in values and values.get("from") == values.get("to"):
        errors.append(
            _("A field cannot change from “%(value)s” to the same value: the rule would never run.")
            % {"value": trigger.get("from")}
        )
    return errors


def _check_survey(trigger, refs) -> list[str]:
    kind = _key(trigger.get("kind") or "")
    if kind not in ("", *SURVEY_KINDS):
        return [_("Choose a survey kind (NPS, CSAT or CES) or any survey.")]
    low, high = SURVEY_KINDS.get(kind, (0, 10))
    bounds = {}
    errors = []
    for end in ("min", "max"):
        raw = trigger.get(end)
        if raw is None or raw == "":
            continue
        bounds[end] = _int_in(raw, low, high)
        if bounds[end] is None:
            errors.append(
                _("The score range goes from %(low)d to %(high)d.") % {"low": low, "high": high}
            )
    if not errors and bounds.get("min", low) > bounds.get("max", high):
        errors.append(_("The lowest score is above the highest: no answer could match."))
    return errors


def _check_activity(trigger, refs) -> list[str]:
    from crm.models import ActivityKind

    kinds = trigger.get("kinds") or []
    if not isinstance(kinds, list) or any(k not in ActivityKind.values for k in kinds):
        return [_("Choose activity kinds from the list (or none for any activity).")]
    return []


def _check_date_reached(trigger, refs) -> list[str]:
    spec = fields_by_path(trigger["record_type"], refs=refs).get(_key(trigger.get("field")))
    errors = []
    if spec is None or not spec.is_date or not spec.on_record:
        errors.append(_("Choose a date field of the record."))
    if _int_in(trigger.get("offset_days"), -MAX_OFFSET_DAYS, MAX_OFFSET_DAYS) is None:
        errors.append(
            _("The offset goes from %(low)d to %(high)d days.")
            % {"low": -MAX_OFFSET_DAYS, "high": MAX_OFFSET_DAYS}
        )
    return errors


def _check_no_activity(trigger, refs) -> list[str]:
    errors = []
    if trigger["record_type"] not in TIMELINE_TYPES:
        errors.append(_("Only leads, contacts, companies, deals and tickets have activities."))
    if _int_in(trigger.get("days"), 1, MAX_IDLE_DAYS) is None:
        errors.append(_("Enter a number of days from 1 to %(high)d.") % {"high": MAX_IDLE_DAYS})
    return errors


def _check_schedule(trigger, refs) -> list[str]:
    cron = trigger.get("cron")
    if not isinstance(cron, str) or not cron_is_valid(cron):
        return [
            _(
                "“%(cron)s” is not a schedule: give five parts, minute hour day-of-month month "
                "day-of-week, e.g. “0 9 * * 1” for Mondays at 9:00."
            )
            % {"cron": str(cron)[:60] if cron else ""}
        ]
    return []


def cron_is_valid(cron: str) -> bool:
    from celery.schedules import crontab

    parts = cron.split()
    if len(parts) != 5:
        return False
    try:
        crontab(*parts[:2], day_of_month=parts[2], month_of_year=parts[3], day_of_week=parts[4])
    except Exception:  # noqa: BLE001 (celery raises ValueError, TypeError or its own errors)
        return False
    return True


def kpi_choices() -> list[tuple[str, str]]:
    from metrics.registry import all_kpis

    return [(kpi.key, str(kpi.label)) for kpi in all_kpis()]


def is_per_company(trigger) -> bool:
    """A KPI threshold checked for each customer over a sliding window (see schema.py)."""
    return (
        isinstance(trigger, dict)
        and trigger.get("type") == "kpi.threshold"
        and trigger.get("per") == "company"
    )


def _check_kpi(trigger, refs) -> list[str]:
    errors = []
    if trigger.get("per") not in (None, "", "company"):
        errors.append(_("Check the KPI over the whole company or for each customer."))
    elif is_per_company(trigger):
        errors += _per_company_errors(trigger)
    elif _key(trigger.get("kpi")) not in dict(kpi_choices()):
        errors.append(_("Choose a KPI."))
    if trigger.get("grain", "month") not in KPI_GRAINS:
        errors.append(_("Choose the period: day, week, month, quarter or year."))
    if not _segment_is_valid(trigger.get("segment") or "", refs):
        errors.append(_("Choose the whole company, one owner or one team."))
    if trigger.get("op") not in ("above", "below"):
        errors.append(_("Choose whether the KPI goes above or below the threshold."))
    try:
        _decimal(FieldSpec("value", _("The threshold"), "number"), trigger.get("value"))
    except ValidationError as error:
        errors += _messages(error)
    return errors


def _per_company_errors(trigger) -> list[str]:
    errors = []
    if trigger.get("kpi") != PER_COMPANY_KPI:
        errors.append(
            _("For each customer, only its engagement (activities and survey answers) is counted.")
        )
    if trigger.get("segment") not in (None, ""):
        errors.append(
            _("A check for each customer covers every customer: choose no owner or team.")
        )
    if _int_in(trigger.get("window_days"), 1, MAX_WINDOW_DAYS) is None:
        errors.append(
            _("Count each customer's engagement over the last 1 to %(high)d days.")
            % {"high": MAX_WINDOW_DAYS}
        )
    return errors


def _check_kpi_alert(trigger, refs) -> list[str]:
    errors = []
    if trigger.get("kpi") not in (None, "") and _key(trigger.get("kpi")) not in dict(kpi_choices()):
        errors.append(_("Choose a KPI, or none for any KPI."))
    if trigger.get("direction") not in (None, "", "above", "below"):
        errors.append(_("Choose above or below the expected range, or either."))
    if trigger.get("scope") not in (None, "", "company", "team", "owner"):
        errors.append(_("Choose the company, a team or an owner, or any of them."))
    return errors


def _segment_is_valid(segment, refs) -> bool:
    if segment == "":
        return True
    if not isinstance(segment, str) or "=" not in segment:
        return False
    name, _sep, value = segment.partition("=")
    options = {"owner": refs.users, "team": refs.teams}.get(name)
    return options is not None and value in {v for v, _label in options}


TRIGGER_CHECKS = {
    "field.changed": _check_field_changed,
    "survey.answered": _check_survey,
    "activity.logged": _check_activity,
    "date.reached": _check_date_reached,
    "no_activity": _check_no_activity,
    "schedule": _check_schedule,
    "kpi.threshold": _check_kpi,
    "kpi.alert": _check_kpi_alert,
}


def condition_errors(conditions, *, trigger, refs: References | None = None) -> list[str]:
    """Sentences about the condition group, each naming its row ("Condition 2.1: ...")."""
    refs = refs or References()
    if conditions in (None, {}):
        return []
    if not isinstance(conditions, dict):
        return [_("Conditions must be a group of rows.")]
    record_type = trigger_record_type(trigger)
    kind = _key(trigger.get("type")) if isinstance(trigger, dict) else None
    context = {
        "specs": fields_by_path(record_type, refs=refs) if record_type else {},
        "no_record": not record_type,
        "no_change": kind in TIME_TRIGGERS or kind == "record.deleted",
        "count": 0,
    }
    return _group_errors(conditions, context, label="", depth=1)


def _group_errors(group, context, *, label: str, depth: int) -> list[str]:
    where = _("Group %(n)s: ") % {"n": label} if label else ""
    if not isinstance(group, dict) or not isinstance(group.get("rows", []), list):
        return [where + _("a group needs a list of rows.")]
    if group.get("match", "all") not in ("all", "any"):
        return [where + _("choose whether all or any of the rows must match.")]
    if depth > MAX_GROUP_DEPTH:
        return [where + _("groups nest at most %(n)d levels deep.") % {"n": MAX_GROUP_DEPTH}]
    errors = []
    for index, row in enumerate(group.get("rows", []), start=1):
        row_label = f"{label}.{index}" if label else str(index)
        context["count"] += 1
        if context["count"] > MAX_CONDITION_ROWS:
            return errors + [_("A rule has at most %(n)d conditions.") % {"n": MAX_CONDITION_ROWS}]
        if isinstance(row, dict) and "rows" in row:
            errors += _group_errors(row, context, label=row_label, depth=depth + 1)
        else:
            errors += [
                _("Condition %(n)s: %(error)s") % {"n": row_label, "error": message}
                for message in row_errors(row, context)
            ]
    return errors


def row_errors(row, context) -> list[str]:
    """What is wrong with one condition row (no position in the sentences)."""
    if context["no_record"]:
        return [_("this trigger has no record to test conditions on.")]
    if not isinstance(row, dict):
        return [_("a condition needs a field, an operator and a value.")]
    spec = context["specs"].get(_key(row.get("field")))
    if spec is None:
        return [_("choose a field.")]
    op = _key(row.get("op"))
    if op not in OPERATORS:
        return [_("choose an operator.")]
    if op not in spec.operators:
        return [_("“%(op)s” does not fit %(field)s.") % {"op": OPERATORS[op], "field": spec.label}]
    if op in CHANGE_OPERATORS and context["no_change"]:
        return [
            _("“%(op)s” needs a change to look at, and this trigger has none.")
            % {"op": OPERATORS[op]}
        ]
    if op in VALUELESS_OPERATORS:
        return []
    return _value_errors(spec, op, row.get("value"))


def _value_errors(spec: FieldSpec, op: str, value) -> list[str]:
    item_spec = FieldSpec(spec.path, spec.label, spec.type, spec.choices)
    values = value if op == "in" else [value]
    if op == "in" and (not isinstance(value, list) or not value):
        return [_("choose at least one value.")]
    errors = []
    for item in values:
        try:
            clean_value(item_spec, item)
        except ValidationError as error:
            errors += _messages(error)
    return errors


def actions_errors(actions, *, trigger, refs: References | None = None) -> list[str]:
    refs = refs or References()
    if not isinstance(actions, list) or not actions:
        return [_("Add at least one action: a rule without actions does nothing.")]
    if len(actions) > MAX_ACTIONS:
        return [_("A rule has at most %(n)d actions.") % {"n": MAX_ACTIONS}]
    record_type = trigger_record_type(trigger)
    errors = []
    for index, action in enumerate(actions, start=1):
        errors += [
            _("Action %(n)d: %(error)s") % {"n": index, "error": message}
            for message in action_errors(action, record_type=record_type, refs=refs)
        ]
    return errors


def action_errors(action, *, record_type: str, refs: References) -> list[str]:
    """What is wrong with one action (no position in the sentences)."""
    if not isinstance(action, dict):
        return [_("choose an action.")]
    kind = action.get("type")
    if not isinstance(kind, str) or kind not in ACTION_TYPES:
        return [_("“%(type)s” is not an action.") % _named(kind)]
    return ACTION_CHECKS[kind](action, record_type, refs)


def _record_name(record_type: str) -> str:
    return str(RECORD_TYPES.get(record_type, _("this trigger"))).lower()


def _needs_text(action, key: str, message: str, limit: int = 200) -> list[str]:
    value = action.get(key)
    if not isinstance(value, str) or not value.strip():
        return [message]
    if len(value) > limit:
        return [_("enter at most %(limit)d characters.") % {"limit": limit}]
    return []


def _user_errors(value, refs) -> list[str]:
    if str(value) not in {v for v, _label in refs.users}:
        return [_("choose an active user.")]
    return []


def _recipient_errors(value, record_type, refs, *, allow_team: bool) -> list[str]:
    if value == "owner" or (allow_team and value == "team"):
        if record_type not in RECIPIENT_TYPES:
            return [
                _("a %(record)s has no owner or team: choose a user.")
                % {"record": _record_name(record_type)}
            ]
        return []
    if isinstance(value, str) and value.startswith("user:"):
        return _user_errors(value.removeprefix("user:"), refs)
    return [_("choose who receives it.")]


def _check_create_task(action, record_type, refs) -> list[str]:
    from crm.models import TaskPriority

    errors = _needs_text(action, "title", _("give the task a title."))
    errors += _recipient_errors(action.get("assignee"), record_type, refs, allow_team=False)
    if _int_in(action.get("due_in_hours", 0), 0, MAX_DUE_HOURS) is None:
        errors.append(_("the task is due 0 to %(n)d hours later.") % {"n": MAX_DUE_HOURS})
    if action.get("priority", "normal") not in TaskPriority.values:
        errors.append(_("choose a priority."))
    return errors


def _check_assign_owner(action, record_type, refs) -> list[str]:
    if record_type not in ASSIGNABLE_TYPES:
        return [_("a %(record)s has no owner to assign.") % {"record": _record_name(record_type)}]
    strategy = action.get("strategy")
    if strategy == "user":
        return _user_errors(action.get("user"), refs)
    if strategy in ("round_robin", "least_open"):
        team = action.get("team")
        if team in (None, "") or str(team) in {v for v, _label in refs.teams}:
            return []  # no team: the engine picks within the record's own team
        return [_("choose an existing team, or none for the record's own team.")]
    return [_("choose how to pick the owner.")]


def _check_update_field(action, record_type, refs) -> list[str]:
    field_path = _key(action.get("field"))
    spec = fields_by_path(record_type, refs=refs).get(field_path) if record_type else None
    if spec is None or not spec.writable:
        return [_("choose a field of the record that can be changed.")]
    value = action.get("value")
    if spec.multiple:
        if not isinstance(value, list) or any(str(v) not in dict(spec.choices) for v in value):
            return [_("choose values of %(field)s.") % {"field": spec.label}]
        return []
    if value in (None, ""):
        return []  # clears the field
    try:
        clean_value(spec, value)
    except ValidationError as error:
        return _messages(error)
    return []


def _check_set_lifecycle(action, record_type, refs) -> list[str]:
    from crm.models import Lifecycle

    if record_type not in COMPANY_TYPES:
        return [
            _("a %(record)s has no company whose lifecycle could be set.")
            % {"record": _record_name(record_type)}
        ]
    if action.get("lifecycle") not in Lifecycle.values:
        return [_("choose a lifecycle.")]
    return []


def _check_add_note(action, record_type, refs) -> list[str]:
    if record_type not in TIMELINE_TYPES:
        return [
            _("a %(record)s has no timeline to add a note to.")
            % {"record": _record_name(record_type)}
        ]
    return _needs_text(action, "body", _("write the note."), limit=MAX_TEXT)


def _check_notify(action, record_type, refs) -> list[str]:
    errors = _recipient_errors(action.get("to"), record_type, refs, allow_team=True)
    return errors + _needs_text(action, "title", _("give the notification a title."))


def _check_send_survey(action, record_type, refs) -> list[str]:
    if record_type not in SURVEY_TYPES:
        return [
            _("a %(record)s has no contact to send a survey to.")
            % {"record": _record_name(record_type)}
        ]
    if _key(action.get("kind")) not in SURVEY_KINDS:
        return [_("choose the survey: NPS, CSAT or CES.")]
    return []


def _check_create_ticket(action, record_type, refs) -> list[str]:
    from crm.models import TicketPriority

    errors = _needs_text(action, "subject", _("give the ticket a subject."))
    if action.get("priority", "normal") not in TicketPriority.values:
        errors.append(_("choose a priority."))
    return errors


def _check_webhook(action, record_type, refs) -> list[str]:
    url = action.get("url")
    try:
        if not isinstance(url, str) or len(url) > 500:
            raise ValidationError("")
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        return [_("the webhook needs an http:// or https:// address.")]
    try:
        outbound.check_url(url, unresolved_ok=True)
    except ValidationError as error:
        return list(error.messages)
    secret = action.get("secret", "")
    if not isinstance(secret, str) or len(secret) > 200:
        return [_("the signing secret is text of at most 200 characters.")]
    return []


ACTION_CHECKS = {
    "create_task": _check_create_task,
    "assign_owner": _check_assign_owner,
    "update_field": _check_update_field,
    "set_lifecycle": _check_set_lifecycle,
    "add_note": _check_add_note,
    "notify": _check_notify,
    "send_survey": _check_send_survey,
    "create_ticket": _check_create_ticket,
    "webhook": _check_webhook,
}


# --- in words ---------------------------------------------------------------------------------


def value_label(spec: FieldSpec | None, value) -> str:
    """A stored value as people read it: the user's name rather than their id."""
    if isinstance(value, list):
        return ", ".join(value_label(spec, item) for item in value)
    if spec is not None and spec.choices:
        return dict(spec.choices).get(str(value), str(value))
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return str(value)


def describe_trigger(trigger, *, refs: References | None = None) -> str:
    refs = refs or References()
    if not isinstance(trigger, dict) or _key(trigger.get("type")) not in TRIGGER_TYPES:
        return _("No trigger")
    kind = trigger["type"]
    record = str(RECORD_TYPES.get(_key(trigger.get("record_type")) or "", "")).lower()
    specs = fields_by_path(trigger.get("record_type"), refs=refs) if record else {}
    spec = specs.get(_key(trigger.get("field")))
    field_label = spec.label if spec else str(trigger.get("field", ""))
    words = {
        "record.created": _("A %(record)s is created"),
        "record.updated": _("A %(record)s is updated"),
        "record.deleted": _("A %(record)s is deleted"),
        "field.changed": _("The %(field)s of a %(record)s changes"),
        "date.reached": _date_words(trigger.get("offset_days")),
        "no_activity": ngettext(
            "A %(record)s has no activity for %(idle)s day",
            "A %(record)s has no activity for %(idle)s days",
            _int_in(trigger.get("days"), 0, 10**6) or 0,
        ),
        "schedule": _("On the schedule “%(cron)s” (%(cron_words)s)"),
        "kpi.threshold": _("%(kpi)s (%(grain)s) goes %(op)s %(value)s"),
    }.get(kind, str(TRIGGER_TYPES[kind]))
    if is_per_company(trigger):
        words = ngettext(
            "A customer's engagement (activities and survey answers) over the last "
            "%(window)s day goes %(op)s %(value)s",
            "A customer's engagement (activities and survey answers) over the last "
            "%(window)s days goes %(op)s %(value)s",
            _int_in(trigger.get("window_days"), 0, 10**6) or 0,
        )
    params = {
        "record": record,
        "field": field_label.lower(),
        "days": abs(_int_in(trigger.get("offset_days", 0), -(10**6), 10**6) or 0),
        "idle": trigger.get("days", ""),
        "cron": trigger.get("cron", ""),
        "cron_words": _cron_words(trigger.get("cron", "")),
        "kpi": dict(kpi_choices()).get(_key(trigger.get("kpi")), trigger.get("kpi", ""))
        if kind == "kpi.threshold"
        else "",
        "grain": _grain_words(trigger.get("grain", "month")),
        "op": _("above") if trigger.get("op") == "above" else _("below"),
        "value": trigger.get("value", ""),
        "window": trigger.get("window_days", ""),
    }
    text = words % params
    if kind == "field.changed":
        for end, word in (("from", _("from")), ("to", _("to"))):
            if trigger.get(end) not in (None, ""):
                text += f" {word} “{value_label(spec, trigger[end])}”"
    if kind == "survey.answered" and trigger.get("kind"):
        text += f" ({str(trigger['kind']).upper()}"
        if trigger.get("min") is not None or trigger.get("max") is not None:
            text += f" {trigger.get('min') or '…'}–{trigger.get('max') or '…'}"
        text += ")"
    if kind == "activity.logged" and trigger.get("kinds"):
        text += f" ({', '.join(map(str, trigger['kinds']))})"
    return text


def _date_words(offset) -> str:
    days = _int_in(offset, -(10**6), 10**6) or 0
    if days > 0:
        return ngettext(
            "%(days)s day after the “%(field)s” of the %(record)s",
            "%(days)s days after the “%(field)s” of the %(record)s",
            days,
        )
    if days < 0:
        return ngettext(
            "%(days)s day before the “%(field)s” of the %(record)s",
            "%(days)s days before the “%(field)s” of the %(record)s",
            -days,
        )
    return _("On the “%(field)s” of the %(record)s")


def _cron_words(cron) -> str:
    if not isinstance(cron, str) or not cron_is_valid(cron):
        return ""
    try:
        from cron_descriptor import get_description

        return get_description(cron)
    except Exception:  # noqa: BLE001 (a description is a nicety; the cron itself was checked)
        return cron


def describe_conditions(conditions, *, record_type: str, refs=None) -> list[tuple[int, str]]:
    """(depth, sentence) lines: "All of:" / "Any of:" headers and one line per row."""
    refs = refs or References()
    if not isinstance(conditions, dict) or not conditions.get("rows"):
        return []
    specs = fields_by_path(record_type, refs=refs) if record_type else {}
    return _describe_group(conditions, specs, depth=0)


def _describe_group(group, specs, *, depth: int) -> list[tuple[int, str]]:
    header = _("Any of:") if group.get("match") == "any" else _("All of:")
    lines = [(depth, header)]
    for row in group.get("rows", []):
        if isinstance(row, dict) and "rows" in row:
            lines += _describe_group(row, specs, depth=depth + 1)
        elif isinstance(row, dict):
            lines.append((depth + 1, describe_row(row, specs)))
    return lines


def describe_row(row: dict, specs: dict) -> str:
    spec = specs.get(_key(row.get("field")))
    label = spec.label if spec else str(row.get("field", ""))
    op = str(OPERATORS.get(_key(row.get("op")), row.get("op", "")))
    if row.get("op") in VALUELESS_OPERATORS:
        return f"{label} {op}"
    return f"{label} {op} “{value_label(spec, row.get('value', ''))}”"


def describe_action(action, *, record_type: str, refs=None) -> str:
    refs = refs or References()
    if not isinstance(action, dict) or _key(action.get("type")) not in ACTION_TYPES:
        return _("Unknown action")
    kind = action["type"]
    users = dict(refs.users)
    teams = dict(refs.teams)

    def who(value) -> str:
        if value == "owner":
            return _("the owner")
        if value == "team":
            return _("the team")
        if isinstance(value, str) and value.startswith("user:"):
            return users.get(value.removeprefix("user:"), value)
        return str(value)

    if kind == "create_task":
        return _("Create the task “%(title)s” for %(who)s, due in %(hours)s h") % {
            "title": action.get("title", ""),
            "who": who(action.get("assignee")),
            "hours": action.get("due_in_hours", 0),
        }
    if kind == "assign_owner":
        if action.get("strategy") == "user":
            return _("Assign to %(user)s") % {"user": users.get(str(action.get("user")), "?")}
        how = _("round-robin") if action.get("strategy") == "round_robin" else _("least open")
        if action.get("team") in (None, ""):
            return _("Assign within the record's team (%(how)s)") % {"how": how}
        return _("Assign within %(team)s (%(how)s)") % {
            "team": teams.get(str(action.get("team")), "?"),
            "how": how,
        }
    if kind == "update_field":
        specs = fields_by_path(record_type, refs=refs) if record_type else {}
        spec = specs.get(_key(action.get("field")))
        return _("Set %(field)s to “%(value)s”") % {
            "field": spec.label if spec else action.get("field", ""),
            "value": value_label(spec, action.get("value", "")),
        }
    if kind == "set_lifecycle":
        from crm.models import Lifecycle

        lifecycle = action.get("lifecycle")
        value = dict(Lifecycle.choices).get(lifecycle, lifecycle)
        return _("Set the company's lifecycle to %(value)s") % {"value": value}
    if kind == "add_note":
        return _("Add the note “%(body)s”") % {"body": str(action.get("body", ""))[:80]}
    if kind == "notify":
        return _("Notify %(who)s: “%(title)s”") % {
            "who": who(action.get("to")),
            "title": action.get("title", ""),
        }
    if kind == "send_survey":
        return _("Send the %(kind)s survey") % {"kind": str(action.get("kind", "")).upper()}
    if kind == "create_ticket":
        return _("Open the ticket “%(subject)s”") % {"subject": action.get("subject", "")}
    return _("Call the webhook %(url)s") % {"url": action.get("url", "")}


def _grain_words(grain: str) -> str:
    """A period grain as the reader says it ("month" → "mese"), for the rule's sentence."""
    from metrics.periods import GRAINS

    return str(GRAINS.get(grain, grain)).lower()
