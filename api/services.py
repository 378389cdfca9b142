"""Making and revoking personal API tokens: the only write path for api.ApiToken."""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm import access, services
from crm.limits import check_text_lengths
from crm.models import Ticket, User

from .models import TOKEN_PREFIX_LENGTH, ApiToken, IdempotencyKey, hash_secret

# Rows deleted per statement, and statements per run: a purge never holds long locks, and a
# backlog (the first run, a long outage) is worked off over a few runs.
PURGE_BATCH = 1000
PURGE_MAX_BATCHES = 50


def api_token_create(
    *, user: User, name: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """A new token and its secret; the secret is returned once and never stored."""
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": _("Choose a time in the future.")})
    secret = ApiToken.new_secret()
    token = ApiToken(
        user=user,
        name=name.strip(),
        prefix=secret[:TOKEN_PREFIX_LENGTH],
        key_hash=hash_secret(secret),
        expires_at=expires_at,
    )
    check_text_lengths(token)
    token.full_clean()
    token.save()
    return token, secret


def api_token_revoke(*, token: ApiToken) -> ApiToken:
    """Revoke once: a second revoke keeps the first time."""
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    token.refresh_from_db(fields=["revoked_at"])
    return token


def idempotency_keys_keep() -> timedelta:
    """How long a POST's first answer is replayed for its key (the clients' retry window)."""
    return timedelta(hours=int(getattr(settings, "API_IDEMPOTENCY_KEEP_HOURS", 24)))


def idempotency_keys_purge(*, now: datetime | None = None) -> int:
    """Delete the keys older than their replay window; the number deleted."""
    cutoff = (now or timezone.now()) - idempotency_keys_keep()
    return purge_in_batches(IdempotencyKey.objects.filter(created_at__lt=cutoff))


def purge_in_batches(queryset, *, batch: int = PURGE_BATCH, batches: int = PURGE_MAX_BATCHES):
    """Delete the rows of `queryset`, `batch` ids at a time, at most `batches` times."""
    deleted = 0
    for _round in range(batches):
        ids = list(queryset.order_by("pk").values_list("pk", flat=True)[:batch])
        if not ids:
            break
        queryset.model._default_manager.filter(pk__in=ids).delete()
        deleted += len(ids)
        if len(ids) < batch:
            break
    return deleted


def ticket_open(*, actor: User, data: dict) -> Ticket:
    """A ticket opened through the API as the agents' "new ticket" page opens one (the
    customer's contact found or made by email, their team, its custom values, the customer
    emailed), in one transaction. The same request sent twice within minutes
    answers the ticket the first one opened, if the user sees it; else nothing is written."""
    data = dict(data)
    custom = data.pop("custom", None)
    with transaction.atomic():
        ticket = services.ticket_open_for_customer(
            actor=actor,
            name=data["name"],
            email=data["email"],
            subject=data["subject"],
            message=data["description"],
            channel=data["channel"],
            priority=data["priority"],
            assignee=data.get("assignee"),
            custom=custom,
        )
        if not access.visible(Ticket, actor).filter(pk=ticket.pk).exists():
            raise ValidationError(
                _("This request was already received as a ticket that you do not see.")
            )
    return ticket
