"""The progress maths on their own: direction, clamping, bands, weighted means, run-rates."""

from datetime import date, timedelta
from decimal import Decimal as D

from goals.forecast import health_for, run_rate_forecast
from goals.progress import target_progress, weighted_mean


def test_progress_is_the_share_of_the_way_from_start_to_target():
    assert target_progress(current=D(30), start=D(10), target=D(50)) == D("50.0")


def test_progress_is_clamped_between_0_and_100():
    assert target_progress(current=D(5), start=D(10), target=D(50)) == D(0)
    assert target_progress(current=D(80), start=D(10), target=D(50)) == D(100)


def test_a_decrease_counts_lower_values_as_progress():
    # Churn from 8 % to 5 %: at 6 % two thirds of the way are done.
    progress = target_progress(current=D(6), start=D(8), target=D(5), direction="decrease")
    assert progress == D("66.7")
    assert target_progress(current=D(9), start=D(8), target=D(5), direction="decrease") == 0


def test_a_band_is_met_inside_and_missed_outside():
    band = (D(2), D(4))
    assert target_progress(current=D(3), start=None, target=None, direction="band", band=band)
    assert target_progress(current=D(5), start=None, target=None, direction="band", band=band) == D(
        0
    )


def test_no_value_is_no_progress_not_zero():
    assert target_progress(current=None, start=D(0), target=D(10)) is None


def test_weighted_mean_leaves_out_parts_without_value_or_weight():
    assert weighted_mean([(D(1), D(40)), (D(3), D(80)), (D(2), None), (D(0), D(10))]) == D(70)
    assert weighted_mean([(D(0), D(50))]) is None


def test_run_rate_forecast_extends_a_straight_line_to_the_last_day():
    start = date(2026, 1, 1)
    points = [(start + timedelta(days=i), D(10 * i)) for i in range(10)]
    # 10 a day: day 9 holds 90, the last day (day 30) should hold 300.
    assert run_rate_forecast(points, start + timedelta(days=30)) == D(300)


def test_health_needs_a_week_of_history():
    assert health_for(D(120), 3) == ""
    assert health_for(D(120), 10) == "on_track"
    assert health_for(D(85), 10) == "at_risk"
    assert health_for(D(50), 10) == "off_track"
