"""The snapshot fill: every write of a period's KPI rows, and the nightly run that catches up.

Resumable as in Zulip's analytics: a SnapshotFill row per (grain, period) says started / open /
done. A period is written in one transaction (its old rows out, the new ones in, its fill row
marked), so a killed worker leaves each period either fully old or fully new. The nightly run
fills every closed period that is not done, from the earliest period this installation ever
wrote (at most CATCH_UP_DAYS back) to yesterday: a missed, lost or killed night is caught up by
the next one. One nightly run at a time, through a lease row that a killed run cannot hold for
longer than LEASE_SECONDS.
"""

import logging
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone

from crm.db_settings import analytical_session

from . import mrr_movement
from .models import FillLock, FillStatus, KPISnapshot, SnapshotFill
from .periods import Period, custom_period, period_for, periods_between
from .registry import ALL, KPI, Result, all_kpis

logger = logging.getLogger(__name__)

# The nightly fill stores every KPI overall and for each of these segments.
SNAPSHOT_SEGMENTS = ["owner", "team"]
SNAPSHOT_GRAINS = ["day", "week", "month", "quarter"]
# How far back a nightly run looks for periods not done: a month of missed nights. Older gaps
# are filled with `manage.py snapshot_kpis --from … --to …`.
CATCH_UP_DAYS = 31
# The periods still running with yesterday in them that the nightly run writes (open).
RUNNING_GRAINS = ("week", "month", "quarter")
# A month's first days up to a closed day, stored each night for the KPIs that accumulate over
# a period: a running month is compared with the same days of the month before
# (metrics.periods.comparison_for), a period that is over, so pages read it instead of
# recomputing it from the records. Its rows: period_start the month's first day, period_end the
# last day in it; no fill row (each is written in one transaction, for a day already over).
MONTH_TO_DATE = "mtd"
MONTH_TO_DATE_LOCK = "month-to-date"
# Days of month to date a night writes at most, oldest first: after missed nights, or the
# large demo's seed (which writes two), the catch-up is spread over nights, so one run stays
# well under a minute (each day is 2 s on a million deals). Oldest first is also the order in
# which the comparisons will read them: a day is read a month after it, on the same date.
MONTH_TO_DATE_DAYS_PER_NIGHT = 7
# The nightly run renews its lease before each period; one period takes well under a minute
# even on a million deals, so a lease that outlives it by far only matters after a kill.
LEASE_SECONDS = 15 * 60
NIGHTLY_LOCK = "snapshots"


@dataclass
class FillReport:
    periods: int = 0
    # Days whose month to date was written (MONTH_TO_DATE).
    months_to_date: int = 0
    # Month-to-date rows deleted: no comparison reads them any more (prune_month_to_date).
    months_to_date_pruned: int = 0
    rows: int = 0
    skipped: bool = False  # another run held the lease


def new_run_id() -> str:
    return uuid.uuid4().hex


def period_results(kpi: KPI, period: Period) -> dict[tuple[str, str], Result]:
    """One KPI for one period: {(segment field, segment value): result}, overall included."""
    results = {("", ""): kpi.value(period, ALL)}
    for segment_field in SNAPSHOT_SEGMENTS:
        if segment_field in kpi.segments and kpi.compute is None:
            for segment_value, result in kpi.breakdown(period, segment_field).items():
                if segment_value:
                    results[(segment_field, segment_value)] = result
    return results


def write_period(
    *,
    period: Period,
    kpis: list[KPI] | None = None,
    today: date | None = None,
    complete: bool | None = None,
    run_id: str = "",
) -> int:
    """Compute `kpis` (all by default) for `period` and replace their rows in one transaction;
    returns the rows written. The period is done once it is over (it ends before `today`) and
    every KPI was written (`complete`; by default, whether `kpis` covers the registry)."""
    today = min(today or timezone.localdate(), timezone.localdate())
    registry = all_kpis()
    kpis = kpis or registry
    if complete is None:
        complete = {kpi.key for kpi in kpis} >= {kpi.key for kpi in registry}
    run_id = run_id or new_run_id()
    was_done = mark_started(grain=period.grain, start=period.start_date, run_id=run_id)
    # The slow part, outside any transaction: only the swap below holds locks. Whoever asks
    # (the nightly run, a backfill, the task for one day), with the memory to group without
    # spilling: a day's health score took 117 s with the default 4 MB, 4 s with it.
    with analytical_session():
        computed = {kpi.key: period_results(kpi, period) for kpi in kpis}
        if period.grain == "month" and "mrr" in computed:
            # The MRR movement chart's month, stored with the MRR it explains.
            computed |= mrr_movement.results_to_store(period, SNAPSHOT_SEGMENTS)
    rows = _snapshot_rows(computed, grain=period.grain, period=period)
    closed = period.end_date < today
    with transaction.atomic():
        # The fill row first, then its snapshots: two writers of one period take turns.
        lock_fill(grain=period.grain, start=period.start_date)
        KPISnapshot.objects.filter(
            grain=period.grain, period_start=period.start_date, kpi__in=list(computed)
        ).delete()
        KPISnapshot.objects.bulk_create(rows, batch_size=1000)
        mark_written(
            grain=period.grain,
            start=period.start_date,
            rows=len(rows),
            final=closed and (complete or was_done),
        )
    return len(rows)


def _snapshot_rows(computed: dict, *, grain: str, period: Period) -> list[KPISnapshot]:
    now = timezone.now()
    return [
        KPISnapshot(
            kpi=key,
            grain=grain,
            period_start=period.start_date,
            period_end=period.end_date,
            segment_field=segment_field,
            segment_value=segment_value,
            value=result.value,
            numerator=result.numerator,
            denominator=result.denominator,
            computed_at=now,
        )
        for key, results in computed.items()
        for (segment_field, segment_value), result in results.items()
    ]


def month_to_date(last_day: date) -> Period:
    """The month of `last_day` from its first day to `last_day` included, built as
    comparison_for builds the same days of the month before, so both compute the same."""
    return custom_period(last_day.replace(day=1), last_day)


def is_month_to_date(period: Period) -> bool:
    """The period is a month's first whole days, ending before the month does (a whole month
    is compared as a month)."""
    last_day = period.end_date
    return period == month_to_date(last_day) and period_for("month", last_day).end > period.end


def has_month_to_date(day: date) -> bool:
    """The day's month to date is stored: every day but a month's last (the month is)."""
    return is_month_to_date(month_to_date(day))


def write_month_to_date(*, last_day: date, kpis: list[KPI] | None = None) -> int:
    """Compute the KPIs that accumulate over a period for the month up to `last_day` (those
    measured at a period's end are compared with the whole month before, and read as of a day)
    and replace their rows in one transaction; returns the rows written."""
    period = month_to_date(last_day)
    with analytical_session():
        computed = {
            kpi.key: period_results(kpi, period) for kpi in kpis or all_kpis() if not kpi.as_of_end
        }
    rows = _snapshot_rows(computed, grain=MONTH_TO_DATE, period=period)
    FillLock.objects.get_or_create(name=MONTH_TO_DATE_LOCK)
    with transaction.atomic():
        # Two writers of a day (a backfill beside the nightly run) swap its rows in turn.
        FillLock.objects.select_for_update().filter(name=MONTH_TO_DATE_LOCK).first()
        KPISnapshot.objects.filter(
            grain=MONTH_TO_DATE, period_end=last_day, kpi__in=list(computed)
        ).delete()
        KPISnapshot.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def mark_started(*, grain: str, start: date, run_id: str) -> bool:
    """Record (committed) that a run began this period; returns whether it was done before."""
    fill = _fill_row(grain, start, run_id)
    SnapshotFill.objects.filter(pk=fill.pk).update(
        status=FillStatus.STARTED, started_at=timezone.now(), finished_at=None, run_id=run_id
    )
    return fill.status == FillStatus.DONE


def lock_fill(*, grain: str, start: date) -> None:
    """Inside the write's transaction: hold the period's fill row until it commits."""
    SnapshotFill.objects.select_for_update().filter(grain=grain, period_start=start).first()


def mark_written(*, grain: str, start: date, rows: int, final: bool) -> None:
    """Inside the write's transaction: done when the period is over, open while it runs."""
    SnapshotFill.objects.filter(grain=grain, period_start=start).update(
        status=FillStatus.DONE if final else FillStatus.OPEN,
        finished_at=timezone.now(),
        rows_written=rows,
    )


def _fill_row(grain: str, start: date, run_id: str) -> SnapshotFill:
    # get_or_create copes with a writer of the same period creating the row meanwhile.
    fill, _created = SnapshotFill.objects.get_or_create(
        grain=grain, period_start=start, defaults={"run_id": run_id}
    )
    return fill


# The nightly run ---------------------------------------------------------------------------


def fill_closed_periods(*, today: date | None = None, kpis: list[KPI] | None = None) -> FillReport:
    """Fill every closed period not done yet (see the module's docstring), then the month and
    quarter still running with yesterday in them. Returns what was written; does nothing when
    another run holds the lease."""
    today = min(today or timezone.localdate(), timezone.localdate())
    run_id = new_run_id()
    report = FillReport()
    if not lease_acquire(NIGHTLY_LOCK, run_id):
        logger.info("Snapshot fill skipped: another run holds the lease.")
        return FillReport(skipped=True)
    try:
        with analytical_session():
            _fill(report, today=today, run_id=run_id, kpis=kpis)
    finally:
        lease_release(NIGHTLY_LOCK, run_id)
    return report


def _fill(report: FillReport, *, today: date, run_id: str, kpis: list[KPI] | None) -> None:
    last_closed = today - timedelta(days=1)
    todo = [period for grain in SNAPSHOT_GRAINS for period in due_periods(grain, last_closed)]
    for grain in RUNNING_GRAINS:
        running = period_for(grain, last_closed)
        if running.end_date >= today:
            todo.append(running)
    for period in todo:
        if not lease_renew(NIGHTLY_LOCK, run_id):
            logger.warning("Snapshot fill stopped: its lease was taken over.")
            break
        # The run's KPIs (the whole registry unless a caller narrows it) complete a period.
        report.rows += write_period(
            period=period, kpis=kpis, today=today, complete=True, run_id=run_id
        )
        report.periods += 1
    for day in due_month_to_date_days(last_closed)[:MONTH_TO_DATE_DAYS_PER_NIGHT]:
        if not lease_renew(NIGHTLY_LOCK, run_id):
            break
        report.rows += write_month_to_date(last_day=day, kpis=kpis)
        report.months_to_date += 1
    report.months_to_date_pruned = prune_month_to_date(last_closed)


def due_periods(grain: str, last_closed: date) -> list[Period]:
    """The periods of `grain` over by `last_closed` and not done, oldest first: from the first
    period ever written (yesterday on a new installation) but at most CATCH_UP_DAYS back."""
    fills = SnapshotFill.objects.filter(grain=grain)
    earliest = fills.aggregate(first=Min("period_start"))["first"] or last_closed
    window_start = last_closed - timedelta(days=CATCH_UP_DAYS - 1)
    first = max(min(earliest, last_closed), window_start)
    periods = [p for p in periods_between(grain, first, last_closed) if p.end_date <= last_closed]
    if not periods:
        return []
    done = set(
        fills.filter(status=FillStatus.DONE, period_start__gte=periods[0].start_date).values_list(
            "period_start", flat=True
        )
    )
    return [period for period in periods if period.start_date not in done]


def month_to_date_kept_from(last_closed: date) -> date:
    """The first day whose month to date is kept: the running month is compared with the same
    days of the month before, so that month's days are kept, and those the catch-up window
    still reaches (it reaches further back than a month's start early in a month), so a day
    pruned is never written again."""
    month_before = (last_closed.replace(day=1) - timedelta(days=1)).replace(day=1)
    return min(month_before, last_closed - timedelta(days=CATCH_UP_DAYS - 1))


def prune_month_to_date(last_closed: date) -> int:
    """Delete the month-to-date rows no comparison reads any more (an older span asked for on
    a KPI page is counted from the records, as before it was stored); returns the rows
    deleted. Without this the table grows by a day's rows every night (about 1,000 on the
    large demo)."""
    deleted, _by_model = KPISnapshot.objects.filter(
        grain=MONTH_TO_DATE, period_end__lt=month_to_date_kept_from(last_closed)
    ).delete()
    return deleted


def due_month_to_date_days(last_closed: date) -> list[date]:
    """The closed days whose month to date is not stored, oldest first, as due_periods: from
    the first ever stored (yesterday on a new installation) but at most CATCH_UP_DAYS back. A
    month's last day is left out: the month itself is stored."""
    stored = KPISnapshot.objects.filter(grain=MONTH_TO_DATE, segment_field="")
    earliest = stored.aggregate(first=Min("period_end"))["first"] or last_closed
    window_start = last_closed - timedelta(days=CATCH_UP_DAYS - 1)
    first = max(min(earliest, last_closed), window_start)
    days = [first + timedelta(days=offset) for offset in range((last_closed - first).days + 1)]
    written = set(
        stored.filter(period_end__gte=first).values_list("period_end", flat=True).distinct()
    )
    return [day for day in days if day not in written and has_month_to_date(day)]


# One run at a time: a lease row ----------------------------------------------------------------


def lease_acquire(name: str, run_id: str) -> bool:
    """Take the lease if it is free or expired (a killed run's); one conditional UPDATE, so of
    two runs starting together exactly one gets it."""
    now = timezone.now()
    FillLock.objects.get_or_create(name=name)
    taken = FillLock.objects.filter(name=name).filter(
        Q(expires_at__isnull=True) | Q(expires_at__lte=now)
    )
    return bool(taken.update(run_id=run_id, expires_at=now + timedelta(seconds=LEASE_SECONDS)))


def lease_renew(name: str, run_id: str) -> bool:
    expires = timezone.now() + timedelta(seconds=LEASE_SECONDS)
    return bool(FillLock.objects.filter(name=name, run_id=run_id).update(expires_at=expires))


def lease_release(name: str, run_id: str) -> None:
    FillLock.objects.filter(name=name, run_id=run_id).update(run_id="", expires_at=None)
