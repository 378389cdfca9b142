"""Custom field definitions, as admins set them up (the settings pages).

A field's record type, key and type are fixed once it exists: records keep their values under
the key in the type's format, and the API, filters and imports name the key. A different
field is a new definition (the old one can be made inactive: hidden, its values kept).

On PostgreSQL a sortable field gets the expression indexes its list sort uses
(`crm.custom_fields.add_sort_indexes`) once its definition is committed, and loses them when it
is deleted; an inactive field keeps them, as it keeps its values.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from crm.custom_fields import add_sort_indexes, drop_sort_indexes
from crm.forms.custom_field_definitions import MAX_OPTIONS, OPTION_MAX_LENGTH
from crm.models import CustomField, User

from .deletes import record_delete
from .events import event_record
from .reference import reference_save

FIELDS = (
    "record_type",
    "key",
    "label",
    "field_type",
    "help_text",
    "required",
    "choices",
    "order",
    "is_active",
)
FIXED_FIELDS = ("record_type", "key", "field_type")


def custom_field_create(*, actor: User | None, data: dict) -> CustomField:
    data = _checked(data)
    _check_choices(data.get("field_type", ""), data.get("choices", []))
    field = reference_save(CustomField, actor=actor, data=data)
    # After the commit: built concurrently there, and never for a definition rolled back.
    transaction.on_commit(lambda: add_sort_indexes(field))
    return field


def custom_field_delete(*, field: CustomField, actor: User | None) -> None:
    """Delete the definition (an event records it) and, once committed, its sort indexes."""
    record_delete(field, actor=actor)
    gone = CustomField(record_type=field.record_type, key=field.key, field_type=field.field_type)
    transaction.on_commit(lambda: drop_sort_indexes(gone))


def custom_field_update(*, field: CustomField, actor: User | None, data: dict) -> CustomField:
    data = _checked(data)
    with transaction.atomic():
        current = CustomField.objects.select_for_update().get(pk=field.pk)
        fixed = {
            name: _("This cannot change once the field exists; add a new field instead.")
            for name in FIXED_FIELDS
            if name in data and data[name] != getattr(current, name)
        }
        if fixed:
            raise ValidationError(fixed)
        _check_choices(current.field_type, data.get("choices", current.choices))
        return reference_save(CustomField, actor=actor, data=data, pk=field.pk)


def custom_fields_reorder(*, record_type: str, actor: User | None, field_ids: list[int]) -> None:
    """Put the record type's fields in the order of `field_ids` (each listed once)."""
    with transaction.atomic():
        fields = {
            f.pk: f
            for f in CustomField.objects.select_for_update()
            .filter(record_type=record_type)
            .order_by("order", "pk")
        }
        if len(field_ids) != len(set(field_ids)) or set(field_ids) != set(fields):
            raise ValidationError(_("The new order must list every field of the record once."))
        for position, pk in enumerate(field_ids):
            field = fields[pk]
            if field.order != position:
                before, field.order = field.order, position
                field.save(update_fields=["order"])
                event_record(
                    type="customfield.updated",
                    instance=field,
                    actor=actor,
                    changes={"order": [before, position]},
                )


def _checked(data: dict) -> dict:
    extra = sorted(set(data) - set(FIELDS))
    if extra:
        raise ValidationError({name: _("This field cannot be set here.") for name in extra})
    return dict(data)


def _check_choices(field_type: str, choices) -> None:
    """The form's rules for options, for callers without the form."""
    is_select = CustomField(field_type=field_type).is_select
    if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
        raise ValidationError({"choices": _("Options are a list of texts.")})
    if is_select and not choices:
        raise ValidationError({"choices": _("A select field needs at least one option.")})
    if choices and not is_select:
        raise ValidationError({"choices": _("Only single and multi select fields have options.")})
    if (
        len(choices) > MAX_OPTIONS
        or len(set(choices)) != len(choices)
        or any(not c.strip() or len(c) > OPTION_MAX_LENGTH for c in choices)
    ):
        raise ValidationError({"choices": _("Give distinct, non-empty, short options.")})
