"""The outbox: services append one row per changed record in the same transaction."""

from datetime import date, datetime
from decimal import Decimal

from django.db import models, transaction

from crm.models import Event, User


def json_value(value):
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [json_value(item) for item in value]
    if isinstance(value, dict):
        return {key: json_value(item) for key, item in value.items()}
    return value


def snapshot(instance: models.Model, fields: list[str]) -> dict:
    """Field values as they are now, to diff against after a change."""
    return {name: json_value(_field_value(instance, name)) for name in fields}


def changes_between(before: dict, after: dict) -> dict:
    return {
        name: [before.get(name), value]
        for name, value in after.items()
        if before.get(name) != value
    }


def event_record(
    *, type: str, instance: models.Model, actor: User | None, changes: dict | None = None
) -> Event:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Events are written in the transaction of the change they describe.")
    return Event.objects.create(
        type=type,
        record_type=instance._meta.model_name,
        record_id=instance.pk,
        changes=json_value(changes or {}),
        actor=actor if actor and actor.pk else None,
    )


def _field_value(instance: models.Model, name: str):
    field = instance._meta.get_field(name)
    if field.is_relation and field.many_to_one:
        return getattr(instance, field.attname)
    value = getattr(instance, name)
    if isinstance(field, models.DecimalField) and value is not None:
        # 5000 and 5000.00 are the same stored amount: compare them as the database does.
        return Decimal(value).quantize(Decimal(1).scaleb(-field.decimal_places))
    return value
