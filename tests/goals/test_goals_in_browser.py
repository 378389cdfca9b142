"""The goal pages in a browser: the burn-up chart draws under the strict CSP, the KPI preview
arrives by htmx as a KPI is picked, and the forms show only the fields that apply."""

from decimal import Decimal as D

import pytest

from goals import services
from goals.models import Scope, TargetKind
from tests.services import csp_violations

from .factories import make_goal, make_target

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_the_goal_page_draws_its_burn_up_chart(page_as, manager, rep, sales_team):
    goal = make_goal(owner=manager, scope=Scope.TEAM, team=sales_team, name="Sales Q")
    target = make_target(goal, start_value=0, target_value=10, name="Calls")
    services.target_record_value(actor=manager, target=target, value=D(4))
    page = page_as(rep)
    refused = csp_violations(page)
    page.goto(f"/goals/{goal.pk}/")
    page.wait_for_function("() => !!Chart.getChart(document.querySelector('canvas'))")
    labels = page.evaluate(
        "() => Chart.getChart(document.querySelector('canvas')).data.datasets.map(d => d.label)"
    )
    assert labels == ["Actual", "Ideal", "Forecast"]
    assert page.get_by_test_id("goal-progress").inner_text() == "40.0 %"
    assert refused == []


def test_picking_a_kpi_shows_its_value_and_the_kpi_fields(page_as, manager, rep, sales_team):
    goal = make_goal(owner=manager, scope=Scope.PERSON, person=rep, name="Ana Q")
    make_target(goal, kind=TargetKind.MILESTONE)
    page = page_as(manager)
    refused = csp_violations(page)
    page.goto(f"/goals/{goal.pk}/targets/new/")
    page.select_option("select[name=kind]", "milestone")
    assert page.locator("select[name=kpi_key]").is_hidden()
    assert page.locator("select[name=tasks]").is_hidden()
    page.select_option("select[name=kind]", "kpi")
    page.select_option("select[name=kpi_key]", "deals_won_count")
    preview = page.get_by_test_id("kpi-preview")
    preview.wait_for()
    assert "Deals won for this goal" in preview.inner_text()
    assert refused == []
