"""Time-based rules: a date reached, no activity for N days, a cron schedule, a KPI threshold.

The minute beat entry asks `due_time_rule_ids` which rules are due and sends one task per rule.
Each rule's task claims its turn by moving `next_run_at` on the locked rule row, then evaluates
the records that are due. A run's tick ("date:2026-11-23", "idle:2026-11-01", ...) and the
unique (rule, tick, record) constraint make a tick act once per record, however often the
task is delivered; record-less runs (schedules, KPI checks) are once because the claim and
the run commit together.
"""

import time
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, DateTimeField, Exists, OuterRef, Q, Subquery
from django.utils import timezone

from crm.models import ENGAGEMENT_KINDS, Activity, Company, Lifecycle, SurveyAnswer

from .actions import OPEN_RECORDS
from .conditions import matches
from .engine import run_actions
from .models import Rule, RuleRun, RunStatus
from .records import custom_definitions, model_for
from .triggers import next_run_after

SCAN_EVERY = timedelta(minutes=10)  # date and idle rules look for due records this often
RECORDS_PER_TICK = 1000
RECORD_TIME_TRIGGERS = ("date.reached", "no_activity")


def due_time_rule_ids(*, now: datetime | None = None) -> list[int]:
    now = now or timezone.now()
    rules = Rule.objects.filter(enabled=True).filter(
        Q(next_run_at__isnull=True) | Q(next_run_at__lte=now)
    )
    return [
        rule.pk
        for rule in rules.only("id", "trigger")
        if rule.trigger.get("type") in (*RECORD_TIME_TRIGGERS, "schedule")
    ]


def kpi_rule_ids() -> list[int]:
    rules = Rule.objects.filter(enabled=True, record_type__in=["", "company"])
    return [r.pk for r in rules.only("id", "trigger") if r.trigger.get("type") == "kpi.threshold"]


def run_time_rule(*, rule_id: int, now: datetime | None = None) -> int:
    """Run one due time rule; returns how many runs it wrote."""
    now = now or timezone.now()
    rule = Rule.objects.filter(pk=rule_id, enabled=True).first()
    if rule is None:
        return 0
    kind = rule.trigger.get("type")
    if kind == "schedule":
        return _run_schedule(rule_id, now)
    if kind in RECORD_TIME_TRIGGERS:
        if not _claim_scan(rule_id, now):
            return 0
        return run_record_tick(rule, now=now)
    return 0


def _claim_scan(rule_id: int, now: datetime) -> bool:
    with transaction.atomic():
        rule = Rule.objects.select_for_update().get(pk=rule_id)
        if rule.next_run_at is not None and rule.next_run_at > now:
            return False  # another delivery of this task took this turn
        Rule.objects.filter(pk=rule_id).update(next_run_at=now + SCAN_EVERY)
    return True


def _run_schedule(rule_id: int, now: datetime) -> int:
    with transaction.atomic():
        rule = Rule.objects.select_for_update().get(pk=rule_id)
        due = rule.next_run_at
        if due is None or due > now:
            if due is None:
                rule.next_run_at = next_run_after(rule.trigger.get("cron", ""), now)
                rule.save(update_fields=["next_run_at"])
            return 0
        rule.next_run_at = next_run_after(rule.trigger.get("cron", ""), now)
        rule.save(update_fields=["next_run_at"])
        tick = "schedule:" + timezone.localtime(due).strftime("%Y-%m-%dT%H:%M")
        run = run_actions(
            rule,
            None,
            base=_base(rule, "", None),
            chain=[],
            started=time.perf_counter(),
            tick=tick,
        )
    return 1 if run is not None else 0


def _base(rule: Rule, record_type: str, record_id) -> dict:
    return {
        "rule": rule,
        "rule_version": rule.version,
        "event": None,
        "record_type": record_type,
        "record_id": record_id,
        "depth": 0,
    }


# Records due: a date reached, or idle for N days


def due_records(trigger: dict, *, now: datetime, rule: Rule | None = None) -> list:
    """(record, tick) pairs due now for a date or idle trigger; with `rule`, without those the
    rule already ran on for their tick (so a long backlog is worked through, not re-read)."""
    model = model_for(trigger.get("record_type", ""))
    if model is None:
        return []
    if trigger.get("type") == "date.reached":
        return _date_reached(model, trigger, timezone.localdate(now), rule)
    return _idle(model, trigger, now, rule)


def _date_reached(model, trigger: dict, today: date, rule: Rule | None = None) -> list:
    # "3 days before the close date" (offset -3) is due today when the date is today + 3.
    target = today - timedelta(days=int(trigger.get("offset_days") or 0))
    tick = f"date:{target.isoformat()}"
    path = trigger.get("field", "")
    if path.startswith("custom."):
        lookup = {f"custom__{path.removeprefix('custom.')}": target.isoformat()}
    else:
        field = model._meta.get_field(path)
        name = f"{path}__date" if isinstance(field, DateTimeField) else path
        lookup = {name: target}
    records = model._default_manager.filter(**lookup)
    if rule is not None:
        records = records.exclude(_ran(rule, model, tick=tick))
    return [(record, tick) for record in records.order_by("pk")[:RECORDS_PER_TICK]]


def _idle(model, trigger: dict, now: datetime, rule: Rule | None = None) -> list:
    """Open records with no activity for N days. The tick is the day the record went quiet, so
    each quiet stretch fires once; NOT EXISTS keeps it an index lookup per record."""
    link = model._meta.model_name
    if not any(f.name == link for f in Activity._meta.concrete_fields):
        return []
    cutoff = now - timedelta(days=int(trigger.get("days") or 14))
    recent = Activity.objects.filter(**{link: OuterRef("pk")}, occurred_at__gte=cutoff)
    latest = (
        Activity.objects.filter(**{link: OuterRef("pk")})
        .order_by("-occurred_at")
        .values("occurred_at")[:1]
    )
    records = (
        model._default_manager.filter(OPEN_RECORDS.get(model, Q()))
        .filter(created_at__lt=cutoff)
        .filter(~Exists(recent))
    )
    if rule is not None:
        # A run on this record since the cutoff belongs to its current quiet stretch.
        records = records.exclude(_ran(rule, model, since=cutoff))
    records = records.annotate(last_activity=Subquery(latest)).order_by("pk")
    due = []
    for record in records[:RECORDS_PER_TICK]:
        quiet_since = record.last_activity or record.created_at
        due.append((record, f"idle:{timezone.localtime(quiet_since).date().isoformat()}"))
    return due


def _ran(rule: Rule, model, *, tick: str = "", since: datetime | None = None) -> Exists:
    runs = RuleRun.objects.filter(
        rule=rule, record_type=model._meta.model_name, record_id=OuterRef("pk")
    )
    runs = runs.filter(tick=tick) if tick else runs.filter(created_at__gte=since)
    return Exists(runs)


def run_record_tick(rule: Rule, *, now: datetime, limit: int | None = None) -> int:
    due = due_records(rule.trigger, now=now, rule=rule)[:limit]
    record_type = rule.trigger.get("record_type", "")
    definitions = custom_definitions()
    return sum(_run_on_record(rule, record, record_type, tick, definitions) for record, tick in due)


def _run_on_record(rule, record, record_type, tick, definitions) -> int:
    started = time.perf_counter()
    base = _base(rule, record_type, record.pk)
    if not matches(rule.conditions, record, definitions=definitions):
        with transaction.atomic():
            RuleRun.objects.bulk_create(
                [RuleRun(**base, tick=tick, status=RunStatus.NOT_MATCHED)], ignore_conflicts=True
            )
        return 1
    with transaction.atomic():
        run = run_actions(rule, record, base=base, chain=[], started=started, tick=tick)
    return 1 if run is not None else 0


# KPI thresholds: fire on the crossing only


def check_kpi_rule(*, rule_id: int, today: date | None = None) -> int:
    today = today or timezone.localdate()
    with transaction.atomic():
        rule = Rule.objects.select_for_update().filter(pk=rule_id, enabled=True).first()
        if rule is None or rule.trigger.get("type") != "kpi.threshold":
            return 0
        if rule.trigger.get("per") == "company":
            return _check_per_company(rule, today)
        return _check_kpi(rule, today)


def _crossed(trigger: dict, value) -> bool | None:
    if value is None:
        return None
    threshold = Decimal(str(trigger.get("value") or 0))
    value = Decimal(str(value))
    return value < threshold if trigger.get("op") == "below" else value > threshold


def kpi_value(trigger: dict, today: date):
    from metrics.periods import period_for
    from metrics.registry import ALL, Segment, get_kpi

    field, _sep, value = (trigger.get("segment") or "").partition("=")
    segment = Segment(field, value) if field else ALL
    grain = trigger.get("grain") or "month"
    return get_kpi(trigger.get("kpi", "")).value(period_for(grain, today), segment).value


def _check_kpi(rule: Rule, today: date) -> int:
    started = time.perf_counter()
    value = kpi_value(rule.trigger, today)
    beyond = _crossed(rule.trigger, value)
    was = (rule.state or {}).get("beyond")
    rule.state = {**(rule.state or {}), "beyond": beyond, "value": str(value), "at": str(today)}
    Rule.objects.filter(pk=rule.pk).update(state=rule.state)
    tick = f"kpi:{timezone.localtime().strftime('%Y-%m-%dT%H')}"
    base = _base(rule, "", None)
    if beyond and was is False:
        run = run_actions(rule, None, base=base, chain=[], started=started, tick=tick)
        return 1 if run is not None else 0
    RuleRun.objects.bulk_create(
        [RuleRun(**base, tick=tick, status=RunStatus.NOT_MATCHED, duration_ms=0)],
        ignore_conflicts=True,
    )
    return 0


def engagement_by_company(*, since: datetime, until: datetime) -> dict[int, int]:
    """Engagement activities and survey answers per customer company in [since, until)."""
    counts: dict[int, int] = {}
    activity = Activity.objects.filter(
        kind__in=ENGAGEMENT_KINDS, occurred_at__gte=since, occurred_at__lt=until
    )
    answers = SurveyAnswer.objects.filter(answered_at__gte=since, answered_at__lt=until)
    for queryset in (activity, answers):
        for path in ("company_id", "contact__company_id"):
            rows = queryset.filter(**{f"{path}__isnull": False})
            if path != "company_id":
                rows = rows.filter(company_id__isnull=True)
            for company_id, count in (
                rows.values_list(path).annotate(n=Count("pk")).values_list(path, "n")
            ):
                counts[company_id] = counts.get(company_id, 0) + count
    return counts


def _check_per_company(rule: Rule, today: date) -> int:
    """Per customer: its engagement (activities + answers) over the last `window_days` days
    against the threshold; fires for each customer that crossed since the last check."""
    window = int(rule.trigger.get("window_days") or 30)
    now = timezone.now()
    counts = engagement_by_company(since=now - timedelta(days=window), until=now)
    customers = Company.objects.filter(lifecycle=Lifecycle.CUSTOMER).select_related("owner", "team")
    beyond = {c.pk: c for c in customers if _crossed(rule.trigger, counts.get(c.pk, 0))}
    state = dict(rule.state or {})
    first_check = "beyond_ids" not in state
    before = set(state.get("beyond_ids") or [])
    state.update(beyond_ids=sorted(beyond), at=str(today))
    Rule.objects.filter(pk=rule.pk).update(state=state)
    rule.state = state
    if first_check:
        return 0
    tick = f"kpi:{today.isoformat()}"
    definitions = custom_definitions()
    written = 0
    for company_id in sorted(set(beyond) - before):
        written += _run_on_record(rule, beyond[company_id], "company", tick, definitions)
    return written
