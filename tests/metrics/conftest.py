from datetime import date

import pytest

from metrics.periods import custom_period, period_for


@pytest.fixture
def march():
    """The period most KPI tests compute: March 2026 in the site time zone."""
    return period_for("month", date(2026, 3, 15))


@pytest.fixture
def q1():
    return custom_period(date(2026, 1, 1), date(2026, 3, 31))
