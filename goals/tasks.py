"""Thin tasks: dates in, one service call; both are safe to run twice."""

from datetime import date

from celery import shared_task
from django.db import OperationalError

from . import services


@shared_task(
    name="goals.update_all_progress",
    autoretry_for=(OperationalError,),
    retry_backoff=60,
    max_retries=3,
    soft_time_limit=1800,
    time_limit=2000,
)
def update_all_progress(day: str | None = None) -> int:
    """Every active goal's progress and its row for `day` (ISO date; today by default)."""
    return services.goals_recompute(day=date.fromisoformat(day) if day else None)


@shared_task(name="goals.refresh_if_changed", soft_time_limit=100, time_limit=110)
def refresh_if_changed() -> bool:
    """Recompute the active goals if records changed since the last pass."""
    return services.goals_refresh_if_changed()
