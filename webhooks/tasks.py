"""Celery tasks of the webhooks app (thin: ids in, one service call, safe to run twice)."""

from celery import shared_task


@shared_task(name="webhooks.dispatch", soft_time_limit=240, time_limit=280)
def dispatch_webhooks() -> int:
    """After a transaction wrote events: make their deliveries and send them."""
    from .services import dispatch_events

    ids = dispatch_events()
    for delivery_id in ids:
        deliver.delay(delivery_id)
    return len(ids)


@shared_task(name="webhooks.send_due", soft_time_limit=50, time_limit=60)
def send_due() -> int:
    """Every 30 s: deliveries of events a commit-time dispatch missed, and due retries."""
    return dispatch_webhooks()


@shared_task(name="webhooks.deliver", soft_time_limit=30, time_limit=45)
def deliver(delivery_id: int) -> str:
    """One try of one delivery (the next, if it fails, is due after its backoff)."""
    from .services import deliver as deliver_once

    return deliver_once(delivery_id=delivery_id)
