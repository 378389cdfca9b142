"""Dry-run: what a rule would have done over the last N days. Reads only, writes nothing.

Event triggers replay the stored events of the window; date and idle triggers look at the
records as they stand; a schedule lists its ticks in the window; a KPI threshold its value now.
"""

import functools
from datetime import timedelta
from types import SimpleNamespace

from django.db.models import DateTimeField
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import Event

from .actions import ActionContext, ActionError, describe, render
from .conditions import matches
from .engine import _deleted_record
from .records import custom_definitions, label_of, load_records, model_for
from .services import DryRunItem, DryRunReport
from .triggers import cron_matches, event_fits, event_types_for, parse_cron, record_type_of

CHUNK = 500
MAX_EVENTS = 20_000  # the replay stops here on a very busy window (the report says so)


def dry_run(
    *, trigger: dict, conditions: dict, actions: list, days: int, limit: int
) -> DryRunReport:
    days = max(1, min(int(days or 7), 365))
    report = DryRunReport(days=days)
    words = ActionWords(actions, record_type_of(trigger))
    kind = trigger.get("type")
    if kind in ("date.reached", "no_activity"):
        _records_as_they_stand(report, trigger, conditions, words, limit)
    elif kind == "schedule":
        _schedule_ticks(report, trigger, words, limit)
    elif kind == "kpi.threshold":
        _kpi_now(report, trigger, words)
    else:
        _replay_events(report, trigger, conditions, words, limit)
    return report


TEXT_KEYS = ("title", "body", "subject", "description")


class ActionWords:
    """The actions in the builder's words, their texts filled in with each record's values."""

    def __init__(self, actions: list, record_type: str):
        self.actions, self.record_type = actions, record_type
        try:
            from .catalog import References, describe_action
        except ImportError:  # the builder's catalog is optional for the engine
            self.describe, self.refs = None, None
        else:
            self.describe, self.refs = describe_action, References()

    def __call__(self, record=None) -> list[str]:
        context = None
        if record is not None:
            context = ActionContext(
                rule=SimpleNamespace(name="", id=None),
                run=None,
                record=record,
                record_type=self.record_type,
                read_once=True,
            )
        return [self._one(self._filled(action, context)) for action in self.actions]

    def _one(self, action: dict) -> str:
        if self.describe is None:
            return describe(action)
        return str(self.describe(action, record_type=self.record_type, refs=self.refs))

    def _filled(self, action: dict, context: ActionContext | None) -> dict:
        if context is None:
            return action
        filled = dict(action)
        for key in TEXT_KEYS:
            if isinstance(action.get(key), str):
                try:
                    filled[key] = render(action[key], context)
                except ActionError:
                    pass  # the run would fail; the raw text says which template
        return filled


def _add(report: DryRunReport, item: DryRunItem, limit: int, actions=None) -> None:
    """Count the item; keep it if the report has room, with what its actions would do
    (`actions()`, called only then: filling the texts is the dearest part of a dry run, 0.4 s
    for the 1,000 records a time trigger reads, of which the page shows 50)."""
    report.evaluated += 1
    report.matched += int(item.matched)
    if len(report.items) < limit:
        if item.matched and actions is not None:
            item.actions = actions()
        report.items.append(item)
    else:
        report.truncated = True


def _replay_events(report, trigger, conditions, words, limit) -> None:
    record_type = record_type_of(trigger)
    since = timezone.now() - timedelta(days=report.days)
    events = Event.objects.filter(record_type=record_type, occurred_at__gte=since)
    types = event_types_for(trigger)
    if types is not None:
        events = events.filter(type__in=types)
    definitions = custom_definitions()
    seen = 0
    last_id = None
    while seen < MAX_EVENTS:
        chunk_query = events.order_by("-id")
        if last_id is not None:
            chunk_query = chunk_query.filter(id__lt=last_id)
        chunk = list(chunk_query[:CHUNK])
        if not chunk:
            return
        last_id, seen = chunk[-1].id, seen + len(chunk)
        fitting = [event for event in chunk if event_fits(trigger, event)]
        records = load_records(record_type, [event.record_id for event in fitting])
        for event in fitting:
            record = records.get(event.record_id) or _deleted_record(event)
            matched = matches(conditions, record, changes=event.changes, definitions=definitions)
            _add(
                report,
                DryRunItem(
                    record_type=record_type,
                    record_id=event.record_id,
                    label=label_of(record) or f"#{event.record_id}",
                    occurred_at=event.occurred_at,
                    matched=matched,
                    event_id=event.id,
                    event_type=event.type,
                ),
                limit,
                actions=functools.partial(words, record),
            )
    report.truncated = True
    report.notes.append(_("Only the latest %s events were replayed.") % MAX_EVENTS)


def _records_as_they_stand(report, trigger, conditions, words, limit) -> None:
    from .timed import _idle

    model = model_for(trigger.get("record_type", ""))
    if model is None:
        return
    definitions = custom_definitions()
    today = timezone.localdate()
    if trigger.get("type") == "no_activity":
        due = _idle(model, trigger, timezone.now())
    else:
        due = _dates_in_window(model, trigger, today, report.days)
    # Their relations (owner, stage, company...) in one query, not a few per record; when
    # no condition reads them, only for the records the report shows (of up to 1,000).
    shown = due if (conditions or {}).get("rows") else due[:limit]
    loaded = load_records(trigger.get("record_type", ""), [record.pk for record, _tick in shown])
    for record, tick in due:
        record = loaded.get(record.pk, record)
        matched = matches(conditions, record, definitions=definitions)
        _add(
            report,
            DryRunItem(
                record_type=trigger.get("record_type", ""),
                record_id=record.pk,
                label=label_of(record),
                occurred_at=None,
                matched=matched,
                tick=tick,
            ),
            limit,
            actions=functools.partial(words, record),
        )


def _dates_in_window(model, trigger, today, days) -> list:
    """Records whose date (with the offset) fell on one of the last `days` days."""
    offset = timedelta(days=int(trigger.get("offset_days") or 0))
    first, last = today - timedelta(days=days - 1) - offset, today - offset
    path = trigger.get("field", "")
    if path.startswith("custom."):
        key = f"custom__{path.removeprefix('custom.')}"
        lookup = {f"{key}__gte": first.isoformat(), f"{key}__lte": last.isoformat()}
    else:
        field = model._meta.get_field(path)
        name = f"{path}__date" if isinstance(field, DateTimeField) else path
        lookup = {f"{name}__gte": first, f"{name}__lte": last}
    records = model._default_manager.filter(**lookup).order_by("pk")[:1000]
    result = []
    for record in records:
        value = getattr(record, path, None) if not path.startswith("custom.") else None
        if value is None:
            value = (record.custom or {}).get(path.removeprefix("custom."), "")
        day = value.date() if hasattr(value, "date") and callable(value.date) else value
        result.append((record, f"date:{day}"))
    return result


def _schedule_ticks(report, trigger, words, limit) -> None:
    try:
        schedule = parse_cron(trigger.get("cron", ""))
    except ValueError as error:
        report.notes.append(str(error))
        return
    now = timezone.localtime().replace(second=0, microsecond=0)
    moment = now - timedelta(days=report.days)
    while moment <= now:
        if cron_matches(schedule, moment):
            _add(
                report,
                DryRunItem(
                    record_type="",
                    record_id=None,
                    label=_("Scheduled run"),
                    occurred_at=moment,
                    matched=True,
                    tick="schedule:" + moment.strftime("%Y-%m-%dT%H:%M"),
                    actions=words(),
                ),
                limit,
            )
            if report.truncated:
                return
        moment += timedelta(minutes=1)


def _kpi_now(report, trigger, words) -> None:
    from .timed import _crossed, kpi_value

    if trigger.get("per") == "company":
        report.notes.append(_("Per-customer thresholds are checked hourly; no history to replay."))
        return
    value = kpi_value(trigger, timezone.localdate())
    beyond = bool(_crossed(trigger, value))
    report.notes.append(_("The KPI is %(value)s now.") % {"value": value})
    _add(
        report,
        DryRunItem(
            record_type="",
            record_id=None,
            label=str(trigger.get("kpi", "")),
            occurred_at=timezone.now(),
            matched=beyond,
            actions=words() if beyond else [],
        ),
        200,
    )
