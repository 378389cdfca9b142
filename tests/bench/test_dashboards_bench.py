"""How fast the dashboards, the KPI pages and the nightly snapshot are (`make bench`, never part
of `make test`):

It reads the seeded database named by DATABASE_URL (see conftest.py), snapshots the months the
dashboards read unless `seed_demo` already did, then prints:
- the median server time of each ready-made dashboard (target: under 300 ms on large);
- per KPI, the median time of its value, of its KPI page, and the time PostgreSQL itself needs
  for the KPI's bare queries (EXPLAIN ANALYZE of the SQL the value runs);
- the time to snapshot every KPI for one day (target: under 60 s on large);
- the first view of each ready-made dashboard after one change of each kind a working day
  makes (a drag, a call, a ticket reply, a subscription cancelled, a login), made through the
  services and rolled back after the view: what a manager meets between two warm-ups.
"""

import json
import os
import statistics
import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm import services as crm_services
from crm.models import (
    Contact,
    Deal,
    DealStatus,
    LoginEvent,
    Stage,
    StageOutcome,
    Subscription,
    Ticket,
    TicketStatus,
    User,
)
from metrics import services
from metrics.dashboards import READY_MADE
from metrics.models import KPISnapshot
from metrics.periods import period_for
from metrics.registry import all_kpis

RUNS = int(os.environ.get("BENCH_RUNS", "5"))
DASHBOARD_TARGET_MS = 300
SNAPSHOT_TARGET_S = 60


def median_ms(action, runs=RUNS) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def sql_ms(action) -> float:
    """PostgreSQL's own execution time of the queries `action` runs (EXPLAIN ANALYZE)."""
    with CaptureQueriesContext(connection) as captured:
        action()
    total = 0.0
    with connection.cursor() as cursor:
        for query in captured.captured_queries:
            sql = query["sql"]
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
            plan = cursor.fetchone()[0]
            plan = json.loads(plan) if isinstance(plan, str) else plan
            total += plan[0]["Execution Time"]
    return total


@pytest.mark.postgres
def test_dashboards_kpis_and_nightly_snapshot_timings(seeded_database):
    print(f"\n{Deal.objects.count():,} deals")
    today = timezone.localdate()
    kpis = all_kpis()
    # What the nightly and hourly fills store: this month and the 12 before it (cards, deltas,
    # trends), the open month included.
    month = period_for("month", today)
    started = time.monotonic()
    for _ in range(13):
        if not KPISnapshot.objects.filter(grain="month", period_start=month.start_date).exists():
            for kpi in kpis:
                services.snapshot_kpi_period(kpi=kpi, period=month)
        month = month.previous()
    print(
        f"snapshots missing of 13 months for {len(kpis)} KPIs: {time.monotonic() - started:.1f} s"
    )

    client = Client()
    client.force_login(User.objects.get(username="carla"))
    print(f"\n{'dashboard':<28} {'median ms':>10} {'cold ms':>10}")
    slow = []
    for slug in READY_MADE:
        url = reverse("dashboard", args=[slug])
        # The first view after the chart cache expired computes the aggregate charts.
        cache.clear()
        cold = median_ms(lambda url=url: client.get(url), runs=1)
        ms = median_ms(lambda url=url: client.get(url))
        slow += [slug] if ms > DASHBOARD_TARGET_MS else []
        flag = "  over target" if ms > DASHBOARD_TARGET_MS else ""
        print(f"{slug:<28} {ms:>10.0f} {cold:>10.0f}{flag}")

    period = period_for("month", today)
    print(f"\n{'KPI (this month)':<28} {'value ms':>10} {'page ms':>10} {'SQL ms':>10}")
    for kpi in kpis:
        value_ms = median_ms(lambda kpi=kpi: kpi.value(period), runs=max(1, RUNS // 2))
        url = reverse("kpi", args=[kpi.key])
        assert client.get(url).status_code == 200
        page_ms = median_ms(lambda url=url: client.get(url), runs=max(1, RUNS // 2))
        database_ms = sql_ms(lambda kpi=kpi: kpi.value(period))
        print(f"{kpi.key:<28} {value_ms:>10.0f} {page_ms:>10.0f} {database_ms:>10.1f}")

    day = today - timedelta(days=1)
    started = time.monotonic()
    services.snapshot_day(day=day, grains=["day"])
    day_s = time.monotonic() - started
    started = time.monotonic()
    services.snapshot_day(day=day)
    nightly_s = time.monotonic() - started
    print(
        f"\nsnapshot of every KPI for {day}: {day_s:.1f} s (target {SNAPSHOT_TARGET_S} s); "
        f"the nightly run (day, month and quarter): {nightly_s:.1f} s"
    )
    if slow:
        print(f"dashboards over {DASHBOARD_TARGET_MS} ms: {', '.join(slow)}")


def _drag(round_: int) -> None:
    deal = Deal.objects.filter(status=DealStatus.OPEN).order_by("-id")[round_ * 7]
    stage = (
        Stage.objects.filter(pipeline=deal.pipeline_id, outcome=StageOutcome.OPEN)
        .exclude(pk=deal.stage_id)
        .first()
    )
    crm_services.deal_move_stage(deal=deal, stage=stage, actor=deal.owner)


def _call(round_: int) -> None:
    contact = Contact.objects.filter(company__isnull=False).order_by("-id")[round_ * 11]
    crm_services.activity_log(actor=contact.owner, kind="call", subject="bench", contact=contact)


def _reply(round_: int) -> None:
    ticket = Ticket.objects.filter(status=TicketStatus.OPEN).order_by("-id")[round_ * 5]
    agent = User.objects.get(username="bruno")
    crm_services.ticket_agent_reply(ticket=ticket, actor=agent, body="bench")


def _cancel(round_: int) -> None:
    # Started before today: one started today cannot end today.
    today = timezone.localdate()
    running = Subscription.objects.filter(end_date__isnull=True, start_date__lt=today)
    subscription = running.order_by("-id")[round_ * 3]
    crm_services.subscription_cancel(subscription=subscription, actor=None)


def _login(_round: int) -> None:
    LoginEvent.objects.create(user=User.objects.get(username="ana"))


CHANGES = {"drag": _drag, "call": _call, "reply": _reply, "cancel": _cancel, "login": _login}


@pytest.mark.postgres
def test_each_dashboard_after_one_change_of_each_kind(seeded_database):
    """Each change is made through the services and rolled back after the view, so the
    database is left as it was; the view before it is warm."""
    client = Client()
    client.force_login(User.objects.get(username="carla"))
    urls = {slug: reverse("dashboard", args=[slug]) for slug in READY_MADE}
    print(f"\nfirst view after one change, median of {RUNS} (ms)")
    print(f"{'dashboard':<12}" + "".join(f"{name:>9}" for name in CHANGES))
    for slug, url in urls.items():
        row = []
        for change in CHANGES.values():
            timings = []
            for round_ in range(1, RUNS + 1):
                assert client.get(url).status_code == 200
                with transaction.atomic():
                    change(round_)
                    timings.append(median_ms(lambda url=url: client.get(url), runs=1))
                    transaction.set_rollback(True)
            row.append(statistics.median(timings))
        flags = "  over target" if max(row) > DASHBOARD_TARGET_MS else ""
        print(f"{slug:<12}" + "".join(f"{ms:>9.0f}" for ms in row) + flags)
