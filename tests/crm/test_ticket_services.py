from datetime import timedelta

import pytest

from crm import services
from crm.models import Event, SLAPolicy, TicketMessage, TicketStatus
from tests.crm.factories import ContactFactory


@pytest.fixture
def ticket(agent):
    return services.ticket_create(
        actor=agent,
        data={
            "subject": "Cannot log in",
            "description": "Help!",
            "contact": ContactFactory(),
            "priority": "normal",
        },
    )


@pytest.mark.django_db
def test_a_new_ticket_gets_due_times_from_its_sla(ticket):
    assert ticket.first_response_due_at == ticket.created_at + timedelta(hours=8)
    assert ticket.resolution_due_at == ticket.created_at + timedelta(hours=24)
    assert ticket.messages.get().author_kind == "customer"


@pytest.mark.django_db
def test_changing_priority_moves_the_due_times(ticket, agent):
    services.ticket_update(ticket=ticket, actor=agent, data={"priority": "urgent"})

    ticket.refresh_from_db()
    assert ticket.first_response_due_at == ticket.created_at + timedelta(hours=1)
    assert ticket.resolution_due_at == ticket.created_at + timedelta(hours=4)


@pytest.mark.django_db
def test_an_internal_note_is_not_a_response(ticket, agent):
    services.ticket_reply(ticket=ticket, actor=agent, body="Colleague, please check", internal=True)

    ticket.refresh_from_db()
    assert ticket.first_response_at is None and ticket.agent_reply_count == 0
    assert ticket.status == TicketStatus.NEW


@pytest.mark.django_db
def test_the_first_public_reply_is_the_first_response(ticket, agent):
    first = services.ticket_reply(ticket=ticket, actor=agent, body="Try resetting your password")
    services.ticket_reply(ticket=ticket, actor=agent, body="Any luck?", status="pending")

    ticket.refresh_from_db()
    assert ticket.first_response_at == first.created_at
    assert ticket.agent_reply_count == 2
    assert ticket.status == TicketStatus.PENDING


@pytest.mark.django_db
def test_an_empty_reply_is_refused(ticket, agent):
    with pytest.raises(services.InvalidTransition):
        services.ticket_reply(ticket=ticket, actor=agent, body="   ")
    assert TicketMessage.objects.filter(author_kind="agent").count() == 0


@pytest.mark.django_db
def test_resolving_sets_the_time_once(ticket, agent):
    services.ticket_resolve(ticket=ticket, actor=agent)
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED and ticket.resolved_at is not None

    with pytest.raises(services.InvalidTransition):
        services.ticket_resolve(ticket=ticket, actor=agent)
    assert Event.objects.filter(type="ticket.resolved").count() == 1


@pytest.mark.django_db
def test_a_customer_reply_reopens_a_resolved_ticket(ticket, agent):
    services.ticket_reply(ticket=ticket, actor=agent, body="Fixed")
    services.ticket_resolve(ticket=ticket, actor=agent)

    services.ticket_customer_reply(ticket=ticket, body="Still broken")

    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN
    assert ticket.resolved_at is None and ticket.reopen_count == 1
    assert Event.objects.filter(type="ticket.reopened").count() == 1


@pytest.mark.django_db
def test_a_customer_reply_takes_a_pending_ticket_back_to_open(ticket, agent):
    services.ticket_reply(ticket=ticket, actor=agent, body="Need more info", status="pending")
    services.ticket_customer_reply(ticket=ticket, body="Here it is")
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN and ticket.reopen_count == 0


@pytest.mark.django_db
def test_reopening_an_open_ticket_is_refused(ticket, agent):
    with pytest.raises(services.InvalidTransition):
        services.ticket_reopen(ticket=ticket, actor=agent)
    ticket.refresh_from_db()
    assert ticket.reopen_count == 0


@pytest.mark.django_db
def test_resolving_through_a_status_change_is_refused(ticket, agent):
    with pytest.raises(services.InvalidTransition):
        services.ticket_set_status(ticket=ticket, actor=agent, status="resolved")
    with pytest.raises(services.InvalidTransition):
        services.ticket_reply(ticket=ticket, actor=agent, body="done", status="resolved")
    ticket.refresh_from_db()
    assert ticket.resolved_at is None and ticket.agent_reply_count == 0


@pytest.mark.django_db
def test_without_an_sla_policy_there_are_no_due_times(agent):
    SLAPolicy.objects.filter(priority="low").delete()
    ticket = services.ticket_create(actor=agent, data={"subject": "Question", "priority": "low"})
    assert ticket.first_response_due_at is None and ticket.resolution_due_at is None
