"""Saving the rows admins keep (pipelines, stages, custom field definitions, teams, SLA
policies, KPI bands): validated, then written with one event in the same transaction, like
every record (DESIGN.md, "Events").

The row is read again, locked, inside the transaction: the "before" of the event is what the
database held, not what a form did to an instance in memory.
"""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _

from crm.limits import check_text_lengths
from crm.models import User

from .events import changes_between, event_record, snapshot


def reference_save(
    model: type[models.Model],
    *,
    actor: User | None,
    data: dict,
    pk: int | None = None,
    many: dict[str, list] | None = None,
) -> models.Model:
    """Create (`pk` None) or update the row with `data` (field name → value, plain fields and
    foreign keys) and `many` (many-to-many field name → the rows it links, all of them).
    Raises ValidationError with nothing written when the row would be invalid; returns the
    row, unchanged and without an event when nothing changed."""
    try:
        with transaction.atomic():
            return _save(model, actor=actor, data=data, pk=pk, many=many or {})
    except IntegrityError as error:
        # Another admin saved the same name a moment before: the check above passed for both.
        raise ValidationError(_("Someone saved a conflicting change meanwhile; try again.")) from (
            error
        )


def _save(model, *, actor, data: dict, pk: int | None, many: dict) -> models.Model:
    fields = list(data)
    if pk is None:
        instance, before = model(), {}
    else:
        instance = model._default_manager.select_for_update().get(pk=pk)
        before = snapshot(instance, fields)
    for name, value in data.items():
        setattr(instance, name, value)
    check_text_lengths(instance, fields)
    instance.full_clean()
    after = snapshot(instance, fields)
    if pk is None:
        changes = {name: [None, value] for name, value in after.items()}
        instance.save()
    else:
        changes = changes_between(before, after)
        if changes:
            instance.save(update_fields=_update_fields(instance, changes))
    for name, rows in many.items():
        related = getattr(instance, name)
        old = sorted(related.values_list("pk", flat=True)) if pk is not None else []
        new = sorted({row.pk for row in rows})
        if old != new:
            related.set(new)
            changes[name] = [old, new]
    if pk is not None and not changes:
        return instance
    event_record(
        type=f"{model._meta.model_name}.{'created' if pk is None else 'updated'}",
        instance=instance,
        actor=actor,
        changes=changes,
    )
    return instance


def _update_fields(instance: models.Model, changes: dict) -> list[str]:
    names = list(changes)
    names += [
        field.name
        for field in instance._meta.concrete_fields
        if getattr(field, "auto_now", False) and field.name not in names
    ]
    return names
