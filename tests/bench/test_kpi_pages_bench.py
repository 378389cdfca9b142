"""Server time of every KPI page (`/dashboards/kpi/<key>/`, this month, the default breakdown
and drill-down) on a seeded database (`make bench`; issue 19's target: 300 ms).

Read-only: each page of the registry is timed through Django's test client as the rep Ana
(her own numbers), the manager Carla and the admin Diego, cold (the cache cleared before
every run: live values, trends and charts recomputed) and warm (after a warm-up),
BENCH_RUNS runs each, and one table is printed: page × role × cold median / warm median /
warm p95 / queries. BENCH_KPIS=key,key narrows it.
"""

import os
import statistics
import time

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

RUNS = int(os.environ.get("BENCH_RUNS", "5"))
TARGET_MS = 300
ROLES = {"rep": "ana", "manager": "carla", "admin": "diego"}


@pytest.fixture(scope="module")
def readers(seeded_database):
    from crm.models import User

    users = {u.username: u for u in User.objects.filter(username__in=ROLES.values())}
    if len(users) != len(ROLES):
        pytest.skip("the demo users ana, carla and diego are missing: run seed_demo")
    return {role: users[username] for role, username in ROLES.items()}


def _kpi_keys() -> list[str]:
    from metrics.registry import all_kpis

    wanted = [key for key in os.environ.get("BENCH_KPIS", "").split(",") if key]
    return [kpi.key for kpi in all_kpis() if not wanted or kpi.key in wanted]


def _get_ms(client: Client, url: str, *, cold: bool) -> float:
    if cold:
        cache.clear()
    started = time.perf_counter()
    response = client.get(url)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, f"{url} answered {response.status_code}"
    return elapsed


def _p95(timings: list[float]) -> float:
    ordered = sorted(timings)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    return len(captured.captured_queries)


@pytest.mark.postgres
def test_every_kpi_page_as_each_role(readers):
    from crm.models import Deal

    print(f"\n{Deal.objects.count():,} deals, {RUNS} runs each, target {TARGET_MS} ms")
    print(
        f"{'KPI page':<26} {'role':<8} {'cold med':>9} {'cold p95':>9} "
        f"{'warm med':>9} {'warm p95':>9} {'queries':>8}"
    )
    slow = []
    for role, user in readers.items():
        client = Client()
        client.force_login(user)
        try:
            for key in _kpi_keys():
                url = reverse("kpi", args=[key])
                cold = [_get_ms(client, url, cold=True) for _run in range(RUNS)]
                warm = [_get_ms(client, url, cold=False) for _run in range(RUNS)]
                queries = _queries(client, url)
                cold_median, warm_median = statistics.median(cold), statistics.median(warm)
                over = "  over" if max(cold_median, warm_median) > TARGET_MS else ""
                print(
                    f"{key:<26} {role:<8} {cold_median:>9.0f} {_p95(cold):>9.0f} "
                    f"{warm_median:>9.0f} {_p95(warm):>9.0f} {queries:>8}{over}",
                    flush=True,
                )
                if over:
                    slow.append(f"{key} as {role} ({cold_median:.0f}/{warm_median:.0f} ms)")
        finally:
            client.logout()
    if slow:
        print(f"over {TARGET_MS} ms (cold/warm median): {', '.join(slow)}")
