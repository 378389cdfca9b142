"""The nightly fill is self-healing: each period is written whole or not at all, its state is
recorded, a run fills every closed period not done yet, and one run writes at a time."""

import threading
from datetime import date, timedelta

import pytest
from django.db import connection, connections
from django.db.models import Count
from django.utils import timezone

from metrics import fill
from metrics.health import HEALTH_GRAIN, store_company_health
from metrics.models import FillLock, FillStatus, KPISnapshot, SnapshotFill
from metrics.periods import period_for
from tests.crm.factories import CompanyFactory
from tests.metrics.test_snapshots import WON_DEALS, won_deal

pytestmark = pytest.mark.django_db

KPIS = [WON_DEALS]  # one cheap KPI: these tests are about the fill, not the KPIs


def nightly(today: date) -> fill.FillReport:
    return fill.fill_closed_periods(today=today, kpis=KPIS)


def fills(grain="day") -> dict[date, tuple[str, int]]:
    rows = SnapshotFill.objects.filter(grain=grain)
    return {row.period_start: (row.status, row.rows_written) for row in rows}


def overall(grain="day") -> dict[date, int]:
    rows = KPISnapshot.objects.filter(kpi=WON_DEALS.key, grain=grain, segment_field="")
    return dict(rows.values_list("period_start", "value"))


def duplicated_keys() -> int:
    keys = KPISnapshot.objects.values("kpi", "grain", "period_start", "period_end", "segment_field")
    return keys.annotate(n=Count("id")).filter(n__gt=1).count()


def test_a_period_failing_half_way_is_left_not_done_and_the_next_run_completes_it(rep, monkeypatch):
    nightly(date(2026, 3, 10))  # the last good night: the 9th is done
    won_deal(rep, date(2026, 3, 11))
    fill.write_period(period=period_for("day", date(2026, 3, 11)), kpis=KPIS)  # an early write
    won_deal(rep, date(2026, 3, 11))

    written = fill.mark_written

    def dies_on_the_11th(*, grain, start, rows, final):
        written(grain=grain, start=start, rows=rows, final=final)
        if (grain, start) == ("day", date(2026, 3, 11)):
            raise RuntimeError("worker lost")  # after the rows and the mark, before the commit

    monkeypatch.setattr(fill, "mark_written", dies_on_the_11th)
    with pytest.raises(RuntimeError):
        nightly(date(2026, 3, 13))
    monkeypatch.undo()

    # The 10th is done; the 11th still holds its old rows, whole, and is not done.
    assert fills()[date(2026, 3, 10)][0] == FillStatus.DONE
    assert fills()[date(2026, 3, 11)][0] == FillStatus.STARTED
    assert overall()[date(2026, 3, 11)] == 1
    assert date(2026, 3, 12) not in fills()
    assert not FillLock.objects.exclude(run_id="").exists()  # the lease went with the run

    report = nightly(date(2026, 3, 13))

    assert report.periods == 5  # the 11th, the 12th, the running week, month and quarter
    assert overall()[date(2026, 3, 11)] == 2 and overall()[date(2026, 3, 12)] == 0
    assert {day: status for day, (status, _rows) in fills().items()} == {
        date(2026, 3, day): FillStatus.DONE for day in (9, 10, 11, 12)
    }
    assert duplicated_keys() == 0
    rows = KPISnapshot.objects.filter(grain="day", period_start=date(2026, 3, 11))
    assert fills()[date(2026, 3, 11)][1] == rows.count() == 2  # overall and the owner


def test_three_missed_nights_are_caught_up_by_one_run_with_their_counts(rep):
    nightly(date(2026, 3, 28))  # fills the 27th
    for day in (28, 29, 30, 31):
        won_deal(rep, date(2026, 3, day))
    won_deal(rep, date(2026, 4, 1))

    # No run on the nights of April 1st, 2nd and 3rd; the 4th's run catches up.
    report = nightly(date(2026, 4, 4))

    days = fills()
    assert [day for day in days if days[day][0] == FillStatus.DONE] == [
        date(2026, 3, 27) + timedelta(days=n) for n in range(8)
    ]
    assert overall()[date(2026, 3, 31)] == 1 and overall()[date(2026, 4, 3)] == 0
    # Overall and the owner on the days with a deal, overall only on the others.
    assert days[date(2026, 3, 30)] == (FillStatus.DONE, 2)
    assert days[date(2026, 4, 2)] == (FillStatus.DONE, 1)
    assert fills("month")[date(2026, 3, 1)] == (FillStatus.DONE, 2)
    assert overall("month")[date(2026, 3, 1)] == 4
    assert overall("quarter")[date(2026, 1, 1)] == 4
    assert fills("quarter")[date(2026, 1, 1)][0] == FillStatus.DONE
    # April and Q2 are still running: written, not done.
    assert fills("month")[date(2026, 4, 1)][0] == FillStatus.OPEN
    assert fills("quarter")[date(2026, 4, 1)][0] == FillStatus.OPEN
    # Days, the week of 23 March, March and Q1; the running week, April and Q2.
    assert report.periods == 7 + 3 + 3
    # And each missed day's month to date but March's last (the month itself is stored).
    to_date = KPISnapshot.objects.filter(grain=fill.MONTH_TO_DATE, period_end__gt=date(2026, 3, 27))
    assert sorted(set(to_date.values_list("period_end", flat=True))) == [
        date(2026, 3, 28),
        date(2026, 3, 29),
        date(2026, 3, 30),
        date(2026, 4, 1),
        date(2026, 4, 2),
        date(2026, 4, 3),
    ]
    assert report.months_to_date == 6
    period_rows = sum(row.rows_written for row in SnapshotFill.objects.all()) - 1
    assert report.rows == period_rows + to_date.count()
    assert duplicated_keys() == 0

    # The same night again (a redelivered task) redoes only the running periods.
    again = nightly(date(2026, 4, 4))
    assert (again.periods, again.months_to_date) == (3, 0)


def test_a_second_concurrent_run_exits_without_writing():
    assert fill.lease_acquire(fill.NIGHTLY_LOCK, "the-first-run")

    report = nightly(date(2026, 3, 13))

    assert report.skipped and report.rows == 0
    assert not KPISnapshot.objects.exists() and not SnapshotFill.objects.exists()
    assert FillLock.objects.get(name=fill.NIGHTLY_LOCK).run_id == "the-first-run"


def test_a_killed_runs_lease_expires_and_the_next_run_takes_over():
    assert fill.lease_acquire(fill.NIGHTLY_LOCK, "killed")
    FillLock.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    report = nightly(date(2026, 3, 13))

    assert not report.skipped and fills()[date(2026, 3, 12)][0] == FillStatus.DONE
    assert FillLock.objects.get(name=fill.NIGHTLY_LOCK).run_id == ""  # released at the end


def test_a_new_installation_starts_with_yesterday_and_a_gap_is_bounded():
    nightly(date(2026, 3, 13))
    assert list(fills()) == [date(2026, 3, 12)]

    # Two months without a run: the next one goes back CATCH_UP_DAYS, not to March.
    nightly(date(2026, 5, 20))

    days = sorted(fills())
    assert days[1] == date(2026, 5, 19) - timedelta(days=fill.CATCH_UP_DAYS - 1)
    assert days[-1] == date(2026, 5, 19) and len(days) == 1 + fill.CATCH_UP_DAYS
    assert fills("month")[date(2026, 4, 1)][0] == FillStatus.DONE
    # March ended before the window: left as the first night wrote it (snapshot_kpis --from).
    assert fills("month")[date(2026, 3, 1)][0] == FillStatus.OPEN


def test_the_hourly_refresh_leaves_the_running_periods_open_until_the_night_closes_them():
    today = timezone.localdate()
    fill.write_period(period=period_for("day", today), kpis=KPIS)

    assert fills()[today][0] == FillStatus.OPEN
    nightly(today + timedelta(days=1))
    # The night is clamped to the real today: today is not over, so it stays open.
    assert fills()[today][0] == FillStatus.OPEN


def test_a_write_of_some_kpis_does_not_make_a_period_done():
    day = period_for("day", date(2026, 3, 10))

    fill.write_period(period=day, kpis=KPIS)

    assert fills()[date(2026, 3, 10)][0] == FillStatus.OPEN


def test_the_health_scores_record_their_fill_state(rep):
    from crm import models as m

    CompanyFactory(
        lifecycle=m.Lifecycle.CUSTOMER, customer_since=timezone.now() - timedelta(days=800)
    )
    store_company_health(day=date(2026, 3, 10))

    assert fills(HEALTH_GRAIN) == {date(2026, 3, 10): (FillStatus.DONE, 1)}


def test_an_interrupted_period_shows_in_the_admin(client, admin_user):
    fill.mark_started(grain="day", start=date(2026, 3, 11), run_id="killed-run")
    client.force_login(admin_user)

    response = client.get("/admin/metrics/snapshotfill/", {"status__exact": "started"})

    assert response.status_code == 200 and "killed-run" in response.content.decode()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent runs need PostgreSQL")
def test_of_two_runs_started_together_one_writes_and_the_other_exits(monkeypatch):
    start, other_exited = threading.Barrier(2), threading.Event()
    reports = []
    write = fill.write_period

    def slow_write(**kwargs):
        other_exited.wait(timeout=10)  # the lease holder writes only once the other run is over
        return write(**kwargs)

    monkeypatch.setattr(fill, "write_period", slow_write)

    def run():
        try:
            start.wait(timeout=30)
            reports.append(nightly(date(2026, 3, 13)))
            if reports[-1].skipped:
                other_exited.set()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(report.skipped for report in reports) == [False, True]
    assert duplicated_keys() == 0 and fills()[date(2026, 3, 12)][0] == FillStatus.DONE
