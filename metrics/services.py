"""Snapshots: every write goes through metrics.fill (one transaction per period, its fill state
recorded); the nightly run catches up whatever periods are not done. Also user dashboards."""

import os
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from functools import partial

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.db_settings import analytical_session
from crm.services.deletes import record_delete
from crm.services.reference import reference_save

from .fill import (
    SNAPSHOT_GRAINS,
    FillReport,
    fill_closed_periods,
    has_month_to_date,
    write_month_to_date,
    write_period,
)
from .models import CardKind, Dashboard, DashboardCard, HealthSettings, KPIBandOverride
from .periods import Period, period_for
from .registry import KPI, REGISTRY, all_kpis

# Beyond this many days, a per-day snapshot would not be looked at: months and quarters are.
DAILY_BACKFILL_DAYS = 62


def snapshot_kpi_period(*, kpi: KPI, period: Period) -> int:
    """Store one KPI for one period, overall and per segment; returns the rows written."""
    return write_period(period=period, kpis=[kpi])


def snapshot_day(
    *, day: date, grains: list[str] | None = None, kpis: list[KPI] | None = None
) -> int:
    """Snapshot every KPI for the periods of each grain that contain `day`."""
    return sum(
        write_period(period=period_for(grain, day), kpis=kpis)
        for grain in grains or SNAPSHOT_GRAINS
    )


def snapshot_nightly(*, today: date | None = None) -> FillReport:
    """The nightly fill: yesterday's health scores first (the health KPI of yesterday and of
    the running periods reads them), then every closed period not done yet, up to yesterday,
    and yesterday's running week, month and quarter (metrics.fill.fill_closed_periods)."""
    from .health import store_if_missing

    today = min(today or timezone.localdate(), timezone.localdate())
    store_if_missing(day=today - timedelta(days=1))
    return fill_closed_periods(today=today)


def snapshot_range(*, first_day: date, last_day: date, kpis: list[KPI] | None = None) -> int:
    """Backfill: every month and quarter touching the range, and days of its recent end, each
    with its month to date once the day is over (what the month after compares with)."""
    written, seen = 0, set()
    day = first_day
    while day <= last_day:
        for grain in ("month", "quarter"):
            period = period_for(grain, day)
            if (grain, period.start) not in seen:
                seen.add((grain, period.start))
                written += write_period(period=period, kpis=kpis)
        day += timedelta(days=1)
    day = max(first_day, last_day - timedelta(days=DAILY_BACKFILL_DAYS - 1))
    while day <= last_day:
        written += snapshot_day(day=day, grains=["day"], kpis=kpis)
        if day < timezone.localdate() and has_month_to_date(day):
            written += write_month_to_date(last_day=day, kpis=kpis)
        day += timedelta(days=1)
    return written


def yesterday() -> date:
    return timezone.localdate() - timedelta(days=1)


# Days of daily snapshots the demo backfill writes: the daily charts look back a month.
SEED_BACKFILL_DAYS = 31
# Weeks of weekly snapshots the demo backfill writes: the reviews and alerts compare a week
# with the 8 before it (metrics.baseline), so the first Monday has a baseline.
SEED_BACKFILL_WEEKS = 10
# Days of the month before whose month to date a medium or large demo backfill writes, from
# the one today is compared with (each costs a month's computation); a small one writes every
# day this month's comparisons will read, and this month's days so far.
SEED_BACKFILL_MONTH_TO_DATE_DAYS = 2
# Costly per day and shown per month: the per-day history of these starts with the nightly fill.
SEED_SKIP_DAILY = {"health_score"}


def refresh_open_periods(*, day: date | None = None) -> int:
    """Re-snapshot today and the running week, month and quarter, so dashboards are hours, not a
    day, behind (the nightly fill then closes yesterday)."""
    with analytical_session():
        return snapshot_day(day=day or timezone.localdate())


def backfill_after_seed(
    *, today: date | None = None, months: int = 18, scale: str = "small", **_ignored
) -> int:
    """History for the charts after `seed_demo` (hooked in through CRM_AFTER_SEED): every month
    and quarter of the seeded window, SEED_BACKFILL_WEEKS weeks, the last SEED_BACKFILL_DAYS
    days (small scale only: the nightly fill builds them up on bigger data), and health scores.
    On PostgreSQL, outside a transaction, the periods are written by BACKFILL_WORKERS threads
    at once (each its own connection): the work is the database's, and one connection keeps
    one core busy."""
    from .health import store_company_health

    last_day = today or timezone.localdate()
    jobs = [
        partial(write_period, period=period, kpis=kpis, today=last_day, complete=complete)
        for period, kpis, complete in _backfill_periods(last_day, months, scale)
    ]
    jobs += [
        partial(write_month_to_date, last_day=day)
        for day in _backfill_month_to_date_days(last_day, scale)
    ]
    jobs.append(partial(store_company_health, day=last_day))
    results = _run_jobs(jobs, workers=_backfill_workers())
    return sum(results[:-1])


def _backfill_periods(last_day: date, months: int, scale: str):
    """(period, kpis, complete) of each period the demo backfill writes, costliest first."""
    first_day = period_for("month", last_day).start_date
    for _month in range(months - 1):
        first_day = period_for("month", first_day - timedelta(days=1)).start_date
    kpis = all_kpis()
    seen = set()
    for grain in ("quarter", "month"):
        day = first_day
        while day <= last_day:
            period = period_for(grain, day)
            if (grain, period.start) not in seen:
                seen.add((grain, period.start))
                yield period, kpis, None
            day = period.end_date + timedelta(days=1)
    for offset in range(SEED_BACKFILL_WEEKS - 1, -1, -1):
        yield period_for("week", last_day - timedelta(weeks=offset)), kpis, None
    daily = [kpi for kpi in kpis if kpi.key not in SEED_SKIP_DAILY]
    for offset in range(SEED_BACKFILL_DAYS - 1 if scale == "small" else -1, -1, -1):
        # Complete on purpose: per-day health starts with the nightly fill (SEED_SKIP_DAILY),
        # and the first nightly run must not redo a month of days.
        yield period_for("day", last_day - timedelta(days=offset)), daily, True


def _backfill_month_to_date_days(last_day: date, scale: str) -> list[date]:
    """The days whose month to date the demo backfill writes, so this month's pages read their
    comparison with the same days of the month before (metrics.fill.MONTH_TO_DATE)."""
    month = period_for("month", last_day)
    before = period_for("month", month.start_date - timedelta(days=1))
    compared = before.start_date + timedelta(days=last_day.day - 1)
    days = [
        day
        for offset in range((before.end_date - compared).days + 1)
        if has_month_to_date(day := compared + timedelta(days=offset))
    ]
    if scale != "small":
        return days[:SEED_BACKFILL_MONTH_TO_DATE_DAYS]
    return days + [month.start_date + timedelta(days=offset) for offset in range(last_day.day - 1)]


def _backfill_workers() -> int:
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        # Another connection would not see this transaction's rows (a test's, say).
        return 1
    return max(1, int(os.environ.get("BACKFILL_WORKERS", "2")))


def _run_jobs(jobs: list, *, workers: int) -> list:
    """Each job's result, in order; with more than one worker, on threads with a connection
    of their own set up for analytical work and closed at the end."""
    if workers == 1:
        return [job() for job in jobs]

    def run(job):
        try:
            with analytical_session():
                return job()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="backfill") as pool:
        return list(pool.map(run, jobs))


# User-built dashboards --------------------------------------------------------------------


def dashboard_create(*, owner, data: dict) -> Dashboard:
    """A new dashboard owned by `owner` (data from DashboardForm.service_data)."""
    return Dashboard.objects.create(owner=owner, **data)


def dashboard_update(*, dashboard: Dashboard, actor, data: dict) -> Dashboard:
    _require_owner(dashboard, actor)
    for name, value in data.items():
        setattr(dashboard, name, value)
    dashboard.save(update_fields=[*data, "updated_at"])
    return dashboard


def dashboard_delete(*, dashboard: Dashboard, actor) -> None:
    """Delete a dashboard and its cards, leaving a "dashboard.deleted" event."""
    _require_owner(dashboard, actor)
    record_delete(dashboard, actor=actor)


def card_add(*, dashboard: Dashboard, actor, data: dict) -> DashboardCard:
    """Append a card; the key must name a KPI (kind kpi) or a chart (kind chart)."""
    from . import charts

    _require_owner(dashboard, actor)
    all_kpis()
    known = (
        data["key"] in REGISTRY if data["kind"] == CardKind.KPI else charts.is_chart(data["key"])
    )
    if not known:
        raise ValidationError({"item": _("Unknown KPI or chart.")})
    with transaction.atomic():
        # Lock the dashboard so two adds do not take the same position.
        Dashboard.objects.select_for_update().filter(pk=dashboard.pk).first()
        last = dashboard.cards.aggregate(last=Max("order"))["last"]
        return DashboardCard.objects.create(
            dashboard=dashboard, order=0 if last is None else last + 1, **data
        )


def card_remove(*, card: DashboardCard, actor) -> None:
    _require_owner(card.dashboard, actor)
    record_delete(card, actor=actor)


def cards_reorder(*, dashboard: Dashboard, actor, card_ids: list[int]) -> None:
    """Put the cards in the order of `card_ids`, which must be exactly the dashboard's cards."""
    _require_owner(dashboard, actor)
    with transaction.atomic():
        cards = {card.pk: card for card in dashboard.cards.select_for_update().order_by("pk")}
        if sorted(card_ids) != sorted(cards) or len(set(card_ids)) != len(card_ids):
            raise ValidationError(_("The new order must list every card of the dashboard once."))
        for position, pk in enumerate(card_ids):
            cards[pk].order = position
        DashboardCard.objects.bulk_update(cards.values(), ["order"])


def _require_owner(dashboard: Dashboard, actor) -> None:
    if dashboard.owner_id != actor.pk:
        raise PermissionDenied(_("Only the owner edits this dashboard."))


# Reference bands and health weights (the admins' settings pages) ---------------------------

BAND_FIELDS = [
    f"{band}_{end}" for band in ("typical", "good", "exceptional") for end in ("low", "high")
]


def kpi_bands_save(*, kpi: str, actor, data: dict) -> KPIBandOverride | None:
    """This installation's bands for `kpi` (`data`: the six ends, None for an open end);
    with every end empty the override goes and the code's bands apply again."""
    if kpi not in {known.key for known in all_kpis()}:
        raise ValidationError({"kpi": _("Unknown KPI.")})
    extra = sorted(set(data) - set(BAND_FIELDS))
    if extra:
        raise ValidationError({name: _("This field cannot be set here.") for name in extra})
    with transaction.atomic():
        current = KPIBandOverride.objects.select_for_update().filter(kpi=kpi).first()
        if all(data.get(name) is None for name in BAND_FIELDS):
            if current is not None:
                record_delete(current, actor=actor)
            return None
        values = {"kpi": kpi, **{name: data.get(name) for name in BAND_FIELDS}}
        return reference_save(
            KPIBandOverride, actor=actor, data=values, pk=current.pk if current else None
        )


def health_settings_update(*, actor, data: dict) -> HealthSettings:
    """The health score's weights and risk threshold (the one settings row, made if missing);
    the stored scores are blended again with them at once."""
    allowed = [*HealthSettings.WEIGHT_FIELDS, "risk_threshold"]
    extra = sorted(set(data) - set(allowed))
    if extra:
        raise ValidationError({name: _("This field cannot be set here.") for name in extra})
    from .health import rescore_stored

    with transaction.atomic():
        current = HealthSettings.objects.select_for_update().order_by("pk").first()
        saved = reference_save(
            HealthSettings, actor=actor, data=dict(data), pk=current.pk if current else None
        )
        rescore_stored()
    return saved
