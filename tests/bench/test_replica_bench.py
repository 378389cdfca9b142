"""What the read-replica router moves (`make bench`; issue 19, "Running at scale").

On the seeded database, as the manager Carla, each number page is read warm with the router
off and on, the "replica" being a second connection to the same database (this machine has no
streaming replica): the table shows how many of each page's queries leave the primary, and
what routing costs (median of BENCH_RUNS runs, after a warm-up).
"""

import copy
import os
import statistics
import time

import pytest
from django.db import DEFAULT_DB_ALIAS, connections
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm.db_router import REPLICA_DB_ALIAS

RUNS = int(os.environ.get("BENCH_RUNS", "5"))
ROUTER = ["crm.db_router.ReplicaRouter"]
KPI_KEYS = ["win_rate", "deals_won_count", "pipeline_value", "mrr"]


@pytest.fixture(scope="module")
def replica(seeded_database):
    connections.settings[REPLICA_DB_ALIAS] = copy.deepcopy(
        connections[DEFAULT_DB_ALIAS].settings_dict
    )
    yield connections[REPLICA_DB_ALIAS]
    connections[REPLICA_DB_ALIAS].close()
    del connections[REPLICA_DB_ALIAS]
    del connections.settings[REPLICA_DB_ALIAS]


def pages() -> list[tuple[str, str]]:
    from metrics.dashboards import READY_MADE

    listed = [("dashboards", reverse("dashboards"))]
    listed += [(f"dashboard {slug}", reverse("dashboard", args=[slug])) for slug in READY_MADE]
    listed += [(f"KPI page {key}", reverse("kpi", args=[key])) for key in KPI_KEYS]
    listed += [("CSV win_rate", reverse("kpi-export", args=["win_rate"]))]
    listed += [("API win_rate", reverse("api-kpi-detail", args=["win_rate"]))]
    return listed


def fetch(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 200, f"{url} answered {response.status_code}"
    if response.streaming:
        for _chunk in response.streaming_content:
            pass


def median_ms(client: Client, url: str) -> float:
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        fetch(client, url)
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def queries(client: Client, url: str) -> tuple[int, int]:
    with (
        CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as primary,
        CaptureQueriesContext(connections[REPLICA_DB_ALIAS]) as replica,
    ):
        fetch(client, url)
    return len(primary.captured_queries), len(replica.captured_queries)


@pytest.mark.postgres
def test_what_the_replica_router_moves(replica):
    from crm.models import User

    manager = User.objects.filter(username="carla").first()
    if manager is None:
        pytest.skip("the demo manager carla is missing: run seed_demo")
    client = Client()
    client.force_login(manager)
    print(f"\n{'page':<28} {'primary ms':>10} {'routed ms':>10}  queries primary/replica")
    for name, url in pages():
        fetch(client, url)  # warm-up: caches filled as in daily use
        without = median_ms(client, url)
        with override_settings(DATABASE_ROUTERS=ROUTER):
            fetch(client, url)
            routed = median_ms(client, url)
            on_primary, on_replica = queries(client, url)
        print(f"{name:<28} {without:>10.1f} {routed:>10.1f}  {on_primary}/{on_replica}")
