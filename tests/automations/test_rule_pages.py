"""Rule list, rule page, builder and dry-run pages, through the browser's requests."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from automations.models import Rule, RuleRun, RuleVersion, RunStatus
from crm.models import Event
from tests.automations.factories import make_rule
from tests.crm.factories import DealFactory, stage_named

pytestmark = pytest.mark.django_db

WON = {"type": "field.changed", "record_type": "deal", "field": "status", "to": "won"}
LIFECYCLE = [{"type": "set_lifecycle", "lifecycle": "customer"}]


def builder_post(**extra) -> dict:
    data = {
        "name": "Won deals make customers",
        "description": "",
        "trigger-type": "field.changed",
        "trigger-record_type": "deal",
        "trigger-field": "status",
        "trigger-to": "won",
        "group-0-match": "all",
        "cond-0-group": "0",
        "cond-0-field": "amount",
        "cond-0-op": "gte",
        "cond-0-value": "1000",
        "group-1-match": "any",
        "cond-1-group": "1",
        "cond-1-field": "kind",
        "cond-1-op": "in",
        "cond-1-value": ["new_business", "renewal"],
        "action-0-type": "set_lifecycle",
        "action-0-lifecycle": "customer",
        "action-1-type": "notify",
        "action-1-to": "owner",
        "action-1-title": "Deal won",
        "action-1-body": "",
    }
    data.update(extra)
    return data


def add_runs(rule, deal, count: int) -> None:
    for n in range(count):
        status = RunStatus.ERROR if n % 3 == 0 else RunStatus.MATCHED
        RuleRun.objects.create(
            rule=rule,
            rule_version=rule.version,
            tick=f"test:{n}",
            record_type="deal",
            record_id=deal.pk,
            status=status,
            actions=[{"type": "set_lifecycle", "ok": status != RunStatus.ERROR, "detail": "x"}],
            error="boom" if status == RunStatus.ERROR else "",
            duration_ms=n,
        )


def test_builder_creates_a_rule_from_menus(client, admin_user):
    client.force_login(admin_user)
    assert client.get(reverse("automation-rule-new")).status_code == 200
    response = client.post(reverse("automation-rule-new"), builder_post())
    rule = Rule.objects.get(name="Won deals make customers")
    assert response.status_code == 302 and response.url == reverse(
        "automation-rule", args=[rule.pk]
    )
    assert rule.trigger == WON
    assert rule.conditions == {
        "match": "all",
        "rows": [
            {"field": "amount", "op": "gte", "value": "1000.00"},
            {
                "match": "any",
                "rows": [
                    {"field": "kind", "op": "in", "value": ["new_business", "renewal"]},
                ],
            },
        ],
    }
    assert rule.actions[0] == {"type": "set_lifecycle", "lifecycle": "customer"}
    assert rule.actions[1]["to"] == "owner" and not rule.enabled


def test_builder_edit_shows_the_rule_in_menus_and_saves_a_new_version(client, admin_user):
    rule = make_rule(name="Old", trigger=WON, actions=LIFECYCLE)
    client.force_login(admin_user)
    page = client.get(reverse("automation-rule-edit", args=[rule.pk])).content.decode()
    assert 'value="Old"' in page and '<option value="won" selected>' in page
    response = client.post(
        reverse("automation-rule-edit", args=[rule.pk]), builder_post(name="New")
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.name == "New" and rule.version == 2
    assert RuleVersion.objects.filter(rule=rule).count() == 2


def test_builder_keeps_the_input_and_shows_errors_next_to_rows(client, admin_user):
    client.force_login(admin_user)
    before = Rule.objects.count()
    response = client.post(
        reverse("automation-rule-new"),
        builder_post(
            **{
                "name": "",
                "trigger-from": "won",
                "cond-0-value": "a lot",
                "action-0-type": "assign_owner",
                "action-0-strategy": "round_robin",
                "action-0-team": "999999",
            }
        ),
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert Rule.objects.count() == before
    assert "Give the rule a name." in page
    assert "never run" in page
    assert "takes a number" in page and 'value="a lot"' in page
    assert "existing team" in page


def test_builder_buttons_add_and_remove_rows_without_saving(client, admin_user):
    client.force_login(admin_user)
    url = reverse("automation-rule-new")
    page = client.post(url, builder_post(builder_op="add_condition:0")).content.decode()
    assert (
        'name="cond-2-field"' in page and Rule.objects.filter(name__startswith="Won").count() == 0
    )
    page = client.post(url, builder_post(builder_op="remove_action:1")).content.decode()
    assert 'name="action-1-type"' not in page and 'name="action-0-type"' in page
    page = client.post(url, builder_post(builder_op="remove_group:1")).content.decode()
    assert 'name="cond-1-field"' not in page


def test_choosing_a_choice_field_offers_its_values_as_a_menu(client, admin_user):
    client.force_login(admin_user)
    data = builder_post(builder_op="refresh", **{"cond-0-field": "stage", "cond-0-op": "eq"})
    page = client.post(reverse("automation-rule-new"), data).content.decode()
    won = stage_named("Won")
    assert f'<option value="{won.pk}">{won}</option>' in page
    assert 'select class="form-select form-select-sm" name="cond-0-value"' in page


def test_dry_run_of_the_rule_being_edited_writes_nothing(client, admin_user):
    client.force_login(admin_user)
    DealFactory()
    counts = (Rule.objects.count(), RuleRun.objects.count(), Event.objects.count())
    response = client.post(
        reverse("automation-rule-new"), builder_post(builder_op="dry_run", dry_run_days="30")
    )
    assert response.status_code == 200
    assert 'data-testid="dry-run-report"' in response.content.decode()
    assert (Rule.objects.count(), RuleRun.objects.count(), Event.objects.count()) == counts


def created_deal(actor, name="Acme renewal"):
    """A deal created through the service, so the event log holds its creation."""
    from crm.models import Deal
    from crm.services.records import record_create
    from tests.crm.factories import CompanyFactory, default_pipeline

    pipeline = default_pipeline()
    data = {"name": name, "company": CompanyFactory(), "amount": "1000"}
    state = {"pipeline": pipeline, "stage": pipeline.stages.order_by("order").first()}
    return record_create(Deal, actor=actor, data=data, state=state)


def test_dry_run_page_of_a_saved_rule_lists_matches_and_writes_nothing(client, admin_user):
    rule = make_rule(
        name="Any deal",
        trigger={"type": "record.created", "record_type": "deal"},
        actions=LIFECYCLE,
    )
    deal = created_deal(admin_user)
    client.force_login(admin_user)
    counts = (RuleRun.objects.count(), Event.objects.count(), Rule.objects.count())
    response = client.get(reverse("automation-rule-dry-run", args=[rule.pk]), {"days": "7"})
    page = response.content.decode()
    assert response.status_code == 200
    assert page.count('data-testid="dry-run-item"') == 1 and "Acme renewal" in page
    deal.company.refresh_from_db()
    assert deal.company.lifecycle == "prospect"
    assert (RuleRun.objects.count(), Event.objects.count(), Rule.objects.count()) == counts


def test_rule_list_shows_rules_and_ready_made_ones(client, manager):
    rule = make_rule(name="Mine", trigger=WON, actions=LIFECYCLE)
    add_runs(rule, DealFactory(), 4)
    client.force_login(manager)
    response = client.get(reverse("automations"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Mine" in page and "The status of a deal changes to “Won”" in page
    assert 'data-testid="ready-made-table"' in page
    assert Rule.objects.filter(template_key__gt="").exists()  # shipped by a migration
    assert "New rule" not in page  # managers read only


def test_rule_page_shows_words_versions_and_filtered_runs(client, manager, sales_team):
    rule = make_rule(name="Watch", trigger=WON, actions=LIFECYCLE)
    deal = DealFactory(owner=manager, team=sales_team)
    add_runs(rule, deal, 5)
    client.force_login(manager)
    url = reverse("automation-rule", args=[rule.pk])
    page = client.get(url).content.decode()
    assert "Set the company&#x27;s lifecycle to Customer" in page
    assert page.count('data-testid="run-row"') == 5
    assert reverse("deal-detail", args=[deal.pk]) in page
    errors = client.get(url, {"status": "error"}).content.decode()
    assert errors.count('data-testid="run-row"') == 2 and "boom" in errors


def test_runs_of_earlier_versions_stay_readable(client, admin_user):
    rule = make_rule(name="Evolving", trigger=WON, actions=LIFECYCLE)
    add_runs(rule, DealFactory(), 1)
    client.force_login(admin_user)
    client.post(reverse("automation-rule-edit", args=[rule.pk]), builder_post(name="Evolved"))
    page = client.get(reverse("automation-rule", args=[rule.pk])).content.decode()
    assert "v1" in page and "earlier" in page and "v2" in page


def test_a_record_the_user_cannot_see_is_not_linked_from_a_run(client, manager, other_team):
    rule = make_rule(name="Watch", trigger=WON, actions=LIFECYCLE)
    hidden = DealFactory(team=other_team, owner=None)
    add_runs(rule, hidden, 1)
    client.force_login(manager)
    page = client.get(reverse("automation-rule", args=[rule.pk])).content.decode()
    assert reverse("deal-detail", args=[hidden.pk]) not in page and str(hidden) not in page


def test_rule_list_and_rule_page_run_a_constant_number_of_queries(client, manager, sales_team):
    rule = make_rule(name="Watch", trigger=WON, actions=LIFECYCLE)
    deal = DealFactory(owner=manager, team=sales_team)
    client.force_login(manager)

    def queries(url) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    list_url, rule_url = reverse("automations"), reverse("automation-rule", args=[rule.pk])
    add_runs(rule, deal, 1)
    few = (queries(list_url), queries(rule_url))
    for n in range(5):
        make_rule(name=f"More {n}", trigger=WON, actions=LIFECYCLE)
    add_runs(rule, DealFactory(owner=manager, team=sales_team), 20)
    many = (queries(list_url), queries(rule_url))
    assert few == many
    assert many[0] <= 12 and many[1] <= 18
