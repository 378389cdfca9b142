"""Webhook subscriptions and their deliveries: the only write path (views and tasks call these).

Dispatch turns new events into Delivery rows (one per subscription and event, unique in the
database) and sends them; a failed try is retried with backoff (BACKOFF_SECONDS) by the
periodic `webhooks.send_due`, which sends every delivery whose `next_attempt_at` has passed.
A try is claimed with a conditional UPDATE, so two workers never send the same try twice.
After PAUSE_AFTER deliveries in a row failed (every try), the subscription pauses and its
owner is notified; resuming it sends what waited.
"""

import json
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, Max
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from api.services import purge_in_batches
from crm.models import Event, User
from crm.services.notifications import notify

from . import outbound
from .event_types import ALL_EVENTS, known_event_types
from .models import Delivery, DeliveryAttempt, DeliveryStatus, Subscription

# Waits before the 2nd, 3rd, ... try: 1 min, 5 min, 30 min, 2 h, 6 h (six tries in all).
BACKOFF_SECONDS = (60, 300, 1800, 7200, 21600)
# A try in flight holds its delivery this long (more than the call's timeout).
LEASE_SECONDS = 60
DISPATCH_BATCH = 1000
# Event ids are taken when a transaction inserts, not when it commits: a slow transaction's
# event can become visible after a higher id. The cursor only passes events this old, and the
# younger ones are looked at again (the unique delivery makes that harmless).
SETTLE_SECONDS = 300
USER_AGENT = "crm-webhooks/1"


def pause_after() -> int:
    return int(getattr(settings, "CRM_WEBHOOKS_PAUSE_AFTER", 8))


# --- Subscriptions ------------------------------------------------------------------------------


def clean_event_types(values: list[str]) -> list[str]:
    """The subscription's types: known ones only (webhooks.event_types), `*` alone if chosen."""
    if isinstance(values, str) or not all(isinstance(value, str) for value in values or []):
        raise ValidationError({"event_types": _("Choose the event types from the list.")})
    types = list(dict.fromkeys(value.strip() for value in values if value.strip()))
    if not types:
        raise ValidationError({"event_types": _("Choose at least one event type, or *.")})
    known = set(known_event_types())
    unknown = [value for value in types if value not in known]
    if unknown:
        raise ValidationError(
            {
                "event_types": _("Not an event type: %(types)s (e.g. deal.stage_changed, deal.*)")
                % {"types": ", ".join(unknown[:5])[:200]}
            }
        )
    return [ALL_EVENTS] if ALL_EVENTS in types else types


def subscription_create(*, actor: User, data: dict) -> Subscription:
    outbound.check_url(data["url"])
    types = clean_event_types(data["event_types"])
    with transaction.atomic():
        # Only events after this one are delivered: a subscription does not replay the past.
        latest = Event.objects.aggregate(last=Max("id"))["last"] or 0
        return Subscription.objects.create(
            owner=actor,
            name=data.get("name", ""),
            url=data["url"],
            event_types=types,
            active=data.get("active", True),
            last_event_id=latest,
        )


def subscription_update(*, subscription: Subscription, data: dict) -> Subscription:
    outbound.check_url(data["url"])
    subscription.name = data.get("name", subscription.name)
    subscription.url = data["url"]
    subscription.event_types = clean_event_types(data["event_types"])
    subscription.active = data.get("active", subscription.active)
    subscription.save(update_fields=["name", "url", "event_types", "active"])
    return subscription


def subscription_pause(*, subscription: Subscription) -> None:
    Subscription.objects.filter(pk=subscription.pk, paused_at__isnull=True).update(
        paused_at=timezone.now()
    )


def subscription_resume(*, subscription: Subscription) -> None:
    """Send again: the failures count restarts and deliveries that waited are due now."""
    with transaction.atomic():
        Subscription.objects.filter(pk=subscription.pk).update(paused_at=None, failure_count=0)
        subscription.deliveries.filter(status=DeliveryStatus.PENDING).update(
            next_attempt_at=timezone.now()
        )
    transaction.on_commit(send_due_later, robust=True)


# --- Dispatch -----------------------------------------------------------------------------------


def event_body(event: Event) -> dict:
    return {
        "id": event.pk,
        "type": event.type,
        "occurred_at": event.occurred_at,
        "record": {"type": event.record_type, "id": event.record_id},
        "actor": (
            {"id": event.actor_id, "username": event.actor.username} if event.actor_id else None
        ),
        "changes": event.changes,
        "context": event.context,
    }


def dispatch_events() -> list[int]:
    """Make the deliveries of events newer than each sending subscription's cursor.

    Safe to run twice at once: the unique (subscription, event) keeps one delivery each, and
    the cursor only moves forward. A paused subscription's events wait for it to resume.
    Returns the ids of the deliveries due now.
    """
    settled = timezone.now() - timedelta(seconds=SETTLE_SECONDS)
    for subscription in Subscription.objects.filter(active=True, paused_at__isnull=True):
        events = list(
            Event.objects.filter(pk__gt=subscription.last_event_id)
            .select_related("actor")
            .order_by("pk")[:DISPATCH_BATCH]
        )
        if not events:
            continue
        now = timezone.now()
        Delivery.objects.bulk_create(
            [
                Delivery(
                    subscription=subscription,
                    event=event,
                    body=json.loads(json.dumps(event_body(event), cls=DjangoJSONEncoder)),
                    next_attempt_at=now,
                )
                for event in events
                if subscription.wants(event.type)
            ],
            ignore_conflicts=True,
        )
        cursor = subscription.last_event_id
        for event in events:
            if event.occurred_at > settled:
                break
            cursor = event.pk
        Subscription.objects.filter(pk=subscription.pk, last_event_id__lt=cursor).update(
            last_event_id=cursor
        )
    return due_delivery_ids()


def due_delivery_ids(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    return list(
        Delivery.objects.filter(
            status=DeliveryStatus.PENDING,
            next_attempt_at__lte=now or timezone.now(),
            subscription__active=True,
            subscription__paused_at__isnull=True,
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def send_due_later() -> None:
    from .tasks import send_due

    send_due.delay()


# --- Delivery -----------------------------------------------------------------------------------


def deliver(*, delivery_id: int, now: datetime | None = None) -> str:
    """One try of a due delivery: "ok", "retry", "failed", or "skipped" (not due, or taken)."""
    now = now or timezone.now()
    delivery = Delivery.objects.select_related("subscription").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return "skipped"
    subscription = delivery.subscription
    if not subscription.is_sending and delivery.event_id is not None:
        return "skipped"
    # Claim this try: only one worker moves attempts from n to n + 1.
    claimed = Delivery.objects.filter(
        pk=delivery.pk,
        status=DeliveryStatus.PENDING,
        attempts=delivery.attempts,
        next_attempt_at__lte=now,
    ).update(attempts=F("attempts") + 1, next_attempt_at=now + timedelta(seconds=LEASE_SECONDS))
    if not claimed:
        return "skipped"
    attempt = delivery.attempts + 1
    body = json.dumps(delivery.body, sort_keys=True).encode()
    response = outbound.post_json(
        subscription.url,
        body,
        headers={"User-Agent": USER_AGENT, **outbound.signed_headers(body, subscription.secret)},
    )
    ok = response.status is not None and 200 <= response.status < 300
    error = response.error or ("" if ok else f"HTTP {response.status}")
    final = not ok and (response.refused or attempt > len(BACKOFF_SECONDS))
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            delivery=delivery,
            at=now,
            status_code=response.status,
            latency_ms=response.latency_ms,
            error=error[:500],
        )
        if ok:
            status, next_at = DeliveryStatus.OK, None
        elif final:
            status, next_at = DeliveryStatus.FAILED, None
        else:
            status = DeliveryStatus.PENDING
            next_at = now + timedelta(seconds=BACKOFF_SECONDS[attempt - 1])
        Delivery.objects.filter(pk=delivery.pk).update(
            status=status,
            last_status_code=response.status,
            last_error=error[:500],
            last_latency_ms=response.latency_ms,
            next_attempt_at=next_at,
        )
        if delivery.event_id is not None:
            if ok:
                Subscription.objects.filter(pk=subscription.pk).update(failure_count=0)
            elif final:
                _count_failure(subscription)
    return "ok" if ok else ("failed" if final else "retry")


def _count_failure(subscription: Subscription) -> None:
    Subscription.objects.filter(pk=subscription.pk).update(failure_count=F("failure_count") + 1)
    subscription.refresh_from_db(fields=["failure_count", "paused_at"])
    if subscription.failure_count < pause_after() or subscription.paused_at is not None:
        return
    paused = Subscription.objects.filter(pk=subscription.pk, paused_at__isnull=True).update(
        paused_at=timezone.now()
    )
    if paused:
        notify(
            recipients=[subscription.owner],
            title=_("Webhook paused: %(name)s") % {"name": str(subscription)[:120]},
            body=ngettext(
                "%(count)s delivery failed, so no more are sent until you resume it.",
                "%(count)s deliveries in a row failed, so no more are sent until you resume it.",
                subscription.failure_count,
            )
            % {"count": subscription.failure_count},
            url=reverse("settings-webhook", args=[subscription.pk]),
            kind="webhook",
            key=f"webhook-paused:{subscription.pk}:{subscription.failure_count}",
        )


def send_test(*, subscription: Subscription, actor: User) -> Delivery:
    """A sample event sent once now (no retries), shown in the delivery log."""
    now = timezone.now()
    delivery = Delivery.objects.create(
        subscription=subscription,
        event=None,
        body=json.loads(
            json.dumps(
                {
                    "id": None,
                    "type": "webhook.test",
                    "occurred_at": now,
                    "record": None,
                    "actor": {"id": actor.pk, "username": actor.username},
                    "changes": {},
                    "context": {"test": True},
                },
                cls=DjangoJSONEncoder,
            )
        ),
        next_attempt_at=now,
    )
    deliver(delivery_id=delivery.pk, now=now)
    # A test is tried once: a failure is final.
    Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.FAILED, next_attempt_at=None
    )
    delivery.refresh_from_db()
    return delivery


# --- Keeping the log short -----------------------------------------------------------------------


def deliveries_keep() -> timedelta:
    """How long a finished delivery (and its tries) stays in the subscription's log."""
    return timedelta(days=int(getattr(settings, "WEBHOOK_DELIVERIES_KEEP_DAYS", 30)))


def deliveries_purge(*, now: datetime | None = None) -> int:
    """Delete delivered and failed deliveries older than the keep window, in bounded batches;
    a pending one (a paused subscription's) waits to be sent, however old. The number deleted."""
    cutoff = (now or timezone.now()) - deliveries_keep()
    finished = Delivery.objects.filter(
        created_at__lt=cutoff, status__in=[DeliveryStatus.OK, DeliveryStatus.FAILED]
    )
    return purge_in_batches(finished)
