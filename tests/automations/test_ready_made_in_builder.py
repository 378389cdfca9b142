"""Every ready-made rule opens in the builder and saves unchanged; contradictory variants of the
shapes they use are still refused."""

from html.parser import HTMLParser

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from automations import catalog
from automations.models import Rule, RuleVersion
from automations.ready_made import READY_MADE
from tests.automations.test_builder_in_browser import choose, shoot
from tests.e2e.conftest import chromium, page_as  # noqa: F401 (fixtures)
from tests.services import csp_violations

pytestmark = pytest.mark.django_db

READY_MADE_KEYS = [spec["template_key"] for spec in READY_MADE]
PER_COMPANY = {
    "type": "kpi.threshold",
    "kpi": "engagement_rate",
    "per": "company",
    "window_days": 30,
    "grain": "month",
    "segment": "",
    "op": "below",
    "value": 2,
}
TEAM_NOTICE = [{"type": "notify", "to": "team", "title": "Engagement dropped"}]
LEAD_CREATED = {"type": "record.created", "record_type": "lead"}


class BuilderFormParser(HTMLParser):
    """What a browser submits from the builder's form (#rule-form) when Save is pressed:
    inputs, ticked boxes, each select's chosen options (its first when none is chosen) and
    textareas; buttons are not pressed."""

    def __init__(self):
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self._in_form = False
        self._select: dict | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def add(self, name, value):
        self.data.setdefault(name, []).append(value)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "form":
            self._in_form = attrs.get("id") == "rule-form"
        elif not self._in_form:
            return
        elif tag == "input" and name:
            self._input(attrs, name)
        elif tag == "select" and name:
            self._select = {"name": name, "multiple": "multiple" in attrs, "first": None, "n": 0}
        elif tag == "option" and self._select is not None:
            self._option(attrs)
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []

    def _input(self, attrs, name):
        kind = attrs.get("type", "text")
        if kind in ("checkbox", "radio"):
            if "checked" in attrs:
                self.add(name, attrs.get("value") or "on")
        elif kind not in ("submit", "button", "file", "image", "reset"):
            self.add(name, attrs.get("value") or "")

    def _option(self, attrs):
        value = attrs.get("value") or ""
        if self._select["first"] is None:
            self._select["first"] = value
        if "selected" in attrs:
            self.add(self._select["name"], value)
            self._select["n"] += 1

    def handle_data(self, data):
        if self._textarea:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_form = False
        elif tag == "select" and self._select is not None:
            select = self._select
            if not select["n"] and not select["multiple"] and select["first"] is not None:
                self.add(select["name"], select["first"])
            self._select = None
        elif tag == "textarea" and self._textarea:
            # Browsers drop the newline Django puts after <textarea>.
            self.add(self._textarea, "".join(self._text).removeprefix("\n"))
            self._textarea = None


def form_as_rendered(response) -> dict[str, list[str]]:
    parser = BuilderFormParser()
    parser.feed(response.content.decode())
    assert parser.data, "the builder's form was not found"
    return parser.data


def shapes(rule: Rule) -> dict:
    return {"trigger": rule.trigger, "conditions": rule.conditions, "actions": rule.actions}


def errors_of(**rule) -> dict:
    shape = {"trigger": LEAD_CREATED, "conditions": {"match": "all", "rows": []}, **rule}
    with pytest.raises(ValidationError) as raised:
        catalog.validate_rule(**shape)
    return raised.value.message_dict


# --- every ready-made rule --------------------------------------------------------------------


@pytest.mark.parametrize("key", READY_MADE_KEYS)
def test_the_catalog_accepts_every_ready_made_rule(key):
    rule = Rule.objects.get(template_key=key)
    assert catalog.validate_rule(**shapes(rule)) is None


@pytest.mark.parametrize("key", READY_MADE_KEYS)
def test_a_ready_made_rule_saved_unchanged_from_the_builder_stays_the_same(client, admin_user, key):
    rule = Rule.objects.get(template_key=key)
    before, version = shapes(rule), rule.version
    client.force_login(admin_user)
    url = reverse("automation-rule-edit", args=[rule.pk])

    page = client.get(url)
    assert page.status_code == 200
    response = client.post(url, form_as_rendered(page))

    assert response.status_code == 302, response.content.decode()[:3000]
    assert response["Location"] == reverse("automation-rule", args=[rule.pk])
    rule.refresh_from_db()
    assert shapes(rule) == before
    assert rule.version >= version
    assert rule.name == page.context["draft"].name
    assert not rule.enabled


@pytest.mark.parametrize("key", READY_MADE_KEYS)
def test_a_ready_made_rule_dry_runs(client, admin_user, key):
    rule = Rule.objects.get(template_key=key)
    client.force_login(admin_user)

    response = client.get(reverse("automation-rule-dry-run", args=[rule.pk]), {"days": 7})

    assert response.status_code == 200
    assert response.context["error"] is None
    assert response.context["report"] is not None


@pytest.mark.parametrize("key", READY_MADE_KEYS)
def test_a_ready_made_rule_is_described_without_unknowns(key):
    rule = Rule.objects.get(template_key=key)
    record_type = catalog.trigger_record_type(rule.trigger)
    words = [catalog.describe_trigger(rule.trigger)]
    words += [catalog.describe_action(a, record_type=record_type) for a in rule.actions]
    assert all("?" not in text and "None" not in text for text in words), words


# --- the three shapes, from the menus ---------------------------------------------------------


def test_the_per_customer_threshold_is_offered_with_its_window(client, admin_user):
    rule = Rule.objects.get(template_key="customer_engagement_dropped")
    client.force_login(admin_user)

    page = client.get(reverse("automation-rule-edit", args=[rule.pk]))

    form = form_as_rendered(page)
    assert form["trigger-per"] == ["company"]
    assert form["trigger-window_days"] == ["30"]
    assert form["trigger-kpi"] == ["engagement_rate"]
    assert "trigger-segment" not in form
    assert page.context["kpis"] == [
        (key, label) for key, label in catalog.kpi_choices() if key == "engagement_rate"
    ]
    assert form["action-0-to"] == ["team"]


def test_an_admin_builds_a_per_customer_threshold_from_the_menus(client, admin_user):
    client.force_login(admin_user)
    url = reverse("automation-rule-new")
    post = {
        "name": "Quiet customers",
        "trigger-type": "kpi.threshold",
        "trigger-per": "company",
        "trigger-kpi": "engagement_rate",
        "trigger-window_days": "14",
        "trigger-op": "below",
        "trigger-value": "3",
        "group-0-match": "all",
        "cond-0-group": "0",
        "cond-0-field": "lifecycle",
        "cond-0-op": "eq",
        "cond-0-value": "customer",
        "action-0-type": "notify",
        "action-0-to": "owner",
        "action-0-title": "{{ record.name }} has gone quiet",
        "action-0-body": "",
    }

    refreshed = client.post(url, {**post, "builder_op": "refresh"})
    assert 'name="trigger-window_days"' in refreshed.content.decode()
    response = client.post(url, post)

    assert response.status_code == 302, response.content.decode()[:3000]
    rule = Rule.objects.get(name="Quiet customers")
    assert rule.trigger == {
        "type": "kpi.threshold",
        "kpi": "engagement_rate",
        "per": "company",
        "window_days": 14,
        "grain": "month",
        "segment": "",
        "op": "below",
        "value": 3,
    }
    assert rule.record_type == "company"
    assert rule.conditions["rows"] == [{"field": "lifecycle", "op": "eq", "value": "customer"}]


def test_round_robin_without_a_team_is_kept_without_one_and_a_chosen_team_is_kept(
    client, admin_user, sales_team
):
    rule = Rule.objects.get(template_key="new_lead_round_robin")
    client.force_login(admin_user)
    url = reverse("automation-rule-edit", args=[rule.pk])
    form = form_as_rendered(client.get(url))
    assert form["action-0-strategy"] == ["round_robin"] and form["action-0-team"] == [""]

    client.post(url, {**form, "action-0-team": str(sales_team.pk)})

    rule.refresh_from_db()
    assert rule.actions[0] == {
        "type": "assign_owner",
        "strategy": "round_robin",
        "team": sales_team.pk,
    }
    form = form_as_rendered(client.get(url))
    assert form["action-0-team"] == [str(sales_team.pk)]


def test_a_follow_up_task_for_the_author_of_an_activity_is_kept(client, admin_user):
    rule = Rule.objects.get(template_key="interaction_follow_up")
    client.force_login(admin_user)

    form = form_as_rendered(client.get(reverse("automation-rule-edit", args=[rule.pk])))

    assert form["trigger-record_type"] == ["activity"]
    assert form["action-0-assignee"] == ["owner"]
    assert sorted(form["cond-0-value"]) == ["call", "meeting", "site_visit"]


# --- contradictions still refused -------------------------------------------------------------


@pytest.mark.parametrize("window_days", [0, -5, "", None, "thirty", 366])
def test_a_per_customer_threshold_needs_a_window_of_days(window_days):
    trigger = {**PER_COMPANY, "window_days": window_days}
    messages = errors_of(trigger=trigger, actions=TEAM_NOTICE)["trigger"]
    assert any("last 1 to 365 days" in m for m in messages)


def test_a_per_customer_threshold_without_a_window_is_refused():
    trigger = {k: v for k, v in PER_COMPANY.items() if k != "window_days"}
    assert "last 1 to 365 days" in errors_of(trigger=trigger, actions=TEAM_NOTICE)["trigger"][0]


def test_a_per_customer_threshold_counts_engagement_over_every_customer(sales_team):
    other_kpi = {**PER_COMPANY, "kpi": "win_rate"}
    assert "engagement" in errors_of(trigger=other_kpi, actions=TEAM_NOTICE)["trigger"][0]
    segment = {**PER_COMPANY, "segment": f"team={sales_team.pk}"}
    assert "every customer" in errors_of(trigger=segment, actions=TEAM_NOTICE)["trigger"][0]
    unknown = {**PER_COMPANY, "per": "deal"}
    assert "each customer" in errors_of(trigger=unknown, actions=TEAM_NOTICE)["trigger"][0]


def test_a_whole_company_threshold_still_has_no_owner_or_record():
    trigger = {k: v for k, v in PER_COMPANY.items() if k not in ("per", "window_days")}
    assert catalog.trigger_record_type(trigger) == ""
    assert "no owner or team" in errors_of(trigger=trigger, actions=TEAM_NOTICE)["actions"][0]
    rows = {"match": "all", "rows": [{"field": "name", "op": "eq", "value": "x"}]}
    assert (
        "no record"
        in errors_of(trigger=trigger, conditions=rows, actions=TEAM_NOTICE)["conditions"][0]
    )


def test_round_robin_with_a_team_that_does_not_exist_is_refused():
    for strategy in ("round_robin", "least_open"):
        action = {"type": "assign_owner", "strategy": strategy, "team": 999999}
        assert "existing team" in errors_of(actions=[action])["actions"][0]


def test_an_activity_has_an_owner_to_notify_but_none_to_assign():
    activity_logged = {"type": "activity.logged", "kinds": []}
    owner_task = {"type": "create_task", "title": "Follow up", "assignee": "owner"}
    assert (
        catalog.validate_rule(trigger=activity_logged, conditions={}, actions=[owner_task]) is None
    )
    assign = {"type": "assign_owner", "strategy": "round_robin"}
    assert (
        "no owner to assign" in errors_of(trigger=activity_logged, actions=[assign])["actions"][0]
    )
    answered = {"type": "survey.answered", "kind": ""}
    assert "no owner or team" in errors_of(trigger=answered, actions=[owner_task])["actions"][0]


def test_a_contradictory_window_posted_from_the_builder_changes_nothing(client, admin_user):
    rule = Rule.objects.get(template_key="customer_engagement_dropped")
    before, versions = shapes(rule), RuleVersion.objects.filter(rule=rule).count()
    client.force_login(admin_user)
    url = reverse("automation-rule-edit", args=[rule.pk])
    form = form_as_rendered(client.get(url))

    response = client.post(url, {**form, "trigger-window_days": "0"})

    assert response.status_code == 400
    assert "last 1 to 365 days" in response.content.decode()
    rule.refresh_from_db()
    assert shapes(rule) == before
    assert RuleVersion.objects.filter(rule=rule).count() == versions


def test_a_team_that_does_not_exist_posted_from_the_builder_changes_nothing(client, admin_user):
    rule = Rule.objects.get(template_key="new_lead_round_robin")
    before = shapes(rule)
    client.force_login(admin_user)
    url = reverse("automation-rule-edit", args=[rule.pk])
    form = form_as_rendered(client.get(url))

    response = client.post(url, {**form, "action-0-team": "999999"})

    assert response.status_code == 400
    assert "existing team" in response.content.decode()
    rule.refresh_from_db()
    assert shapes(rule) == before


# --- in the browser ---------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_per_customer_window_is_chosen_in_the_browser(page_as, admin_user):  # noqa: F811
    rule = Rule.objects.get(template_key="customer_engagement_dropped")
    page = page_as(admin_user)
    refused = csp_violations(page)
    page.goto(f"/automations/{rule.pk}/edit/")
    choose(page, "#id-trigger-per", "")
    assert page.locator("#id-trigger-window_days").count() == 0
    assert page.locator("#id-trigger-segment").count() == 1
    choose(page, "#id-trigger-per", "company")
    page.fill("#id-trigger-window_days", "21")
    page.get_by_test_id("save-rule").click()
    page.wait_for_selector("[data-testid='rule-trigger']")
    rule.refresh_from_db()
    assert rule.trigger == {**PER_COMPANY, "window_days": 21}
    assert "21 days" in page.get_by_test_id("rule-trigger").first.inner_text()
    assert refused == []
    shoot(page, "rule-page-per-customer")  # last: the screenshot itself applies inline styles
