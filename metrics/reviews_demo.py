"""Demo data, called by seed_demo after seeding (CRM_AFTER_SEED): the reviews of the last
few weeks, so the demo's /reviews/ has a page and a history. Emails none: nobody opted in.
Running it again rewrites the same rows."""

from datetime import date, timedelta

from django.utils import timezone

from .numbers import Reader
from .reviews import review_week, write_reviews

# The backfill stores 10 weeks (metrics.services.SEED_BACKFILL_WEEKS): the third week back
# still has the 6 weeks of history a baseline needs.
DEMO_WEEKS = 3


def seed_demo_reviews(*, scale: str = "small", today: date | None = None, **_ignored) -> dict:
    last = review_week((today or timezone.localdate()) + timedelta(days=1))
    reader = Reader()
    written = 0
    for offset in range(DEMO_WEEKS - 1, -1, -1):
        written += write_reviews(week_start=last - timedelta(weeks=offset), reader=reader)
    return {"reviews": written}
