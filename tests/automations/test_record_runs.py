"""The lazy "Automation runs" panel on record pages, and the reps' page of runs."""

import pytest
from django.urls import reverse

from automations.models import RuleRun, RunStatus
from tests.automations.factories import make_rule
from tests.automations.test_rule_pages import LIFECYCLE, WON
from tests.crm.factories import DealFactory, LeadFactory, TicketFactory

pytestmark = pytest.mark.django_db


def run_on(record, record_type: str, rule, **extra) -> RuleRun:
    return RuleRun.objects.create(
        rule=rule,
        rule_version=1,
        tick=f"t:{record_type}:{record.pk}:{RuleRun.objects.count()}",
        record_type=record_type,
        record_id=record.pk,
        status=extra.pop("status", RunStatus.MATCHED),
        actions=[{"type": "notify", "ok": True, "detail": "notified ana"}],
        **extra,
    )


@pytest.fixture
def rule(db):
    return make_rule(name="Won → customer", trigger=WON, actions=LIFECYCLE)


def test_a_record_page_loads_the_runs_panel_lazily(client, rep, sales_team):
    deal = DealFactory(owner=rep, team=sales_team)
    client.force_login(rep)
    page = client.get(reverse("deal-detail", args=[deal.pk])).content.decode()
    url = reverse("automation-record-runs", args=["deal", deal.pk])
    assert f'hx-get="{url}" hx-trigger="load"' in page


def test_the_ticket_page_loads_the_runs_panel_lazily(client, agent):
    ticket = TicketFactory(assignee=agent)
    client.force_login(agent)
    page = client.get(reverse("ticket-detail", args=[ticket.pk])).content.decode()
    assert reverse("automation-record-runs", args=["ticket", ticket.pk]) in page


def test_the_panel_lists_the_runs_that_touched_the_record(client, rep, sales_team, rule):
    deal = DealFactory(owner=rep, team=sales_team)
    run_on(deal, "deal", rule, status=RunStatus.ERROR, error="webhook down")
    run_on(DealFactory(owner=rep, team=sales_team), "deal", rule)
    client.force_login(rep)
    response = client.get(reverse("automation-record-runs", args=["deal", deal.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Won → customer" in page and "webhook down" in page and "notified ana" in page
    assert page.count('class="list-group-item small"') == 1
    assert reverse("automation-rule", args=[rule.pk]) not in page  # reps do not read rules


def test_the_panel_is_404_for_a_record_the_user_cannot_see(
    client, outsider, other_team, rep, sales_team, rule
):
    deal = DealFactory(owner=rep, team=sales_team)
    run_on(deal, "deal", rule)
    client.force_login(outsider)
    assert client.get(reverse("automation-record-runs", args=["deal", deal.pk])).status_code == 404
    assert client.get(reverse("automation-record-runs", args=["nope", deal.pk])).status_code == 404


@pytest.mark.parametrize("record_type", ["lead", "contact", "company", "deal", "ticket"])
def test_the_panel_answers_for_each_record_type(client, admin_user, record_type):
    from tests.crm import factories

    make = {
        "lead": factories.LeadFactory,
        "contact": factories.ContactFactory,
        "company": factories.CompanyFactory,
        "deal": factories.DealFactory,
        "ticket": factories.TicketFactory,
    }[record_type]
    record = make()
    client.force_login(admin_user)
    response = client.get(reverse("automation-record-runs", args=[record_type, record.pk]))
    assert response.status_code == 200


def test_my_runs_lists_only_runs_on_visible_records(client, rep, sales_team, other_team, rule):
    mine = LeadFactory(owner=rep, team=sales_team, name="Visible lead")
    hidden = LeadFactory(owner=None, team=other_team, name="Hidden lead")
    run_on(mine, "lead", rule)
    run_on(hidden, "lead", rule)
    client.force_login(rep)
    page = client.get(reverse("automation-runs")).content.decode()
    assert page.count('data-testid="run-row"') == 1
    assert "Visible lead" in page and "Hidden lead" not in page
