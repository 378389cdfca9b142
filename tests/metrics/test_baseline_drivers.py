"""The robust baseline and the per-segment split of a KPI's move, on hand-worked numbers."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from crm.models import DealStatus
from metrics.baseline import (
    comparable_starts,
    enough_records,
    expected_range,
    stored_history,
)
from metrics.drivers import driver_fields, drivers, split_change
from metrics.models import KPISnapshot
from metrics.numbers import Reader
from metrics.periods import Period, period_for
from metrics.registry import ALL, Result, get_kpi
from tests.crm.factories import DealFactory, stage_named
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


# The expected range ---------------------------------------------------------------------


def test_range_is_median_plus_minus_three_scaled_mads():
    # Sorted: 38 39 40 40 41 42 43 44 -> median 40.5; |x - 40.5|: 2.5 1.5 .5 .5 .5 1.5 2.5 3.5
    # -> MAD = median(.5 .5 .5 1.5 1.5 2.5 2.5 3.5) = 1.5; spread = 1.5 x 1.4826 = 2.2239,
    # above the 5 % floor (2.025); range 40.5 ± 6.6717.
    found = expected_range([40, 41, 39, 42, 38, 43, 40, 44])
    assert found.median == Decimal("40.5")
    assert found.low == Decimal("40.5") - 3 * Decimal("2.2239")
    assert found.high == Decimal("40.5") + 3 * Decimal("2.2239")
    assert found.points == 8
    assert found.side(Decimal("33")) == "below"
    assert found.side(Decimal("48")) == "above"
    assert found.side(Decimal("45")) is None


def test_one_wild_period_does_not_widen_the_range():
    calm = expected_range([40, 41, 39, 42, 38, 43, 40, 44])
    with_outlier = expected_range([40, 41, 39, 42, 38, 43, 40, 400])
    assert with_outlier.high - with_outlier.low < Decimal(15)
    assert abs(with_outlier.median - calm.median) <= Decimal("0.5")


def test_a_steady_history_still_has_a_width():
    # MAD 0: the spread is 5 % of the median (100 x .05 = 5), so ±15.
    found = expected_range([100] * 8)
    assert (found.low, found.high) == (Decimal(85), Decimal(115))
    assert found.contains(Decimal(110))


def test_too_few_known_values_give_no_range():
    assert expected_range([40, None, 41, None, 39, 42, 38, None]) is None
    assert expected_range([40, 41, 39, 42, 38, 43]).points == 6


def test_small_numbers_are_not_enough_to_alarm():
    assert not enough_records(Result(Decimal(50), Decimal(5), Decimal(10)))
    assert enough_records(Result(Decimal(50), Decimal(10), Decimal(20)))
    assert not enough_records(Result(Decimal(19)))
    assert enough_records(Result(Decimal(20)))
    assert not enough_records(Result(None, Decimal(0), Decimal(0)))


def test_comparable_periods():
    # A Thursday is compared with the eight Thursdays before it.
    thursday = date(2026, 11, 19)
    assert comparable_starts("day", thursday) == [
        thursday - timedelta(weeks=n) for n in range(8, 0, -1)
    ]
    assert comparable_starts("week", date(2026, 11, 16), 3) == [
        date(2026, 10, 26),
        date(2026, 11, 2),
        date(2026, 11, 9),
    ]
    assert comparable_starts("month", date(2026, 3, 1), 3) == [
        date(2025, 12, 1),
        date(2026, 1, 1),
        date(2026, 2, 1),
    ]
    assert comparable_starts("quarter", date(2026, 4, 1), 2) == [
        date(2025, 10, 1),
        date(2026, 1, 1),
    ]


def test_stored_history_reads_the_snapshots_in_one_query(django_assert_num_queries):
    week = date(2026, 11, 16)
    starts = comparable_starts("week", week, 8)
    for n, start in enumerate(starts):
        for segment_value, value in (("", 40 + n), ("7", 30 + n)):
            KPISnapshot.objects.create(
                kpi="win_rate",
                grain="week",
                period_start=start,
                period_end=start + timedelta(days=6),
                segment_field="owner" if segment_value else "",
                segment_value=segment_value,
                value=Decimal(value),
            )
    KPISnapshot.objects.filter(period_start=starts[2], segment_value="").delete()
    with django_assert_num_queries(1):
        overall = stored_history("win_rate", "week", week)
    assert overall == {"": [40, 41, None, 43, 44, 45, 46, 47]}
    assert stored_history("win_rate", "week", week, "owner")["7"][-1] == 37


# Drivers ------------------------------------------------------------------------------------


def at(day: date) -> datetime:
    return timezone.make_aware(datetime(day.year, day.month, day.day, 12))


def closed_deals(owner, day: date, *, won: int, lost: int):
    for status, count in ((DealStatus.WON, won), (DealStatus.LOST, lost)):
        for _ in range(count):
            DealFactory(
                owner=owner,
                stage=stage_named("Won" if status == DealStatus.WON else "Lost"),
                status=status,
                closed_at=at(day),
                created_at=at(day) - timedelta(days=20),
            )


@pytest.fixture
def marco_drops_the_win_rate():
    """Eight weeks before: Marco 8 won of 10, Julia 4 of 10 (60 %). This week: Marco 1 of 10,
    Julia 4 of 10 (25 %): the drop is Marco's."""
    marco, julia = UserFactory(first_name="Marco"), UserFactory(first_name="Julia")
    week = period_for("week", date(2026, 11, 16))
    before = Period(week.start - timedelta(weeks=8), week.start, "custom")
    closed_deals(marco, date(2026, 10, 1), won=8, lost=2)
    closed_deals(julia, date(2026, 10, 8), won=4, lost=6)
    closed_deals(marco, date(2026, 11, 17), won=1, lost=9)
    closed_deals(julia, date(2026, 11, 18), won=4, lost=6)
    return marco, julia, week, before


def test_the_drop_is_put_on_the_segment_that_made_it(marco_drops_the_win_rate):
    marco, julia, week, before = marco_drops_the_win_rate
    found = drivers(get_kpi("win_rate"), week, before, reader=Reader(), fields=["owner"])
    # r0 = 12/20 = .6. Marco: after (1 - .6 x 10)/20 = -.25, before (8 - .6 x 10)/20 = .1:
    # -.35 x 100 = -35 points. Julia: (4 - 6)/20 - (4 - 6)/20 = 0. Total 25 - 60 = -35.
    assert [(d.field, d.value, d.label, d.contribution) for d in found] == [
        ("owner", str(marco.pk), str(marco), Decimal(-35))
    ]
    assert found[0].after.value == Decimal(10)
    assert found[0].before.value == Decimal(80)


def test_contributions_add_up_to_the_change(marco_drops_the_win_rate):
    _marco, _julia, week, before = marco_drops_the_win_rate
    kpi, reader = get_kpi("win_rate"), Reader()
    parts = split_change(
        kpi,
        reader.result(kpi, before, ALL),
        reader.result(kpi, week, ALL),
        reader.breakdown(kpi, before, "owner"),
        reader.breakdown(kpi, week, "owner"),
    )
    assert sum(parts.values()) == Decimal(25) - Decimal(60)


def test_a_sum_is_compared_per_length_of_period():
    # Deals won: 16 in eight weeks (2 a week) against 1 this week for Marco, 8 then and 4 now
    # for Julia: Marco -1, Julia +3.
    kpi = get_kpi("deals_won_count")
    before_all, after_all = Result(Decimal(24)), Result(Decimal(5))
    parts = split_change(
        kpi,
        before_all,
        after_all,
        {"m": Result(Decimal(16)), "j": Result(Decimal(8))},
        {"m": Result(Decimal(1)), "j": Result(Decimal(4))},
        scale=Decimal(1) / 8,
    )
    assert parts == {"m": Decimal(-1), "j": Decimal(3)}


def test_no_move_no_drivers():
    kpi = get_kpi("win_rate")
    week = period_for("week", date(2026, 11, 16))
    before = Period(week.start - timedelta(weeks=8), week.start, "custom")
    assert drivers(kpi, week, before, reader=Reader()) == []


def test_driver_fields_include_select_custom_fields():
    from crm.models import CustomField

    CustomField.objects.create(
        record_type="deal", key="region", label="Region", field_type="select", choices=["EU"]
    )
    CustomField.objects.create(record_type="deal", key="notes", label="Notes", field_type="text")
    fields = driver_fields(get_kpi("win_rate"))
    assert fields[:2] == ["owner", "team"]
    assert "lead_source" in fields and "pipeline" in fields and "industry" in fields
    assert "custom:region" in fields and "custom:notes" not in fields


def test_the_spread_floor_follows_the_unit():
    # Eight weeks of a 0 % churn: one point of spread, so 1.9 % is within 0 ± 3 points.
    churn = expected_range([0] * 8, unit="percent")
    assert (churn.low, churn.high) == (Decimal(-3), Decimal(3))
    assert churn.side(Decimal("1.9")) is None
    assert churn.side(Decimal("3.5")) == "above"
    ratio = expected_range([Decimal("0.5")] * 8, unit="ratio")
    assert (ratio.low, ratio.high) == (Decimal("0.2"), Decimal("0.8"))


def test_a_driver_field_reads_as_its_name():
    from crm.models import CustomField
    from metrics.dashboards import segment_field_label

    CustomField.objects.create(
        record_type="company",
        key="tier",
        label="Account tier",
        field_type="select",
        choices=["Key"],
    )
    assert segment_field_label("lead_source") == "Lead source"
    assert segment_field_label("custom:tier") == "Account tier"
    assert segment_field_label("custom:gone") == "gone"
