"""`seed_demo` gives charts history on first run: it calls the CRM_AFTER_SEED hooks, and the
metrics hook backfills monthly and quarterly snapshots, recent days and health scores."""

from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from crm import models as m
from metrics import fill, mrr_movement, services
from metrics.models import CompanyHealth, KPISnapshot
from metrics.registry import all_kpis
from tests.crm.factories import CompanyFactory
from tests.metrics.test_dashboard_pages import at, won_deal

CALLS = []


def recording_hook(**kwargs):
    CALLS.append(kwargs)


@pytest.mark.django_db
def test_seed_demo_calls_the_after_seed_hooks(settings):
    settings.CRM_AFTER_SEED = ["tests.metrics.test_seed_snapshots.recording_hook"]
    CALLS.clear()
    out = StringIO()
    call_command("seed_demo", "--scale", "small", "--today", "2026-03-31", stdout=out)
    assert CALLS == [{"scale": "small", "today": date(2026, 3, 31)}]
    assert "recording_hook" in out.getvalue()


def test_the_metrics_hook_is_configured_outside_tests():
    from crm import settings as crm_settings

    # Tests keep seeding fast; `make run` (not testing) gets the backfill.
    assert "metrics.services.backfill_after_seed" in open(crm_settings.__file__).read()


@pytest.mark.django_db
@override_settings(CRM_AFTER_SEED=[])
def test_the_backfill_writes_months_quarters_recent_days_and_health(rep, sales_team):
    won_deal(rep, sales_team, at(2026, 1, 20))
    won_deal(rep, sales_team, at(2026, 3, 5))
    CompanyFactory(lifecycle=m.Lifecycle.CUSTOMER, customer_since=at(2025, 6, 1))

    services.backfill_after_seed(today=date(2026, 3, 31), months=3)

    overall = KPISnapshot.objects.filter(kpi="deals_won_count", segment_field="")
    months = dict(overall.filter(grain="month").values_list("period_start", "value"))
    assert months == {date(2026, 1, 1): 1, date(2026, 2, 1): 0, date(2026, 3, 1): 1}
    assert overall.get(grain="quarter", period_start=date(2026, 1, 1)).value == 2
    days = overall.filter(grain="day")
    assert days.count() == services.SEED_BACKFILL_DAYS
    assert days.get(period_start=date(2026, 3, 5)).value == 1
    # Ten weeks, so the first Monday's review has eight weeks before the last one.
    weeks = overall.filter(grain="week").order_by("period_start")
    assert weeks.count() == services.SEED_BACKFILL_WEEKS
    assert weeks.last().period_start == date(2026, 3, 30)
    assert weeks.get(period_start=date(2026, 3, 2)).value == 1
    assert KPISnapshot.objects.filter(kpi="deals_won_count", segment_field="owner").exists()
    # Every KPI has its monthly history, and the MRR movement chart its months; per-day
    # health waits for the nightly fill.
    monthly = set(KPISnapshot.objects.filter(grain="month").values_list("kpi", flat=True))
    assert monthly == {kpi.key for kpi in all_kpis()} | set(mrr_movement.MOVE_KEYS.values())
    assert not KPISnapshot.objects.filter(kpi="health_score", grain="day").exists()
    assert CompanyHealth.objects.count() == 1
    # The month so far, day by day, for the comparisons of the months ahead (February is too
    # short for 31 March to compare with any of its days).
    to_date = overall.filter(grain=fill.MONTH_TO_DATE).order_by("period_end")
    assert [row.period_end.day for row in to_date] == list(range(1, 31))
    assert [row.value for row in to_date][3:5] == [0, 1]  # the 5th's deal
    # Its periods are done, so the first night fills only what the seed's day left running.
    due = {grain: fill.due_periods(grain, date(2026, 3, 31)) for grain in fill.SNAPSHOT_GRAINS}
    assert {grain: [p.start_date for p in periods] for grain, periods in due.items()} == {
        "day": [date(2026, 3, 31)],
        "week": [],
        "month": [date(2026, 3, 1)],
        "quarter": [date(2026, 1, 1)],
    }


@pytest.mark.django_db
def test_bigger_scales_skip_the_daily_backfill(rep, sales_team):
    services.backfill_after_seed(today=date(2026, 3, 31), months=1, scale="medium")
    assert not KPISnapshot.objects.filter(grain="day").exists()
    assert KPISnapshot.objects.filter(grain="month").exists()
    assert not KPISnapshot.objects.filter(grain=fill.MONTH_TO_DATE).exists()


@pytest.mark.django_db
def test_bigger_scales_write_the_month_to_date_todays_comparison_reads_and_the_next(
    rep, sales_team
):
    won_deal(rep, sales_team, at(2026, 2, 10))

    services.backfill_after_seed(today=date(2026, 3, 16), months=1, scale="large")

    to_date = KPISnapshot.objects.filter(
        kpi="deals_won_count", grain=fill.MONTH_TO_DATE, segment_field=""
    )
    assert dict(to_date.values_list("period_end", "value")) == {
        date(2026, 2, 16): 1,
        date(2026, 2, 17): 1,
    }


def _snapshot_rows() -> set:
    return set(
        KPISnapshot.objects.values_list(
            "kpi", "grain", "period_start", "segment_field", "segment_value", "value"
        )
    )


# Skipped before the database is set up: a transactional test skipped in its body has already
# committed its fixtures' rows, which the next test restoring the database then collides with.
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="threads with connections of their own"
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@override_settings(CRM_AFTER_SEED=[])
def test_the_backfill_on_two_connections_writes_what_one_writes(rep, sales_team, monkeypatch):
    won_deal(rep, sales_team, at(2026, 1, 20))
    won_deal(rep, sales_team, at(2026, 3, 5))
    CompanyFactory(lifecycle=m.Lifecycle.CUSTOMER, customer_since=at(2025, 6, 1))

    monkeypatch.setenv("BACKFILL_WORKERS", "1")
    # Medium: no daily periods, which the other tests cover.
    alone = services.backfill_after_seed(today=date(2026, 3, 31), months=3, scale="medium")
    one_connection = _snapshot_rows()
    KPISnapshot.objects.all().delete()
    monkeypatch.setenv("BACKFILL_WORKERS", "2")
    together = services.backfill_after_seed(today=date(2026, 3, 31), months=3, scale="medium")

    assert together == alone > 0
    assert _snapshot_rows() == one_connection
    assert CompanyHealth.objects.count() == 1
