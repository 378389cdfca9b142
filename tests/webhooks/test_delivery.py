"""Outbound webhooks (issue 12): each event POSTed once per subscription, signed, every try
logged, retried with backoff, and a subscription that keeps failing paused with its owner told.
"""

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from crm import services as crm_services
from crm.models import Event, Notification
from tests.crm.factories import DealFactory
from tests.webhooks.receiver import Receiver
from webhooks import outbound, services, tasks
from webhooks.models import Delivery, DeliveryAttempt, DeliveryStatus, Subscription

pytestmark = pytest.mark.django_db


def subscribe(owner, url, types=("deal.*",)) -> Subscription:
    return services.subscription_create(
        actor=owner, data={"name": "Billing", "url": url, "event_types": list(types)}
    )


def rename(deal, actor, name):
    crm_services.record_update(deal, actor=actor, data={"name": name})


def due_all(now):
    return [services.deliver(delivery_id=pk, now=now) for pk in services.due_delivery_ids(now=now)]


def test_the_event_is_posted_as_json_with_a_signature_the_receiver_can_check(
    admin_user, rep, sales_team, allow_private, eager_tasks
):
    deal = DealFactory(owner=rep, team=sales_team, name="Initech")
    with Receiver([200]) as receiver:
        subscription = subscribe(admin_user, receiver.url)
        rename(deal, rep, "Initech 2")
        assert tasks.dispatch_webhooks.apply().get() == 1

    [(path, headers, body)] = receiver.requests
    assert path == "/hook" and headers["content-type"] == "application/json"
    timestamp = headers["x-crm-timestamp"]
    expected = hmac.new(
        subscription.secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(headers["x-crm-signature"], f"sha256={expected}")
    assert abs(int(timestamp) - timezone.now().timestamp()) < 60
    event = json.loads(body)
    assert event["type"] == "deal.updated" and event["record"] == {"type": "deal", "id": deal.pk}
    assert event["actor"] == {"id": rep.pk, "username": "ana"}
    assert event["changes"]["name"] == ["Initech", "Initech 2"] and event["occurred_at"]
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("ok", 1, 200)
    attempt = DeliveryAttempt.objects.get()
    assert attempt.status_code == 200 and attempt.latency_ms >= 0 and not attempt.error


def test_an_event_is_delivered_once_per_subscription_when_dispatch_runs_twice(
    admin_user, rep, sales_team, allow_private, eager_tasks
):
    deal = DealFactory(owner=rep, team=sales_team)
    with Receiver() as receiver:
        first, second = subscribe(admin_user, receiver.url), subscribe(admin_user, receiver.url)
        subscribe(admin_user, receiver.url, types=["ticket.resolved"])  # not this event
        rename(deal, rep, "Renamed")
        # Two dispatchers racing: both see the new event before either delivers.
        services.dispatch_events()
        services.dispatch_events()
        tasks.dispatch_webhooks.apply()
        tasks.dispatch_webhooks.apply()
        tasks.send_due.apply()

    assert Delivery.objects.count() == 2
    assert {d.subscription_id for d in Delivery.objects.all()} == {first.pk, second.pk}
    assert len(receiver.requests) == 2 and DeliveryAttempt.objects.count() == 2


def test_a_new_subscription_does_not_replay_past_events(admin_user, rep, sales_team):
    deal = DealFactory(owner=rep, team=sales_team)
    rename(deal, rep, "Before")
    subscribe(admin_user, "https://93.184.215.14/hook")
    assert services.dispatch_events() == [] and not Delivery.objects.exists()


def test_a_failing_receiver_is_retried_with_backoff_until_it_answers(
    admin_user, rep, sales_team, allow_private, eager_tasks
):
    deal = DealFactory(owner=rep, team=sales_team)
    with Receiver([500, 503, 200]) as receiver:
        subscribe(admin_user, receiver.url)
        rename(deal, rep, "Renamed")
        start = timezone.now()
        tasks.dispatch_webhooks.apply()
        delivery = Delivery.objects.get()
        assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
            "pending",
            1,
            500,
        )
        assert abs(delivery.next_attempt_at - (start + timedelta(minutes=1))) < timedelta(seconds=5)
        # Not due yet: the sweep sends nothing.
        tasks.send_due.apply()
        assert len(receiver.requests) == 1

        later = delivery.next_attempt_at
        assert due_all(later) == ["retry"]
        delivery.refresh_from_db()
        assert delivery.next_attempt_at == later + timedelta(minutes=5)
        assert due_all(delivery.next_attempt_at) == ["ok"]

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("ok", 3, None)
    tries = list(delivery.tries.values_list("status_code", flat=True))
    assert tries == [500, 503, 200] and len(receiver.requests) == 3
    assert services.BACKOFF_SECONDS == (60, 300, 1800, 7200, 21600)


def test_a_receiver_that_times_out_is_retried(
    admin_user, rep, sales_team, allow_private, monkeypatch
):
    monkeypatch.setattr(outbound, "TIMEOUT_SECONDS", 0.2)
    deal = DealFactory(owner=rep, team=sales_team)
    with Receiver([200], delay=0.6) as receiver:
        subscribe(admin_user, receiver.url)
        rename(deal, rep, "Renamed")
        [delivery_id] = services.dispatch_events()
        assert services.deliver(delivery_id=delivery_id) == "retry"

    delivery = Delivery.objects.get()
    assert delivery.status == "pending" and delivery.last_status_code is None
    assert "timed out" in delivery.last_error.lower() and delivery.next_attempt_at
    assert delivery.tries.get().latency_ms >= 200


def test_a_redirect_is_not_followed(admin_user, rep, sales_team, allow_private):
    deal = DealFactory(owner=rep, team=sales_team)
    with Receiver([302]) as receiver:
        subscribe(admin_user, receiver.url)
        rename(deal, rep, "Renamed")
        [delivery_id] = services.dispatch_events()
        services.deliver(delivery_id=delivery_id)
    assert len(receiver.requests) == 1
    assert Delivery.objects.get().last_status_code == 302


def test_a_subscription_that_keeps_failing_is_paused_and_its_owner_told(
    admin_user, rep, sales_team, allow_private, settings, monkeypatch
):
    settings.CRM_WEBHOOKS_PAUSE_AFTER = 2
    monkeypatch.setattr(services, "BACKOFF_SECONDS", (60,))  # two tries per delivery
    deals = DealFactory.create_batch(3, owner=rep, team=sales_team)
    subscription = subscribe(admin_user, "http://127.0.0.1:9/closed")
    rename(deals[0], rep, "One")
    rename(deals[1], rep, "Two")
    services.dispatch_events()
    now = timezone.now()
    assert due_all(now) == ["retry", "retry"]
    assert due_all(now + timedelta(minutes=1)) == ["failed", "failed"]

    subscription.refresh_from_db()
    assert subscription.paused_at is not None and subscription.failure_count == 2
    assert Delivery.objects.filter(status=DeliveryStatus.FAILED).count() == 2
    assert DeliveryAttempt.objects.filter(status_code=None).exclude(error="").count() == 4
    [note] = Notification.objects.filter(recipient=admin_user, kind="webhook")
    assert "Billing" in note.title and note.url == f"/settings/webhooks/{subscription.pk}/"

    # Paused: new events wait (no delivery, nothing sent) until an admin resumes it.
    rename(deals[2], rep, "Three")
    assert services.dispatch_events() == [] and Delivery.objects.count() == 2
    services.subscription_resume(subscription=subscription)
    subscription.refresh_from_db()
    assert subscription.paused_at is None and subscription.failure_count == 0
    assert len(services.dispatch_events()) == 1


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://localhost/hook",
        "https://0.0.0.0/hook",
        "http://93.184.215.14/hook",
        "ftp://93.184.215.14/hook",
        "https://user:pass@93.184.215.14/hook",
        "https://no-such-host.invalid/hook",
    ],
)
def test_internal_and_non_https_urls_are_refused(url, admin_user):
    with pytest.raises(ValidationError):
        subscribe(admin_user, url)
    assert not Subscription.objects.exists()


def test_an_address_is_checked_again_when_delivering(
    admin_user, rep, sales_team, allow_private, settings
):
    """A URL saved while allowed (or a name that later resolves inside) is not called."""
    deal = DealFactory(owner=rep, team=sales_team)
    with Receiver() as receiver:
        subscribe(admin_user, receiver.url)
        rename(deal, rep, "Renamed")
        [delivery_id] = services.dispatch_events()
        settings.CRM_WEBHOOKS_ALLOW_PRIVATE = False
        assert services.deliver(delivery_id=delivery_id) == "failed"
    assert receiver.requests == []
    delivery = Delivery.objects.get()
    assert delivery.status == "failed" and "https" in delivery.last_error


def test_an_event_committed_after_a_later_one_is_still_delivered(
    admin_user, rep, sales_team, allow_private
):
    """Ids are taken at insert, not at commit: the cursor does not pass a recent event, so one
    whose slow transaction commits after a higher id was dispatched is still found."""
    deals = DealFactory.create_batch(2, owner=rep, team=sales_team)
    subscription = subscribe(admin_user, "https://93.184.215.14/hook")
    rename(deals[0], rep, "First")
    rename(deals[1], rep, "Second")
    first, _second = Event.objects.filter(type="deal.updated").order_by("pk")
    first.delete()  # not visible yet: its transaction is still open
    assert len(services.dispatch_events()) == 1
    Event.objects.bulk_create([first])  # its transaction commits
    assert len(services.dispatch_events()) == 2 and Delivery.objects.count() == 2

    # Once the events are old enough, the cursor passes them and they are not read again.
    Event.objects.update(occurred_at=timezone.now() - timedelta(minutes=10))
    services.dispatch_events()
    subscription.refresh_from_db()
    assert subscription.last_event_id == Event.objects.latest("pk").pk


def test_events_are_dispatched_when_their_transaction_commits(
    admin_user, rep, sales_team, allow_private, eager_tasks, django_capture_on_commit_callbacks
):
    deal = DealFactory(owner=rep, team=sales_team)
    with Receiver() as receiver:
        subscribe(admin_user, receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            rename(deal, rep, "Renamed")
    assert len(receiver.requests) == 1 and Delivery.objects.get().status == "ok"
