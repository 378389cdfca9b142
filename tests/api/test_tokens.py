"""Personal API tokens: the page that makes and revokes them, and the bearer auth."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from api.models import ApiToken, hash_secret
from api.services import api_token_create

pytestmark = pytest.mark.django_db


def bearer(secret: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def test_the_page_creates_a_token_showing_its_secret_once(client, rep):
    client.force_login(rep)
    page = client.get(reverse("api-tokens"))
    assert page.status_code == 200
    assert reverse("api-tokens").encode() in client.get(reverse("home")).content  # user menu
    response = client.post(reverse("api-tokens"), {"name": "Billing sync"})
    assert response.status_code == 200
    secret = response.context["secret"]
    assert secret and secret.encode() in response.content
    token = ApiToken.objects.get(user=rep)
    assert token.name == "Billing sync" and token.prefix == secret[:8]
    assert token.key_hash == hash_secret(secret) and secret not in token.key_hash
    again = client.get(reverse("api-tokens"))
    assert secret.encode() not in again.content and token.prefix.encode() in again.content


@pytest.mark.parametrize(
    "data",
    [{"name": ""}, {"name": "   "}, {"name": "x" * 101}, {"name": "a", "expires_at": "nonsense"}],
)
def test_a_bad_token_form_is_refused_and_writes_nothing(client, rep, data):
    client.force_login(rep)
    response = client.post(reverse("api-tokens"), data)
    assert response.status_code == 400 and not ApiToken.objects.exists()


def test_an_expiry_in_the_past_is_refused(client, rep):
    client.force_login(rep)
    past = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(reverse("api-tokens"), {"name": "old", "expires_at": past})
    assert response.status_code == 400 and not ApiToken.objects.exists()


def test_a_token_signs_api_calls_in_and_records_its_use(client, rep):
    token, secret = api_token_create(user=rep, name="script")
    response = client.get("/api/me/", **bearer(secret))
    assert response.status_code == 200 and response.json()["username"] == "ana"
    token.refresh_from_db()
    assert token.last_used_at is not None
    # A token is not a session: a write needs no CSRF token.
    created = client.post(
        "/api/companies/", {"name": "Acme"}, content_type="application/json", **bearer(secret)
    )
    assert created.status_code == 201


def test_revoked_expired_and_deactivated_tokens_are_refused(client, rep, teammate):
    revoked, revoked_secret = api_token_create(user=rep, name="a")
    client.force_login(rep)
    assert client.post(reverse("api-token-revoke", args=[revoked.pk])).status_code == 302
    client.logout()
    expired, expired_secret = api_token_create(
        user=rep, name="b", expires_at=timezone.now() + timedelta(minutes=5)
    )
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    _, inactive_secret = api_token_create(user=teammate, name="c")
    teammate.is_active = False
    teammate.save()
    for secret in (revoked_secret, expired_secret, inactive_secret, "made-up", ""):
        response = client.get("/api/me/", **bearer(secret))
        assert response.status_code in (401, 403), secret
        assert set(response.json()) == {"detail", "errors"}
    assert client.get("/api/me/", HTTP_AUTHORIZATION="Bearer a b").status_code in (401, 403)


def test_a_user_cannot_revoke_someone_elses_token(client, rep, outsider):
    theirs, secret = api_token_create(user=outsider, name="theirs")
    client.force_login(rep)
    assert client.post(reverse("api-token-revoke", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("api-token-revoke", args=[theirs.pk])).status_code == 405
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    client.logout()
    assert client.get("/api/me/", **bearer(secret)).status_code == 200


def test_the_page_needs_a_login(client):
    response = client.get(reverse("api-tokens"))
    assert response.status_code == 302 and reverse("login") in response.url
