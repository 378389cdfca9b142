from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.limits import MESSAGE_MAX_LENGTH, check_texts
from crm.models import (
    DONE_STATUSES,
    MessageAuthor,
    SLAPolicy,
    SupportSettings,
    Ticket,
    TicketMessage,
    TicketStatus,
    User,
)

from .errors import InvalidTransition
from .events import event_record
from .records import record_create, record_update


def ticket_create(*, actor: User | None, data: dict) -> Ticket:
    """Open a ticket; its SLA due times come from the policy of its priority. A ticket without
    a team goes to the support team of the settings (SupportSettings), so it is in that team's
    queue whichever way it came in (the public form, an email, an automation, the admin)."""
    if not data.get("team"):
        team = SupportSettings.current().default_team
        if team is not None:
            data = {**data, "team": team}
    with transaction.atomic():
        ticket = record_create(Ticket, actor=actor, data=data)
        _set_due_times(ticket)
        ticket.save(update_fields=["first_response_due_at", "resolution_due_at"])
        if ticket.description:
            TicketMessage.objects.create(
                ticket=ticket,
                author_kind=MessageAuthor.CUSTOMER,
                body=ticket.description,
                created_at=ticket.created_at,
            )
    return ticket


def ticket_update(*, ticket: Ticket, actor: User | None, data: dict) -> Ticket:
    with transaction.atomic():
        priority_before = ticket.priority
        ticket = record_update(ticket, actor=actor, data=data)
        if ticket.priority != priority_before:
            _set_due_times(ticket)
            ticket.save(update_fields=["first_response_due_at", "resolution_due_at"])
    return ticket


def ticket_reply(
    *, ticket: Ticket, actor: User, body: str, internal: bool = False, status: str | None = None
) -> TicketMessage:
    """An agent's public reply (a response to the customer) or internal note (not a response).

    The first public reply to an unassigned ticket assigns it to whoever wrote it: they took
    it. An internal note does not (asking a colleague is not taking the ticket)."""
    if not body.strip():
        raise InvalidTransition({"body": _("Write a message.")})
    check_texts(MESSAGE_MAX_LENGTH, body=body)
    if status in DONE_STATUSES:
        raise InvalidTransition({"status": _("Resolve the ticket with the resolve action.")})
    now = timezone.now()
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        message = TicketMessage.objects.create(
            ticket=ticket,
            author_kind=MessageAuthor.AGENT,
            author=actor,
            body=body,
            is_internal=internal,
            created_at=now,
        )
        if internal:
            event_record(type="ticket.note_added", instance=ticket, actor=actor)
            return message
        changes = {"agent_reply_count": [ticket.agent_reply_count, ticket.agent_reply_count + 1]}
        ticket.agent_reply_count = F("agent_reply_count") + 1
        if ticket.first_response_at is None:
            ticket.first_response_at = now
            changes["first_response_at"] = [None, now]
        if ticket.assignee_id is None:
            ticket.assignee = actor
            changes["assignee"] = [None, actor.pk]
        new_status = status or (
            TicketStatus.OPEN if ticket.status == TicketStatus.NEW else ticket.status
        )
        if new_status != ticket.status:
            changes["status"] = [ticket.status, new_status]
            ticket.status = new_status
        ticket.save(
            update_fields=[
                "agent_reply_count",
                "first_response_at",
                "status",
                "assignee",
                "updated_at",
            ]
        )
        ticket.refresh_from_db(fields=["agent_reply_count"])
        event_record(type="ticket.replied", instance=ticket, actor=actor, changes=changes)
    return message


def ticket_customer_reply(*, ticket: Ticket, body: str) -> TicketMessage:
    """The customer writes again; on a resolved ticket that reopens it."""
    if not body.strip():
        raise InvalidTransition({"body": _("Write a message.")})
    check_texts(MESSAGE_MAX_LENGTH, body=body)
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        message = TicketMessage.objects.create(
            ticket=ticket, author_kind=MessageAuthor.CUSTOMER, body=body
        )
        if ticket.status in DONE_STATUSES:
            _reopen(ticket, actor=None)
        elif ticket.status == TicketStatus.PENDING:
            ticket.status = TicketStatus.OPEN
            ticket.save(update_fields=["status", "updated_at"])
            event_record(
                type="ticket.customer_replied",
                instance=ticket,
                actor=None,
                changes={"status": [TicketStatus.PENDING, TicketStatus.OPEN]},
            )
        else:
            event_record(type="ticket.customer_replied", instance=ticket, actor=None)
    return message


def ticket_resolve(*, ticket: Ticket, actor: User | None) -> Ticket:
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if ticket.status in DONE_STATUSES:
            raise InvalidTransition(_("The ticket is already resolved."))
        now = timezone.now()
        changes = {"status": [ticket.status, TicketStatus.RESOLVED], "resolved_at": [None, now]}
        ticket.status = TicketStatus.RESOLVED
        ticket.resolved_at = now
        ticket.save(update_fields=["status", "resolved_at", "updated_at"])
        event_record(type="ticket.resolved", instance=ticket, actor=actor, changes=changes)
    return ticket


def ticket_reopen(*, ticket: Ticket, actor: User | None) -> Ticket:
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if ticket.status not in DONE_STATUSES:
            raise InvalidTransition(_("Only a resolved or closed ticket can be reopened."))
        _reopen(ticket, actor)
    return ticket


def ticket_set_status(*, ticket: Ticket, actor: User | None, status: str) -> Ticket:
    """Move between the working statuses (new, open, pending); resolving has its own service."""
    if status in DONE_STATUSES:
        raise InvalidTransition({"status": _("Resolve the ticket with the resolve action.")})
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if ticket.status in DONE_STATUSES:
            raise InvalidTransition(_("Reopen the ticket first."))
        if ticket.status == status:
            return ticket
        changes = {"status": [ticket.status, status]}
        ticket.status = status
        ticket.save(update_fields=["status", "updated_at"])
        event_record(type="ticket.status_changed", instance=ticket, actor=actor, changes=changes)
    return ticket


def _reopen(ticket: Ticket, actor) -> None:
    changes = {
        "status": [ticket.status, TicketStatus.OPEN],
        "resolved_at": [ticket.resolved_at, None],
        "reopen_count": [ticket.reopen_count, ticket.reopen_count + 1],
    }
    ticket.status = TicketStatus.OPEN
    ticket.resolved_at = None
    ticket.reopen_count = F("reopen_count") + 1
    ticket.save(update_fields=["status", "resolved_at", "reopen_count", "updated_at"])
    ticket.refresh_from_db(fields=["reopen_count"])
    event_record(type="ticket.reopened", instance=ticket, actor=actor, changes=changes)


def _set_due_times(ticket: Ticket) -> None:
    policy = SLAPolicy.objects.filter(priority=ticket.priority).first()
    if policy is None:
        ticket.first_response_due_at = ticket.resolution_due_at = None
        return
    ticket.first_response_due_at = ticket.created_at + timedelta(
        hours=float(policy.first_response_hours)
    )
    ticket.resolution_due_at = ticket.created_at + timedelta(hours=float(policy.resolution_hours))
