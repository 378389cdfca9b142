"""Password guessing: 30 wrong passwords then the right one, as fast as the client can post.
Every guess must be refused cleanly, and the right password must not open the account while
the username is locked from that address, whatever the guesser writes in X-Forwarded-For."""

import pytest
from django.urls import reverse

from crm.models import LoginEvent

PASSWORD = "secret-pass-123"  # tests.factories.UserFactory
GUESSER = "203.0.113.66"
PROXY = "10.0.0.2"


def guess(client, figures, password, **headers):
    response = client.post(reverse("login"), {"username": "ana", "password": password}, **headers)
    if response.status_code >= 500:
        figures.add("server_errors", f"login guess {password!r}: {response.status_code}")
    return response


def attack(client, figures, *, headers_for):
    for n in range(30):
        figures.tried("bad_inputs")
        response = guess(client, figures, f"guess-{n}", **headers_for(n))
        # A wrong password gets the form again (200) until the lockout page (429).
        if response.status_code in (200, 429) and not client.session.get("_auth_user_id"):
            figures.add("clean_rejections")
    right = guess(client, figures, PASSWORD, **headers_for(30))
    if right.status_code == 302 or client.get(reverse("home")).status_code == 200:
        figures.add(
            "unauthorised_successes", f"logged in after 30 wrong guesses: {headers_for(30)}"
        )
    return right


@pytest.mark.django_db
def test_thirty_wrong_passwords_then_the_right_one_stays_locked_out(client, rep, figures):
    right = attack(client, figures, headers_for=lambda n: {"REMOTE_ADDR": GUESSER})

    assert right.status_code == 429
    assert LoginEvent.objects.count() == 0


@pytest.mark.django_db
def test_a_new_forged_forwarded_for_and_user_agent_on_each_guess_change_nothing(
    client, rep, figures
):
    right = attack(
        client,
        figures,
        headers_for=lambda n: {
            "REMOTE_ADDR": GUESSER,
            "HTTP_X_FORWARDED_FOR": f"192.0.2.{n}",
            "HTTP_USER_AGENT": f"guesser/{n}",
        },
    )

    assert right.status_code == 429


@pytest.mark.django_db
def test_behind_the_proxy_addresses_prepended_by_the_guesser_change_nothing(
    client, rep, figures, settings
):
    settings.CRM_TRUSTED_PROXIES = [PROXY]
    right = attack(
        client,
        figures,
        headers_for=lambda n: {
            "REMOTE_ADDR": PROXY,
            # The guesser's own header, then the address the proxy saw, appended by it.
            "HTTP_X_FORWARDED_FOR": f"192.0.2.{n}, {GUESSER}",
        },
    )

    assert right.status_code == 429
