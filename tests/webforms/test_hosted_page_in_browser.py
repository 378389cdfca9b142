"""The hosted form on a 390 px phone, in each language: nothing wider than the screen, no CSP
refusal or console error, and a person's submission goes through. Screenshots under
var/screenshots/webform-<language>/."""

import pytest

from crm.models import Lead, SurveyAnswer
from tests.e2e.conftest import PHONE
from webforms.models import FormKind
from webforms.spam import MIN_FILL_SECONDS

from .factories import make_form

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WIDER_THAN_SCREEN = "() => document.documentElement.scrollWidth > window.innerWidth"
LABELS = {"en": "Your name", "pt-br": "Seu nome", "es": "Su nombre", "it": "Il tuo nome"}


@pytest.mark.parametrize("language", ["en", "pt-br", "es", "it"])
def test_a_person_sends_the_hosted_form_on_a_phone_in_their_language(journey, language):
    webform = make_form(titles={"en": "Contact us", "pt-br": "Fale conosco"})
    name_field = webform.fields.get(target="name")
    name_field.labels = LABELS
    name_field.save()
    trip = journey(f"webform-{language}", locale=language)
    page = trip.open(PHONE)

    page.goto(f"/f/{webform.slug}/?utm_source=phone")
    assert page.locator("html").get_attribute("lang") == language
    assert page.get_by_label(LABELS[language]).is_visible()
    assert not page.evaluate(WIDER_THAN_SCREEN)
    trip.shot(page, "form")

    page.get_by_label(LABELS[language]).fill("Marta Silva")
    page.locator("input[name=email]").fill("marta@example.com")
    page.wait_for_timeout(MIN_FILL_SECONDS * 1000 + 200)
    with page.expect_navigation():
        page.locator("[data-testid=webform] button[type=submit]").click()
    page.locator("[data-testid=webform-thanks]").wait_for()
    assert not page.evaluate(WIDER_THAN_SCREEN)
    trip.shot(page, "thanks")

    lead = Lead.objects.get()
    assert lead.name == "Marta Silva"


def test_a_score_from_0_to_10_fits_a_phone(journey):
    webform = make_form(name="How did we do?", kind=FormKind.FEEDBACK, survey_kind="nps")
    trip = journey("webform-nps")
    page = trip.open(PHONE)

    page.goto(f"/f/{webform.slug}/")
    assert not page.evaluate(WIDER_THAN_SCREEN)
    trip.shot(page, "form")
    page.locator("input[name=score][value='9']").check()
    page.locator("input[name=email]").fill("sofia@example.org")
    page.wait_for_timeout(MIN_FILL_SECONDS * 1000 + 200)
    with page.expect_navigation():
        page.locator("[data-testid=webform] button[type=submit]").click()
    trip.shot(page, "thanks")

    assert SurveyAnswer.objects.get().score == 9
