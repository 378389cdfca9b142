from datetime import date

from celery import shared_task
from django.db import OperationalError

from . import services


@shared_task(
    name="metrics.snapshot_kpis",
    autoretry_for=(OperationalError,),
    retry_backoff=60,
    max_retries=3,
    soft_time_limit=1800,
    time_limit=2000,
)
def snapshot_kpis(day: str | None = None) -> int:
    """Snapshot every KPI for `day` (ISO date; yesterday by default) and its open month/quarter."""
    return services.snapshot_day(day=date.fromisoformat(day) if day else services.yesterday())
