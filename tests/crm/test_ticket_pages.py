"""The agents' queue and ticket page: visibility, views, filters, bulk changes, replies and
the exact response/resolution inputs every page path leaves behind."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm import services
from crm.models import (
    Article,
    ArticleStatus,
    Event,
    Role,
    Ticket,
    TicketMessage,
    TicketPriority,
    TicketStatus,
)
from tests.crm.factories import CompanyFactory, ContactFactory, DealFactory
from tests.factories import TeamFactory, UserFactory

QUEUE = reverse("tickets")


@pytest.fixture
def support_team(agent):
    return TeamFactory(name="Support", members=[agent])


@pytest.fixture
def colleague(support_team):
    user = UserFactory(username="sofia", role=Role.SUPPORT_AGENT)
    support_team.members.add(user)
    return user


@pytest.fixture
def far_agent(db):
    user = UserFactory(username="paula", role=Role.SUPPORT_AGENT)
    TeamFactory(name="Support EU", members=[user])
    return user


def open_ticket(*, actor=None, created_ago=timedelta(0), **data) -> Ticket:
    data.setdefault("subject", "Cannot log in")
    data.setdefault("description", "Help!")
    data.setdefault("contact", ContactFactory())
    data.setdefault("company", data["contact"].company)
    data["created_at"] = timezone.now() - created_ago
    return services.ticket_create(actor=actor, data=data)


def queue_ids(response) -> list[int]:
    return [ticket.pk for ticket, _timer in response.context["rows"]]


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


# Visibility


@pytest.mark.django_db
def test_an_agent_sees_their_teams_tickets_and_unclaimed_ones_only(
    client, agent, colleague, far_agent
):
    mine = open_ticket(assignee=agent)
    teams = open_ticket(assignee=colleague)
    unclaimed = open_ticket()
    elsewhere = open_ticket(assignee=far_agent)
    client.force_login(agent)

    ids = queue_ids(client.get(QUEUE))

    assert set(ids) == {mine.pk, teams.pk, unclaimed.pk}
    assert client.get(reverse("ticket-detail", args=[elsewhere.pk])).status_code == 404
    assert client.get(reverse("ticket-detail", args=[teams.pk])).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["manager", "admin_user"])
def test_managers_and_admins_see_every_ticket(client, request, agent, far_agent, persona):
    tickets = [open_ticket(assignee=agent), open_ticket(assignee=far_agent), open_ticket()]
    client.force_login(request.getfixturevalue(persona))

    assert set(queue_ids(client.get(QUEUE))) == {t.pk for t in tickets}
    for ticket in tickets:
        assert client.get(reverse("ticket-detail", args=[ticket.pk])).status_code == 200


@pytest.mark.django_db
def test_a_rep_may_look_but_not_answer(client, rep, sales_team):
    ticket = open_ticket(team=sales_team)
    client.force_login(rep)

    assert client.get(reverse("ticket-detail", args=[ticket.pk])).status_code == 200
    response = client.post(reverse("ticket-reply", args=[ticket.pk]), {"body": "Hi"})

    assert response.status_code == 403
    assert not TicketMessage.objects.filter(author_kind="agent").exists()


@pytest.mark.django_db
def test_another_teams_ticket_cannot_be_answered_or_resolved(client, agent, far_agent):
    ticket = open_ticket(assignee=far_agent)
    client.force_login(agent)

    for name, data in [("ticket-reply", {"body": "Hi"}), ("ticket-resolve", {})]:
        assert client.post(reverse(name, args=[ticket.pk]), data).status_code == 404
    ticket.refresh_from_db()
    assert (ticket.status, ticket.agent_reply_count) == (TicketStatus.NEW, 0)


# Queue views, filters, sorting


@pytest.mark.django_db
def test_queue_views(client, agent, colleague, support_team):
    unassigned = open_ticket()
    mine = open_ticket(assignee=agent)
    colleagues = open_ticket(assignee=colleague)
    pending = open_ticket(assignee=agent)
    services.ticket_reply(ticket=pending, actor=agent, body="Which browser?", status="pending")
    breaching = open_ticket(assignee=colleague, created_ago=timedelta(hours=7))  # 1 h of 8 left
    late = open_ticket(created_ago=timedelta(hours=30))
    client.force_login(agent)

    def view(name):
        return set(queue_ids(client.get(QUEUE, {"view": name})))

    assert view("unassigned") == {unassigned.pk, late.pk}
    assert view("mine") == {mine.pk, pending.pk}
    assert view("team") == {mine.pk, colleagues.pk, pending.pk, breaching.pk}
    assert view("breaching") == {breaching.pk, late.pk}
    assert view("pending") == {pending.pk}
    counts = {key: n for key, _label, n in client.get(QUEUE).context["views"]}
    assert counts == {"all": 6, "unassigned": 2, "mine": 2, "team": 4, "breaching": 2, "pending": 1}


@pytest.mark.django_db
def test_resolved_tickets_leave_the_working_views_but_can_be_filtered(client, agent):
    done = open_ticket(assignee=agent)
    services.ticket_resolve(ticket=done, actor=agent)
    client.force_login(agent)

    assert done.pk not in queue_ids(client.get(QUEUE))
    assert queue_ids(client.get(QUEUE, {"status": "resolved"})) == [done.pk]


@pytest.mark.django_db
def test_queue_filters(client, agent, colleague):
    acme = CompanyFactory(name="Acme")
    urgent = open_ticket(priority="urgent", channel="chat", assignee=colleague)
    acme_ticket = open_ticket(contact=ContactFactory(company=acme))
    plain = open_ticket(assignee=agent)
    client.force_login(agent)

    def ids(**params):
        return set(queue_ids(client.get(QUEUE, params)))

    assert ids(priority="urgent") == {urgent.pk}
    assert ids(channel="chat") == {urgent.pk}
    assert ids(company=acme.pk) == {acme_ticket.pk}
    assert ids(assignee=colleague.pk) == {urgent.pk}
    assert ids(assignee="none") == {acme_ticket.pk}
    assert ids(status="new") == {urgent.pk, acme_ticket.pk, plain.pk}
    assert ids(q=f"#{plain.pk}") == {plain.pk}


@pytest.mark.django_db
def test_bad_filter_values_are_ignored_not_a_crash(client, agent):
    ticket = open_ticket()
    client.force_login(agent)

    response = client.get(QUEUE, {"priority": "nope", "company": "x", "page": "-3", "sort": "?"})

    assert response.status_code == 200
    assert queue_ids(response) == [ticket.pk]
    assert response.context["form"].errors


@pytest.mark.django_db
def test_the_queue_is_sorted_by_the_next_sla_due_time(client, agent):
    relaxed = open_ticket(priority="low")
    urgent = open_ticket(priority="urgent")
    answered = open_ticket(priority="normal", created_ago=timedelta(hours=2))
    services.ticket_reply(ticket=answered, actor=agent, body="Looking")  # now due in 22 h
    normal = open_ticket(priority="normal")
    client.force_login(agent)

    assert queue_ids(client.get(QUEUE)) == [urgent.pk, normal.pk, answered.pk, relaxed.pk]
    assert queue_ids(client.get(QUEUE, {"sort": "newest"}))[0] == normal.pk


@pytest.mark.django_db
def test_the_queue_runs_a_fixed_number_of_queries(client, agent, colleague):
    client.force_login(agent)
    for _ in range(3):
        open_ticket(assignee=colleague)
    few = count_queries(client, QUEUE)

    for index in range(15):
        open_ticket(
            assignee=colleague if index % 2 else agent,
            contact=ContactFactory(company=CompanyFactory()),
            priority=["low", "normal", "high", "urgent"][index % 4],
        )
    many = count_queries(client, QUEUE)

    assert many == few
    assert many <= 14


# Bulk changes


@pytest.mark.django_db
def test_bulk_assign_changes_only_visible_tickets(client, agent, colleague, far_agent):
    visible = [open_ticket(), open_ticket(assignee=agent)]
    hidden = open_ticket(assignee=far_agent)
    client.force_login(agent)

    response = client.post(
        reverse("ticket-bulk"),
        {
            "ids": [t.pk for t in visible] + [hidden.pk],
            "action": "assign",
            "assignee": colleague.pk,
        },
    )

    assert response.status_code == 302
    assert Ticket.objects.filter(assignee=colleague).count() == 2
    hidden.refresh_from_db()
    assert hidden.assignee == far_agent
    assert Event.objects.filter(type="ticket.updated").count() == 2


@pytest.mark.django_db
def test_bulk_status_change(client, agent):
    tickets = [open_ticket(assignee=agent) for _ in range(2)]
    client.force_login(agent)

    client.post(
        reverse("ticket-bulk"),
        {"ids": [t.pk for t in tickets], "action": "status", "status": "pending"},
    )
    assert set(Ticket.objects.values_list("status", flat=True)) == {TicketStatus.PENDING}

    client.post(
        reverse("ticket-bulk"),
        {"ids": [t.pk for t in tickets], "action": "status", "status": "resolved"},
    )
    assert all(t.resolved_at for t in Ticket.objects.all())


@pytest.mark.django_db
def test_bulk_changes_need_the_change_permission(client, rep, sales_team):
    ticket = open_ticket(team=sales_team)
    client.force_login(rep)

    response = client.post(
        reverse("ticket-bulk"), {"ids": [ticket.pk], "action": "status", "status": "pending"}
    )

    assert response.status_code == 403
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.NEW


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data",
    [
        {"ids": ["abc"], "action": "assign", "assignee": "none"},
        {"ids": [], "action": "status", "status": "pending"},
        {"ids": ["1"], "action": "explode"},
        {"ids": ["1"], "action": "status", "status": "closed"},
        {"ids": ["1"], "action": "assign"},
    ],
)
def test_bad_bulk_posts_change_nothing(client, agent, data):
    ticket = open_ticket(assignee=agent)
    data = {
        k: [str(ticket.pk) if v == "1" else v for v in v] if k == "ids" else v
        for k, v in data.items()
    }
    client.force_login(agent)

    response = client.post(reverse("ticket-bulk"), data)

    assert response.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.status, ticket.assignee) == (TicketStatus.NEW, agent)


@pytest.mark.django_db
def test_bulk_redirect_stays_on_this_site(client, agent):
    client.force_login(agent)

    response = client.post(
        reverse("ticket-bulk"), {"ids": [], "action": "assign", "next": "https://evil.example/"}
    )

    assert response.url == QUEUE


# The ticket page


@pytest.mark.django_db
def test_the_conversation_shows_customer_messages_replies_and_notes_apart(client, agent):
    ticket = open_ticket(assignee=agent)
    services.ticket_reply(ticket=ticket, actor=agent, body="Public answer")
    services.ticket_reply(ticket=ticket, actor=agent, body="Just for us", internal=True)
    client.force_login(agent)

    html = client.get(reverse("ticket-detail", args=[ticket.pk])).content.decode()

    assert 'data-testid="message-customer"' in html
    assert 'data-testid="message-agent"' in html
    assert 'data-testid="message-note"' in html
    assert html.index("Public answer") < html.index("Just for us")


@pytest.mark.django_db
def test_the_ticket_page_links_the_customers_company_tickets_and_deals(client, admin_user):
    company = CompanyFactory(name="Globex")
    contact = ContactFactory(company=company)
    ticket = open_ticket(contact=contact)
    earlier = open_ticket(contact=contact, subject="Earlier trouble")
    deal = DealFactory(company=company, name="Globex renewal")
    client.force_login(admin_user)

    response = client.get(reverse("ticket-detail", args=[ticket.pk]))

    html = response.content.decode()
    assert "Globex" in html and "Earlier trouble" in html
    assert reverse("ticket-detail", args=[earlier.pk]) in html
    assert response.context["deals"] == [deal]
    assert "metrics/_company_health.html" in [t.name for t in response.templates]


@pytest.mark.django_db
def test_the_ticket_page_runs_a_fixed_number_of_queries(client, agent):
    client.force_login(agent)
    contact = ContactFactory()
    ticket = open_ticket(contact=contact, assignee=agent)
    url = reverse("ticket-detail", args=[ticket.pk])
    few = count_queries(client, url)

    for index in range(10):
        services.ticket_reply(ticket=ticket, actor=agent, body=f"Reply {index}", internal=index % 2)
        services.ticket_customer_reply(ticket=ticket, body=f"Answer {index}")
        open_ticket(contact=contact)
        DealFactory(company=contact.company)
    many = count_queries(client, url)

    assert many == few
    assert many <= 20


@pytest.mark.django_db
def test_sla_timers_turn_amber_then_red(client, agent):
    fresh = open_ticket(assignee=agent)
    amber = open_ticket(assignee=agent, created_ago=timedelta(hours=7))
    red = open_ticket(assignee=agent, created_ago=timedelta(hours=9))
    client.force_login(agent)

    def first_response_state(ticket):
        response = client.get(reverse("ticket-detail", args=[ticket.pk]))
        return response.context["timers"][0].state

    assert first_response_state(fresh) == "ok"
    assert first_response_state(amber) == "warning"
    assert first_response_state(red) == "breached"
    html = client.get(QUEUE).content.decode()
    assert "sla-warning" in html and "sla-breached" in html and "sla-ok" in html


# Replies, resolution and reopening through the pages: the KPI inputs stay exact


@pytest.mark.django_db
def test_an_agent_reply_is_the_first_response_and_a_note_is_not(client, agent):
    ticket = open_ticket(assignee=agent)
    client.force_login(agent)
    url = reverse("ticket-reply", args=[ticket.pk])

    client.post(url, {"body": "Colleague: have a look", "internal": "on"})
    ticket.refresh_from_db()
    assert (ticket.first_response_at, ticket.agent_reply_count) == (None, 0)
    assert ticket.status == TicketStatus.NEW

    client.post(url, {"body": "Try resetting your password"})
    client.post(url, {"body": "Any luck?", "status": "pending"})
    ticket.refresh_from_db()
    first = ticket.messages.filter(author_kind="agent", is_internal=False).first()
    assert ticket.first_response_at == first.created_at
    assert ticket.agent_reply_count == 2
    assert ticket.status == TicketStatus.PENDING


@pytest.mark.django_db
def test_reply_and_resolve_in_one_step_is_a_first_contact_resolution(client, agent):
    ticket = open_ticket(assignee=agent)
    client.force_login(agent)

    response = client.post(
        reverse("ticket-reply", args=[ticket.pk]), {"body": "Fixed!", "status": "resolved"}
    )

    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED and ticket.resolved_at is not None
    assert (ticket.agent_reply_count, ticket.reopen_count) == (1, 0)
    assert ticket.first_response_at <= ticket.resolved_at


@pytest.mark.django_db
def test_resolve_then_reopen_buttons(client, agent):
    ticket = open_ticket(assignee=agent)
    services.ticket_reply(ticket=ticket, actor=agent, body="Done")
    client.force_login(agent)

    client.post(reverse("ticket-resolve", args=[ticket.pk]))
    response = client.post(reverse("ticket-resolve", args=[ticket.pk]), follow=True)
    assert response.status_code == 200  # resolving twice is a message, not an error page
    assert Event.objects.filter(type="ticket.resolved").count() == 1

    client.post(reverse("ticket-reopen", args=[ticket.pk]))
    ticket.refresh_from_db()
    assert (ticket.status, ticket.resolved_at, ticket.reopen_count) == (TicketStatus.OPEN, None, 1)

    client.post(reverse("ticket-resolve", args=[ticket.pk]))
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED and ticket.reopen_count == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data",
    [{"body": "   "}, {"body": ""}, {"body": "x" * 20_001}, {"body": "Hi", "status": "closed"}],
    ids=["blank", "empty", "too-long", "unknown-status"],
)
def test_a_bad_reply_is_a_form_error_and_writes_nothing(client, agent, data):
    ticket = open_ticket(assignee=agent)
    client.force_login(agent)
    events = Event.objects.count()

    response = client.post(reverse("ticket-reply", args=[ticket.pk]), data)

    assert response.status_code == 400
    assert response.context["reply_form"].errors
    assert TicketMessage.objects.filter(author_kind="agent").count() == 0
    assert Event.objects.count() == events


@pytest.mark.django_db
def test_assignment_and_priority_from_the_ticket_page(client, agent, colleague):
    ticket = open_ticket()
    client.force_login(agent)

    response = client.post(
        reverse("ticket-handling", args=[ticket.pk]),
        {"assignee": colleague.pk, "priority": "urgent"},
    )

    assert response.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.priority) == (colleague, TicketPriority.URGENT)
    assert ticket.first_response_due_at == ticket.created_at + timedelta(hours=1)


@pytest.mark.django_db
def test_an_agent_cannot_assign_to_someone_outside_their_team(client, agent, far_agent):
    ticket = open_ticket()
    client.force_login(agent)

    response = client.post(
        reverse("ticket-handling", args=[ticket.pk]),
        {"assignee": far_agent.pk, "priority": "normal"},
    )

    assert response.status_code == 400
    ticket.refresh_from_db()
    assert ticket.assignee is None


@pytest.mark.django_db
def test_an_agent_logs_a_phone_ticket(client, agent, support_team):
    client.force_login(agent)

    response = client.post(
        reverse("ticket-create"),
        {
            "email": "Caller@Example.COM",
            "name": "Jo Caller",
            "subject": "Printer on fire",
            "message": "It smokes",
            "channel": "phone",
            "priority": "high",
            "assignee": agent.pk,
        },
    )

    ticket = Ticket.objects.get()
    assert response.url == reverse("ticket-detail", args=[ticket.pk])
    assert (ticket.channel, ticket.priority, ticket.assignee, ticket.team) == (
        "phone",
        "high",
        agent,
        support_team,
    )
    assert ticket.contact.email == "Caller@example.com"
    assert client.post(reverse("ticket-create"), {"email": "bad"}).status_code == 400
    assert Ticket.objects.count() == 1


# Knowledge-base picker in the reply box


@pytest.mark.django_db
def test_the_article_picker_finds_published_articles_only(client, agent):
    services.article_create(
        actor=agent, data={"title": "Reset your password", "body": "…", "status": "published"}
    )
    services.article_create(actor=agent, data={"title": "Password policy draft", "body": "…"})
    client.force_login(agent)

    results = client.get(reverse("article-picker"), {"q": "password"}).json()["results"]

    assert [r["title"] for r in results] == ["Reset your password"]
    slug = Article.objects.get(status=ArticleStatus.PUBLISHED).slug
    assert results[0]["url"].endswith(reverse("help-article", args=[slug]))
    html = client.get(reverse("ticket-detail", args=[open_ticket().pk])).content.decode()
    assert reverse("article-picker") in html


@pytest.mark.django_db
def test_every_support_page_opens_for_an_agent(client, agent):
    article = services.article_create(actor=agent, data={"title": "How to", "body": "Steps"})
    ticket = open_ticket(assignee=agent)
    client.force_login(agent)

    for name, args in [
        ("tickets", []),
        ("ticket-create", []),
        ("tickets-nps", []),
        ("ticket-detail", [ticket.pk]),
        ("knowledge", []),
        ("article-create", []),
        ("article-detail", [article.pk]),
        ("article-edit", [article.pk]),
        ("help", []),
        ("support-contact", []),
    ]:
        response = client.get(reverse(name, args=args))
        assert response.status_code == 200, name
        assert "style=" not in response.content.decode(), name  # the CSP refuses inline styles


@pytest.mark.django_db
def test_action_urls_refuse_get(client, agent):
    ticket = open_ticket(assignee=agent)
    client.force_login(agent)

    for name in ["ticket-reply", "ticket-handling", "ticket-resolve", "ticket-reopen"]:
        assert client.get(reverse(name, args=[ticket.pk])).status_code == 405
    assert client.get(reverse("ticket-bulk")).status_code == 405
