import time
from smtplib import SMTPException

from celery import shared_task

from crm import services
from crm.models import Ticket, TicketMessage


@shared_task(name="crm.ping", soft_time_limit=10, time_limit=20)
def ping(value: str, hold_seconds: float = 0) -> str:
    """Answers with what it was given: a health check of the broker and the workers. It can hold
    its worker busy for a few seconds, so a shutdown can be tried with a task in flight."""
    time.sleep(min(max(float(hold_seconds), 0.0), 8.0))
    return f"pong: {value}"


# Support desk. Each task takes ids, loads the rows and calls one service (DESIGN.md, "Tasks
# are interfaces too"); each is safe to run twice. Only mail-server hiccups are retried.

MAIL_ERRORS = (SMTPException, ConnectionError, TimeoutError)
MAIL_RETRY = {
    "autoretry_for": MAIL_ERRORS,
    "retry_backoff": 30,
    "retry_jitter": True,
    "max_retries": 5,
    "soft_time_limit": 60,
    "time_limit": 90,
}


@shared_task(name="crm.mark_sla_breaches", soft_time_limit=240, time_limit=280)
def mark_sla_breaches() -> int:
    """Periodic: stamp the tickets whose SLA due time passed unmet."""
    return services.sla_mark_breaches()


@shared_task(name="crm.send_resolution_surveys", **MAIL_RETRY)
def send_resolution_surveys(ticket_id: int) -> list[int]:
    """After a ticket is resolved: email the CSAT (and, if configured, CES) survey."""
    return [i.pk for i in services.surveys_for_resolved_ticket(ticket_id=ticket_id)]


@shared_task(name="crm.send_nps_surveys", **MAIL_RETRY)
def send_nps_surveys(contact_ids: list[int]) -> int:
    """On demand (a company's contacts): email an NPS survey to each."""
    return services.nps_invite_contacts(contact_ids=contact_ids)


@shared_task(name="crm.send_scheduled_nps_surveys", soft_time_limit=600, time_limit=660)
def send_scheduled_nps_surveys() -> int:
    """Periodic: an NPS survey for customer contacts not asked in a quarter."""
    from crm.services.support import nps_due_contact_ids

    ids = nps_due_contact_ids()
    # In small batches, so a mail-server hiccup retries a few contacts, not all of them.
    for start in range(0, len(ids), 50):
        send_nps_surveys.delay(ids[start : start + 50])
    return len(ids)


@shared_task(name="crm.send_ticket_reply_email", **MAIL_RETRY)
def send_ticket_reply_email(message_id: int) -> bool:
    message = TicketMessage.objects.select_related("ticket__contact").filter(pk=message_id).first()
    return bool(message) and services.support.email_ticket_reply(message=message)


@shared_task(name="crm.send_ticket_opened_email", **MAIL_RETRY)
def send_ticket_opened_email(ticket_id: int) -> bool:
    ticket = Ticket.objects.select_related("contact").filter(pk=ticket_id).first()
    return bool(ticket) and services.support.email_ticket_opened(ticket=ticket)


@shared_task(name="crm.send_notification_email", **MAIL_RETRY)
def send_notification_email(notification_id: int) -> bool:
    """A notification's email, for a recipient who opted in (sent once)."""
    from crm.services.notifications import notification_email

    return notification_email(notification_id=notification_id)


@shared_task(name="crm.send_invitation_email", **MAIL_RETRY)
def send_invitation_email(user_id: int) -> bool:
    """A new user's invitation: the link to choose their password (settings, users)."""
    from crm.services.users import email_invitation

    return email_invitation(user_id=user_id)
