"""Every snapshot write computes with the memory to group a hundred thousand companies
without spilling to disk (crm.db_settings.analytical_session), whoever asks for it: the
nightly run, a backfill from the command line, the task for one day. The manual paths ran
with PostgreSQL's default 4 MB, and a day's health score took 117 s instead of 4 s on the large
seed. The setting is put back afterwards, also when sessions nest."""

from datetime import date

import pytest
from django.db import connection
from django.urls import reverse

from crm.db_settings import ANALYTICAL_WORK_MEM, analytical_session
from metrics import fill, services
from metrics import views as metrics_views
from metrics.numbers import Reader
from metrics.registry import get_kpi
from tests.metrics.test_dashboard_pages import at, won_deal

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="work_mem: PostgreSQL"),
]


def work_mem() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('work_mem')")
        return cursor.fetchone()[0]


@pytest.fixture
def seen(monkeypatch):
    """The work_mem each KPI of a snapshot write was computed with."""
    seen = []
    computed = fill.period_results

    def recording(kpi, period):
        seen.append(work_mem())
        return computed(kpi, period)

    monkeypatch.setattr(fill, "period_results", recording)
    return seen


@pytest.mark.parametrize(
    "write",
    [
        lambda: services.snapshot_day(day=date(2026, 3, 10), kpis=[get_kpi("win_rate")]),
        lambda: services.snapshot_range(
            first_day=date(2026, 3, 9), last_day=date(2026, 3, 10), kpis=[get_kpi("win_rate")]
        ),
        lambda: fill.write_month_to_date(last_day=date(2026, 3, 10), kpis=[get_kpi("win_rate")]),
    ],
    ids=["one day", "a backfill", "a month to date"],
)
def test_each_snapshot_write_computes_with_the_analytical_memory(seen, write):
    before = work_mem()

    write()

    assert seen and set(seen) == {ANALYTICAL_WORK_MEM}
    assert work_mem() == before


def test_nested_sessions_put_back_the_setting_each_found():
    before = work_mem()
    with analytical_session():
        with connection.cursor() as cursor:
            cursor.execute("SET work_mem = '8MB'")
        with analytical_session():
            assert work_mem() == ANALYTICAL_WORK_MEM
        assert work_mem() == "8MB"
    assert work_mem() == before


def test_a_nightly_run_writes_with_it_too(seen):
    fill.fill_closed_periods(today=date(2026, 3, 11), kpis=[get_kpi("win_rate")])

    assert seen and set(seen) == {ANALYTICAL_WORK_MEM}


# Committed transactions: inside a test's own, SET LOCAL would outlive each block.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_kpi_page_reads_its_page_of_records_with_the_sessions_own_memory(
    client, manager, rep, sales_team, monkeypatch
):
    """The drill-down's page of keys is a LIMIT query: with the aggregates' 64 MB, PostgreSQL
    hashed a subquery over its whole table for it (the renewals' first page, 0.3 s against
    7 ms on the large seed). The value and its counts keep the aggregates' memory."""
    for day in (10, 11):
        won_deal(rep, sales_team, at(2026, 3, day))
    page_keys = metrics_views._page_keys
    seen = []

    def recording(*args, **kwargs):
        seen.append(work_mem())
        return page_keys(*args, **kwargs)

    monkeypatch.setattr(metrics_views, "_page_keys", recording)
    before = work_mem()
    client.force_login(manager)

    response = client.get(reverse("kpi", args=["deals_won_count"]) + "?grain=month&date=2026-03-15")

    assert response.status_code == 200
    assert len(response.context["rows"]) == 2
    assert seen == [before] and before != ANALYTICAL_WORK_MEM
    reader = Reader()
    assert reader.cached(["test", "aggregates"], work_mem) == ANALYTICAL_WORK_MEM
    assert reader.cached(["test", "a page"], work_mem, aggregates=False) == before


def test_values_read_together_set_the_aggregates_memory_once():
    """Inside aggregate_settings, another changes nothing: the whole's row and the parts each
    values computed in a batch caches on its own would cost a savepoint and the settings again
    (three queries each: 84 queries for the sales dashboard with every cache emptied, not 42)."""
    from django.core.cache import cache
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from metrics.periods import period_for
    from metrics.registry import Segment

    cache.clear()
    month = period_for("month", timezone.localdate())
    keys = ("win_rate", "mrr", "mrr_growth_rate", "deal_velocity", "pipeline_value")
    with CaptureQueriesContext(connection) as queries:
        Reader().read([(get_kpi(key), month, Segment()) for key in keys])

    assert len([q for q in queries if "set_config" in q["sql"]]) == 1
    assert len([q for q in queries if "SAVEPOINT" in q["sql"].upper()]) <= 2
