"""Only admins build, switch, copy and dry-run rules: every write URL answers 403 to the other
roles and writes nothing; managers read rules; reps and agents read runs only."""

import pytest
from django.urls import reverse

from automations.models import Rule, RuleVersion
from tests.automations.factories import make_rule
from tests.automations.test_rule_pages import LIFECYCLE, WON, builder_post

pytestmark = pytest.mark.django_db

NON_ADMINS = ["rep", "agent", "manager"]


def snapshot():
    return list(Rule.objects.values_list("id", "name", "enabled", "version", "trigger")), (
        RuleVersion.objects.count()
    )


def write_requests(rule):
    return [
        ("get", reverse("automation-rule-new"), {}),
        ("post", reverse("automation-rule-new"), builder_post()),
        ("get", reverse("automation-rule-edit", args=[rule.pk]), {}),
        ("post", reverse("automation-rule-edit", args=[rule.pk]), builder_post(name="Hacked")),
        ("post", reverse("automation-rule-new"), builder_post(builder_op="dry_run")),
        ("post", reverse("automation-rule-toggle", args=[rule.pk]), {"enabled": "true"}),
        ("post", reverse("automation-rule-duplicate", args=[rule.pk]), {}),
        ("get", reverse("automation-rule-dry-run", args=[rule.pk]), {"days": "7"}),
    ]


@pytest.mark.parametrize("persona", NON_ADMINS)
def test_only_admins_build_rules(client, request, persona):
    rule = make_rule(name="Guarded", trigger=WON, actions=LIFECYCLE, enabled=False)
    client.force_login(request.getfixturevalue(persona))
    before = snapshot()
    for method, url, data in write_requests(rule):
        response = getattr(client, method)(url, data)
        assert response.status_code == 403, (persona, method, url)
    assert snapshot() == before


def test_admins_can_do_each_write(client, admin_user):
    rule = make_rule(name="Guarded", trigger=WON, actions=LIFECYCLE, enabled=False)
    client.force_login(admin_user)
    for method, url, data in write_requests(rule):
        assert getattr(client, method)(url, data).status_code in (200, 302), url
    rule.refresh_from_db()
    assert rule.enabled and rule.name == "Hacked"
    assert Rule.objects.filter(name="Copy of Hacked").exists()


@pytest.mark.parametrize("persona", ["rep", "agent"])
def test_reps_and_agents_get_403_on_rules(client, request, persona):
    rule = make_rule(name="Guarded", trigger=WON, actions=LIFECYCLE)
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("automations")).status_code == 403
    assert client.get(reverse("automation-rule", args=[rule.pk])).status_code == 403
    assert client.get(reverse("automation-runs")).status_code == 200


def test_managers_read_rules(client, manager):
    rule = make_rule(name="Readable", trigger=WON, actions=LIFECYCLE)
    client.force_login(manager)
    assert client.get(reverse("automations")).status_code == 200
    assert client.get(reverse("automation-rule", args=[rule.pk])).status_code == 200


@pytest.mark.parametrize(
    ("persona", "target"),
    [
        ("rep", "automation-runs"),
        ("agent", "automation-runs"),
        ("manager", "automations"),
        ("admin_user", "automations"),
    ],
)
def test_the_menu_entry_leads_to_a_page_the_user_may_open(client, request, persona, target):
    client.force_login(request.getfixturevalue(persona))
    page = client.get(reverse("home")).content.decode()
    assert f'href="{reverse(target)}">Automations<' in page
    assert client.get(reverse(target)).status_code == 200


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.get(reverse("automation-rule-new"))
    assert response.status_code == 302 and "login" in response.url
