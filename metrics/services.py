"""Snapshots: the nightly fill, re-runnable for any day (idempotent through update_or_create)."""

from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from .models import KPISnapshot
from .periods import Period, period_for
from .registry import ALL, KPI, Result, all_kpis

# The nightly fill stores every KPI overall and for each of these segments.
SNAPSHOT_SEGMENTS = ["owner", "team"]
SNAPSHOT_GRAINS = ["day", "month", "quarter"]
# Beyond this many days, a per-day snapshot would not be looked at: months and quarters are.
DAILY_BACKFILL_DAYS = 62


def snapshot_kpi_period(*, kpi: KPI, period: Period) -> int:
    """Store one KPI for one period, overall and per segment; returns the rows written."""
    results = {("", ""): kpi.value(period, ALL)}
    for segment_field in SNAPSHOT_SEGMENTS:
        if segment_field in kpi.segments and kpi.compute is None:
            for segment_value, result in kpi.breakdown(period, segment_field).items():
                if segment_value:
                    results[(segment_field, segment_value)] = result
    with transaction.atomic():
        for (segment_field, segment_value), result in results.items():
            _store(kpi.key, period, segment_field, segment_value, result)
    return len(results)


def snapshot_day(
    *, day: date, grains: list[str] | None = None, kpis: list[KPI] | None = None
) -> int:
    """Snapshot every KPI for the periods of each grain that contain `day`."""
    written = 0
    for grain in grains or SNAPSHOT_GRAINS:
        period = period_for(grain, day)
        for kpi in kpis or all_kpis():
            written += snapshot_kpi_period(kpi=kpi, period=period)
    return written


def snapshot_range(*, first_day: date, last_day: date, kpis: list[KPI] | None = None) -> int:
    """Backfill: every month and quarter touching the range, and days of its recent end."""
    written, seen = 0, set()
    day = first_day
    while day <= last_day:
        for grain in ("month", "quarter"):
            period = period_for(grain, day)
            if (grain, period.start) not in seen:
                seen.add((grain, period.start))
                written += sum(
                    snapshot_kpi_period(kpi=k, period=period) for k in kpis or all_kpis()
                )
        day += timedelta(days=1)
    day = max(first_day, last_day - timedelta(days=DAILY_BACKFILL_DAYS - 1))
    while day <= last_day:
        written += snapshot_day(day=day, grains=["day"], kpis=kpis)
        day += timedelta(days=1)
    return written


def yesterday() -> date:
    return timezone.localdate() - timedelta(days=1)


def _store(kpi_key: str, period: Period, segment_field: str, segment_value: str, result: Result):
    KPISnapshot.objects.update_or_create(
        kpi=kpi_key,
        grain=period.grain,
        period_start=period.start_date,
        segment_field=segment_field,
        segment_value=segment_value,
        defaults={
            "period_end": period.end_date,
            "value": result.value,
            "numerator": result.numerator,
            "denominator": result.denominator,
            "computed_at": timezone.now(),
        },
    )
