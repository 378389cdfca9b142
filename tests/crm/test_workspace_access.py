"""Access that blocks work (issue 15, items 5-7): a dashboard shared with a team opens for its
members on the numbers they may read; refusals are pages of the app, with its navigation; an
agent reads the customers of the tickets they work; new tickets are routed to the support team
of the settings and the first public reply assigns an unassigned one."""

import pytest
from django.urls import reverse

from crm import services
from crm.demo import create_demo_users
from crm.models import Contact, Event, SupportSettings, Ticket
from metrics.models import Dashboard, DashboardCard
from tests.crm.factories import CompanyFactory, ContactFactory
from tests.factories import TeamFactory
from tests.metrics.test_dashboard_pages import at, won_deal

pytestmark = pytest.mark.django_db

NAVIGATION = 'data-testid="current-user"'


@pytest.fixture
def support_team(agent):
    return TeamFactory(name="Support", members=[agent])


# Item 5: a dashboard shared with a team, set to "Everyone"


@pytest.fixture
def everyone_board(manager, sales_team):
    board = Dashboard.objects.create(
        owner=manager, name="Team numbers", segment_field="", shared_with=sales_team
    )
    DashboardCard.objects.create(dashboard=board, kind="kpi", key="deals_won_count", order=0)
    return board


def test_a_dashboard_shared_with_everyone_opens_for_a_rep_on_their_teams_numbers(
    client, rep, teammate, outsider, sales_team, other_team, everyone_board
):
    won_deal(rep, sales_team, at(2026, 3, 10))
    won_deal(teammate, sales_team, at(2026, 3, 11))
    won_deal(outsider, other_team, at(2026, 3, 12))
    client.force_login(rep)
    assert everyone_board in client.get(reverse("dashboards")).context["shared"]

    response = client.get(
        reverse("custom-dashboard", args=[everyone_board.pk]) + "?date=2026-03-15"
    )

    assert response.status_code == 200
    assert response.context["segment"].field == "team"
    assert response.context["segment"].value == str(sales_team.pk)
    # The other team's deal is not counted: the rep reads their team's numbers only.
    assert response.context["items"][0]["kpi_card"].result.value == 2
    assert 'data-testid="dashboard-scoped"' in response.content.decode()


def test_the_manager_who_built_it_still_reads_everyone(client, manager, everyone_board):
    client.force_login(manager)

    response = client.get(reverse("custom-dashboard", args=[everyone_board.pk]))

    assert response.status_code == 200
    assert response.context["segment"].is_all
    assert 'data-testid="dashboard-scoped"' not in response.content.decode()


def test_refusals_and_missing_pages_keep_the_apps_navigation(client, rep, everyone_board):
    client.force_login(rep)

    refused = client.get(reverse("dashboard-edit", args=[everyone_board.pk]))
    missing = client.get(reverse("contact-detail", args=[10**6]))

    assert refused.status_code == 403
    assert 'data-testid="error-403"' in refused.content.decode()
    assert NAVIGATION in refused.content.decode()
    assert missing.status_code == 404
    assert 'data-testid="error-404"' in missing.content.decode()
    assert NAVIGATION in missing.content.decode()


# Item 6: an agent reads the customers of the tickets they work


def test_an_agent_opens_the_contact_and_company_of_a_ticket_they_work(
    client, agent, rep, sales_team, support_team
):
    company = CompanyFactory(owner=rep, team=sales_team)
    contact = ContactFactory(company=company, owner=rep, team=sales_team)
    services.ticket_create(
        actor=None,
        data={"subject": "Help", "contact": contact, "company": company, "assignee": agent},
    )
    stranger = ContactFactory(owner=rep, team=sales_team)
    client.force_login(agent)

    contact_page = client.get(reverse("contact-detail", args=[contact.pk]))
    company_page = client.get(reverse("company-detail", args=[company.pk]))

    assert contact_page.status_code == 200
    assert company_page.status_code == 200
    assert reverse("contact-edit", args=[contact.pk]) not in contact_page.content.decode()
    # Only the customers of their tickets: another contact of the sales team stays hidden.
    assert client.get(reverse("contact-detail", args=[stranger.pk])).status_code == 404


def test_an_agent_reads_a_tickets_contact_but_does_not_change_it(
    client, agent, rep, sales_team, support_team
):
    contact = ContactFactory(owner=rep, team=sales_team, last_name="Rossi")
    services.ticket_create(
        actor=None, data={"subject": "Help", "contact": contact, "assignee": agent}
    )
    client.force_login(agent)
    edit = reverse("contact-edit", args=[contact.pk])

    assert client.get(edit).status_code == 403
    response = client.post(edit, {"first_name": "X", "last_name": "Changed"})
    bulk = client.post(
        reverse("contact-bulk"), {"ids": [contact.pk], "action": "assign_owner", "owner": agent.pk}
    )

    assert response.status_code == 403
    assert bulk.status_code in (302, 400, 403)
    contact.refresh_from_db()
    assert (contact.last_name, contact.owner_id) == ("Rossi", rep.pk)


# Item 7: routing to the support team, assignment on the first reply


def test_a_ticket_from_the_public_form_goes_to_the_support_teams_queue(
    client, agent, rep, support_team
):
    services.support_settings_update(actor=None, default_team=support_team)

    client.post(
        reverse("support-contact"),
        {"name": "Rosa Parks", "email": "rosa@example.org", "subject": "Export", "message": "Hi"},
    )

    ticket = Ticket.objects.get()
    assert ticket.team == support_team
    client.force_login(agent)
    team_view = client.get(reverse("tickets") + "?view=team")
    assert ticket.pk in [row.pk for row, _timer in team_view.context["rows"]]
    client.force_login(rep)
    assert client.get(reverse("ticket-detail", args=[ticket.pk])).status_code == 404


def test_any_ticket_opened_without_a_team_is_routed_and_a_chosen_team_is_kept(
    support_team, sales_team
):
    services.support_settings_update(actor=None, default_team=support_team)

    routed = services.ticket_create(actor=None, data={"subject": "From a rule"})
    kept = services.ticket_create(actor=None, data={"subject": "Sales", "team": sales_team})

    assert (routed.team, kept.team) == (support_team, sales_team)


def test_the_first_public_reply_assigns_an_unassigned_ticket_and_a_note_does_not(
    client, agent, support_team
):
    services.support_settings_update(actor=None, default_team=support_team)
    ticket = services.ticket_create(
        actor=None, data={"subject": "Help", "contact": ContactFactory()}
    )
    client.force_login(agent)
    reply = reverse("ticket-reply", args=[ticket.pk])

    client.post(reply, {"body": "Who knows this customer?", "internal": "on"})
    ticket.refresh_from_db()
    assert ticket.assignee is None

    client.post(reply, {"body": "We are on it."})
    ticket.refresh_from_db()
    assert ticket.assignee == agent
    replied = Event.objects.filter(type="ticket.replied", record_id=ticket.pk).get()
    assert replied.changes["assignee"] == [None, agent.pk]


def test_the_routing_team_is_set_in_the_admin_once_with_an_event(client, admin_user, support_team):
    client.force_login(admin_user)
    add = reverse("admin:crm_supportsettings_add")

    response = client.post(add, {"default_team": support_team.pk})

    assert response.status_code == 302
    assert SupportSettings.current().default_team == support_team
    assert Event.objects.filter(type="supportsettings.updated").count() == 1
    # One row: a second one cannot be added.
    assert client.post(add, {"default_team": ""}).status_code == 403
    assert SupportSettings.objects.count() == 1


def test_the_demo_routes_new_tickets_to_its_support_team():
    create_demo_users()

    assert SupportSettings.current().default_team.name == "Support"
    assert Contact.objects.count() == 0


def test_a_rep_follows_their_customers_tickets_wherever_support_routed_them(
    client, rep, outsider, sales_team, other_team, support_team
):
    services.support_settings_update(actor=None, default_team=support_team)
    theirs = ContactFactory(owner=rep, team=sales_team, email="kim@example.org")
    stranger = ContactFactory(owner=outsider, team=other_team, email="lee@example.org")
    for contact in (theirs, stranger):
        client.post(
            reverse("support-contact"),
            {"name": contact.first_name, "email": contact.email, "subject": "Hi", "message": "Hi"},
        )
    ticket_of_theirs = Ticket.objects.get(contact=theirs)
    assert ticket_of_theirs.team == support_team

    client.force_login(rep)

    assert client.get(reverse("ticket-detail", args=[ticket_of_theirs.pk])).status_code == 200
    other = Ticket.objects.get(contact=stranger)
    assert client.get(reverse("ticket-detail", args=[other.pk])).status_code == 404
