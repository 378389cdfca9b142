"""Evaluating a rule's conditions on a record (and the event that changed it).

Values are compared with the field's type: numbers as numbers, dates as dates, choices and
foreign keys by their stored value. A condition on a field the record does not have is false.
"""

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from crm.models import FieldType

from .records import MISSING, read_path
from .triggers import change_of

NUMBER, DATE, DATETIME, BOOLEAN, LIST, TEXT, ID = (
    "number",
    "date",
    "datetime",
    "boolean",
    "list",
    "text",
    "id",
)
CUSTOM_KINDS = {
    FieldType.NUMBER: NUMBER,
    FieldType.MONEY: NUMBER,
    FieldType.DATE: DATE,
    FieldType.DATETIME: DATETIME,
    FieldType.CHECKBOX: BOOLEAN,
    FieldType.MULTI_SELECT: LIST,
    FieldType.USER: ID,
}


def matches(group: dict | None, record, *, changes: dict | None = None, definitions=None) -> bool:
    """Whether the record meets the condition group (an empty group always matches)."""
    group = group or {}
    rows = group.get("rows") or []
    if not rows:
        return True
    results = (_row_matches(row, record, changes or {}, definitions or {}) for row in rows)
    return any(results) if group.get("match") == "any" else all(results)


def condition_paths(group: dict | None) -> set[str]:
    """Every field path a condition group reads (its nested groups' too)."""
    paths = set()
    for row in (group or {}).get("rows") or []:
        paths |= condition_paths(row) if "rows" in row else {str(row.get("field", ""))}
    return paths


def _row_matches(row: dict, record, changes: dict, definitions: dict) -> bool:
    if "rows" in row:
        return matches(row, record, changes=changes, definitions=definitions)
    op, path, wanted = row.get("op", "eq"), row.get("field", ""), row.get("value")
    if op in ("changed", "changed_from", "changed_to"):
        return _change_matches(op, path, wanted, record, changes, definitions)
    if record is None:
        return False
    value, field = read_path(record, path)
    if value is MISSING:
        return False
    kind = kind_of(field, definitions)
    return compare(op, coerce(value, kind), wanted, kind)


def _change_matches(op, path, wanted, record, changes, definitions) -> bool:
    pair = change_of(changes, path)
    if pair is None:
        return False
    if op == "changed":
        return True
    kind = TEXT
    if record is not None:
        kind = kind_of(read_path(record, path)[1], definitions)
    old, new = (coerce(item, kind) for item in pair)
    return compare("eq", old if op == "changed_from" else new, wanted, kind)


def kind_of(field, definitions: dict) -> str:
    """How a field's values compare: by number, date, id, list, boolean or text."""
    if isinstance(field, tuple):
        definition = definitions.get(field)
        return CUSTOM_KINDS.get(definition.field_type, TEXT) if definition else TEXT
    if field is None:
        return TEXT
    if field.is_relation:
        return ID
    if isinstance(field, models.DecimalField | models.IntegerField | models.FloatField):
        return NUMBER
    if isinstance(field, models.DateTimeField):
        return DATETIME
    if isinstance(field, models.DateField):
        return DATE
    if isinstance(field, models.BooleanField):
        return BOOLEAN
    return TEXT


def coerce(value, kind: str):
    """A stored value (or a value typed in a rule) as the comparable Python value, or None."""
    if value is None or value == "":
        return None
    try:
        if kind == NUMBER or kind == ID:
            number = Decimal(str(value))
            return int(number) if kind == ID else number
        if kind == DATE:
            return _as_date(value)
        if kind == DATETIME:
            return _as_datetime(value)
        if kind == BOOLEAN:
            return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
        if kind == LIST:
            return [str(item) for item in value] if isinstance(value, list) else [str(value)]
    except (InvalidOperation, ValueError, TypeError):
        return None
    return str(value)


def _as_date(value):
    if isinstance(value, datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if isinstance(value, date):
        return value
    text = str(value)
    return parse_date(text[:10])


def _as_datetime(value):
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return timezone.make_aware(datetime.combine(value, datetime.min.time()))
    parsed = parse_datetime(str(value))
    if parsed is None:
        day = parse_date(str(value))
        return _as_datetime(day) if day else None
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


def compare(op: str, value, wanted, kind: str) -> bool:
    if op == "is_empty":
        return value in (None, "", [])
    if op == "not_empty":
        return value not in (None, "", [])
    if op == "in":
        options = wanted if isinstance(wanted, list) else str(wanted or "").split(",")
        return any(_equal(value, option, kind) for option in options if str(option).strip())
    if op == "contains":
        if isinstance(value, list):
            return str(wanted) in value
        return value is not None and str(wanted or "").lower() in str(value).lower()
    if op == "eq":
        return _equal(value, wanted, kind)
    if op == "ne":
        return not _equal(value, wanted, kind)
    return _ordered(op, value, wanted, kind)


def _equal(value, wanted, kind: str) -> bool:
    if kind == LIST:
        return str(wanted).strip() in (value or [])
    if kind == DATETIME and _looks_like_a_day(wanted):
        # "closed on 2026-11-20" compares the day of a timestamp
        return value is not None and _as_date(value) == coerce(wanted, DATE)
    other = coerce(wanted.strip() if isinstance(wanted, str) else wanted, kind)
    if kind == TEXT:
        return (value or "").casefold() == (other or "").casefold()
    return value == other


def _ordered(op: str, value, wanted, kind: str) -> bool:
    if kind == DATETIME and _looks_like_a_day(wanted):
        value, kind = (_as_date(value) if value is not None else None), DATE
    other = coerce(wanted, kind)
    if value is None or other is None or kind == LIST:
        return False
    try:
        return {
            "lt": value < other,
            "lte": value <= other,
            "gt": value > other,
            "gte": value >= other,
        }[op]
    except (TypeError, KeyError):
        return False


def _looks_like_a_day(wanted) -> bool:
    return isinstance(wanted, str) and len(wanted.strip()) == 10
