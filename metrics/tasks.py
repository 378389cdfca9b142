from datetime import date

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from . import health, services
from .alerts import check_closed_periods


@shared_task(
    name="metrics.snapshot_kpis",
    autoretry_for=(OperationalError,),
    retry_backoff=60,
    max_retries=3,
    soft_time_limit=1800,
    time_limit=2000,
)
def snapshot_kpis(day: str | None = None) -> int:
    """Nightly: every closed period not done yet (a missed or killed night is caught up) and
    yesterday's running week, month and quarter; with `day` (ISO date), that day's periods again.
    Safe to run twice: done periods are skipped, and one run at a time writes."""
    if day:
        return services.snapshot_day(day=date.fromisoformat(day))
    started = timezone.now()
    rows = services.snapshot_nightly().rows
    # The periods this run closed are checked for unusual values (metrics.alerts).
    check_closed_periods(since=started)
    return rows


@shared_task(
    name="metrics.store_company_health",
    autoretry_for=(OperationalError,),
    retry_backoff=60,
    max_retries=3,
    soft_time_limit=1800,
    time_limit=2000,
)
def store_company_health(day: str | None = None) -> int:
    """Store every customer's health score as of `day` (ISO date), or as of yesterday when
    the nightly snapshots have not already done so."""
    if day:
        return health.store_company_health(day=date.fromisoformat(day))
    return health.store_if_missing(day=services.yesterday())


@shared_task(
    name="metrics.refresh_open_periods",
    autoretry_for=(OperationalError,),
    retry_backoff=60,
    max_retries=1,
    soft_time_limit=2400,
    time_limit=2700,
)
def refresh_open_periods() -> int:
    """Re-snapshot today's day, week, month and quarter for fresher dashboards."""
    return services.refresh_open_periods()


@shared_task(name="metrics.warm_dashboards", soft_time_limit=600, time_limit=660)
def warm_dashboards() -> int:
    """Compute the ready-made dashboards of the running month if records changed since the
    last time, so their first view reads the cache (metrics.warm)."""
    from .warm import warm_dashboards as warm

    return warm()


# The weekly reviews live in their own module; imported so Celery registers them.
from .review_tasks import write_weekly_reviews  # noqa: E402, F401
