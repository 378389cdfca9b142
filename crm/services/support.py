"""The support desk's operations around tickets: replies that email the customer, resolution
that sends the satisfaction survey, tickets opened from the public form, SLA breach marking,
bulk changes from the queue, and the customer's private link."""

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from crm.languages import for_customer
from crm.models import (
    DONE_STATUSES,
    Contact,
    Lifecycle,
    MessageAuthor,
    SupportSettings,
    SurveyInvitation,
    SurveyKind,
    Team,
    Ticket,
    TicketChannel,
    TicketMessage,
    TicketPriority,
    User,
)

from .dedupe import contact_once
from .dispatch import enqueue_on_commit
from .events import event_record
from .records import record_create
from .tickets import (
    ticket_create,
    ticket_customer_reply,
    ticket_reply,
    ticket_resolve,
    ticket_set_status,
    ticket_update,
)

CUSTOMER_LINK_SALT = "crm.ticket.customer-link"
CUSTOMER_LINK_MAX_AGE = timedelta(days=180)
BREACH_BATCH = 1000
# The same message from the same customer within this window is a double submission.
DUPLICATE_WINDOW = timedelta(minutes=10)
# An NPS survey goes to a contact at most once a quarter on the schedule, and a button
# pressed twice in a week does not ask the same people again.
NPS_INTERVAL = timedelta(days=90)
NPS_ON_DEMAND_GAP = timedelta(days=7)
NPS_BATCH = 500


_enqueue = enqueue_on_commit


# The customer's private link


def customer_link_token(ticket: Ticket) -> str:
    return signing.dumps({"t": ticket.pk, "c": ticket.contact_id}, salt=CUSTOMER_LINK_SALT)


def ticket_for_customer_token(token: str) -> Ticket | None:
    """The ticket a signed link opens, or None if the link is forged, altered or too old."""
    try:
        value = signing.loads(
            token, salt=CUSTOMER_LINK_SALT, max_age=CUSTOMER_LINK_MAX_AGE.total_seconds()
        )
    except signing.BadSignature:  # SignatureExpired is a BadSignature too
        return None
    if not isinstance(value, dict) or not isinstance(value.get("t"), int):
        return None
    ticket = Ticket.objects.select_related("contact", "company").filter(pk=value["t"]).first()
    # A link follows the contact it was sent to: moving the ticket to someone else revokes it.
    if ticket is None or ticket.contact_id is None or ticket.contact_id != value.get("c"):
        return None
    return ticket


def absolute_url(path: str) -> str:
    return settings.CRM_BASE_URL.rstrip("/") + path


def customer_link(ticket: Ticket) -> str:
    return absolute_url(reverse("support-ticket", args=[customer_link_token(ticket)]))


# Agent actions


def ticket_agent_reply(
    *,
    ticket: Ticket,
    actor: User,
    body: str,
    internal: bool = False,
    status: str | None = None,
) -> TicketMessage:
    """Reply (or note) and optionally set the status; "resolved" resolves after replying.

    A public reply is emailed to the customer with their private link once committed.
    """
    resolve = status in DONE_STATUSES
    with transaction.atomic():
        message = ticket_reply(
            ticket=ticket,
            actor=actor,
            body=body,
            internal=internal,
            status=None if (resolve or internal) else status,
        )
        if resolve:
            ticket_resolve_and_survey(ticket=ticket, actor=actor)
        elif internal and status:
            ticket_set_status(ticket=ticket, actor=actor, status=status)
        if not internal:
            _enqueue("send_ticket_reply_email", message.pk)
    return message


def ticket_resolve_and_survey(*, ticket: Ticket, actor: User | None) -> Ticket:
    """Resolve, then email the satisfaction survey from a worker once committed."""
    with transaction.atomic():
        ticket = ticket_resolve(ticket=ticket, actor=actor)
        _enqueue("send_resolution_surveys", ticket.pk)
    return ticket


def tickets_bulk_assign(
    *, tickets: list[Ticket], actor: User, assignee: User | None
) -> tuple[int, list[str]]:
    changed, errors = 0, []
    for ticket in tickets:
        if ticket.assignee_id == (assignee.pk if assignee else None):
            continue
        try:
            ticket_update(ticket=ticket, actor=actor, data={"assignee": assignee})
            changed += 1
        except ValidationError as error:
            errors.append(f"{ticket}: {' '.join(error.messages)}")
    return changed, errors


def tickets_bulk_set_status(
    *, tickets: list[Ticket], actor: User, status: str
) -> tuple[int, list[str]]:
    changed, errors = 0, []
    for ticket in tickets:
        if ticket.status == status:
            continue
        try:
            if status in DONE_STATUSES:
                ticket_resolve_and_survey(ticket=ticket, actor=actor)
            else:
                ticket_set_status(ticket=ticket, actor=actor, status=status)
            changed += 1
        except ValidationError as error:
            errors.append(f"{ticket}: {' '.join(error.messages)}")
    return changed, errors


# Routing


def support_settings_update(*, actor: User | None, default_team: Team | None) -> SupportSettings:
    """Choose the team new tickets without a team are routed to (None: no routing); the
    change is an event like any other, so who re-routed the desk stays on record."""
    with transaction.atomic():
        row = SupportSettings.objects.select_for_update().order_by("pk").first()
        if row is None:
            row = SupportSettings.objects.create()
        before = row.default_team_id
        after = default_team.pk if default_team is not None else None
        if before != after:
            row.default_team = default_team
            row.save(update_fields=["default_team", "updated_at"])
            event_record(
                type="supportsettings.updated",
                instance=row,
                actor=actor,
                changes={"default_team": [before, after]},
            )
    return row


# The public "contact support" form


def normalise_email(email: str) -> str:
    local, _at, domain = email.strip().rpartition("@")
    return f"{local}@{domain.lower()}" if local else email.strip()


def ticket_open_from_web(*, name: str, email: str, subject: str, message: str) -> Ticket:
    """A customer writes in through the public form."""
    return ticket_open_for_customer(
        actor=None, name=name, email=email, subject=subject, message=message
    )


def ticket_open_for_customer(
    *,
    actor: User | None,
    name: str,
    email: str,
    subject: str,
    message: str,
    channel: str = TicketChannel.WEB,
    priority: str = TicketPriority.NORMAL,
    assignee: User | None = None,
    custom: dict | None = None,
) -> Ticket:
    """Open a ticket for whoever has that email address: their contact, or a new one, with
    its custom values (validated by the caller) in the same write.

    The customer is emailed their private link once the ticket is committed.
    """
    email = normalise_email(email)
    with transaction.atomic():
        contact = _customer_contact(actor=actor, name=name, email=email)
        duplicate = _recent_duplicate(email=email, subject=subject, message=message)
        if duplicate is not None:
            return duplicate
        data = {
            "subject": subject,
            "description": message,
            "contact": contact,
            "company": contact.company,
            "channel": channel,
            "priority": priority,
            "assignee": assignee,
        }
        if custom:
            data["custom"] = custom
        # A ticket an agent logs belongs to their team (or the assignee's); one from the
        # public form goes to the support team of the settings (ticket_create).
        team = _first_team(assignee) or _first_team(actor)
        if team is not None:
            data["team"] = team
        ticket = ticket_create(actor=actor, data=data)
        _enqueue("send_ticket_opened_email", ticket.pk)
    return ticket


def _customer_contact(*, actor: User | None, name: str, email: str) -> Contact:
    """The oldest contact with this email, or a new one (claimed, so one per email), locked.

    Requests from one customer queue on the lock, so the duplicate check that follows sees
    the ticket an identical request sent a moment before has just opened.
    """
    contact = Contact.objects.filter(email__iexact=email).order_by("pk").first()
    if contact is None:
        first, _sep, last = name.strip().rpartition(" ")
        contact, _created = contact_once(
            email=email,
            create=lambda: record_create(
                Contact,
                actor=actor,
                data={"first_name": first, "last_name": last or name.strip(), "email": email},
            ),
        )
    return (
        Contact.objects.select_for_update(of=("self",)).select_related("company").get(pk=contact.pk)
    )


def _recent_duplicate(*, email: str, subject: str, message: str) -> Ticket | None:
    """The same request sent twice (a double click, a resent form) opens one ticket."""
    return (
        Ticket.objects.filter(
            contact__email__iexact=email,
            subject=subject,
            description=message,
            created_at__gte=timezone.now() - DUPLICATE_WINDOW,
        )
        .order_by("-pk")
        .first()
    )


def ticket_customer_reply_once(*, ticket: Ticket, body: str) -> TicketMessage:
    """The customer's reply through their link; the same text sent again is not a new one."""
    with transaction.atomic():
        # Locked first: a second identical reply waits here, then finds the first one's.
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        last = ticket.messages.filter(author_kind=MessageAuthor.CUSTOMER).order_by("-pk").first()
        if (
            last is not None
            and last.body == body
            and last.created_at >= timezone.now() - DUPLICATE_WINDOW
        ):
            return last
        return ticket_customer_reply(ticket=ticket, body=body)


def _first_team(user: User | None):
    return user.teams.order_by("id").first() if user is not None else None


# SLA


def sla_mark_breaches(*, now=None) -> int:
    """Stamp tickets whose first response or resolution due time passed unmet.

    The stamp is the due time that was missed first; a stamped ticket is never stamped again,
    so the job can run as often as it likes, on several workers at once.
    """
    now = now or timezone.now()
    missed = [
        (
            "first_response_due_at",
            Q(first_response_due_at__lt=now)
            & (
                Q(first_response_at__isnull=True)
                | Q(first_response_at__gt=F("first_response_due_at"))
            ),
        ),
        (
            "resolution_due_at",
            Q(resolution_due_at__lt=now)
            & (Q(resolved_at__isnull=True) | Q(resolved_at__gt=F("resolution_due_at"))),
        ),
    ]
    marked = 0
    for due_field, condition in missed:
        ids = list(
            Ticket.objects.filter(condition, sla_breached_at__isnull=True)
            .order_by(due_field)
            .values_list("pk", flat=True)[:BREACH_BATCH]
        )
        for pk in ids:
            with transaction.atomic():
                # Conditional: whoever stamps first wins, a second run changes nothing.
                if not Ticket.objects.filter(pk=pk, sla_breached_at__isnull=True).update(
                    sla_breached_at=F(due_field)
                ):
                    continue
                ticket = Ticket.objects.only("pk", "sla_breached_at").get(pk=pk)
                event_record(
                    type="ticket.sla_breached",
                    instance=ticket,
                    actor=None,
                    changes={"sla_breached_at": [None, ticket.sla_breached_at], "due": due_field},
                )
                marked += 1
    return marked


def _nps_invited_since(since):
    return SurveyInvitation.objects.filter(
        kind=SurveyKind.NPS, created_at__gte=since, contact__isnull=False
    ).values("contact_id")


# Emails (sent by the tasks in crm.tasks)


def _send(template: str, context: dict, to: str, *, contact, html: bool = False) -> None:
    # In the customer's language (Contact.language), else the installation's.
    with for_customer(contact):
        subject = render_to_string(f"crm/email/{template}_subject.txt", context).strip()
        body = render_to_string(f"crm/email/{template}.txt", context)
        # An HTML part where the email carries a message whose links should be clickable.
        html_body = render_to_string(f"crm/email/{template}.html", context) if html else None
    send_mail(" ".join(subject.split()), body, None, [to], html_message=html_body)


def email_ticket_reply(*, message: TicketMessage) -> bool:
    ticket = message.ticket
    email = ticket.contact.email if ticket.contact else ""
    if message.is_internal or not email:
        return False
    _send(
        "ticket_reply",
        {"ticket": ticket, "message": message, "link": customer_link(ticket)},
        email,
        contact=ticket.contact,
        html=True,
    )
    return True


def email_ticket_opened(*, ticket: Ticket) -> bool:
    email = ticket.contact.email if ticket.contact else ""
    if not email:
        return False
    _send(
        "ticket_opened",
        {"ticket": ticket, "link": customer_link(ticket)},
        email,
        contact=ticket.contact,
    )
    return True


def email_survey_invitation(*, invitation: SurveyInvitation) -> bool:
    """Email the invitation once; False if there is nowhere to send it or it already went."""
    from .surveys import survey_invitation_mark_sent

    if not invitation.email or invitation.sent_at is not None:
        return False
    link = absolute_url(reverse("survey", args=[invitation.token]))
    with transaction.atomic():
        # Stamped before sending: a second sender waits on the stamped row and finds it sent;
        # a failed send rolls the stamp back, so a retry sends it.
        if not survey_invitation_mark_sent(invitation=invitation):
            return False
        _send(
            "survey",
            {"invitation": invitation, "link": link},
            invitation.email,
            contact=invitation.contact,
        )
    return True


# Surveys sent by the tasks


def surveys_for_resolved_ticket(*, ticket_id: int) -> list[SurveyInvitation]:
    """Invite the ticket's contact to CSAT (and CES when configured) and email the links.

    Safe to run twice: one invitation per ticket and kind (a unique constraint), and an
    invitation already emailed is not emailed again.
    """
    from .surveys import survey_invite

    ticket = Ticket.objects.select_related("contact", "company").filter(pk=ticket_id).first()
    if ticket is None or ticket.status not in DONE_STATUSES or ticket.contact is None:
        return []
    kinds = [SurveyKind.CSAT] + ([SurveyKind.CES] if settings.CRM_SURVEY_CES_ON_RESOLVE else [])
    invitations = []
    for kind in kinds:
        invitation = SurveyInvitation.objects.filter(ticket=ticket, kind=kind).first()
        if invitation is None:
            try:
                invitation = survey_invite(kind=kind, ticket=ticket)
            except IntegrityError:  # another run created it a moment ago
                invitation = SurveyInvitation.objects.get(ticket=ticket, kind=kind)
        email_survey_invitation(invitation=invitation)
        invitations.append(invitation)
    return invitations


def nps_invite_contacts(*, contact_ids: list[int], min_gap: timedelta = NPS_ON_DEMAND_GAP) -> int:
    """Send an NPS survey to each contact with an email not invited within `min_gap`."""
    from .surveys import survey_invite

    since = timezone.now() - min_gap
    contacts = (
        Contact.objects.filter(pk__in=contact_ids)
        .exclude(email="")
        .exclude(pk__in=_nps_invited_since(since))
        .select_related("company")
        .order_by("pk")
    )
    sent = 0
    for contact in contacts:
        invitation = survey_invite(kind=SurveyKind.NPS, contact=contact)
        sent += email_survey_invitation(invitation=invitation)
    return sent


def nps_due_contact_ids(*, now=None, interval: timedelta = NPS_INTERVAL) -> list[int]:
    """Contacts of customer companies who have not been asked for their NPS in `interval`."""
    since = (now or timezone.now()) - interval
    return list(
        Contact.objects.filter(company__lifecycle=Lifecycle.CUSTOMER)
        .exclude(email="")
        .exclude(pk__in=_nps_invited_since(since))
        .order_by("pk")
        .values_list("pk", flat=True)[:NPS_BATCH]
    )
