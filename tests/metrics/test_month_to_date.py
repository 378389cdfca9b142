"""Issue 19: a running month is compared with the same days of the month before, a period that
is over. The nightly run stores it (the month up to the day it closes, for the KPIs that
accumulate over a period), and the cards and KPI pages read those rows instead of recounting
the records, as they do for any other period that is over."""

import threading
from datetime import date, datetime
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.utils import timezone

from metrics import fill
from metrics.dashboards import build_cards
from metrics.models import KPISnapshot
from metrics.numbers import Reader
from metrics.periods import comparison_for, custom_period, period_for
from metrics.registry import ALL, Segment, get_kpi
from tests.metrics.test_dashboard_pages import at, won_deal

pytestmark = pytest.mark.django_db

WON = get_kpi("deals_won_count")
PIPELINE = get_kpi("pipeline_value")  # measured at a period's end: compared with a whole month
NOVEMBER = period_for("month", date(2025, 11, 1))
# Noon on 26 November: November so far is compared with 1-26 October.
NOW = timezone.make_aware(datetime(2025, 11, 26, 12))


def to_date(kpi, last_day, segment=ALL) -> Decimal | None:
    rows = KPISnapshot.objects.filter(
        kpi=kpi.key,
        grain=fill.MONTH_TO_DATE,
        period_end=last_day,
        segment_field=segment.field,
        segment_value=segment.value,
    )
    return rows.values_list("value", flat=True).first()


def test_the_nightly_run_stores_the_month_up_to_the_day_it_closes(rep, teammate, sales_team):
    won_deal(rep, sales_team, at(2025, 10, 3))
    won_deal(teammate, sales_team, at(2025, 10, 20))
    won_deal(rep, sales_team, at(2025, 10, 21))  # after the day closed: not in it

    report = fill.fill_closed_periods(today=date(2025, 10, 21), kpis=[WON, PIPELINE])

    assert report.months_to_date == 1
    row = KPISnapshot.objects.get(
        kpi=WON.key, grain=fill.MONTH_TO_DATE, period_end=date(2025, 10, 20), segment_field=""
    )
    assert (row.period_start, row.value) == (date(2025, 10, 1), 2)
    assert to_date(WON, date(2025, 10, 20), Segment("owner", str(rep.pk))) == 1
    assert to_date(WON, date(2025, 10, 20), Segment("owner", str(teammate.pk))) == 1
    # The same as the records give for those days.
    assert row.value == WON.value(custom_period(date(2025, 10, 1), date(2025, 10, 20))).value
    assert not KPISnapshot.objects.filter(kpi=PIPELINE.key, grain=fill.MONTH_TO_DATE).exists()


def test_a_months_last_day_is_left_to_the_month_and_missed_days_are_caught_up(rep, sales_team):
    won_deal(rep, sales_team, at(2025, 10, 29))
    fill.fill_closed_periods(today=date(2025, 10, 29), kpis=[WON])  # stores the 28th

    # No run for three nights; the run of 2 November closes the 29th to the 1st.
    report = fill.fill_closed_periods(today=date(2025, 11, 2), kpis=[WON])

    stored = KPISnapshot.objects.filter(kpi=WON.key, grain=fill.MONTH_TO_DATE, segment_field="")
    assert dict(stored.values_list("period_end", "value")) == {
        date(2025, 10, 28): 0,
        date(2025, 10, 29): 1,
        date(2025, 10, 30): 1,
        date(2025, 11, 1): 0,
    }
    assert report.months_to_date == 3


def test_a_long_catch_up_is_spread_over_nights_oldest_first(monkeypatch, rep, sales_team):
    monkeypatch.setattr(fill, "MONTH_TO_DATE_DAYS_PER_NIGHT", 2)
    fill.fill_closed_periods(today=date(2025, 10, 2), kpis=[WON])  # stores the 1st

    # No run for four nights: the run of 7 October writes the 2nd and 3rd, the next the 4th
    # and 5th, then the 6th and 7th.
    written = [
        fill.fill_closed_periods(today=date(2025, 10, day), kpis=[WON]).months_to_date
        for day in (7, 8, 9)
    ]

    assert written == [2, 2, 2]
    days = KPISnapshot.objects.filter(kpi=WON.key, grain=fill.MONTH_TO_DATE, segment_field="")
    assert sorted(days.values_list("period_end__day", flat=True)) == [1, 2, 3, 4, 5, 6, 7]


def stored_month_to_date(*last_days: date) -> None:
    for last_day in last_days:
        KPISnapshot.objects.create(
            kpi=WON.key,
            grain=fill.MONTH_TO_DATE,
            period_start=last_day.replace(day=1),
            period_end=last_day,
            value=1,
        )


def stored_days() -> list[date]:
    rows = KPISnapshot.objects.filter(grain=fill.MONTH_TO_DATE).order_by("period_end")
    return list(rows.values_list("period_end", flat=True).distinct())


def test_days_no_comparison_reads_any_more_are_pruned_and_never_written_again():
    # The run of 2 November closes the 1st: November so far is compared with October's days,
    # and the catch-up window reaches back to 3 October.
    stored_month_to_date(date(2025, 8, 5), date(2025, 9, 29), *fill_days(10, 2, 10, 30))

    report = fill.fill_closed_periods(today=date(2025, 11, 2), kpis=[WON])

    assert report.months_to_date_pruned == 2
    assert stored_days() == [*fill_days(10, 2, 10, 30), date(2025, 11, 1)]
    assert fill.fill_closed_periods(today=date(2025, 11, 2), kpis=[WON]).months_to_date == 0


def test_early_in_a_month_the_catch_up_window_is_kept_too():
    # On 2 March the catch-up window (31 days to the 1st) starts on 30 January, before
    # February: pruning those days would have the next run write them again.
    assert fill.month_to_date_kept_from(date(2026, 3, 1)) == date(2026, 1, 30)
    assert fill.month_to_date_kept_from(date(2026, 3, 20)) == date(2026, 2, 1)
    stored_month_to_date(date(2026, 1, 29), date(2026, 1, 30), *fill_days(2, 1, 2, 27, year=2026))
    stored_month_to_date(date(2026, 3, 1))

    assert fill.prune_month_to_date(date(2026, 3, 1)) == 1
    assert fill.due_month_to_date_days(date(2026, 3, 1)) == []


def fill_days(month: int, first: int, last_month: int, last: int, year: int = 2025):
    """Every day from (month, first) to (last_month, last) but a month's last (the month is
    stored), as the nightly run writes them."""
    day, end, days = date(year, month, first), date(year, last_month, last), []
    while day <= end:
        if fill.has_month_to_date(day):
            days.append(day)
        day = date.fromordinal(day.toordinal() + 1)
    return days


def test_a_running_months_cards_compare_with_the_stored_same_days(manager, rep, sales_team):
    won_deal(rep, sales_team, at(2025, 10, 3))
    won_deal(rep, sales_team, at(2025, 10, 26))
    comparison = comparison_for(NOVEMBER, NOW)
    assert comparison.period == fill.month_to_date(date(2025, 10, 26))
    fill.write_month_to_date(last_day=date(2025, 10, 26), kpis=[WON])
    # A won deal back-dated into those days afterwards: the records now say 3.
    won_deal(rep, sales_team, at(2025, 10, 12))

    everyone, own = ALL, Segment("owner", str(rep.pk))
    [card] = build_cards([WON.key], NOVEMBER, everyone, reader=Reader(now=NOW))
    [reps_card] = build_cards([WON.key], NOVEMBER, own, reader=Reader(now=NOW))

    # Read as stored, as a month over is read from its snapshot.
    assert card.comparison.partial
    assert (card.previous.value, reps_card.previous.value) == (2, 2)
    [reading] = Reader(now=NOW).read([(WON, comparison.period, everyone)])
    assert reading.computed_at is not None and not reading.live


def test_without_stored_rows_the_same_days_are_counted_from_the_records(rep, sales_team):
    won_deal(rep, sales_team, at(2025, 10, 3))
    won_deal(rep, sales_team, at(2025, 10, 27))  # after the same days

    [card] = build_cards([WON.key], NOVEMBER, ALL, reader=Reader(now=NOW))

    assert card.previous.value == 1


def test_other_spans_and_balances_are_not_read_as_a_month_to_date():
    assert fill.is_month_to_date(custom_period(date(2025, 10, 1), date(2025, 10, 26)))
    assert not fill.is_month_to_date(custom_period(date(2025, 10, 1), date(2025, 10, 31)))
    assert not fill.is_month_to_date(custom_period(date(2025, 10, 2), date(2025, 10, 26)))
    assert not fill.is_month_to_date(period_for("day", date(2025, 10, 1)))
    # Pipeline compares with the end of October, read from a day's snapshot: not a to-date row.
    assert not comparison_for(NOVEMBER, NOW, balance=True).partial


def test_the_api_lists_a_months_days_so_far_by_their_last_day(client, manager, rep, sales_team):
    won_deal(rep, sales_team, at(2025, 10, 3))
    fill.write_month_to_date(last_day=date(2025, 10, 26), kpis=[WON])
    client.force_login(manager)

    rows = client.get("/api/kpi-snapshots/?kpi=deals_won_count&grain=mtd").json()["results"]

    assert [(r["period_start"], r["period_end"], Decimal(r["value"])) for r in rows] == [
        ("2025-10-01", "2025-10-26", 1)
    ]


# Skipped before the database is set up (see test_seed_snapshots): transactional, on PostgreSQL.
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_writers_of_one_day_swap_its_rows_in_turn(monkeypatch, rep, sales_team):
    won_deal(rep, sales_team, at(2025, 10, 3))
    both_computed = threading.Barrier(2)
    results = fill.period_results

    def computed_together(kpi, period):
        result = results(kpi, period)
        both_computed.wait(timeout=30)  # both then swap the day's rows at once
        return result

    monkeypatch.setattr(fill, "period_results", computed_together)
    errors = []

    def write():
        try:
            fill.write_month_to_date(last_day=date(2025, 10, 26), kpis=[WON])
        except Exception as error:  # noqa: BLE001 - the assertion below names it
            errors.append(error)
        finally:
            connections.close_all()

    writers = [threading.Thread(target=write) for _ in range(2)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=60)

    assert errors == []
    assert to_date(WON, date(2025, 10, 26)) == 1
    assert KPISnapshot.objects.filter(grain=fill.MONTH_TO_DATE, segment_field="").count() == 1
