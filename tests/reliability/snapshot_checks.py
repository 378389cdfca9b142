"""What the snapshot tables must hold after a nightly run, however it was interrupted: one row
per (kpi, grain, period, segment), and for each period every row a clean computation gives.
Used in-process and by the scripts the real-worker tests run against the worker's database."""

from datetime import date

from django.db.models import Count

from metrics.fill import period_results
from metrics.models import KPISnapshot
from metrics.periods import Period, period_for
from metrics.registry import all_kpis


def duplicated_rows() -> list[str]:
    # A period is known by its start, a month to date by its last day too (metrics.fill).
    keys = KPISnapshot.objects.values(
        "kpi", "grain", "period_start", "period_end", "segment_field", "segment_value"
    )
    doubled = keys.annotate(n=Count("id")).filter(n__gt=1)
    return [
        f"{row['kpi']} {row['grain']} {row['period_start']}–{row['period_end']} ×{row['n']}"
        for row in doubled
    ]


def missing_rows(periods: list[Period]) -> list[str]:
    """The rows a clean computation of each period gives that the table does not hold."""
    missing = []
    for period in periods:
        stored = set(
            KPISnapshot.objects.filter(
                grain=period.grain, period_start=period.start_date
            ).values_list("kpi", "segment_field", "segment_value")
        )
        for kpi in all_kpis():
            for segment in period_results(kpi, period):
                if (kpi.key, *segment) not in stored:
                    missing.append(f"{kpi.key} {period.grain} {period.start_date} {segment}")
    return missing


def periods(grain: str, *starts: date) -> list[Period]:
    return [period_for(grain, start) for start in starts]


def tally(figures, where: str, *, lost: list[str], doubled: list[str]) -> None:
    """Count lost and duplicated rows in the run's figures (the fixture fails on either)."""
    if lost:
        figures.add("rows_lost", f"{where}: {lost[:3]}", count=len(lost))
    if doubled:
        figures.add("duplicate_side_effects", f"{where}: {doubled[:3]}", count=len(doubled))
