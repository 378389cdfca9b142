"""The admins build forms in the settings area; visitors get the hosted page in their
language, frameable by any site, without inline scripts or styles."""

import pytest
from django.urls import reverse

from crm.models import FieldType
from tests.crm.factories import CustomFieldFactory
from webforms.models import FormKind, WebForm

from .factories import aged_token, make_form

pytestmark = pytest.mark.django_db

LANGUAGES = ("en", "pt-br", "es", "it")


def management(prefix="fields", total=0, initial=0):
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def settings_data(webform, **overrides):
    data = {
        "name": webform.name,
        "slug": webform.slug,
        "survey_kind": webform.survey_kind,
        "is_active": "on",
        "assign_rule": "automations",
        "redirect_url": "",
        "title_en": "Talk to us",
        "title_pt-br": "Fale conosco",
        "thank_you_en": "Thanks!",
    }
    return {**data, **overrides}


def test_an_admin_adds_a_form_that_starts_with_the_fields_of_its_kind(client, admin_user):
    client.force_login(admin_user)

    response = client.post(reverse("settings-forms"), {"name": "Support", "kind": "ticket"})

    webform = WebForm.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("settings-form", args=[webform.pk])
    assert [f.target for f in webform.fields.all()] == ["name", "email", "subject", "message"]
    assert client.get(reverse("settings-forms")).status_code == 200


def test_an_admin_maps_fields_with_labels_per_language(client, admin_user):
    CustomFieldFactory(
        record_type="lead", key="budget", label="Budget", field_type=FieldType.NUMBER
    )
    webform = make_form()
    client.force_login(admin_user)
    rows = {
        "fields-0-target": "name",
        "fields-0-required": "on",
        "fields-0-label_en": "Your name",
        "fields-0-label_pt-br": "Seu nome",
        "fields-0-help_es": "Nombre y apellido",
        "fields-1-target": "custom:budget",
        "fields-1-order": "2",
    }

    response = client.post(
        reverse("settings-form", args=[webform.pk]),
        {**settings_data(webform), **management(total=2), **rows},
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    fields = list(webform.fields.order_by("order"))
    assert [(f.target, f.required) for f in fields] == [("name", True), ("custom:budget", False)]
    assert fields[0].labels == {"en": "Your name", "pt-br": "Seu nome"}
    assert fields[0].help_texts == {"es": "Nombre y apellido"}
    webform.refresh_from_db()
    assert webform.titles == {"en": "Talk to us", "pt-br": "Fale conosco"}


def test_a_form_without_the_fields_its_record_needs_is_refused(client, admin_user):
    webform = make_form(name="Support", kind=FormKind.TICKET)
    before = list(webform.fields.values_list("target", flat=True))
    client.force_login(admin_user)

    response = client.post(
        reverse("settings-form", args=[webform.pk]),
        {**settings_data(webform), **management(total=1), "fields-0-target": "email"},
    )

    assert response.status_code == 400
    assert list(webform.fields.values_list("target", flat=True)) == before


@pytest.mark.parametrize("address", ["javascript:alert(1)", "ftp://example.com/x", "//evil"])
def test_a_redirect_must_be_an_http_address(client, admin_user, address):
    webform = make_form()
    client.force_login(admin_user)

    response = client.post(
        reverse("settings-form", args=[webform.pk]),
        {**settings_data(webform, redirect_url=address), **management()},
    )

    assert response.status_code == 400
    webform.refresh_from_db()
    assert webform.redirect_url == ""


def test_the_builder_shows_the_hosted_url_and_both_embed_snippets(client, admin_user):
    webform = make_form()
    make_form(name="Second")
    client.force_login(admin_user)

    page = client.get(reverse("settings-form", args=[webform.pk])).content.decode()

    assert "http://testserver/f/contact-us/" in page
    assert "&lt;iframe src=&quot;http://testserver/f/contact-us/?embed=1" in page or (
        '&lt;iframe src="http://testserver/f/contact-us/?embed=1' in page
    )
    assert "action=&quot;http://testserver/f/contact-us/post/" in page or (
        'action="http://testserver/f/contact-us/post/' in page
    )


@pytest.mark.parametrize("role", ["rep", "agent", "manager"])
def test_other_roles_may_not_open_the_builder(client, request, role):
    user = request.getfixturevalue({"rep": "rep", "agent": "agent", "manager": "manager"}[role])
    webform = make_form()
    client.force_login(user)

    for url in (
        reverse("settings-forms"),
        reverse("settings-form", args=[webform.pk]),
        reverse("settings-form-submissions", args=[webform.pk]),
    ):
        assert client.get(url).status_code == 403


def test_the_submissions_page_lists_what_each_created(client, admin_user):
    webform = make_form()
    client.post(
        reverse("webform-page", args=[webform.slug]),
        {
            "_token": aged_token(webform),
            "name": "Marta",
            "email": "m@example.com",
            "utm_source": "google",
        },
    )
    client.force_login(admin_user)

    page = client.get(reverse("settings-form-submissions", args=[webform.pk])).content.decode()

    assert "Marta" in page and "google" in page


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_hosted_page_speaks_the_visitors_language(client, language):
    webform = make_form()
    field = webform.fields.get(target="name")
    field.labels = {code: f"name-label-{code}" for code in LANGUAGES}
    field.save()

    by_query = client.get(reverse("webform-page", args=[webform.slug]) + f"?lang={language}")
    by_browser = client.get(
        reverse("webform-page", args=[webform.slug]), HTTP_ACCEPT_LANGUAGE=language
    )

    for response in (by_query, by_browser):
        page = response.content.decode()
        assert response.status_code == 200
        assert f'<html lang="{language}">' in page
        assert f"name-label-{language}" in page


@pytest.mark.parametrize(
    ("language", "send"), [("pt-br", "Enviar"), ("es", "Enviar"), ("it", "Invia")]
)
def test_the_hosted_page_buttons_are_translated(client, language, send):
    """Passes once var/i18n/webforms.json is merged into the catalogues."""
    webform = make_form()

    page = client.get(reverse("webform-page", args=[webform.slug]) + f"?lang={language}")

    assert f">{send}</button>" in page.content.decode()


def test_the_hosted_page_may_be_framed_by_any_site_and_runs_no_inline_code(client):
    webform = make_form()

    response = client.get(reverse("webform-page", args=[webform.slug]) + "?embed=1")

    assert "X-Frame-Options" not in response
    policy = response["Content-Security-Policy"]
    assert "frame-ancestors *" in policy
    page = response.content.decode()
    assert " style=" not in page and "<style" not in page
    assert "<script>" not in page
    # Framed, it posts to the endpoint that needs no CSRF cookie (a third-party cookie).
    assert 'action="/f/contact-us/post/' in page


def test_other_pages_still_refuse_framing(client, admin_user):
    client.force_login(admin_user)

    response = client.get(reverse("settings-forms"))

    assert response["X-Frame-Options"] == "DENY"
