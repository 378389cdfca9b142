"""Beat down for three nights (or three nightly messages lost, as the embedded broker loses a
message whose worker is killed): the next nightly run fills every day it missed, closes the
month and the quarter that ended meanwhile, and writes each row once. The nightly task runs
in-process, as a worker would, on "today" moved to the night of the run."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from metrics.models import FillStatus, KPISnapshot, SnapshotFill
from metrics.tasks import snapshot_kpis
from tests.metrics.test_snapshots import won_deal

from .snapshot_checks import duplicated_rows, missing_rows, periods, tally

pytestmark = pytest.mark.django_db


def night_of(monkeypatch, day: date) -> None:
    """The task's "today" (and so its "yesterday") is `day`."""
    real = timezone.localdate
    monkeypatch.setattr(
        timezone, "localdate", lambda value=None, tz=None: real(value, tz) if value else day
    )


def won_on(kpi_day: date, grain: str = "day") -> int | None:
    row = KPISnapshot.objects.filter(
        kpi="deals_won_count", grain=grain, period_start=kpi_day, segment_field=""
    ).first()
    return row and row.value


def test_three_nights_without_beat_are_caught_up_by_the_next_run(figures, monkeypatch, rep):
    # The records first: a period's rows are then exactly what a clean computation gives.
    for day in (29, 30, 31, 32):
        won_deal(rep, date(2026, 3, 1) + timedelta(days=day - 1))
    night_of(monkeypatch, date(2026, 3, 30))
    snapshot_kpis.apply().get()  # the last night beat ran: the 29th

    # No run on the nights of the 31st, April 1st and 2nd; the 3rd's run catches up.
    night_of(monkeypatch, date(2026, 4, 3))
    snapshot_kpis.apply().get()

    days = [date(2026, 3, 29) + timedelta(days=n) for n in range(5)]  # up to April 2nd
    expected = (
        periods("day", *days)
        + periods("month", date(2026, 3, 1), date(2026, 4, 1))
        + periods("quarter", date(2026, 1, 1), date(2026, 4, 1))
    )
    tally(figures, "after the outage", lost=missing_rows(expected), doubled=duplicated_rows())

    assert [won_on(day) for day in days] == [1, 1, 1, 1, 0]
    assert won_on(date(2026, 3, 1), "month") == 3 and won_on(date(2026, 4, 1), "month") == 1
    assert won_on(date(2026, 1, 1), "quarter") == 3
    status = dict(SnapshotFill.objects.filter(grain="day").values_list("period_start", "status"))
    assert status == {day: FillStatus.DONE for day in days}
    closed = SnapshotFill.objects.filter(period_start__in=[date(2026, 3, 1), date(2026, 1, 1)])
    assert set(closed.exclude(grain="day").values_list("grain", "status")) == {
        ("month", FillStatus.DONE),
        ("quarter", FillStatus.DONE),
    }
