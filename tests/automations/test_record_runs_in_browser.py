"""A record page loads its "Automation runs" panel by htmx, and the rep's menu leads to runs."""

import pytest

from automations.models import RuleRun, RunStatus
from tests.automations.factories import make_rule
from tests.automations.test_builder_in_browser import shoot
from tests.crm.factories import DealFactory
from tests.e2e.conftest import chromium, page_as  # noqa: F401 (fixtures)
from tests.e2e.test_pages_in_browser import csp_violations

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_deal_page_shows_the_runs_that_touched_it(page_as, rep, sales_team):  # noqa: F811
    deal = DealFactory(owner=rep, team=sales_team, name="Panel deal")
    rule = make_rule(
        name="Won → customer",
        trigger={"type": "record.created", "record_type": "deal"},
        actions=[{"type": "set_lifecycle", "lifecycle": "customer"}],
    )
    RuleRun.objects.create(
        rule=rule,
        rule_version=1,
        tick="t:1",
        record_type="deal",
        record_id=deal.pk,
        status=RunStatus.MATCHED,
        actions=[{"type": "set_lifecycle", "ok": True, "detail": "Acme is a customer"}],
        duration_ms=12,
    )
    page = page_as(rep)
    refused = csp_violations(page)
    page.goto(f"/deals/{deal.pk}/")
    panel = page.get_by_test_id("record-runs")
    panel.wait_for()
    assert "Won → customer" in panel.inner_text() and "Acme is a customer" in panel.inner_text()
    shoot(page, "deal-runs-panel")
    page.locator("nav a.nav-link", has_text="Automations").click()
    page.wait_for_selector("[data-testid='run-row']")
    assert "Panel deal" in page.get_by_test_id("runs-table").inner_text()
    shoot(page, "my-runs")
    assert refused == []
