"""Webhook dispatchers racing (issue 12): three workers dispatching and delivering the same
new events at the same moment send each event once per subscription. Needs PostgreSQL (SQLite
runs one writer at a time)."""

import json
from collections import Counter

import pytest
from django.db import connection

from crm import services as crm_services
from tests.crm.factories import DealFactory
from tests.reliability.test_concurrent_dedupe import race
from tests.webhooks.receiver import Receiver
from webhooks import services
from webhooks.models import Delivery

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL"
    ),
]


def dispatch_and_deliver() -> list[str]:
    return [services.deliver(delivery_id=pk) for pk in services.dispatch_events()]


def test_racing_dispatchers_send_each_event_once(figures, settings, admin_user, rep, sales_team):
    settings.CRM_WEBHOOKS_ALLOW_PRIVATE = True
    deals = DealFactory.create_batch(3, owner=rep, team=sales_team)
    with Receiver() as receiver:
        services.subscription_create(
            actor=admin_user, data={"url": receiver.url, "event_types": ["deal.updated"]}
        )
        for number, deal in enumerate(deals):
            crm_services.record_update(deal, actor=rep, data={"name": f"Renamed {number}"})
        results = race(dispatch_and_deliver, dispatch_and_deliver, dispatch_and_deliver)

    for result in results:
        if isinstance(result, Exception):
            figures.add("server_errors", repr(result))
    sent = Counter(json.loads(body)["id"] for _path, _headers, body in receiver.requests)
    for event_id, count in sent.items():
        if count > 1:
            figures.add("duplicate_side_effects", f"event {event_id} sent {count} times")
    assert len(sent) == 3 and Delivery.objects.count() == 3
    assert set(Delivery.objects.values_list("status", flat=True)) == {"ok"}
