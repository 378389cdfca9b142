from datetime import date

import pytest
from django.test import override_settings
from django.utils import timezone

from metrics.periods import custom_period, period_for, periods_between


@pytest.mark.parametrize(
    "grain, day, first, last",
    [
        ("day", date(2026, 3, 15), date(2026, 3, 15), date(2026, 3, 15)),
        ("week", date(2026, 3, 15), date(2026, 3, 9), date(2026, 3, 15)),
        ("month", date(2026, 2, 10), date(2026, 2, 1), date(2026, 2, 28)),
        ("quarter", date(2026, 11, 22), date(2026, 10, 1), date(2026, 12, 31)),
        ("year", date(2026, 6, 1), date(2026, 1, 1), date(2026, 12, 31)),
    ],
)
def test_each_grain_covers_the_right_days(grain, day, first, last):
    period = period_for(grain, day)
    assert (period.start_date, period.end_date) == (first, last)


def test_the_previous_period_is_the_one_just_before():
    assert period_for("month", date(2026, 1, 20)).previous().start_date == date(2025, 12, 1)
    assert period_for("quarter", date(2026, 2, 1)).previous().start_date == date(2025, 10, 1)
    custom = custom_period(date(2026, 3, 1), date(2026, 3, 10))
    assert (custom.previous().start_date, custom.previous().end_date) == (
        date(2026, 2, 19),
        date(2026, 2, 28),
    )


@override_settings(TIME_ZONE="America/New_York")
def test_periods_start_at_midnight_in_the_site_time_zone():
    period = period_for("day", date(2026, 3, 8))  # the day clocks move forward there
    assert timezone.localtime(period.start).hour == 0
    assert (period.end - period.start).total_seconds() == 23 * 3600
    assert timezone.localtime(period.start).utcoffset().total_seconds() == -5 * 3600
    assert timezone.localtime(period.end).utcoffset().total_seconds() == -4 * 3600


def test_a_custom_range_ending_before_it_starts_is_refused():
    with pytest.raises(ValueError):
        custom_period(date(2026, 3, 2), date(2026, 3, 1))


def test_periods_between_lists_each_period_once():
    months = periods_between("month", date(2025, 11, 15), date(2026, 2, 3))
    assert [p.start_date for p in months] == [
        date(2025, 11, 1),
        date(2025, 12, 1),
        date(2026, 1, 1),
        date(2026, 2, 1),
    ]
