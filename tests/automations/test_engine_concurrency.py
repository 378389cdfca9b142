"""Several workers dispatching at once: each event is claimed by exactly one of them."""

import threading

import pytest
from django.db import connection, connections

from automations import engine
from automations.models import RuleRun
from crm.models import Activity, Event
from tests.automations.factories import make_rule
from tests.crm.factories import DealFactory

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL"
    ),
]

WORKERS = 4
EVENTS = 400


def test_concurrent_dispatchers_claim_each_event_once(monkeypatch, admin_user):
    deal = DealFactory(owner=admin_user)
    make_rule(
        trigger={"type": "record.updated", "record_type": "deal"},
        actions=[{"type": "add_note", "body": "seen"}],
    )
    Event.objects.update(dispatched_at="2026-01-01T00:00:00Z")
    Event.objects.bulk_create(
        Event(type="deal.updated", record_type="deal", record_id=deal.pk, changes={"n": [0, n]})
        for n in range(EVENTS)
    )
    claimed: dict[int, list[int]] = {}
    real_claim = engine.claim_events

    def recording_claim(limit):
        events = real_claim(limit)
        claimed.setdefault(threading.get_ident(), []).extend(event.pk for event in events)
        return events

    monkeypatch.setattr(engine, "claim_events", recording_claim)
    start = threading.Barrier(WORKERS)

    def worker():
        try:
            start.wait()
            engine.dispatch_pending_events(batch_size=25)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _n in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    everything = [pk for ids in claimed.values() for pk in ids]
    assert len(everything) == len(set(everything)) >= EVENTS  # nobody claimed a row twice
    assert len([ids for ids in claimed.values() if ids]) > 1  # the work was shared
    assert RuleRun.objects.count() == Activity.objects.count() == EVENTS
    assert not Event.objects.filter(dispatched_at__isnull=True).exists()
