"""The workspace as its users found it (issue 15, items 16 and 17): the new deal form, My day
for reps and agents, the lead conversion and the lead page, first responses shown at once."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from crm import services
from crm.models import (
    ActivityKind,
    Contact,
    Deal,
    Lead,
    LeadStatus,
    Pipeline,
    Role,
    Stage,
    SurveyKind,
    Task,
    Ticket,
    TicketStatus,
)
from crm.views.tasks import MY_DAY_LIMIT, day_bounds
from tests.crm.factories import (
    CompanyFactory,
    ContactFactory,
    DealFactory,
    LeadFactory,
    SurveyAnswerFactory,
    TaskFactory,
    TicketFactory,
)
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

HOME = reverse("home")
NEW_DEAL = reverse("deal-create")
HTMX = {"HTTP_HX_REQUEST": "true"}


def selected(page, field: str) -> str | None:
    """The value of the option a select of the page has selected."""
    html = page.content.decode()
    select = re.search(rf'<select name="{field}"[^>]*>(.*?)</select>', html, re.S)
    assert select, f"no select {field}"
    option = re.search(r'<option value="([^"]*)"[^>]*\bselected\b', select.group(1))
    return option.group(1) if option else None


@pytest.fixture
def renewals():
    pipeline = Pipeline.objects.create(name="Renewals", order=5)
    Stage.objects.create(pipeline=pipeline, name="Due", order=0)
    Stage.objects.create(pipeline=pipeline, name="Renewed", order=1, outcome="won", probability=100)
    return pipeline


# Item 16: the new deal form ---------------------------------------------------------------


def test_new_deal_from_a_board_preselects_that_boards_pipeline(client, rep, sales_team, renewals):
    client.force_login(rep)

    board = client.get(reverse("deal-board"), {"pipeline": renewals.pk})
    link = f'href="{NEW_DEAL}?pipeline={renewals.pk}"'
    assert link in board.content.decode()

    form = client.get(NEW_DEAL, {"pipeline": renewals.pk})
    assert form.status_code == 200
    assert selected(form, "pipeline") == str(renewals.pk)

    created = client.post(
        f"{NEW_DEAL}?pipeline={renewals.pk}",
        {
            "name": "Renewal 2027",
            "pipeline": renewals.pk,
            "amount": "10",
            "currency": "EUR",
            "exchange_rate": "1",
            "kind": "renewal",
        },
    )
    assert created.status_code == 302, created.context["form"].errors
    deal = Deal.objects.get(name="Renewal 2027")
    assert deal.pipeline == renewals and deal.stage.name == "Due"


@pytest.mark.parametrize("value", ["abc", "", "-1", "99999999", str(10**30), "1e309"])
def test_new_deal_ignores_a_pipeline_it_cannot_use(client, rep, sales_team, value):
    client.force_login(rep)
    default = Pipeline.objects.get(is_default=True)

    form = client.get(NEW_DEAL, {"pipeline": value})

    assert form.status_code == 200
    assert selected(form, "pipeline") == str(default.pk)


def test_a_new_deals_owner_is_the_user_creating_it(client, rep, sales_team):
    client.force_login(rep)

    form = client.get(NEW_DEAL)

    assert selected(form, "owner") == str(rep.pk)


# Item 16: My day ----------------------------------------------------------------------------


@pytest.fixture
def support_team(agent):
    return TeamFactory(name="Support", members=[agent])


def test_an_agents_my_day_shows_their_queue_breaches_and_csat(client, agent, support_team):
    colleague = UserFactory(username="sofia", role=Role.SUPPORT_AGENT)
    support_team.members.add(colleague)
    now = timezone.now()
    mine = TicketFactory(subject="Mine", assignee=agent, team=support_team)
    waiting = TicketFactory(subject="Waiting", team=support_team)
    TicketFactory(subject="Sofia's", assignee=colleague, team=support_team)
    TicketFactory(
        subject="Done",
        assignee=agent,
        team=support_team,
        status=TicketStatus.RESOLVED,
        created_at=now - timedelta(hours=2),
        resolved_at=now,
    )
    late = TicketFactory(
        subject="Late",
        assignee=agent,
        team=support_team,
        created_at=now - timedelta(hours=5),
        first_response_due_at=now - timedelta(hours=1),
    )
    # CSAT on the agent's tickets: 1 of 2 satisfied.
    SurveyAnswerFactory(kind=SurveyKind.CSAT, score=5, ticket=mine)
    SurveyAnswerFactory(kind=SurveyKind.CSAT, score=2, ticket=late)
    client.force_login(agent)

    response = client.get(HOME)

    assert response.status_code == 200
    context = response.context
    assert {t.subject for t in context["my_tickets"]} == {"Mine", "Late"}
    assert [t.subject for t in context["unassigned_tickets"]] == ["Waiting"]
    assert [t.subject for t in context["breaching_tickets"]] == ["Late"]
    body = response.content.decode()
    # No sales widgets for someone who works no leads or deals.
    assert 'data-testid="home-leads"' not in body
    assert 'data-testid="home-stale"' not in body
    for view in ("mine", "unassigned", "breaching"):
        assert f'href="{reverse("tickets")}?view={view}"' in body
    assert waiting.pk and mine.pk
    # CSAT: the same number as the KPI page the card links to.
    csat = re.search(r'Customer satisfaction</div>\s*<a[^>]*href="([^"]+)"[^>]*>([^<]+)</a>', body)
    assert csat, "no CSAT card"
    url, shown = csat.groups()
    assert shown.strip() == "50.0%"
    kpi_page = client.get(url.replace("&amp;", "&"))
    assert kpi_page.status_code == 200
    assert kpi_page.context["result"].value == Decimal("50")


def test_a_reps_my_day_shows_no_support_widgets(client, rep, sales_team):
    client.force_login(rep)

    body = client.get(HOME).content.decode()

    assert 'data-testid="home-leads"' in body
    assert 'data-testid="home-my-tickets"' not in body


def test_my_day_lists_say_there_is_more_and_link_to_all(client, rep, sales_team):
    start, _end = day_bounds()
    count = MY_DAY_LIMIT + 1
    for i in range(count):
        TaskFactory(assignee=rep, due_at=start - timedelta(hours=i + 1))
        LeadFactory(owner=rep, team=sales_team)
    long_ago = timezone.now() - timedelta(days=40)
    for _i in range(count):
        DealFactory(owner=rep, team=sales_team, created_at=long_ago, stage_entered_at=long_ago)
    DealFactory(owner=rep, team=sales_team)  # new: not quiet
    client.force_login(rep)

    response = client.get(HOME)

    context = response.context
    assert len(context["overdue_tasks"]) == MY_DAY_LIMIT
    assert len(context["new_leads"]) == MY_DAY_LIMIT
    assert len(context["stale_deals"]) == MY_DAY_LIMIT
    body = response.content.decode()
    assert body.count(f"{MY_DAY_LIMIT}+") >= 3
    links = context["see_all"]
    for key in ("overdue_tasks", "new_leads", "stale_deals"):
        assert f'href="{links[key].replace("&", "&amp;")}"' in body
    # Each link opens the whole list behind its card.
    leads = client.get(links["new_leads"])
    assert leads.status_code == 200
    assert leads.context["page_obj"].paginator.count == count
    deals = client.get(links["stale_deals"])
    assert deals.status_code == 200
    assert deals.context["page_obj"].paginator.count == count
    tasks = client.get(links["overdue_tasks"])
    assert len(dict((k, t) for k, _title, t in tasks.context["sections"])["overdue"]) == count


@pytest.mark.parametrize("value", ["0", "-3", "abc", str(10**30), "1e309", "9" * 400])
def test_the_quiet_deals_filter_refuses_bad_values_cleanly(client, rep, sales_team, value):
    client.force_login(rep)

    response = client.get(reverse("deals"), {"quiet": value})

    assert response.status_code == 200


# Item 16: conversion opens what it made ---------------------------------------------------


def test_converting_a_lead_with_a_deal_opens_the_new_deal(client, rep, sales_team):
    lead = LeadFactory(owner=rep, team=sales_team)
    client.force_login(rep)

    response = client.post(reverse("lead-convert", args=[lead.pk]), {"create_deal": "on"})

    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONVERTED
    assert response.status_code == 302
    assert response["Location"] == reverse("deal-detail", args=[lead.converted_deal_id])


def test_converting_a_lead_without_a_deal_opens_the_contact(client, rep, sales_team):
    lead = LeadFactory(owner=rep, team=sales_team)
    client.force_login(rep)

    response = client.post(reverse("lead-convert", args=[lead.pk]), {})

    lead.refresh_from_db()
    assert lead.converted_deal_id is None
    assert response["Location"] == reverse("contact-detail", args=[lead.converted_contact_id])


# Item 16: a first response shows at once --------------------------------------------------


def test_logging_the_first_call_shows_the_leads_first_response_at_once(client, rep, sales_team):
    lead = LeadFactory(owner=rep, team=sales_team)
    client.force_login(rep)
    page = client.get(reverse("lead-detail", args=[lead.pk])).content.decode()
    assert f'id="lead-first-response-{lead.pk}"' in page

    response = client.post(
        reverse("activity-log", args=["lead", lead.pk]),
        {"kind": ActivityKind.CALL, "direction": "outbound", "subject": "Intro call"},
        **HTMX,
    )

    assert response.status_code == 200
    lead.refresh_from_db()
    assert lead.first_response_at is not None
    body = response.content.decode()
    # htmx swaps these into the page beside the panels (out of band).
    fact = re.search(
        rf'<dd[^>]*id="lead-first-response-{lead.pk}"[^>]*hx-swap-oob="true"[^>]*>(.*?)</dd>',
        body,
        re.S,
    )
    assert fact and fact.group(1).strip() not in ("", "—")
    status = re.search(rf'<span[^>]*id="lead-status-{lead.pk}"[^>]*>(.*?)</span>', body, re.S)
    assert status and "hx-swap-oob" in status.group(0)
    assert status.group(1).strip() == str(LeadStatus.CONTACTED.label)


def test_an_agents_first_reply_shows_the_first_response_met(client, agent, support_team):
    ticket = services.ticket_create(
        actor=agent,
        data={"subject": "Help", "contact": ContactFactory(), "team": support_team},
    )
    client.force_login(agent)

    response = client.post(
        reverse("ticket-reply", args=[ticket.pk]), {"body": "On it."}, follow=True
    )

    assert response.status_code == 200
    first, _resolution = response.context["timers"]
    assert first.done_at is not None
    assert first.state in ("met", "none")


# Item 17: the same email as a contact -----------------------------------------------------


def test_the_lead_page_names_the_contact_with_the_same_email(
    client, rep, sales_team, outsider, other_team
):
    contact = ContactFactory(email="jo@acme.example", owner=rep, team=sales_team)
    lead = LeadFactory(email="JO@acme.example", owner=rep, team=sales_team)
    hidden = ContactFactory(email="kim@secret.example", owner=outsider, team=other_team)
    other = LeadFactory(email=hidden.email, owner=rep, team=sales_team)
    client.force_login(rep)

    page = client.get(reverse("lead-detail", args=[lead.pk])).content.decode()
    hidden_page = client.get(reverse("lead-detail", args=[other.pk])).content.decode()

    assert "A contact with this email exists" in page
    assert f'href="{reverse("contact-detail", args=[contact.pk])}"' in page
    assert "A contact with this email exists" not in hidden_page
    assert reverse("contact-detail", args=[hidden.pk]) not in hidden_page


def test_a_new_lead_with_a_contacts_email_is_warned_about_it(client, rep, sales_team):
    contact = ContactFactory(email="jo@acme.example", owner=rep, team=sales_team)
    client.force_login(rep)

    response = client.post(
        reverse("lead-create"),
        {"name": "Jo", "email": "jo@acme.example", "source": "web", "score": "0"},
        follow=True,
    )

    assert response.status_code == 200
    assert Lead.objects.filter(email="jo@acme.example").count() == 1
    warnings = [str(m) for m in response.context["messages"]]
    assert any(str(contact) in w for w in warnings), warnings


def test_convert_offers_the_visible_contact_when_a_hidden_one_shares_the_email(
    client, rep, sales_team, outsider, other_team
):
    # The outsider's contact came first; the rep's own contact has the same address.
    ContactFactory(email="jo@acme.example", owner=outsider, team=other_team)
    company = CompanyFactory(name="Acme", owner=rep, team=sales_team)
    mine = ContactFactory(email="jo@acme.example", company=company, owner=rep, team=sales_team)
    lead = LeadFactory(email="jo@acme.example", company_name="Acme Inc", owner=rep)
    client.force_login(rep)
    contacts = Contact.objects.count()

    page = client.get(reverse("lead-convert", args=[lead.pk]))
    form = page.context["form"]
    assert form.contact_match == mine
    assert form.company_match == company

    response = client.post(
        reverse("lead-convert", args=[lead.pk]),
        {"contact_choice": "link", "company_choice": "link", "create_deal": "on"},
    )

    assert response.status_code == 302
    lead.refresh_from_db()
    assert (lead.converted_contact, lead.converted_company) == (mine, company)
    assert Contact.objects.count() == contacts
    assert Task.objects.filter(deal=lead.converted_deal).exists()
    assert Ticket.objects.count() == 0
