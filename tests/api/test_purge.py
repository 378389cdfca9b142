"""`api.purge_old_rows` (issue 12): idempotency keys past their replay window and finished
webhook deliveries past their keep window go, in bounded batches; the rest stays."""

from datetime import timedelta

import pytest
from django.utils import timezone

from api import services as api_services
from api import tasks
from api.models import IdempotencyKey
from webhooks.models import Delivery, DeliveryAttempt, DeliveryStatus, Subscription

pytestmark = pytest.mark.django_db


def key(user, name, age):
    return IdempotencyKey.objects.create(
        user=user,
        key=name,
        method="POST",
        path="/api/deals/",
        body_hash="0" * 64,
        status=201,
        response_json={},
        created_at=timezone.now() - age,
    )


def delivery(subscription, status, age):
    made = Delivery.objects.create(subscription=subscription, status=status, body={})
    Delivery.objects.filter(pk=made.pk).update(created_at=timezone.now() - age)
    DeliveryAttempt.objects.create(delivery=made, at=timezone.now() - age, latency_ms=5)
    return made


@pytest.fixture
def subscription(admin_user):
    return Subscription.objects.create(
        owner=admin_user, url="https://hooks.example.com/crm", event_types=["*"]
    )


def test_keys_past_the_replay_window_and_old_finished_deliveries_are_purged(rep, subscription):
    old_key = key(rep, "old", timedelta(hours=25))
    fresh_key = key(rep, "fresh", timedelta(hours=23))
    old_ok = delivery(subscription, DeliveryStatus.OK, timedelta(days=31))
    old_failed = delivery(subscription, DeliveryStatus.FAILED, timedelta(days=31))
    old_pending = delivery(subscription, DeliveryStatus.PENDING, timedelta(days=31))
    recent = delivery(subscription, DeliveryStatus.OK, timedelta(days=29))

    assert tasks.purge_old_rows() == {"idempotency_keys": 1, "webhook_deliveries": 2}

    assert list(IdempotencyKey.objects.all()) == [fresh_key]
    assert not IdempotencyKey.objects.filter(pk=old_key.pk).exists()
    kept = set(Delivery.objects.values_list("pk", flat=True))
    assert kept == {old_pending.pk, recent.pk}
    assert not DeliveryAttempt.objects.filter(delivery_id__in=[old_ok.pk, old_failed.pk]).exists()
    # Run again: nothing more to do.
    assert tasks.purge_old_rows() == {"idempotency_keys": 0, "webhook_deliveries": 0}


def test_the_windows_are_settings(rep, subscription, settings):
    settings.API_IDEMPOTENCY_KEEP_HOURS = 1
    settings.WEBHOOK_DELIVERIES_KEEP_DAYS = 2
    key(rep, "two-hours", timedelta(hours=2))
    delivery(subscription, DeliveryStatus.OK, timedelta(days=3))
    assert tasks.purge_old_rows() == {"idempotency_keys": 1, "webhook_deliveries": 1}


def test_a_backlog_is_deleted_a_batch_at_a_time_up_to_the_runs_bound(rep, monkeypatch):
    monkeypatch.setattr(api_services, "PURGE_BATCH", 2)
    monkeypatch.setattr(api_services, "PURGE_MAX_BATCHES", 2)
    for n in range(7):
        key(rep, f"k{n}", timedelta(days=2))
    assert api_services.purge_in_batches(IdempotencyKey.objects.all(), batch=2, batches=2) == 4
    assert IdempotencyKey.objects.count() == 3
    assert api_services.idempotency_keys_purge() == 3
    assert not IdempotencyKey.objects.exists()


def test_a_replayed_key_still_answers_inside_its_window(api, rep, sales_team):
    api.force_authenticate(rep)
    headers = {"Idempotency-Key": "deal-1"}
    first = api.post("/api/companies/", {"name": "Acme"}, format="json", headers=headers)
    tasks.purge_old_rows()
    again = api.post("/api/companies/", {"name": "Acme"}, format="json", headers=headers)
    assert again.headers.get("Idempotent-Replay") == "true"
    assert again.json() == first.json()
