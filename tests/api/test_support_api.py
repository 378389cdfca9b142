"""Tickets through the API (issue 12): read as the pages show them, changed only through the
support services' transitions; another team's ticket is a 404 on every route, nothing written."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.models import Event, Role, TicketMessage, TicketStatus
from tests.crm.factories import ContactFactory, TicketFactory
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

ACTIONS = ("reply", "note", "resolve", "reopen")


@pytest.fixture
def support_team(agent, manager):
    return TeamFactory(name="Support", manager=manager, members=[agent])


@pytest.fixture
def ticket(agent, support_team, rep, sales_team):
    contact = ContactFactory(owner=rep, team=sales_team)
    return TicketFactory(contact=contact, assignee=agent, team=support_team)


@pytest.fixture
def stranger_agent(other_team):
    agent = UserFactory(username="sofia", role=Role.SUPPORT_AGENT)
    other_team.members.add(agent)
    return agent


def url(ticket=None, action=None):
    if ticket is None:
        return "/api/tickets/"
    return f"/api/tickets/{ticket.pk}/" + (f"{action}/" if action else "")


def post(client, path, data=None):
    return client.post(path, data or {}, content_type="application/json")


def test_each_role_reads_the_tickets_the_pages_show(
    client, ticket, agent, rep, manager, admin_user, outsider, other_team
):
    for user in (agent, rep, manager, admin_user):
        client.force_login(user)
        listed = client.get(url())
        assert listed.status_code == 200
        assert [row["id"] for row in listed.json()["results"]] == [ticket.pk]
        assert client.get(url(ticket)).json()["subject"] == ticket.subject
    client.force_login(outsider)
    assert client.get(url()).json()["results"] == []
    assert client.get(url(ticket)).status_code == 404
    assert client.get(url(ticket, "messages")).status_code == 404
    client.logout()
    assert client.get(url()).status_code in (401, 403)


def test_an_agent_replies_notes_resolves_and_reopens_through_the_services(client, ticket, agent):
    client.force_login(agent)
    reply = post(client, url(ticket, "reply"), {"body": "We are on it.", "status": "pending"})
    assert reply.status_code == 200, reply.content
    assert reply.json()["status"] == TicketStatus.PENDING
    assert reply.json()["agent_reply_count"] == 1
    note = post(client, url(ticket, "note"), {"body": "Ask Carla."})
    assert note.status_code == 200
    messages = client.get(url(ticket, "messages")).json()["results"]
    assert [(m["body"], m["is_internal"]) for m in messages] == [
        ("Ask Carla.", True),
        ("We are on it.", False),
    ]
    assert post(client, url(ticket, "resolve")).json()["status"] == TicketStatus.RESOLVED
    assert post(client, url(ticket, "reopen")).json()["status"] == TicketStatus.OPEN
    types = list(
        Event.objects.filter(record_type="ticket", record_id=ticket.pk).values_list(
            "type", flat=True
        )
    )
    for wanted in ("ticket.replied", "ticket.note_added", "ticket.resolved", "ticket.reopened"):
        assert wanted in types


@pytest.mark.parametrize(
    ("action", "body", "field", "message"),
    [
        ("reply", {"body": "   "}, "body", "Write a message."),
        ("note", {"body": ""}, "body", "Write a message."),
        ("reply", {"body": "Hi", "status": "closed"}, "status", None),
        ("reopen", {}, "non_field_errors", "Only a resolved or closed ticket can be reopened."),
    ],
)
def test_a_refused_transition_is_a_400_with_the_services_message_and_writes_nothing(
    client, ticket, agent, action, body, field, message
):
    client.force_login(agent)
    events = Event.objects.count()
    response = post(client, url(ticket, action), body)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert field in errors
    if message:
        assert errors[field] == [message]
    assert TicketMessage.objects.count() == 0
    assert Event.objects.count() == events
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.NEW


def test_resolving_twice_is_refused_with_the_services_message(client, ticket, agent):
    client.force_login(agent)
    assert post(client, url(ticket, "resolve")).status_code == 200
    again = post(client, url(ticket, "resolve"))
    assert again.status_code == 400
    assert again.json()["detail"] == "The ticket is already resolved."


def test_another_teams_agent_gets_404_on_every_route_and_nothing_is_written(
    client, ticket, stranger_agent
):
    client.force_login(stranger_agent)
    events = Event.objects.count()
    assert client.get(url(ticket)).status_code == 404
    assert client.get(url(ticket, "messages")).status_code == 404
    for action in ACTIONS:
        assert post(client, url(ticket, action), {"body": "Hello"}).status_code == 404
    assert TicketMessage.objects.count() == 0
    assert Event.objects.count() == events


def test_a_rep_reads_their_customers_ticket_but_changes_it_nowhere(client, ticket, rep):
    # As on the pages: the rep's role holds no change permission on tickets (403 on a ticket
    # they see; one they do not see is a 404, below).
    client.force_login(rep)
    assert client.get(url(ticket)).status_code == 200
    for action in ACTIONS:
        assert post(client, url(ticket, action), {"body": "Hello"}).status_code == 403
    assert TicketMessage.objects.count() == 0
    assert not client.post(url(), {"subject": "x"}).status_code == 201


def test_the_ticket_list_runs_the_same_queries_for_5_and_50_rows(client, agent, support_team):
    client.force_login(agent)

    def count(rows):
        TicketFactory.create_batch(rows, assignee=agent, team=support_team)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url() + "?page_size=200")
        assert response.status_code == 200
        return len(queries), len(response.json()["results"])

    small, shown = count(5)
    assert shown == 5
    large, shown = count(45)
    assert shown == 50
    assert large == small


def test_survey_answers_follow_their_customer_and_articles_their_roles(
    client, rep, agent, outsider, sales_team, other_team
):
    from crm import services
    from crm.models import ArticleStatus
    from tests.crm.factories import SurveyAnswerFactory

    mine = SurveyAnswerFactory(contact=ContactFactory(owner=rep, team=sales_team))
    theirs = SurveyAnswerFactory(contact=ContactFactory(owner=outsider, team=other_team))
    draft = services.article_create(
        actor=agent, data={"title": "Draft", "body": "Soon.", "status": ArticleStatus.DRAFT}
    )
    client.force_login(rep)
    answers = client.get("/api/survey-answers/").json()["results"]
    assert [row["id"] for row in answers] == [mine.pk]
    assert client.get(f"/api/survey-answers/{theirs.pk}/").status_code == 404
    assert client.get(f"/api/articles/{draft.pk}/").json()["title"] == "Draft"
    assert client.post("/api/articles/", {"title": "x"}).status_code == 403
    assert client.post("/api/survey-answers/", {"score": 1}).status_code == 405


def test_a_reply_sent_twice_with_one_idempotency_key_is_written_once(client, ticket, agent):
    client.force_login(agent)
    headers = {"Idempotency-Key": "reply-1"}
    first = client.post(
        url(ticket, "reply"), {"body": "Done."}, content_type="application/json", headers=headers
    )
    again = client.post(
        url(ticket, "reply"), {"body": "Done."}, content_type="application/json", headers=headers
    )
    assert first.status_code == again.status_code == 200
    assert again.headers.get("Idempotent-Replay") == "true"
    assert TicketMessage.objects.filter(ticket=ticket).count() == 1
    other = client.post(
        url(ticket, "reply"), {"body": "Other."}, content_type="application/json", headers=headers
    )
    assert other.status_code == 422
    assert TicketMessage.objects.filter(ticket=ticket).count() == 1


def test_a_rep_gets_404_for_another_teams_ticket_on_every_route(
    client, rep, outsider, other_team, stranger_agent
):
    theirs = TicketFactory(
        contact=ContactFactory(owner=outsider, team=other_team), assignee=stranger_agent
    )
    client.force_login(rep)
    events = Event.objects.count()
    assert client.get(url(theirs)).status_code == 404
    assert client.get(url(theirs, "messages")).status_code == 404
    for action in ACTIONS:
        assert post(client, url(theirs, action), {"body": "Hello"}).status_code == 404
    assert TicketMessage.objects.count() == 0
    assert Event.objects.count() == events
