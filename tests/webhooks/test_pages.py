"""The admins' webhook pages (/settings/webhooks/): list, create (the secret shown), edit,
pause and resume, a test event, the delivery log with every try; SSRF refused on the form
with nothing written; every other role gets 403 with nothing written."""

import pytest
from django.urls import reverse

from crm import services as crm_services
from tests.crm.factories import DealFactory
from tests.webhooks.receiver import Receiver
from webhooks import services
from webhooks.models import Delivery, DeliveryAttempt, Subscription

pytestmark = pytest.mark.django_db
PUBLIC = "https://93.184.215.14/hook"


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def subscription(admin_user):
    return services.subscription_create(
        actor=admin_user, data={"name": "Billing", "url": PUBLIC, "event_types": ["deal.*"]}
    )


def urls(subscription) -> list[str]:
    return [
        reverse("settings-webhooks"),
        *(
            reverse(name, args=[subscription.pk])
            for name in ("settings-webhook", "settings-webhook-pause", "settings-webhook-test")
        ),
    ]


@pytest.mark.parametrize("persona", ["rep", "agent", "manager"])
def test_other_roles_get_403_and_write_nothing(client, request, persona, subscription):
    client.force_login(request.getfixturevalue(persona))
    for url in urls(subscription):
        assert client.get(url).status_code == 403, url
        posted = client.post(url, {"url": PUBLIC, "event_types": "*", "active": "on"})
        assert posted.status_code == 403, url
    assert Subscription.objects.count() == 1 and not Delivery.objects.exists()
    subscription.refresh_from_db()
    assert subscription.paused_at is None and subscription.event_types == ["deal.*"]


def test_anonymous_visitors_are_sent_to_log_in(client, subscription):
    for url in urls(subscription):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("login")), url


def test_admin_adds_a_webhook_and_sees_its_secret(admin_client, admin_user):
    response = admin_client.post(
        reverse("settings-webhooks"),
        {
            "name": "Billing",
            "url": PUBLIC,
            "event_types": ["deal.stage_changed", "lead.*"],
            "active": "on",
        },
    )
    subscription = Subscription.objects.get()
    assert response.url == reverse("settings-webhook", args=[subscription.pk])
    assert subscription.owner == admin_user and subscription.active
    assert subscription.event_types == ["deal.stage_changed", "lead.*"]
    page = admin_client.get(response.url).content.decode()
    assert subscription.secret in page and len(subscription.secret) == 64
    listing = admin_client.get(reverse("settings-webhooks")).content.decode()
    assert "Billing" in listing and reverse("settings-webhooks") in listing


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://10.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/hook",
        "https://localhost/hook",
        "http://93.184.215.14/hook",
        "javascript:alert(1)",
        "not a url",
        "https://" + "a" * 600,
    ],
)
def test_an_internal_or_bad_url_is_a_form_error_and_writes_nothing(admin_client, url):
    response = admin_client.post(
        reverse("settings-webhooks"), {"url": url, "event_types": "*", "active": "on"}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["url"]
    assert not Subscription.objects.exists()


@pytest.mark.parametrize(
    "types",
    [
        ["deal.stage_changed", "DROP;"],
        ["deal.made_up"],
        ["nothing.*"],
        "deal.stage_changed, lead.*",
        [],
    ],
)
def test_unknown_event_types_are_a_form_error(admin_client, types):
    response = admin_client.post(
        reverse("settings-webhooks"), {"url": PUBLIC, "event_types": types}
    )
    assert response.status_code == 400 and response.context["form"].errors["event_types"]
    assert not Subscription.objects.exists()


def test_the_form_offers_the_known_event_types_as_checkboxes(admin_client, subscription):
    page = admin_client.get(reverse("settings-webhooks")).content.decode()
    for value in ("*", "deal.*", "deal.stage_changed", "ticket.resolved", "lead.converted"):
        assert f'type="checkbox" name="event_types" value="{value}"' in page
    edit = admin_client.get(reverse("settings-webhook", args=[subscription.pk])).content.decode()
    assert 'value="deal.*" id="id_event_types_' in edit
    checked = edit.split('value="deal.*"', 1)[1].split(">", 1)[0]
    assert "checked" in checked
    assert "checked" not in edit.split('value="lead.*"', 1)[1].split(">", 1)[0]


def test_the_service_refuses_unknown_types_too(admin_user):
    from django.core.exceptions import ValidationError

    for types in (["deal.made_up"], "deal.*", [1], []):
        with pytest.raises(ValidationError) as refused:
            services.subscription_create(
                actor=admin_user, data={"url": PUBLIC, "event_types": types}
            )
        assert "event_types" in refused.value.message_dict
    assert not Subscription.objects.exists()
    made = services.subscription_create(
        actor=admin_user, data={"url": PUBLIC, "event_types": ["deal.*", "*"]}
    )
    assert made.event_types == ["*"]


def test_admin_edits_pauses_and_resumes_a_webhook(admin_client, subscription):
    url = reverse("settings-webhook", args=[subscription.pk])
    response = admin_client.post(url, {"name": "Ledger", "url": PUBLIC, "event_types": "*"})
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert (subscription.name, subscription.event_types, subscription.active) == (
        "Ledger",
        ["*"],
        False,
    )
    refused = admin_client.post(url, {"url": "https://127.0.0.1/", "event_types": "*"})
    assert refused.status_code == 400
    subscription.refresh_from_db()
    assert subscription.url == PUBLIC

    pause = reverse("settings-webhook-pause", args=[subscription.pk])
    assert admin_client.get(pause).status_code == 405
    admin_client.post(pause)
    subscription.refresh_from_db()
    assert subscription.paused_at is not None
    assert "Resume" in admin_client.get(url).content.decode()
    admin_client.post(pause)
    subscription.refresh_from_db()
    assert subscription.paused_at is None


def test_send_test_event_and_the_delivery_log_shows_every_try(
    admin_client, admin_user, rep, sales_team, allow_private
):
    with Receiver([500, 200]) as receiver:
        subscription = services.subscription_create(
            actor=admin_user, data={"url": receiver.url, "event_types": ["deal.*"]}
        )
        deal = DealFactory(owner=rep, team=sales_team)
        crm_services.record_update(deal, actor=rep, data={"name": "Renamed"})
        [delivery_id] = services.dispatch_events()
        services.deliver(delivery_id=delivery_id)  # HTTP 500: waits for its retry
        response = admin_client.post(reverse("settings-webhook-test", args=[subscription.pk]))
    assert response.status_code == 302
    assert [b'"webhook.test"' in body for _path, _headers, body in receiver.requests] == [
        False,
        True,
    ]
    test = Delivery.objects.get(event=None)
    assert test.status == "ok" and test.last_status_code == 200
    assert DeliveryAttempt.objects.count() == 2

    page = admin_client.get(reverse("settings-webhook", args=[subscription.pk]))
    html = page.content.decode()
    assert "deal.updated" in html and "HTTP 500" in html and "test event" in html
    assert "HTTP 200" in html and " ms" in html


def test_the_settings_area_links_to_the_webhooks(admin_client):
    index = admin_client.get(reverse("settings")).content.decode()
    assert index.count(f'href="{reverse("settings-webhooks")}"') == 2  # menu and card
