"""KPI alert rows for tests (the check itself is exercised in tests/metrics/test_alerts.py)."""

from datetime import date
from decimal import Decimal

from metrics.models import KPIAlert


def make_alert(**fields) -> KPIAlert:
    values = {
        "kpi": "win_rate",
        "grain": "week",
        "period_start": date(2026, 11, 16),
        "period_end": date(2026, 11, 22),
        "value": Decimal(35),
        "expected_low": Decimal(58),
        "expected_high": Decimal(82),
        "expected_median": Decimal(70),
        "direction": "below",
        **fields,
    }
    return KPIAlert.objects.create(**values)
