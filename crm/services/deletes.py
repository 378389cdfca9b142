"""Deleting a row: the one delete path of the admin, the apps' delete views and services.

What a delete may take with it is decided on the foreign keys (see crm/models/common.py):
history is protected, so a record something happened with is refused with the list of what
points at it, and an empty one goes. Every delete that goes leaves one "<type>.deleted" event
with the values the row had, its name, and the count of its parts removed with it.
"""

from django.db import models, router, transaction
from django.db.models.deletion import ProtectedError, RestrictedError
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from crm.models import User

from .errors import RecordInUse
from .events import event_record, json_value, snapshot

# Never copied into an event: a survey link's token is a customer's key, a password a hash.
SECRET_FIELDS = {"token", "password"}


def record_delete(instance: models.Model, *, actor: User | None) -> None:
    """Delete `instance` and its parts, with a "<type>.deleted" event in the same transaction.

    Raises RecordInUse (nothing written) when rows with history still point at it."""
    model = type(instance)
    pk = instance.pk
    changes = {name: [value, None] for name, value in deleted_values(instance).items()}
    changes["_name"] = [str(instance), None]
    using = router.db_for_write(model, instance=instance)
    try:
        with transaction.atomic(using=using):
            _total, removed = instance.delete()
            parts = {label: n for label, n in removed.items() if n and label != model._meta.label}
            if parts:
                changes["_removed_with"] = [parts, None]
            # The event names the row that was; delete() has just cleared its primary key.
            instance.pk = pk
            event_record(
                type=f"{model._meta.model_name}.deleted",
                instance=instance,
                actor=actor,
                changes=changes,
            )
            instance.pk = None
    except (ProtectedError, RestrictedError) as error:
        instance.pk = pk
        raise RecordInUse(in_use_message(instance, _blockers(error))) from error


def deleted_values(instance: models.Model) -> dict:
    """The row's stored values (and its many-to-many links) as its deletion event keeps them."""
    meta = instance._meta
    names = [
        field.name
        for field in meta.concrete_fields
        if not field.primary_key and field.name not in SECRET_FIELDS
    ]
    values = snapshot(instance, names)
    for field in meta.many_to_many:
        values[field.name] = sorted(getattr(instance, field.name).values_list("pk", flat=True))
    return json_value(values)


def in_use_message(instance: models.Model, blockers) -> str:
    """“Acme” cannot be deleted: 2 deals and 1 subscription still refer to it. …"""
    counts: dict[type[models.Model], int] = {}
    for row in blockers:
        counts[type(row)] = counts.get(type(row), 0) + 1
    parts = [
        f"{count} {model._meta.verbose_name if count == 1 else model._meta.verbose_name_plural}"
        for model, count in sorted(counts.items(), key=lambda item: item[0]._meta.label)
    ]
    return _(
        "%(type)s “%(name)s” cannot be deleted: %(rows)s still refer to it. Their history "
        "stays; move or delete them first."
    ) % {
        "type": capfirst(instance._meta.verbose_name),
        "name": instance,
        "rows": ", ".join(parts),
    }


def _blockers(error: ProtectedError | RestrictedError):
    if isinstance(error, ProtectedError):
        return error.protected_objects
    return error.restricted_objects
