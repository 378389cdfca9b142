"""Server time of the automation and notification pages on a seeded database (`make bench`).

Read-only, as the workspace bench: the rule list, a rule's page, the builder, the runs pages and
the record runs panel as the admin Diego, the runs pages and the bell as the rep Ana; 20 runs
each after a warm-up, median and 95th percentile printed. Target: a median under 150 ms.
"""

import statistics

import pytest
from django.test import Client
from django.urls import reverse

from tests.bench.test_workspace_bench import TARGET_MS, _p95, _time


@pytest.fixture(scope="module")
def people(seeded_database):
    from automations.models import Rule, RuleRun
    from crm.access import visible
    from crm.models import Deal, User

    users = {u.username: u for u in User.objects.filter(username__in=["ana", "diego"])}
    rule = Rule.objects.order_by("pk").first()
    if len(users) != 2 or rule is None:
        pytest.skip("run seed_demo and migrate first (demo users, ready-made rules)")
    deal = visible(Deal.objects.all(), users["ana"]).order_by("-pk").first()
    return {**users, "rule": rule, "deal": deal, "runs": RuleRun.objects.count()}


def _pages(people, user) -> list[tuple[str, str]]:
    deal_runs = reverse("automation-record-runs", args=["deal", people["deal"].pk])
    common = [
        ("runs on my records", reverse("automation-runs")),
        ("deal's runs panel", deal_runs),
        ("notifications", reverse("notifications")),
        ("bell", reverse("notifications-bell")),
    ]
    if user.username != "diego":
        return common
    rule = people["rule"].pk
    return [
        ("rule list", reverse("automations")),
        ("rule page", reverse("automation-rule", args=[rule])),
        ("builder, edit", reverse("automation-rule-edit", args=[rule])),
        ("builder, new", reverse("automation-rule-new")),
        *common,
    ]


@pytest.mark.postgres
@pytest.mark.parametrize("username", ["diego", "ana"])
def test_automation_and_notification_pages_server_time(people, username):
    user = people[username]
    client = Client()
    client.force_login(user)
    slow = []
    print(f"\n{username}, {people['runs']:,} rule runs stored:")
    try:
        for label, url in _pages(people, user):
            timings = _time(client, url, {})
            median = statistics.median(timings)
            print(f"  {label:<22} median {median:7.1f} ms   p95 {_p95(timings):7.1f} ms")
            if median > TARGET_MS:
                slow.append(f"{label} ({median:.0f} ms)")
    finally:
        client.logout()
    assert not slow, f"median over {TARGET_MS} ms: {', '.join(slow)}"
