"""Trend vs noise: each KPI trend carries a 4-period moving average and the expected range of
its earlier points (hand-computed numbers)."""

from datetime import date
from decimal import Decimal

import pytest

from metrics import charts
from metrics.models import KPISnapshot, SnapshotFill
from metrics.periods import period_for, periods_between
from metrics.registry import ALL


def test_the_moving_average_needs_four_known_points():
    data = [1, 2, 3, 4, 5, None, 7, 8, 9, 10]
    assert charts.moving_average(data) == [None, None, None, 2.5, 3.5, None, None, None, None, 8.5]


def test_the_band_is_the_expected_range_of_the_points_before():
    noise = charts.trend_noise([40, 41, 39, 42, 38, 43, 40, 44, 48])
    # Six points before: 38..43, median 40.5, MAD 1.5 -> spread 1.5 x 1.4826 = 2.2239 (over
    # the 5 % floor 2.025) -> 40.5 ± 6.6717. Seven: median 40, MAD 1 -> spread max(1.4826,
    # 2) = 2 -> 34..46. Eight: median 40.5, MAD 1.5 again -> 40.5 ± 6.6717.
    assert noise["low"] == [None] * 6 + [33.8283, 34.0, 33.8283]
    assert noise["high"] == [None] * 6 + [47.1717, 46.0, 47.1717]
    assert noise["average"][3:] == [40.5, 40.0, 40.5, 40.75, 41.25, 43.75]


@pytest.mark.django_db
def test_every_trend_payload_carries_its_noise():
    months = periods_between("month", date(2025, 1, 1), date(2025, 12, 31))
    values = [40, 41, 39, 42, 38, 43, 40, 44, 48, 30, 41, 40]
    for month, value in zip(months, values, strict=True):
        KPISnapshot.objects.create(
            kpi="win_rate",
            grain="month",
            period_start=month.start_date,
            period_end=month.end_date,
            value=Decimal(value),
            numerator=Decimal(value),
            denominator=Decimal(100),
        )
        SnapshotFill.objects.create(grain="month", period_start=month.start_date, status="done")
    payload = charts.trend("win_rate", period_for("month", date(2025, 12, 1)), ALL)
    assert payload["datasets"][0]["data"] == [float(v) for v in values]
    noise = payload["noise"]
    # Points 9-12: averages of (44 48 30 41) = 40.75 and (48 30 41 40) = 39.75.
    assert noise["average"][-2:] == [40.75, 39.75]
    # The 10th point (30) is judged by the eight before it, 41 39 42 38 43 40 44 48: median
    # 41.5, MAD 2 -> spread 2.9652 -> 41.5 ± 8.8956, so 30 is below 32.6044.
    assert noise["low"][9] == 32.6044 and payload["datasets"][0]["data"][9] < noise["low"][9]
    assert noise["average_label"] == "4-period average"
    assert noise["band_label"] == "Expected range"
