"""Celery tasks of the automations app (thin: ids in, one service call)."""

from celery import shared_task


@shared_task(name="automations.dispatch_events", soft_time_limit=240, time_limit=280)
def dispatch_events() -> int:
    """Claim undispatched events and evaluate the enabled rules on them."""
    from .engine import dispatch_pending_events

    return dispatch_pending_events()
