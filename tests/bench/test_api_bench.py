"""The deals API on a large seeded database (issue 12 quality bar; run with `make bench`).

Like the page benchmarks this reads the database named by DATABASE_URL as it is (see
conftest.py; nothing is written: the client is authenticated without a session). Printed:
the deals list at 100 a page as the rep Ana and the admin Diego (median and slowest of
BENCH_API_RUNS after a warm-up; target median under 100 ms) with its query count, and an
export of BENCH_EXPORT_ROWS deals through the cursor pages at the largest page size (total
time, pages, rows a second, queries per page: the same on every page).
"""

import os
import statistics
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

RUNS = int(os.environ.get("BENCH_API_RUNS", "7"))
EXPORT_ROWS = int(os.environ.get("BENCH_EXPORT_ROWS", "10000"))
PAGE_SIZE = 100
TARGET_MS = 100


@pytest.fixture(scope="module")
def people(seeded_database):
    from crm.models import Deal, User

    users = {u.username: u for u in User.objects.filter(username__in=["ana", "diego"])}
    if len(users) != 2:
        pytest.skip("the demo users ana and diego are missing: run seed_demo")
    return {"rep": users["ana"], "admin": users["diego"], "deals": Deal.objects.count()}


@pytest.fixture
def api(monkeypatch):
    # The throttle would count the benchmark's own calls against the user's hourly allowance.
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "allow_request", lambda self, request, view: True)
    return APIClient()


def _get(client: APIClient, url: str) -> tuple[dict, float, int]:
    """The page's JSON, its server time in ms and the queries it ran."""
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, f"{url} answered {response.status_code}"
    return response.json(), elapsed, len(queries)


@pytest.mark.postgres
@pytest.mark.parametrize("persona", ["rep", "admin"])
def test_the_deals_list_at_100_a_page(people, api, persona):
    user = people[persona]
    api.force_authenticate(user)
    url = f"/api/deals/?page_size={PAGE_SIZE}"
    # Warm-up: connection, caches, serializers, and the user's teams and permissions, which
    # the first request loads (its query count is printed apart).
    first, _warm, cold_queries = _get(api, url)
    runs = [_get(api, url) for _run in range(RUNS)]
    timings = [elapsed for _page, elapsed, _queries in runs]
    median = statistics.median(timings)
    print(
        f"\n{persona} ({user.username}) on {people['deals']:,} deals: /api/deals/ "
        f"{len(first['results'])} a page, {RUNS} runs: median {median:.1f} ms, "
        f"slowest {max(timings):.1f} ms, {runs[-1][2]} queries ({cold_queries} on the first)"
    )
    assert len(first["results"]) == PAGE_SIZE
    assert median < TARGET_MS, f"median {median:.0f} ms, over {TARGET_MS} ms"


@pytest.mark.postgres
def test_an_export_of_10000_deals_through_cursor_pages(people, api):
    from api.pagination import MAX_PAGE_SIZE

    api.force_authenticate(people["admin"])
    url = f"/api/deals/?page_size={MAX_PAGE_SIZE}"
    rows, pages, queries, ids = 0, 0, set(), set()
    started = time.perf_counter()
    while url and rows < EXPORT_ROWS:
        page, _elapsed, count = _get(api, url)
        pages += 1
        rows += len(page["results"])
        ids.update(deal["id"] for deal in page["results"])
        queries.add(count)
        url = page["next"]
    seconds = time.perf_counter() - started
    print(
        f"\nexport as admin: {rows:,} deals in {pages} pages of {MAX_PAGE_SIZE} in "
        f"{seconds:.2f} s ({rows / seconds:,.0f} rows/s, {seconds / pages * 1000:.0f} ms a "
        f"page), queries a page: {sorted(queries)}"
    )
    assert rows >= min(EXPORT_ROWS, people["deals"]) and len(ids) == rows  # no row twice
    assert len(queries) == 1, f"the query count changes from page to page: {sorted(queries)}"
