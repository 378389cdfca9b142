"""Every snapshot write computes with the memory to group a hundred thousand companies
without spilling to disk (crm.db_settings.analytical_session), whoever asks for it: the
nightly run, a backfill from the command line, the task for one day. The manual paths ran
with PostgreSQL's default 4 MB, and a day's health score took 117 s instead of 4 s on the large
seed. The setting is put back afterwards, also when sessions nest."""

from datetime import date

import pytest
from django.db import connection

from crm.db_settings import ANALYTICAL_WORK_MEM, analytical_session
from metrics import fill, services
from metrics.registry import get_kpi

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
