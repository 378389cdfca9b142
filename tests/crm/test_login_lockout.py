"""Login lockout (django-axes) and the password-reset email limits: guessing stops after a few
tries per username and address, and the reset form cannot flood an inbox."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.core import mail
from django.urls import reverse

from crm.models import LoginEvent
from tests.factories import UserFactory

PASSWORD = "secret-pass-123"  # tests.factories.UserFactory
HOME = reverse("home")
ATTACKER = "203.0.113.66"
OFFICE = "198.51.100.10"


def log_in(client, username, password, ip=ATTACKER, **extra):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip, **extra
    )


def fail(client, username, times, ip=ATTACKER, **extra):
    return [log_in(client, username, "wrong", ip, **extra).status_code for _ in range(times)]


def logged_in(client) -> bool:
    return client.get(HOME).status_code == 200


@pytest.mark.django_db
def test_five_wrong_passwords_lock_the_username_from_that_address(client, rep):
    assert fail(client, "ana", 4) == [200] * 4

    fifth = log_in(client, "ana", "wrong")
    assert fifth.status_code == 429
    assert 'data-testid="locked-out"' in fifth.content.decode()

    right = log_in(client, "ana", PASSWORD)
    assert right.status_code == 429
    assert not logged_in(client)
    assert LoginEvent.objects.count() == 0


@pytest.mark.django_db
def test_the_lockout_page_says_when_to_try_again(client, rep):
    fail(client, "ana", 4)
    response = log_in(client, "ana", "wrong")

    content = response.content.decode()
    assert response.status_code == 429
    assert "Too many failed logins" in content
    assert "Try again in 15" in content and "minutes" in content
    assert 14 * 60 <= int(response["Retry-After"]) <= 15 * 60
    assert response["Content-Security-Policy"]  # a page of the site, under its policy


@pytest.mark.django_db
def test_attempts_during_the_lockout_do_not_extend_it(client, rep):
    fail(client, "ana", 5)
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=10)
    )

    assert fail(client, "ana", 3) == [429] * 3
    response = log_in(client, "ana", PASSWORD)
    assert int(response["Retry-After"]) <= 5 * 60


@pytest.mark.django_db
def test_the_right_password_works_again_after_the_cool_off(client, rep):
    fail(client, "ana", 5)
    assert log_in(client, "ana", PASSWORD).status_code == 429

    # Fifteen minutes pass.
    last = AccessAttempt.objects.get().attempt_time
    AccessAttempt.objects.update(attempt_time=last - timedelta(minutes=15, seconds=1))

    response = log_in(client, "ana", PASSWORD)
    assert response.status_code == 302
    assert logged_in(client)
    assert AccessAttempt.objects.count() == 0  # the success cleared the count


@pytest.mark.django_db
def test_another_address_or_another_user_is_not_locked(client, rep, teammate):
    fail(client, "ana", 5)

    assert log_in(client, "ana", PASSWORD, ip=OFFICE).status_code == 302
    client.post(reverse("logout"))
    assert log_in(client, "marco", PASSWORD, ip=ATTACKER).status_code == 302


@pytest.mark.django_db
def test_a_successful_login_resets_the_count(client, rep):
    fail(client, "ana", 4)
    assert log_in(client, "ana", PASSWORD).status_code == 302
    client.post(reverse("logout"))

    assert fail(client, "ana", 4) == [200] * 4
    assert log_in(client, "ana", PASSWORD).status_code == 302


@pytest.mark.django_db
def test_an_unknown_username_is_locked_the_same_way(client):
    """Whether the account exists is not revealed by when the lockout starts."""
    assert fail(client, "nobody", 5) == [200] * 4 + [429]


@pytest.mark.django_db
def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_count(client, rep, settings):
    settings.CRM_TRUSTED_PROXIES = ["10.0.0.0/8"]
    proxy = "10.0.0.2"
    fail(client, "ana", 5, ip=proxy, HTTP_X_FORWARDED_FOR=ATTACKER)

    refused = log_in(client, "ana", PASSWORD, ip=proxy, HTTP_X_FORWARDED_FOR=ATTACKER)
    assert refused.status_code == 429
    allowed = log_in(client, "ana", PASSWORD, ip=proxy, HTTP_X_FORWARDED_FOR=OFFICE)
    assert allowed.status_code == 302
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {ATTACKER}


@pytest.mark.django_db
def test_a_forged_forwarded_for_does_not_escape_the_lockout(client, rep):
    """Without a trusted proxy the header is the client's own words: ignored."""
    for n in range(5):
        log_in(client, "ana", "wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")

    response = log_in(client, "ana", PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.99")
    assert response.status_code == 429


@pytest.mark.django_db
def test_failures_lockouts_and_logins_are_logged_for_the_admin(client, rep, admin_user):
    fail(client, "ana", 5)
    log_in(client, "ana", PASSWORD, ip=OFFICE)

    failures = AccessFailureLog.objects.filter(username="ana").order_by("attempt_time")
    assert [f.locked_out for f in failures] == [False] * 4 + [True]
    assert {f.ip_address for f in failures} == {ATTACKER}
    assert AccessLog.objects.filter(username="ana", ip_address=OFFICE).count() == 1

    client.force_login(admin_user)
    for page in ["accessattempt", "accessfailurelog", "accesslog"]:
        response = client.get(f"/admin/axes/{page}/")
        assert response.status_code == 200, page
        assert "ana" in response.content.decode(), page


# Password reset


def reset(client, email, ip=ATTACKER):
    return client.post(reverse("password_reset"), {"email": email}, REMOTE_ADDR=ip)


@pytest.mark.django_db
def test_password_reset_sends_at_most_three_emails_an_hour_per_account(client, rep):
    addresses = [f"198.51.100.{n}" for n in range(5)]
    responses = [
        reset(client, email, ip)
        for email, ip in zip(
            [rep.email, rep.email.upper(), rep.email, rep.email, rep.email], addresses, strict=True
        )
    ]

    assert len(mail.outbox) == 3
    assert {(r.status_code, r.url) for r in responses} == {(302, reverse("password_reset_done"))}


@pytest.mark.django_db
def test_password_reset_sends_at_most_ten_emails_an_hour_per_address(client):
    users = UserFactory.create_batch(12)
    responses = [reset(client, user.email) for user in users]

    assert len(mail.outbox) == 10
    assert {(r.status_code, r.url) for r in responses} == {(302, reverse("password_reset_done"))}
    # Another address is not held back by that one.
    reset(client, users[-1].email, ip=OFFICE)
    assert len(mail.outbox) == 11


@pytest.mark.django_db
def test_a_limited_reset_answers_like_an_unknown_address(client, rep):
    for _ in range(3):
        reset(client, rep.email)
    limited = reset(client, rep.email, ip=OFFICE)
    unknown = reset(client, "nobody@example.com", ip=OFFICE)

    assert len(mail.outbox) == 3
    assert (limited.status_code, limited.url) == (unknown.status_code, unknown.url)
    done = client.get(limited.url).content
    assert done == client.get(unknown.url).content
