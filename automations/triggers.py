"""Which events a rule's trigger fits, and when a cron schedule is next due."""

from datetime import datetime, timedelta

from celery.schedules import crontab

# The record type an event-less trigger kind is about.
TRIGGER_RECORD_TYPES = {
    "ticket.created": "ticket",
    "ticket.replied": "ticket",
    "ticket.resolved": "ticket",
    "ticket.sla_breached": "ticket",
    "survey.answered": "surveyanswer",
    "activity.logged": "activity",
    "kpi.alert": "kpialert",
}
# Event types that create a record whose type does not write "<type>.created".
CREATED_EVENTS = {
    "activity": {"activity.logged"},
    "surveyanswer": {"survey.answered"},
    "subscription": {"subscription.started", "subscription.renewed"},
}
REPLY_EVENTS = {"ticket.replied", "ticket.customer_replied"}
# What metrics.alerts writes when it raises a KPI alert.
KPI_ALERT_EVENT = "kpi.alert_raised"


def record_type_of(trigger: dict) -> str:
    """The record type a rule is about ("" for schedules and KPI thresholds)."""
    kind = trigger.get("type", "")
    if kind in TRIGGER_RECORD_TYPES:
        return TRIGGER_RECORD_TYPES[kind]
    if kind == "kpi.threshold" and trigger.get("per") == "company":
        return "company"
    return trigger.get("record_type", "") if kind not in ("schedule", "kpi.threshold") else ""


def event_types_for(trigger: dict) -> set[str] | None:
    """The event types a trigger can fit (None: any event of its record type)."""
    kind = trigger.get("type", "")
    record_type = record_type_of(trigger)
    if kind == "record.created":
        return CREATED_EVENTS.get(record_type, {f"{record_type}.created"})
    if kind == "record.deleted":
        return {f"{record_type}.deleted"}
    if kind == "ticket.replied":
        return REPLY_EVENTS
    if kind in ("ticket.created", "ticket.resolved", "ticket.sla_breached"):
        return {kind}
    if kind in ("survey.answered", "activity.logged"):
        return {kind}
    if kind == "kpi.alert":
        return {KPI_ALERT_EVENT}
    return None


def event_fits(trigger: dict, event) -> bool:
    """Whether an event (an Event row, or anything with type/record_type/changes) fires it."""
    kind = trigger.get("type", "")
    if event.record_type != record_type_of(trigger):
        return False
    types = event_types_for(trigger)
    if types is not None and event.type not in types:
        return False
    changes = event.changes or {}
    if kind == "record.updated":
        return not event.type.endswith((".created", ".deleted")) and bool(changes)
    if kind == "field.changed":
        return field_changed(changes, trigger.get("field", ""), trigger)
    if kind == "survey.answered":
        return _survey_fits(trigger, changes)
    if kind == "activity.logged":
        kinds = trigger.get("kinds") or []
        return not kinds or _new_value(changes, "kind") in kinds
    if kind == "kpi.alert":
        return _alert_fits(trigger, changes)
    return types is not None


def change_of(changes: dict, field: str):
    """[old, new] of a field in an event's changes (custom fields under changes["custom"])."""
    if field.startswith("custom."):
        pair = changes.get("custom")
        if not pair:
            return None
        key = field.removeprefix("custom.")
        old, new = (pair[0] or {}).get(key), (pair[1] or {}).get(key)
        return None if old == new else [old, new]
    pair = changes.get(field)
    return pair if isinstance(pair, list | tuple) and len(pair) == 2 else None


def field_changed(changes: dict, field: str, spec: dict) -> bool:
    pair = change_of(changes, field)
    if pair is None:
        return False
    if "from" in spec and spec["from"] not in (None, "") and not same(pair[0], spec["from"]):
        return False
    if "to" in spec and spec["to"] not in (None, "") and not same(pair[1], spec["to"]):
        return False
    return True


def same(stored, wanted) -> bool:
    """Values from JSON compared loosely by their text: ids, choices, numbers as stored."""
    if isinstance(stored, list):
        return str(wanted) in {str(item) for item in stored}
    return str(stored) == str(wanted)


def _new_value(changes: dict, name: str):
    pair = changes.get(name)
    return pair[1] if isinstance(pair, list | tuple) and len(pair) == 2 else None


def _survey_fits(trigger: dict, changes: dict) -> bool:
    kind = trigger.get("kind") or ""
    if kind and _new_value(changes, "kind") != kind:
        return False
    score = _new_value(changes, "score")
    low, high = trigger.get("min"), trigger.get("max")
    if low not in (None, "") and (score is None or int(score) < int(low)):
        return False
    if high not in (None, "") and (score is None or int(score) > int(high)):
        return False
    return True


def _alert_fits(trigger: dict, changes: dict) -> bool:
    """A "KPI alert raised" rule's filters, each empty for any: the KPI, the direction and the
    scope (the company, a team, an owner)."""
    scope = _new_value(changes, "segment_field") or "company"
    wanted = {
        "kpi": _new_value(changes, "kpi"),
        "direction": _new_value(changes, "direction"),
        "scope": scope,
    }
    return all(trigger.get(name) in (None, "", value) for name, value in wanted.items())


# Cron schedules: "minute hour day-of-month month day-of-week", parsed by Celery's crontab.


def parse_cron(expression: str) -> crontab:
    parts = (expression or "").split()
    if len(parts) != 5:
        raise ValueError("A schedule has five fields: minute hour day month weekday.")
    minute, hour, day_of_month, month_of_year, day_of_week = parts
    return crontab(
        minute=minute,
        hour=hour,
        day_of_month=day_of_month,
        month_of_year=month_of_year,
        day_of_week=day_of_week,
    )


def cron_matches(schedule: crontab, moment: datetime) -> bool:
    # crontab counts weekdays from Sunday = 0; Python's isoweekday has Sunday = 7.
    return (
        moment.minute in schedule.minute
        and moment.hour in schedule.hour
        and moment.day in schedule.day_of_month
        and moment.month in schedule.month_of_year
        and moment.isoweekday() % 7 in schedule.day_of_week
    )


def next_run_after(expression: str, after: datetime) -> datetime | None:
    """The first minute strictly after `after` matching the cron expression (local time)."""
    from django.utils import timezone

    try:
        schedule = parse_cron(expression)
    except ValueError:
        return None
    local = timezone.localtime(after).replace(second=0, microsecond=0) + timedelta(minutes=1)
    day = local.date()
    for _ in range(366 * 5):
        moment_day = timezone.make_aware(datetime.combine(day, datetime.min.time()))
        if (
            day.day in schedule.day_of_month
            and day.month in schedule.month_of_year
            and day.isoweekday() % 7 in schedule.day_of_week
        ):
            for hour in sorted(schedule.hour):
                for minute in sorted(schedule.minute):
                    candidate = moment_day.replace(hour=hour, minute=minute)
                    if candidate >= local:
                        return candidate
        day += timedelta(days=1)
    return None
