"""Server time of the admins' settings pages, the API tokens page and the API docs on a seeded
database (`make bench`). Read-only: every GET page of `/settings/` (pipelines, a pipeline, custom
fields, a field, users, a user, deactivate, teams, a team, SLA, support routing, KPI bands,
health weights, webhooks) as the admin Diego, and the API tokens page as the rep Ana; 20 runs
each after a warm-up, median and 95th percentile printed. Target: a median under 150 ms.
"""

import statistics

import pytest
from django.test import Client
from django.urls import reverse

from tests.bench.test_workspace_bench import TARGET_MS, _p95, _time


@pytest.fixture(scope="module")
def people(seeded_database):
    from crm.models import CustomField, Pipeline, Team, User

    users = {u.username: u for u in User.objects.filter(username__in=["ana", "diego"])}
    if len(users) != 2:
        pytest.skip("run seed_demo and migrate first (demo users)")
    return {
        **users,
        "pipeline": Pipeline.objects.order_by("pk").first(),
        "field": CustomField.objects.order_by("pk").first(),
        "team": Team.objects.order_by("pk").first(),
    }


def _pages(people, user) -> list[tuple[str, str]]:
    if user.username != "diego":
        return [("API tokens", reverse("api-tokens"))]
    rep = people["ana"].pk
    pages = [
        ("settings", reverse("settings")),
        ("pipelines", reverse("settings-pipelines")),
        ("a pipeline", reverse("settings-pipeline", args=[people["pipeline"].pk])),
        ("custom fields", reverse("settings-fields")),
        ("users", reverse("settings-users")),
        ("a user", reverse("settings-user", args=[rep])),
        ("deactivate a user", reverse("settings-user-deactivate", args=[rep])),
        ("teams", reverse("settings-teams")),
        ("a team", reverse("settings-team", args=[people["team"].pk])),
        ("SLA", reverse("settings-sla")),
        ("support routing", reverse("settings-support")),
        ("KPI bands", reverse("settings-kpi-bands")),
        ("health weights", reverse("settings-health")),
        ("webhooks", reverse("settings-webhooks")),
        ("API tokens", reverse("api-tokens")),
        ("API docs", reverse("api-docs")),
        ("API ReDoc", reverse("api-redoc")),
    ]
    if people["field"]:
        pages.append(("a custom field", reverse("settings-field", args=[people["field"].pk])))
    return pages


@pytest.mark.postgres
@pytest.mark.parametrize("username", ["diego", "ana"])
def test_settings_and_token_pages_server_time(people, username):
    user = people[username]
    client = Client()
    client.force_login(user)
    slow = []
    print(f"\n{username}:")
    try:
        for label, url in _pages(people, user):
            timings = _time(client, url, {})
            median = statistics.median(timings)
            print(f"  {label:<20} median {median:7.1f} ms   p95 {_p95(timings):7.1f} ms")
            if median > TARGET_MS:
                slow.append(f"{label} ({median:.0f} ms)")
    finally:
        client.logout()
    assert not slow, f"median over {TARGET_MS} ms: {', '.join(slow)}"
