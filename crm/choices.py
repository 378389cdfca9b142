"""The label of a choices field's value, read for each row of lists and exports.

Django's get_FOO_display() builds the field's choices into a dict on every call, translating
each label as it hashes it: 70 µs a row, 1.1 s of an 8k-row KPI export. Here the labels are
built once per field and language."""

from functools import cache

from django.db.models import Model
from django.utils.hashable import make_hashable
from django.utils.translation import get_language


def choice_label(record: Model, field_name: str):
    """What record.get_<field_name>_display() returns, in the active language."""
    value = getattr(record, field_name)
    labels = _labels(type(record), field_name, get_language())
    return labels.get(make_hashable(value), value)


@cache
def _labels(model: type[Model], field_name: str, _language: str | None) -> dict:
    # Built while `_language` is active: the labels are translated into it.
    field = model._meta.get_field(field_name)
    return {make_hashable(value): str(label) for value, label in field.flatchoices}
