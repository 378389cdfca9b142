"""The outbox: services append one row per changed record in the same transaction.

When that transaction commits, the tasks listed in `settings.CRM_EVENT_TASKS` (dotted paths
of Celery tasks) are sent once
(automations claim the new rows at once instead of at their next periodic sweep). `crm`
imports none of the apps that consume events: it names their tasks.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.db import models, transaction
from django.utils.module_loading import import_string

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


_context: ContextVar[dict | None] = ContextVar("crm_event_context", default=None)


@contextmanager
def event_context(**context) -> Iterator[None]:
    """Events written inside this block carry `context` (e.g. the automation rule chain)."""
    token = _context.set({**(_context.get() or {}), **json_value(context)})
    try:
        yield
    finally:
        _context.reset(token)


def current_event_context() -> dict:
    return dict(_context.get() or {})


def event_record(
    *, type: str, instance: models.Model, actor: User | None, changes: dict | None = None
) -> Event:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Events are written in the transaction of the change they describe.")
    event = Event.objects.create(
        type=type,
        record_type=instance._meta.model_name,
        record_id=instance.pk,
        changes=json_value(changes or {}),
        actor=actor if actor and actor.pk else None,
        context=current_event_context(),
    )
    _send_event_tasks_on_commit()
    return event


def events_record_same_change(
    *,
    type: str,
    model: type[models.Model],
    record_ids: list[int],
    actor: User | None,
    changes: dict,
) -> int:
    """One event per record for a change made to many rows at once (a bulk reassignment)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Events are written in the transaction of the change they describe.")
    changes, context = json_value(changes), current_event_context()
    Event.objects.bulk_create(
        [
            Event(
                type=type,
                record_type=model._meta.model_name,
                record_id=pk,
                changes=changes,
                actor=actor if actor and actor.pk else None,
                context=context,
            )
            for pk in record_ids
        ],
        batch_size=1000,
    )
    if record_ids:
        _send_event_tasks_on_commit()
    return len(record_ids)


def events_record_each(
    *, type: str, changes_by_instance: list[tuple[models.Model, dict]], actor: User | None
) -> int:
    """One event per record, each with its own changes, in one insert (an import's batch)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Events are written in the transaction of the change they describe.")
    context = current_event_context()
    Event.objects.bulk_create(
        [
            Event(
                type=type,
                record_type=instance._meta.model_name,
                record_id=instance.pk,
                changes=json_value(changes),
                actor=actor if actor and actor.pk else None,
                context=context,
            )
            for instance, changes in changes_by_instance
        ],
        batch_size=1000,
    )
    if changes_by_instance:
        _send_event_tasks_on_commit()
    return len(changes_by_instance)


def _send_event_tasks_on_commit() -> None:
    """Once per transaction, however many events it writes (a bulk change writes hundreds)."""
    task_names = getattr(settings, "CRM_EVENT_TASKS", [])
    connection = transaction.get_connection()
    if not task_names or any(
        getattr(callback, "crm_event_tasks", False) for _, callback, _ in connection.run_on_commit
    ):
        return

    def send_event_tasks():
        for path in task_names:
            import_string(path).delay()

    send_event_tasks.crm_event_tasks = True
    transaction.on_commit(send_event_tasks, robust=True)


def _field_value(instance: models.Model, name: str):
    field = instance._meta.get_field(name)
    if field.is_relation and field.many_to_one:
        return getattr(instance, field.attname)
    value = getattr(instance, name)
    if isinstance(field, models.DecimalField) and value is not None:
        # 5000 and 5000.00 are the same stored amount: compare them as the database does.
        return Decimal(value).quantize(Decimal(1).scaleb(-field.decimal_places))
    return value
