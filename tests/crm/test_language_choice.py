"""Which language a page speaks: the user's choice, else the browser's."""

import pytest
from django.urls import reverse

from crm.models import Contact, ContactStage, User
from tests.crm.factories import ContactFactory

pytestmark = pytest.mark.django_db


def test_a_user_who_picks_italian_gets_italian_on_the_next_page(client, rep):
    client.force_login(rep)
    response = client.post(reverse("language"), {"language": "it", "next": reverse("deals")})

    assert response.status_code == 302
    assert response["Location"] == reverse("deals")
    assert User.objects.get(pk=rep.pk).language == "it"
    page = client.get(reverse("deals"))
    assert page["Content-Language"] == "it"
    assert '<html lang="it">' in page.content.decode()


def test_a_chosen_language_wins_over_the_browser(client, rep):
    rep.language = "pt-br"
    rep.save()
    client.force_login(rep)

    page = client.get(reverse("home"), headers={"accept-language": "es"})

    assert page["Content-Language"] == "pt-br"


def test_a_user_without_a_choice_follows_the_browser(client, rep):
    client.force_login(rep)

    page = client.get(reverse("home"), headers={"accept-language": "es-ES,es;q=0.9"})

    assert page["Content-Language"] == "es"


def test_going_back_to_the_browser_language_clears_the_choice(client, rep):
    rep.language = "it"
    rep.save()
    client.force_login(rep)

    client.post(reverse("language"), {"language": ""})

    assert User.objects.get(pk=rep.pk).language == ""
    assert (
        client.get(reverse("home"), headers={"accept-language": "es"})["Content-Language"] == "es"
    )


@pytest.mark.parametrize("language", ["xx", "<script>", "en" * 40])
def test_an_unknown_language_is_refused_and_nothing_changes(client, rep, language):
    client.force_login(rep)

    response = client.post(reverse("language"), {"language": language})

    assert response.status_code == 400
    assert User.objects.get(pk=rep.pk).language == ""


def test_the_next_page_never_leaves_the_site(client, rep):
    client.force_login(rep)

    response = client.post(reverse("language"), {"language": "es", "next": "https://evil.example/"})

    assert response["Location"] == "/"


def test_an_anonymous_visitor_gets_the_login_page_in_their_browser_language(client):
    page = client.get(reverse("login"), headers={"accept-language": "es"})

    assert page["Content-Language"] == "es"
    assert '<html lang="es">' in page.content.decode()


def test_the_javascript_catalog_is_public_and_speaks_the_page_s_language(client):
    response = client.get(reverse("javascript-catalog"), headers={"accept-language": "it"})

    assert response.status_code == 200
    assert "django.gettext" in response.content.decode()
    assert '"Close": "Chiudi"' in response.content.decode()


def test_every_page_loads_the_javascript_catalog_before_its_scripts(client):
    html = client.get(reverse("login"), headers={"accept-language": "es"}).content.decode()

    catalog = html.index(reverse("javascript-catalog") + "?lang=es")
    assert catalog < html.index('<script src="/static/')


def test_a_contact_s_language_is_set_on_the_contact_form(client, rep):
    contact = ContactFactory(owner=rep, last_name="Roe")
    client.force_login(rep)
    data = {
        "first_name": "Jane",
        "last_name": "Roe",
        "email": "",
        "phone": "",
        "title": "",
        "company": "",
        "lifecycle_stage": ContactStage.LEAD,
        "language": "pt-br",
        "owner": "",
        "team": "",
    }

    response = client.post(reverse("contact-edit", args=[contact.pk]), data)

    assert response.status_code == 302
    assert Contact.objects.get(pk=contact.pk).language == "pt-br"


def test_a_contact_s_language_is_refused_when_unknown(client, rep):
    contact = ContactFactory(owner=rep, last_name="Roe")
    client.force_login(rep)

    response = client.post(
        reverse("contact-edit", args=[contact.pk]),
        {"last_name": "Roe", "lifecycle_stage": ContactStage.LEAD, "language": "klingon"},
    )

    assert response.status_code == 400
    assert Contact.objects.get(pk=contact.pk).language == ""


def test_the_api_reads_and_writes_a_contact_s_language(client, rep):
    client.force_login(rep)

    created = client.post(
        "/api/contacts/", {"last_name": "Doe", "language": "it"}, content_type="application/json"
    )
    refused = client.post(
        "/api/contacts/", {"last_name": "Poe", "language": "xx"}, content_type="application/json"
    )

    assert created.status_code == 201, created.json()
    assert created.json()["language"] == "it"
    assert Contact.objects.get(pk=created.json()["id"]).language == "it"
    assert refused.status_code == 400
    assert not Contact.objects.filter(last_name="Poe").exists()
