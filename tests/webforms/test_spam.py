"""Spam is refused with nothing written: the honeypot, the minimum fill time, the rate limit,
the size cap, a token of another form or none at all."""

import time

import pytest
from django.urls import reverse

from crm.models import Lead
from webforms.models import WebFormSubmission
from webforms.spam import MAX_BODY_BYTES, issue_token

from .factories import aged_token, make_form

pytestmark = pytest.mark.django_db


def nothing_written():
    return not Lead.objects.exists() and not WebFormSubmission.objects.exists()


@pytest.fixture
def webform():
    return make_form()


@pytest.fixture
def url(webform):
    return reverse("webform-page", args=[webform.slug])


def test_the_honeypot_refuses_the_post(client, webform, url):
    response = client.post(
        url, {"_token": aged_token(webform), "name": "Bot", "website": "http://spam"}
    )

    assert response.status_code == 400
    assert 'data-testid="webform-refused"' in response.content.decode()
    assert nothing_written()


def test_a_form_sent_faster_than_a_person_types_is_shown_again(client, webform, url):
    response = client.post(url, {"_token": issue_token(webform.pk), "name": "Quick bot"})

    assert response.status_code == 400
    assert 'data-testid="webform-notice"' in response.content.decode()
    assert nothing_written()


def test_a_stale_token_is_refused(client, webform, url):
    token = issue_token(webform.pk, issued_at=time.time() - 3 * 24 * 3600)

    response = client.post(url, {"_token": token, "name": "Old page", "email": "o@example.com"})

    assert response.status_code == 400
    assert 'data-testid="webform-notice"' in response.content.decode()
    assert nothing_written()


@pytest.mark.parametrize("token", ["", "forged", "a" * 5000])
def test_a_missing_or_forged_token_is_refused(client, webform, token):
    url = reverse("webform-post", args=[webform.slug])

    response = client.post(url, {"_token": token, "name": "Plain form"})

    assert response.status_code == 400
    # The visitor gets the hosted form back, their answers in it, to send once more.
    assert 'value="Plain form"' in response.content.decode()
    assert nothing_written()


def test_a_token_of_another_form_is_refused(client, webform, url):
    other = make_form(name="Other")

    response = client.post(url, {"_token": aged_token(other), "name": "Swapped"})

    assert response.status_code == 400
    assert nothing_written()


def test_the_shared_rate_limit_refuses_a_flood(client, settings, webform, url):
    settings.CRM_PUBLIC_FORM_RATE = "2/m"
    cross_origin = reverse("webform-post", args=[webform.slug])

    client.post(url, {"_token": aged_token(webform), "name": "One", "email": "one@example.com"})
    client.post(
        cross_origin, {"_token": aged_token(webform), "name": "Two", "email": "two@example.com"}
    )
    response = client.post(
        url, {"_token": aged_token(webform), "name": "Three", "email": "three@example.com"}
    )

    assert response.status_code == 429
    assert sorted(Lead.objects.values_list("name", flat=True)) == ["One", "Two"]


def test_a_body_over_the_cap_is_refused(client, webform, url):
    response = client.post(
        url, {"_token": aged_token(webform), "name": "Big", "company_name": "x" * MAX_BODY_BYTES}
    )

    assert response.status_code == 413
    assert nothing_written()


@pytest.mark.parametrize(
    "data",
    [
        {"name": ["a", "b"]},
        {"name": "x" * 10_000},
        {"name": "Null\x00byte"},
        {"email": "@@"},
        {"custom__nope": "1", "name": "ok"},
    ],
)
def test_hostile_values_never_fail_the_server(client, webform, url, data):
    response = client.post(url, {"_token": aged_token(webform), **data})

    assert response.status_code in (200, 400)
    if response.status_code == 400:
        assert nothing_written()


def test_an_unknown_form_is_not_found(client):
    response = client.post(reverse("webform-post", args=["no-such-form"]), {"name": "x"})

    assert response.status_code == 404
