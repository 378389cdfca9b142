"""Tickets opened and edited through the API (issue 12) as on the ticket pages: the "new
ticket" form's input and service, the handling box's fields (assignee, priority) plus custom
fields; the status only through the actions; 404 for a ticket the user may not see, 403 where
the role may not write, 412 on a stale If-Match, one ticket per Idempotency-Key."""

import pytest

from crm.models import Contact, Event, FieldType, RecordType, Role, Ticket, TicketStatus
from tests.crm.factories import ContactFactory, CustomFieldFactory, TicketFactory
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

NEW = {
    "email": "maria@example.com",
    "name": "Maria Lopez",
    "subject": "Cannot log in",
    "description": "The login page says my password is wrong.",
    "channel": "email",
    "priority": "high",
}


@pytest.fixture
def support_team(agent, manager):
    return TeamFactory(name="Support", manager=manager, members=[agent])


@pytest.fixture
def ticket(agent, support_team):
    return TicketFactory(assignee=agent, team=support_team)


@pytest.fixture
def stranger_agent(other_team):
    stranger = UserFactory(username="sofia", role=Role.SUPPORT_AGENT)
    other_team.members.add(stranger)
    return stranger


@pytest.fixture
def tier(db):
    return CustomFieldFactory(
        record_type=RecordType.TICKET,
        key="tier",
        field_type=FieldType.SELECT,
        choices=["gold", "silver"],
    )


def patch(api, ticket, data, **headers):
    return api.patch(f"/api/tickets/{ticket.pk}/", data, format="json", headers=headers)


@pytest.mark.parametrize(
    ("persona", "create", "update"),
    [("agent", 201, 200), ("manager", 201, 200), ("admin_user", 201, 200), ("rep", 403, 403)],
)
def test_tickets_are_opened_and_edited_by_the_roles_the_pages_let(
    api, request, ticket, rep, sales_team, persona, create, update
):
    # The rep sees this ticket (their customer's), so a refusal is the role's: 403.
    ticket.contact = ContactFactory(owner=rep, team=sales_team)
    ticket.save()
    api.force_authenticate(request.getfixturevalue(persona))
    opened = api.post("/api/tickets/", NEW, format="json")
    assert opened.status_code == create, opened.content
    assert patch(api, ticket, {"priority": "urgent"}).status_code == update
    ticket.refresh_from_db()
    assert (ticket.priority == "urgent") == (update == 200)
    assert Ticket.objects.filter(subject=NEW["subject"]).exists() == (create == 201)


def test_an_opened_ticket_is_the_pages_ticket_for_the_customers_contact(api, agent, support_team):
    api.force_authenticate(agent)
    response = api.post("/api/tickets/", NEW, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    ticket = Ticket.objects.get(pk=body["id"])
    contact = Contact.objects.get(email="maria@example.com")
    assert (ticket.contact, ticket.team, ticket.channel, ticket.priority) == (
        contact,
        support_team,
        "email",
        "high",
    )
    assert body["status"] == TicketStatus.NEW
    # The SLA due times come from the high priority's policy, as on the page.
    assert body["resolution_due_at"] is not None
    assert [m.body for m in ticket.messages.all()] == [NEW["description"]]
    assert Event.objects.filter(type="ticket.created", record_id=ticket.pk).exists()
    # The detail answers the same ticket with its ETag.
    assert api.get(f"/api/tickets/{ticket.pk}/").headers["ETag"]


def test_a_refused_ticket_answers_field_errors_and_writes_nothing(api, agent, stranger_agent):
    api.force_authenticate(agent)
    events, contacts = Event.objects.count(), Contact.objects.count()
    bad = {**NEW, "email": "not an email", "priority": "whenever", "assignee": stranger_agent.pk}
    del bad["subject"]
    response = api.post("/api/tickets/", bad, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"email", "priority", "assignee", "subject"}
    assert response.json()["detail"] == "Invalid input."
    assert (Event.objects.count(), Contact.objects.count()) == (events, contacts)
    assert not Ticket.objects.exists()


def test_custom_fields_are_written_validated_and_filtered_on_tickets(
    api, agent, support_team, tier
):
    api.force_authenticate(agent)
    tier.required = True
    tier.save()
    refused = api.post("/api/tickets/", NEW, format="json")
    assert refused.status_code == 400
    assert refused.json()["errors"]["custom"] == {"tier": ["This field is required."]}
    wrong = api.post("/api/tickets/", {**NEW, "custom": {"tier": "bronze"}}, format="json")
    assert wrong.status_code == 400 and "tier" in wrong.json()["errors"]["custom"]
    assert not Ticket.objects.exists()
    made = api.post("/api/tickets/", {**NEW, "custom": {"tier": "gold"}}, format="json")
    assert made.status_code == 201, made.content
    assert made.json()["custom"] == {"tier": "gold"}
    ticket = Ticket.objects.get()
    # Opened with its custom values in one write: one event, as a ticket opened on the page.
    events = Event.objects.filter(record_type="ticket", record_id=ticket.pk)
    assert list(events.values_list("type", flat=True)) == ["ticket.created"]
    assert patch(api, ticket, {"custom": {"tier": "silver"}}).json()["custom"] == {"tier": "silver"}
    assert patch(api, ticket, {"custom": {"tier": ""}}).status_code == 400
    assert [row["id"] for row in api.get("/api/tickets/?cf_tier=silver").json()["results"]] == [
        ticket.pk
    ]
    assert api.get("/api/tickets/?cf_tier=gold").json()["results"] == []


def test_patch_changes_the_handling_fields_never_the_status(api, agent, ticket, support_team):
    colleague = UserFactory(username="lucia", role=Role.SUPPORT_AGENT)
    support_team.members.add(colleague)
    api.force_authenticate(agent)
    moved = patch(api, ticket, {"assignee": colleague.pk, "priority": "low"})
    assert moved.status_code == 200, moved.content
    assert (moved.json()["assignee"], moved.json()["priority"]) == (colleague.pk, "low")
    events = Event.objects.count()
    refused = patch(api, ticket, {"status": "resolved"})
    assert refused.status_code == 400
    assert "status" in refused.json()["errors"]
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.NEW and Event.objects.count() == events
    # Fields the handling box does not change are read only: sent, they change nothing.
    patch(api, ticket, {"subject": "Renamed"})
    ticket.refresh_from_db()
    assert ticket.subject != "Renamed"


def test_an_assignee_the_user_may_not_give_tickets_to_is_refused(
    api, agent, ticket, stranger_agent
):
    api.force_authenticate(agent)
    refused = patch(api, ticket, {"assignee": stranger_agent.pk})
    assert refused.status_code == 400 and "assignee" in refused.json()["errors"]
    ticket.refresh_from_db()
    assert ticket.assignee == agent


def test_another_teams_agent_gets_404_and_writes_nothing(api, ticket, stranger_agent):
    api.force_authenticate(stranger_agent)
    events = Event.objects.count()
    assert patch(api, ticket, {"priority": "urgent"}).status_code == 404
    assert api.put(f"/api/tickets/{ticket.pk}/", NEW, format="json").status_code in (404, 405)
    assert api.delete(f"/api/tickets/{ticket.pk}/").status_code in (404, 405)
    ticket.refresh_from_db()
    assert ticket.priority != "urgent" and Event.objects.count() == events


def test_tickets_are_not_deleted_through_the_api(api, admin_user, ticket):
    api.force_authenticate(admin_user)
    assert api.delete(f"/api/tickets/{ticket.pk}/").status_code == 405
    assert Ticket.objects.filter(pk=ticket.pk).exists()


def test_a_stale_if_match_is_refused_with_412(api, agent, ticket):
    api.force_authenticate(agent)
    etag = api.get(f"/api/tickets/{ticket.pk}/").headers["ETag"]
    assert patch(api, ticket, {"priority": "high"}, **{"If-Match": etag}).status_code == 200
    stale = patch(api, ticket, {"priority": "low"}, **{"If-Match": etag})
    assert stale.status_code == 412
    ticket.refresh_from_db()
    assert ticket.priority == "high"


def test_a_ticket_posted_twice_with_one_key_is_opened_once(api, agent, support_team):
    api.force_authenticate(agent)
    headers = {"Idempotency-Key": "ticket-42"}
    first = api.post("/api/tickets/", NEW, format="json", headers=headers)
    again = api.post("/api/tickets/", NEW, format="json", headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replay") == "true"
    assert first.json()["id"] == again.json()["id"]
    assert Ticket.objects.count() == 1
    other = api.post("/api/tickets/", {**NEW, "subject": "Else"}, format="json", headers=headers)
    assert other.status_code == 422 and Ticket.objects.count() == 1


def test_a_duplicate_of_a_ticket_the_user_does_not_see_is_refused(
    api, agent, support_team, stranger_agent
):
    api.force_authenticate(stranger_agent)
    assert api.post("/api/tickets/", NEW, format="json").status_code == 201
    api.force_authenticate(agent)
    again = api.post("/api/tickets/", NEW, format="json")
    assert again.status_code == 400
    assert Ticket.objects.count() == 1
