"""Server time of the sales workspace pages on a large seeded database (run with `make bench`).

Unlike the tests this one reads the database named by DATABASE_URL as it is (see conftest.py;
nothing is written but the login session): the pages are timed through Django's test
client as the rep Ana and the admin Diego, 20 runs each after a warm-up, and the median and
95th percentile are printed. The issue's target is a median under 150 ms for every page.
"""

import os
import statistics
import time

import pytest
from django.test import Client
from django.urls import reverse

RUNS = int(os.environ.get("BENCH_RUNS", "20"))
TARGET_MS = 150


@pytest.fixture(scope="module")
def workspace(seeded_database):
    from crm.access import visible
    from crm.models import Company, Deal, User

    deals = Deal.objects.count()
    users = {u.username: u for u in User.objects.filter(username__in=["ana", "diego"])}
    if len(users) != 2:
        pytest.skip("the demo users ana and diego are missing: run seed_demo")
    rep, admin = users["ana"], users["diego"]
    deal = visible(Deal.objects.open(), rep).order_by("-stage_entered_at").first()
    company = visible(Company.objects.all(), rep).order_by("-created_at").first()
    if deal is None or company is None:
        pytest.skip("Ana sees no open deal or company")
    return {"rep": rep, "admin": admin, "deal": deal, "company": company, "deals": deals}


def _pages(workspace, user) -> list[tuple[str, str, dict]]:
    deal, company = workspace["deal"], workspace["company"]
    pages = [
        ("board", reverse("deal-board"), {}),
        # Two filters: the user's own deals closing before a date.
        (
            "deals list, 2 filters",
            reverse("deals"),
            {"owner": user.pk, "expected_close_before": "2099-12-31"},
        ),
        ("deal page", reverse("deal-detail", args=[deal.pk]), {}),
    ]
    pages.append(("search", reverse("search"), {"q": company.name.split()[0]}))
    return pages


def _time(client: Client, url: str, params: dict) -> list[float]:
    response = client.get(url, params)  # warm-up: caches, connection, templates
    assert response.status_code == 200, f"{url} answered {response.status_code}"
    timings = []
    for _run in range(RUNS):
        started = time.perf_counter()
        response = client.get(url, params)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return timings


def _p95(timings: list[float]) -> float:
    ordered = sorted(timings)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


@pytest.mark.postgres
@pytest.mark.parametrize("persona", ["rep", "admin"])
def test_workspace_pages_server_time(workspace, persona):
    user = workspace[persona]
    client = Client()
    client.force_login(user)
    slow = []
    print(f"\n{persona} ({user.username}) on {workspace['deals']:,} deals, {RUNS} runs each:")
    try:
        for label, url, params in _pages(workspace, user):
            timings = _time(client, url, params)
            median = statistics.median(timings)
            print(f"  {label:<24} median {median:7.1f} ms   p95 {_p95(timings):7.1f} ms")
            if median > TARGET_MS:
                slow.append(f"{label} ({median:.0f} ms)")
    finally:
        client.logout()  # removes the session row the login wrote
    assert not slow, f"median over {TARGET_MS} ms: {', '.join(slow)}"
