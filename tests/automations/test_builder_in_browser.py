"""The builder as a browser runs it: menus swap by htmx under the strict CSP, and it saves."""

import os
from pathlib import Path

import pytest

from automations.models import Rule
from tests.automations.factories import make_rule
from tests.automations.test_rule_pages import created_deal
from tests.crm.factories import DealFactory, stage_named
from tests.e2e.conftest import chromium, page_as  # noqa: F401 (fixtures)
from tests.e2e.test_pages_in_browser import csp_violations

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
# Set AUTOMATION_SCREENSHOTS=<dir> to keep screenshots of the pages for a look.
SHOTS = os.environ.get("AUTOMATION_SCREENSHOTS", "")


def choose(page, selector: str, value: str) -> None:
    """Pick a menu entry that redraws the builder, and wait for the redraw."""
    with page.expect_response(lambda response: response.request.method == "POST"):
        page.select_option(selector, value)
    page.wait_for_timeout(150)


def press(page, locator) -> None:
    with page.expect_response(lambda response: response.request.method == "POST"):
        locator.click()
    page.wait_for_timeout(150)


def shoot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def test_admin_builds_a_rule_from_menus_in_the_browser(page_as, admin_user):  # noqa: F811
    DealFactory()
    page = page_as(admin_user)
    refused = csp_violations(page)
    page.goto("/automations/new/")
    page.fill("#id-name", "Big deals won")
    choose(page, "#id-trigger-type", "field.changed")
    choose(page, "#id-trigger-record_type", "deal")
    choose(page, "#id-trigger-field", "stage")
    won = stage_named("Won")
    page.select_option("#id-trigger-to", str(won.pk))
    press(page, page.get_by_test_id("add-condition").first)
    choose(page, "select[name='cond-0-field']", "amount")
    choose(page, "select[name='cond-0-op']", "gte")
    page.fill("input[name='cond-0-value'][type='number']", "5000")
    press(page, page.get_by_role("button", name="Add group (any / all)"))
    choose(page, "select[name='cond-1-field']", "kind")
    page.select_option("select[name='cond-1-value']", "renewal")
    choose(page, "select[name='action-0-type']", "notify")
    page.fill("input[name='action-0-title']", "A big deal was won")
    press(page, page.get_by_test_id("add-action"))
    choose(page, "select[name='action-1-type']", "set_lifecycle")
    page.select_option("select[name='action-1-lifecycle']", "customer")
    shoot(page, "builder")
    page.select_option("#id-dry_run_days", "30")
    page.get_by_test_id("dry-run-draft").click()
    page.wait_for_selector("[data-testid='dry-run-report']")
    shoot(page, "builder-dry-run")
    assert Rule.objects.filter(name="Big deals won").count() == 0
    page.get_by_test_id("save-rule").click()
    page.wait_for_selector("[data-testid='rule-trigger']")
    shoot(page, "rule-page")
    rule = Rule.objects.get(name="Big deals won")
    assert rule.trigger == {
        "type": "field.changed",
        "record_type": "deal",
        "field": "stage",
        "to": won.pk,
    }
    assert rule.conditions["rows"][0] == {"field": "amount", "op": "gte", "value": "5000.00"}
    assert rule.conditions["rows"][1]["rows"][0]["value"] == "renewal"
    assert [a["type"] for a in rule.actions] == ["notify", "set_lifecycle"]
    assert refused == []


def test_rule_list_and_dry_run_pages_render_without_csp_violation(page_as, admin_user):  # noqa: F811
    rule = make_rule(
        name="Any new deal",
        trigger={"type": "record.created", "record_type": "deal"},
        actions=[{"type": "set_lifecycle", "lifecycle": "customer"}],
    )
    created_deal(admin_user)
    page = page_as(admin_user)
    refused = csp_violations(page)
    page.goto("/automations/")
    page.wait_for_selector("[data-testid='ready-made-table']")
    shoot(page, "rule-list")
    page.goto(f"/automations/{rule.pk}/dry-run/?days=7")
    page.wait_for_selector("[data-testid='dry-run-item']")
    shoot(page, "dry-run")
    assert refused == []
