"""The Monday reviews (issue 17): filled in by metrics.reviews."""

from datetime import date

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from .reviews import review_week, send_review_emails, write_reviews


@shared_task(
    name="metrics.write_weekly_reviews",
    autoretry_for=(OperationalError,),
    retry_backoff=60,
    max_retries=3,
    soft_time_limit=1800,
    time_limit=2000,
)
def write_weekly_reviews(week: str | None = None) -> int:
    """Monday: last week's reviews (or those of the week starting `week`, an ISO date), then
    the emails. Safe to run twice: reviews are rewritten in place, each email claimed once."""
    week_start = date.fromisoformat(week) if week else review_week(timezone.localdate())
    written = write_reviews(week_start=week_start)
    send_review_emails(week_start=week_start)
    return written
