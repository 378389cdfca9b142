"""In-app notifications (the bell), shared by goals and automations.

A notification goes to each recipient once per `key`: the database's unique constraint decides,
so a milestone checked by two workers at once still notifies once. Recipients who opted in
(`User.preferences["notify_email"]`) are emailed after commit by a Celery task.
"""

from collections.abc import Iterable

from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from crm.models import Notification, User

from .dispatch import enqueue_on_commit

EMAIL_PREFERENCE = "notify_email"


def wants_email(user: User) -> bool:
    return bool((user.preferences or {}).get(EMAIL_PREFERENCE))


@transaction.atomic
def notify(
    *,
    recipients: Iterable[User],
    title: str,
    body: str = "",
    url: str = "",
    kind: str = "",
    key: str = "",
) -> list[Notification]:
    """Notify each recipient (once per `key` when given); returns the notifications created."""
    created = []
    for recipient in {user.pk: user for user in recipients if user and user.is_active}.values():
        notification = _create_once(
            recipient=recipient, title=title[:200], body=body, url=url[:300], kind=kind, key=key
        )
        if notification is None:
            continue
        created.append(notification)
        if wants_email(recipient) and recipient.email:
            enqueue_on_commit("send_notification_email", notification.pk)
    return created


def _create_once(**fields) -> Notification | None:
    if not fields["key"]:
        return Notification.objects.create(**fields)
    try:
        with transaction.atomic():
            return Notification.objects.create(**fields)
    except IntegrityError:
        return None  # this recipient already had it


def notification_email(*, notification_id: int) -> bool:
    """Email one notification, once: the row is claimed before the mail goes out."""
    claimed = Notification.objects.filter(pk=notification_id, emailed_at__isnull=True).update(
        emailed_at=timezone.now()
    )
    if not claimed:
        return False
    notification = Notification.objects.select_related("recipient").get(pk=notification_id)
    recipient = notification.recipient
    if not (wants_email(recipient) and recipient.email):
        return False
    from django.conf import settings

    context = {"notification": notification, "base_url": settings.CRM_BASE_URL.rstrip("/")}
    # In the language the user chose, else the installation's.
    with translation.override(recipient.language or settings.LANGUAGE_CODE):
        subject = render_to_string("crm/email/notification_subject.txt", context)
        body = render_to_string("crm/email/notification.txt", context)
    try:
        send_mail(" ".join(subject.split()), body, None, [recipient.email])
    except Exception:
        # Let the task retry: the claim is released so the next try sends it.
        Notification.objects.filter(pk=notification_id).update(emailed_at=None)
        raise
    return True


def notifications_mark_read(*, user: User, ids: Iterable[int] | None = None) -> int:
    """Mark the user's notifications read (all unread ones when `ids` is None)."""
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=list(ids))
    return unread.update(read_at=timezone.now())


def notifications_set_email(*, user: User, enabled: bool) -> None:
    preferences = dict(user.preferences or {})
    preferences[EMAIL_PREFERENCE] = bool(enabled)
    user.preferences = preferences
    user.save(update_fields=["preferences"])
