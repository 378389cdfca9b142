"""The permission floor of the pages that write (crm.access.ROUTE_PERMISSIONS, applied by
crm.middleware.RoutePermissionMiddleware), adding to a record needs change access to it, and
the support queue (tickets without assignee or team) is the support desk's, not every rep's.

The walk of every write route × every role is tests/reliability/test_write_permissions.py."""

import pytest
from django.urls import reverse

from crm.models import Activity, Deal, Pipeline, Task, Ticket
from tests.crm.factories import (
    CompanyFactory,
    ContactFactory,
    DealFactory,
    LeadFactory,
    TicketFactory,
)

pytestmark = pytest.mark.django_db

NEW_DEAL = reverse("deal-create")


def deal_data(company) -> dict:
    return {
        "name": "Agent's deal",
        "pipeline": Pipeline.objects.get(is_default=True).pk,
        "company": company.pk,
        "amount": "1000",
        "currency": "USD",
        "exchange_rate": "1",
        "kind": "new_business",
        "expected_close_date": "2030-06-30",
    }


# --- the floor: a support agent creates no deal (issue 16, item 2) ---------------------------


def test_a_support_agent_cannot_create_a_deal(client, agent, sales_team):
    sales_team.members.add(agent)
    company = CompanyFactory(owner=agent, team=sales_team)
    client.force_login(agent)

    form_page = client.get(NEW_DEAL)
    response = client.post(NEW_DEAL, deal_data(company))

    assert (form_page.status_code, response.status_code) == (403, 403)
    assert not Deal.objects.exists()


def test_a_rep_creates_a_deal_with_the_same_input(client, rep, sales_team):
    company = CompanyFactory(owner=rep, team=sales_team)
    client.force_login(rep)

    response = client.post(NEW_DEAL, deal_data(company))

    assert response.status_code == 302
    assert Deal.objects.get().owner == rep


def test_a_page_that_takes_no_writes_answers_405_to_a_post(client, rep):
    client.force_login(rep)

    for name in ("home", "deals", "help"):
        response = client.post(reverse(name), {"name": "x"})
        assert response.status_code == 405, name
        assert response["Allow"] == "GET, HEAD, OPTIONS"


def test_the_task_page_reads_for_everyone_who_sees_the_task_and_writes_with_change_task(
    client, rep, sales_team
):
    from django.contrib.auth.models import Permission

    task = Task.objects.create(title="Call back", assignee=rep)
    rep.groups.get().permissions.remove(Permission.objects.get(codename="change_task"))
    client.force_login(rep)

    assert client.get(reverse("task-detail", args=[task.pk])).status_code == 200
    response = client.post(reverse("task-detail", args=[task.pk]), {"title": "Renamed"})

    assert response.status_code == 403
    task.refresh_from_db()
    assert task.title == "Call back"


# --- adding to a record needs change access to it (issue 16, item 11) ------------------------


def readable_records(rep, agent, team):
    """Records each user sees but may not change: reps only read tickets, agents only read
    companies and have no sales records."""
    team.members.add(agent)
    return {
        "ticket": (rep, TicketFactory(assignee=agent, team=team)),
        "company": (agent, CompanyFactory(owner=rep, team=team)),
        "deal": (agent, DealFactory(owner=rep, team=team)),
        "lead": (agent, LeadFactory(owner=rep, team=team)),
    }


@pytest.mark.parametrize("kind", ["ticket", "company", "deal", "lead"])
def test_a_user_who_only_reads_a_record_adds_no_activity_and_no_task(
    client, rep, agent, sales_team, kind
):
    user, record = readable_records(rep, agent, sales_team)[kind]
    client.force_login(user)
    tasks_before = Task.objects.count()

    logged = client.post(
        reverse("activity-log", args=[kind, record.pk]), {"kind": "call", "subject": "Hi"}
    )
    quick = client.post(reverse("record-task-add", args=[kind, record.pk]), {"title": "Chase"})
    full = client.post(
        reverse("task-new"),
        {"title": "Chase", "priority": "normal", "assignee": user.pk, kind: record.pk},
    )

    assert (logged.status_code, quick.status_code, full.status_code) == (403, 403, 400)
    assert "You cannot add a task to this" in full.content.decode()
    assert not Activity.objects.exists()
    assert Task.objects.count() == tasks_before


def test_the_record_page_offers_no_log_box_to_a_reader(client, rep, agent, sales_team):
    _user, company = readable_records(rep, agent, sales_team)["company"]
    url = reverse("company-detail", args=[company.pk])

    client.force_login(agent)
    read_only = client.get(url).content.decode()
    client.force_login(rep)
    writable = client.get(url).content.decode()

    for marker in ('data-testid="log-activity-form"', 'data-testid="quick-task-form"'):
        assert marker not in read_only
        assert marker in writable


def test_an_agent_adds_activities_and_tasks_to_a_ticket(client, agent, sales_team):
    ticket = TicketFactory(assignee=agent, team=sales_team)
    client.force_login(agent)

    client.post(reverse("activity-log", args=["ticket", ticket.pk]), {"kind": "call"})
    client.post(reverse("record-task-add", args=["ticket", ticket.pk]), {"title": "Chase"})

    assert Activity.objects.get().ticket == ticket
    assert Task.objects.get().ticket == ticket


# --- the support queue (issue 16, item 11) ----------------------------------------------------


@pytest.fixture
def public_ticket(client):
    """A ticket from the public contact form: no assignee, no team, a new contact."""
    client.post(
        reverse("support-contact"),
        {
            "name": "Rosa Parks",
            "email": "rosa@example.org",
            "subject": "Cannot export",
            "message": "The export button does nothing.",
        },
    )
    ticket = Ticket.objects.get()
    assert (ticket.assignee, ticket.team) == (None, None)
    return ticket


def queue(client, user, **params) -> set[int]:
    client.force_login(user)
    response = client.get(reverse("tickets"), params)
    assert response.status_code == 200
    return {ticket.pk for ticket, _timer in response.context["rows"]}


def test_a_public_form_ticket_is_in_the_agents_unassigned_queue(client, agent, public_ticket):
    assert queue(client, agent, view="unassigned") == {public_ticket.pk}
    assert client.get(reverse("ticket-detail", args=[public_ticket.pk])).status_code == 200


def test_managers_and_admins_see_the_support_queue(client, manager, admin_user, public_ticket):
    assert queue(client, manager) == {public_ticket.pk}
    assert queue(client, admin_user) == {public_ticket.pk}


def test_reps_do_not_see_strangers_tickets(client, rep, outsider, sales_team, public_ticket):
    for user in (rep, outsider):
        assert queue(client, user) == set()
        assert client.get(reverse("ticket-detail", args=[public_ticket.pk])).status_code == 404


def test_a_rep_sees_the_queued_tickets_of_their_own_customers(client, rep, outsider, sales_team):
    company = CompanyFactory(owner=rep, team=sales_team)
    by_company = TicketFactory(contact=ContactFactory(company=company))
    by_contact = TicketFactory(contact=ContactFactory(owner=rep, company=None), company=None)
    TicketFactory()  # a stranger's

    assert queue(client, rep) == {by_company.pk, by_contact.pk}
    assert queue(client, outsider) == set()
