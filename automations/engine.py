"""Evaluating rules on events (being built: see issue 11)."""

from django.db.models import Max
from django.utils import timezone

from crm.models import Event


def dispatch_pending_events() -> int:
    """Claims every undispatched event; rule evaluation comes with the rules engine."""
    last = Event.objects.filter(dispatched_at__isnull=True).aggregate(last=Max("id"))["last"]
    if last is None:
        return 0
    return Event.objects.filter(dispatched_at__isnull=True, id__lte=last).update(
        dispatched_at=timezone.now()
    )
