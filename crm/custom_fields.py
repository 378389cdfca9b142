"""Values of admin-defined custom fields: cleaning what goes into a record's `custom` column,
and filtering records by those values the same way on SQLite and PostgreSQL.

When a required field needs a value (decided in issue 15, item 12):

- A new record entered by a person (a form, the admin) must have it; the form marks the field
  with an asterisk.
- An existing record is not asked for a value it never had: a field made required later
  does not block the edits of the records made before it (their form shows the field without
  an asterisk, with a hint). A required value a record has cannot be cleared.
- Records the CRM makes itself, where nobody is asked for custom values (a lead's
  conversion, a request from the public support form, an automation's task or ticket), start
  like those older records.
- A deal cannot move on without its required values: every stage of its pipeline but the
  first open one and the lost ones needs them (`stage_needs_required_values`), so a deal that
  lacks one can be worked, moved back to the first stage or lost, and is refused with a
  message naming the fields when it moves on (on the board, on the deal page, in bulk).

The rule is fixed for now: the definition has no column to choose it per field ("required
for new records / always / from a chosen stage") and this change adds no migration.
`required_on_create`, `required_on_edit` and `stage_needs_required_values` are the only
places that read it.
"""

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import connections
from django.db.models import (
    BooleanField,
    DecimalField,
    F,
    FloatField,
    Func,
    Index,
    JSONField,
    Q,
    QuerySet,
    Value,
)
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _

from crm import limits
from crm.models import CustomField, FieldType, RecordType, Stage, StageOutcome

TEXT_MAX_LENGTH = 255
LONG_TEXT_MAX_LENGTH = limits.TEXT_MAX_LENGTH
EMAIL_MAX_LENGTH = 254
# Beyond 2**53 a JSON number stops being exact in SQLite's REAL and in JavaScript.
NUMBER_LIMIT = Decimal(10**15)
# Amounts must fit the numeric(14, 2) that range filters cast them to.
MONEY_MAX_DIGITS = 14
MONEY_PLACES = Decimal("0.01")
MONEY_LIMIT = Decimal(10 ** (MONEY_MAX_DIGITS - 2))

Cleaner = Callable[[CustomField, object], object]


def definitions_for(record_type: str) -> list[CustomField]:
    return list(CustomField.objects.filter(record_type=record_type, is_active=True))


def required_on_create(field: CustomField) -> bool:
    """Whether a new record entered by a person needs a value for `field`."""
    return field.required


def required_on_edit(field: CustomField, existing: dict) -> bool:
    """Whether an edit of a record with the values `existing` must keep a value for `field`:
    only one it already has (see the module docstring)."""
    return field.required and not _is_empty(existing.get(field.key))


def stage_needs_required_values(stage: Stage) -> bool:
    """Whether a deal needs every required value to enter `stage`: any stage but its
    pipeline's first open one and the lost ones."""
    if stage.outcome == StageOutcome.LOST:
        return False
    if stage.outcome == StageOutcome.WON:
        return True
    first = stage.pipeline.first_stage()
    return first is None or first.pk != stage.pk


def missing_required(record_type: str, values: dict | None) -> list[CustomField]:
    """The active required fields for which `values` has no value."""
    values = values or {}
    return [
        field
        for field in definitions_for(record_type)
        if field.required and _is_empty(values.get(field.key))
    ]


def validate_custom_values(
    record_type: str, values: dict | None, *, existing: dict | None = None
) -> dict:
    """Return the `custom` dict to store: `existing` updated with the cleaned `values`.

    `existing` is None for a new record, which needs every required value; an existing
    record keeps the required values it has (see the module docstring).
    """
    if values is not None and not isinstance(values, dict):
        raise ValidationError({NON_FIELD_ERRORS: [_("Custom fields must be given by key.")]})
    fields = {field.key: field for field in definitions_for(record_type)}
    cleaned = dict(existing or {})
    errors = {}
    for key, raw in (values or {}).items():
        field = fields.get(key)
        if field is None:
            errors[key] = [_("There is no custom field with this key.")]
        elif _is_empty(raw):
            cleaned.pop(key, None)
        else:
            try:
                cleaned[key] = CLEANERS[field.field_type](field, raw)
            except ValidationError as error:
                errors[key] = error.messages
    for key, field in fields.items():
        needed = (
            required_on_create(field) if existing is None else required_on_edit(field, existing)
        )
        if needed and key not in cleaned and key not in errors:
            errors[key] = [_("This field is required.")]
    if errors:
        raise ValidationError(errors)
    return cleaned


def same_values(before: dict | None, after: dict | None) -> bool:
    """Whether two `custom` dicts say the same: an empty value or an unticked checkbox is no
    value, so saving a form unchanged ({} → {"vip": false}) is not a change."""
    return _meaningful(before) == _meaningful(after)


def _meaningful(values: dict | None) -> dict:
    return {
        key: value
        for key, value in (values or {}).items()
        if value is not False and not _is_empty(value)
    }


def _is_empty(value) -> bool:
    if isinstance(value, str):
        return not value.strip()
    return value is None or (isinstance(value, list | tuple) and not value)


def _invalid(message: str, **params) -> ValidationError:
    return ValidationError(message, params=params or None)


def _require_str(value, message: str) -> str:
    if not isinstance(value, str):
        raise _invalid(message)
    return value.strip()


def _limit_length(value: str, limit: int) -> str:
    if len(value) > limit:
        raise _invalid(
            _("Enter at most %(limit)d characters (it has %(length)d)."),
            limit=limit,
            length=len(value),
        )
    return value


def _clean_text(field: CustomField, value) -> str:
    return _limit_length(_require_str(value, _("Enter text.")), TEXT_MAX_LENGTH)


def _clean_long_text(field: CustomField, value) -> str:
    return _limit_length(_require_str(value, _("Enter text.")), LONG_TEXT_MAX_LENGTH)


def _to_decimal(value, message: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise _invalid(message)
    try:
        number = Decimal(repr(value) if isinstance(value, float) else value)
    except InvalidOperation:
        raise _invalid(message) from None
    if not number.is_finite():
        raise _invalid(message)
    return number


def _clean_number(field: CustomField, value) -> int | float:
    number = _to_decimal(value, _("Enter a number."))
    if abs(number) >= NUMBER_LIMIT:
        raise _invalid(_("Enter a number smaller than %(limit)s."), limit=f"{NUMBER_LIMIT:,}")
    return int(number) if number == number.to_integral_value() else float(number)


def _clean_money(field: CustomField, value) -> str:
    amount = _to_decimal(value, _("Enter an amount such as 1234.50."))
    if abs(amount) >= MONEY_LIMIT:
        raise _invalid(_("Enter an amount smaller than %(limit)s."), limit=f"{MONEY_LIMIT:,}")
    rounded = amount.quantize(MONEY_PLACES)
    if rounded != amount:
        raise _invalid(_("Enter an amount with at most 2 decimal places."))
    # Normalise -0.00 so equal amounts are stored as equal strings.
    return str(rounded + 0)


def _clean_date(field: CustomField, value) -> str:
    message = _("Enter a valid date in the format YYYY-MM-DD.")
    if isinstance(value, datetime):
        raise _invalid(message)
    if isinstance(value, date):
        return value.isoformat()
    try:
        return date.fromisoformat(_require_str(value, message)).isoformat()
    except ValueError:
        raise _invalid(message) from None


def _clean_datetime(field: CustomField, value) -> str:
    message = _("Enter a valid date and time in ISO 8601, such as 2025-03-01T14:30:00+01:00.")
    if not isinstance(value, datetime):
        try:
            value = datetime.fromisoformat(_require_str(value, message))
        except ValueError:
            raise _invalid(message) from None
    try:
        if timezone.is_naive(value):
            value = timezone.make_aware(value)
        # One offset and one precision for every row, so stored strings sort in time order.
        return value.astimezone(UTC).isoformat(timespec="seconds")
    except (OverflowError, ValueError):
        # A time at the calendar's very edge (9999-12-31T23:59:59-14:00) has no UTC time.
        raise _invalid(message) from None


def _clean_select(field: CustomField, value) -> str:
    value = _require_str(value, _("Select one of the choices."))
    if value not in field.choices:
        raise _invalid(
            _("“%(value)s” is not one of the choices: %(choices)s."),
            value=value,
            choices=", ".join(field.choices),
        )
    return value


def _clean_multi_select(field: CustomField, value) -> list[str]:
    if not isinstance(value, list | tuple):
        raise _invalid(_("Select a list of choices."))
    items = [_clean_select(field, item) for item in value]
    if len(set(items)) != len(items):
        raise _invalid(_("Select each choice only once."))
    # Stored in the order of the choices so equal selections are equal JSON.
    return [choice for choice in field.choices if choice in items]


def _clean_checkbox(field: CustomField, value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise _invalid(_("Enter true or false."))


def _clean_url(field: CustomField, value) -> str:
    value = _require_str(value, _("Enter a valid URL."))
    URLValidator(message=_("Enter a valid URL, such as https://example.com."))(value)
    return value


def _clean_email(field: CustomField, value) -> str:
    value = _limit_length(_require_str(value, _("Enter a valid email address.")), EMAIL_MAX_LENGTH)
    EmailValidator(message=_("Enter a valid email address."))(value)
    local, _at, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}"


def _clean_user(field: CustomField, value) -> int:
    message = _("Select an active user.")
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _invalid(message)
    if isinstance(value, str) and not value.strip().isdigit():
        raise _invalid(message)
    user_id = int(value)
    if not get_user_model().objects.filter(pk=user_id, is_active=True).exists():
        raise _invalid(message)
    return user_id


CLEANERS: dict[str, Cleaner] = {
    FieldType.TEXT: _clean_text,
    FieldType.LONG_TEXT: _clean_long_text,
    FieldType.NUMBER: _clean_number,
    FieldType.MONEY: _clean_money,
    FieldType.DATE: _clean_date,
    FieldType.DATETIME: _clean_datetime,
    FieldType.SELECT: _clean_select,
    FieldType.MULTI_SELECT: _clean_multi_select,
    FieldType.CHECKBOX: _clean_checkbox,
    FieldType.URL: _clean_url,
    FieldType.EMAIL: _clean_email,
    FieldType.USER: _clean_user,
}

_TEXT_LOOKUPS = {"exact", "contains", "isnull"}
_ORDERED_LOOKUPS = {"exact", "gte", "lte", "range", "isnull"}
LOOKUPS: dict[str, set[str]] = {
    FieldType.TEXT: _TEXT_LOOKUPS,
    FieldType.LONG_TEXT: _TEXT_LOOKUPS,
    FieldType.URL: _TEXT_LOOKUPS,
    FieldType.EMAIL: _TEXT_LOOKUPS,
    FieldType.NUMBER: _ORDERED_LOOKUPS,
    FieldType.MONEY: _ORDERED_LOOKUPS,
    FieldType.DATE: _ORDERED_LOOKUPS,
    FieldType.DATETIME: _ORDERED_LOOKUPS,
    FieldType.SELECT: {"exact", "isnull"},
    FieldType.MULTI_SELECT: {"exact", "contains", "isnull"},
    FieldType.CHECKBOX: {"exact", "isnull"},
    FieldType.USER: {"exact", "isnull"},
}


def filter_custom(queryset: QuerySet, key: str, value, *, lookup: str = "exact") -> QuerySet:
    """Filter records by one custom field; `value` is cleaned the way stored values are."""
    field = _definition(queryset.model, key)
    if lookup not in LOOKUPS[field.field_type]:
        raise ValueError(
            _("“%(lookup)s” is not a lookup for the %(type)s field “%(key)s”; use %(lookups)s.")
            % {
                "lookup": lookup,
                "type": field.get_field_type_display(),
                "key": key,
                "lookups": ", ".join(sorted(LOOKUPS[field.field_type])),
            }
        )
    on_postgres = connections[queryset.db].vendor == "postgresql"
    if lookup == "isnull":
        return queryset.filter(_isnull(field, value))
    if lookup == "exact":
        return queryset.filter(_exact(field, value, on_postgres))
    if lookup == "contains":
        return queryset.filter(_contains(field, value, on_postgres))
    return queryset.filter(_compare(field, value, lookup))


def _definition(model, key: str) -> CustomField:
    record_type = model._meta.model_name
    if record_type not in RecordType.values:
        raise ValueError(_("%(model)s records have no custom fields.") % {"model": model.__name__})
    field = CustomField.objects.filter(record_type=record_type, key=key, is_active=True).first()
    if field is None:
        raise ValueError(
            _("There is no active custom field “%(key)s” on %(records)s records.")
            % {"key": key, "records": record_type}
        )
    return field


def _filter_value(field: CustomField, value):
    if _is_empty(value):
        raise ValueError(
            _("Give a value to filter “%(key)s” by, or use the isnull lookup.") % {"key": field.key}
        )
    try:
        return CLEANERS[field.field_type](field, value)
    except ValidationError as error:
        raise ValueError(f"{field.key}: {' '.join(error.messages)}") from None


def _isnull(field: CustomField, value) -> Q:
    if not isinstance(value, bool):
        raise ValueError(
            _("The isnull lookup on “%(key)s” takes True or False.") % {"key": field.key}
        )
    has_key = Q(custom__has_key=field.key)
    return ~has_key if value else has_key


def _exact(field: CustomField, value, on_postgres: bool):
    cleaned = _filter_value(field, value)
    # An explicit output field, or the lookup would not encode the value as JSON.
    lhs = KeyTransform(field.key, "custom", output_field=JSONField())
    same_json = lhs.get_lookup("exact")(lhs, cleaned)
    if not on_postgres:
        return same_json
    # Containment uses the GIN index; for a list it means "superset of", so pin the equality.
    contained = Q(custom__contains={field.key: cleaned})
    return contained & same_json if field.field_type == FieldType.MULTI_SELECT else contained


def _contains(field: CustomField, value, on_postgres: bool):
    if field.field_type != FieldType.MULTI_SELECT:
        lhs = KeyTextTransform(field.key, "custom")
        return lhs.get_lookup("icontains")(lhs, _filter_text(field, value))
    choice = _filter_value(field, [value])[0]
    if on_postgres:
        return Q(custom__contains={field.key: [choice]})
    return _SQLiteArrayHas(field.key, choice)


def _filter_text(field: CustomField, value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(
            _("The contains lookup on “%(key)s” takes some text.") % {"key": field.key}
        )
    return value.strip()


def _compare(field: CustomField, value, lookup: str):
    if lookup == "range":
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise ValueError(
                _("The range lookup on “%(key)s” takes a (low, high) pair.") % {"key": field.key}
            )
        bound = tuple(_comparable_value(field, item) for item in value)
    else:
        bound = _comparable_value(field, value)
    lhs = _comparable_column(field)
    # The field's lookups, not the JSON key's, which would parse the bound as JSON.
    return lhs.output_field.get_lookup(lookup)(lhs, bound)


def _comparable_column(field: CustomField):
    text = KeyTextTransform(field.key, "custom")
    if field.field_type == FieldType.NUMBER:
        return Cast(text, FloatField())
    if field.field_type == FieldType.MONEY:
        return Cast(text, DecimalField(max_digits=MONEY_MAX_DIGITS, decimal_places=2))
    # Dates and datetimes are stored in one fixed ISO format, which sorts as text.
    return text


def _comparable_value(field: CustomField, value):
    cleaned = _filter_value(field, value)
    return Decimal(cleaned) if field.field_type == FieldType.MONEY else cleaned


class _SQLiteArrayHas(Func):
    """Whether the JSON array under `key` holds `item`: SQLite has no JSON containment."""

    template = "EXISTS (SELECT 1 FROM json_each(%(expressions)s) WHERE json_each.value = %(item)s)"
    output_field = BooleanField()

    def __init__(self, key: str, item: str):
        super().__init__("custom", Value(f"$.{json.dumps(key)}"))
        self.item = item

    def as_sql(self, compiler, connection, **extra_context):
        sql, params = super().as_sql(compiler, connection, item="%s", **extra_context)
        return sql, (*params, self.item)


# Sorting by a custom field ----------------------------------------------------------------
#
# A list sorted by a custom field orders by `sort_expression(field)` then the primary key. On
# PostgreSQL each sortable field gets two expression indexes of exactly that ordering, one per
# direction (a backward scan would put the empty values first when descending), so page 50
# of a million deals sorted by region reads 1,250 index entries instead of sorting them all.
# They are made when the field is defined and dropped when it is deleted; their names are
# derived from the table and the key, so they can be found again. SQLite gets none.

UNSORTABLE_TYPES = (FieldType.LONG_TEXT, FieldType.MULTI_SELECT)
SORT_INDEX_PREFIX = "cf_sort_"
# PostgreSQL truncates identifiers past 63 bytes; a longer name is shortened with a hash.
MAX_INDEX_NAME = 63


def is_sortable(field: CustomField) -> bool:
    return field.field_type not in UNSORTABLE_TYPES


def sort_expression(field: CustomField):
    """The value a list orders by: numbers and amounts as numbers, the rest as stored text
    (dates and datetimes are stored in one ISO format, which sorts as text)."""
    return _comparable_column(field)


def sort_index_names(field: CustomField) -> tuple[str, str]:
    """The (ascending, descending) index names of a field: deterministic, at most 63 bytes."""
    return (_index_name(field, "a"), _index_name(field, "d"))


def _index_name(field: CustomField, direction: str) -> str:
    name = f"{SORT_INDEX_PREFIX}{field.record_type}_{field.key}_{direction}".replace("-", "_")
    if len(name) <= MAX_INDEX_NAME:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:10]
    return f"{name[: MAX_INDEX_NAME - 11]}_{digest}"


def sort_indexes(field: CustomField) -> list[Index]:
    """The two indexes matching a list's ORDER BY on this field (lists._ordering)."""
    expression = sort_expression(field)
    ascending, descending = sort_index_names(field)
    return [
        Index(expression.asc(nulls_last=True), F("id").asc(), name=ascending),
        Index(expression.desc(nulls_last=True), F("id").desc(), name=descending),
    ]


def add_sort_indexes(field: CustomField, *, using: str = "default", apps=None) -> list[str]:
    """Create the field's sort indexes on PostgreSQL when missing; returns the names made.

    Outside a transaction they are built CONCURRENTLY, so a million-row table stays writable
    while they build."""
    connection = connections[using]
    if connection.vendor != "postgresql" or not is_sortable(field):
        return []
    model = _record_model(field.record_type, apps)
    existing = _existing_indexes(connection, model._meta.db_table)
    made = []
    concurrently = not connection.in_atomic_block
    with connection.schema_editor(atomic=False) as editor:
        for index in sort_indexes(field):
            if existing.get(index.name) is False:
                # A concurrent build that failed leaves an invalid index behind: start again.
                editor.remove_index(model, index, concurrently=concurrently)
            elif index.name in existing:
                continue
            editor.add_index(model, index, concurrently=concurrently)
            made.append(index.name)
    return made


def drop_sort_indexes(field: CustomField, *, using: str = "default", apps=None) -> list[str]:
    """Drop the field's sort indexes (PostgreSQL); returns the names dropped."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return []
    model = _record_model(field.record_type, apps)
    existing = _existing_indexes(connection, model._meta.db_table)
    dropped = []
    concurrently = not connection.in_atomic_block
    with connection.schema_editor(atomic=False) as editor:
        for name in sort_index_names(field):
            if name in existing:
                editor.execute(
                    f"DROP INDEX {'CONCURRENTLY ' if concurrently else ''}IF EXISTS "
                    f"{editor.quote_name(name)}"
                )
                dropped.append(name)
    return dropped


def sync_sort_indexes(*, using: str = "default", apps=None) -> dict[str, list[str]]:
    """Make the sort indexes match the definitions: each sortable field has its two, and no
    index is left of a field that is gone (the migration that introduced them, and repairs)."""
    model = apps.get_model("crm", "CustomField") if apps else CustomField
    fields = list(model._default_manager.using(using).all())
    made = [name for field in fields for name in add_sort_indexes(field, using=using, apps=apps)]
    wanted = {name for field in fields if is_sortable(field) for name in sort_index_names(field)}
    dropped = []
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
                "AND indexname LIKE %s",
                [SORT_INDEX_PREFIX.replace("_", r"\_") + "%"],
            )
            stale = sorted(row[0] for row in cursor.fetchall() if row[0] not in wanted)
            for name in stale:
                cursor.execute(f"DROP INDEX IF EXISTS {connection.ops.quote_name(name)}")
                dropped.append(name)
    return {"created": made, "dropped": dropped}


def _record_model(record_type: str, apps=None):
    registry = apps or django_apps
    return registry.get_model("crm", record_type)


def _existing_indexes(connection, table: str) -> dict[str, bool]:
    """The sort indexes on `table`, each with whether it is valid (usable)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, i.indisvalid FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_class t ON t.oid = i.indrelid "
            "WHERE t.relname = %s AND c.relname LIKE %s",
            [table, SORT_INDEX_PREFIX.replace("_", r"\_") + "%"],
        )
        return dict(cursor.fetchall())
