"""Demo data, called by seed_demo after seeding (CRM_AFTER_SEED): the alert check run over the
demo's recent closed periods, so the dashboards show a few alerts on first run."""

from datetime import date

from django.utils import timezone

from .alerts import check_recent

# The closed days, weeks, months and quarters ending in this many days before the seed's last
# day are checked, as the nightly runs would have checked them.
DEMO_DAYS = 35


def seed_demo_alerts(*, scale: str = "small", today: date | None = None, **_ignored) -> dict:
    return {"alerts": check_recent(today=today or timezone.localdate(), days=DEMO_DAYS)}
