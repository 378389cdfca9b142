"""Issue 14: the CRM in Brazilian Portuguese, Spanish and Italian as well as English.

The catalogues are complete and current, every language renders the main pages with no English
left, dates and money are written as each language writes them, and what is sent to a customer
speaks the customer's language.
"""

import os
import re
import shutil
import subprocess
import sys
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import translation

from crm import services
from crm.models import Stage
from crm.services.support import email_survey_invitation
from tests.crm.factories import ContactFactory, DealFactory, TaskFactory

BASE_DIR = Path(settings.BASE_DIR)
LOCALES = ["pt_BR", "es", "it"]
LANGUAGES = ["pt-br", "es", "it"]
DOMAINS = ["django", "djangojs"]

# Words of the English interface that none of the three languages uses for itself. Not here:
# what the trade says alike in all four (lead, pipeline, churn, NPS, dashboard, ticket, email,
# CSAT), and words the languages share with English (total, no, local).
ENGLISH_WORDS = [
    "Deals",
    "Contacts",
    "Companies",
    "Tasks",
    "Goals",
    "Settings",
    "Save",
    "Cancel",
    "Search",
    "Log out",
    "Overdue",
    "Today",
    "Amount",
    "Owner",
    "Stage",
    "Close",
    "Submit",
    "Send",
    "Thank you",
    "New deal",
    "My day",
    "Won",
    "Lost",
    "Edit",
    "Delete",
    "Filter",
    "Customer",
    "Activity",
]
ENGLISH = re.compile(r"\b(" + "|".join(re.escape(word) for word in ENGLISH_WORDS) + r")\b")
# Visible text also lives in these attributes.
TEXT_ATTRIBUTES = {"placeholder", "title", "aria-label", "alt"}


def catalogue(locale: str, domain: str) -> polib.POFile:
    return polib.pofile(str(BASE_DIR / "locale" / locale / "LC_MESSAGES" / f"{domain}.po"))


# --- The catalogues --------------------------------------------------------------------------


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("locale", LOCALES)
def test_every_string_is_translated_and_none_is_fuzzy(locale, domain):
    entries = [entry for entry in catalogue(locale, domain) if not entry.obsolete]

    untranslated = [entry.msgid for entry in entries if not entry.translated()]
    fuzzy = [entry.msgid for entry in entries if entry.fuzzy]

    assert entries
    assert not untranslated, f"{len(untranslated)} untranslated, e.g. {untranslated[:5]}"
    assert not fuzzy, f"{len(fuzzy)} fuzzy, e.g. {fuzzy[:5]}"


@pytest.fixture(scope="module")
def fresh_catalogues(tmp_path_factory) -> Path:
    """The project's strings as makemessages finds them today, from a copy of the sources (so
    the committed catalogues are not rewritten), with the ignore list of scripts/messages.sh."""
    copy = tmp_path_factory.mktemp("messages") / "project"
    skip = shutil.ignore_patterns(
        ".git",
        ".venv",
        "node_modules",
        "var",
        "tests",
        "locale",
        "staticfiles",
        "build",
        "*.egg-info",
        "__pycache__",
        ".ruff_cache",
        "vendor",
    )
    shutil.copytree(BASE_DIR, copy, ignore=skip)
    (copy / "locale").mkdir()
    environment = {**os.environ, "DEBUG": "true"}
    common = ["--no-obsolete", "--ignore=.venv", "--ignore=node_modules", "--ignore=tests"]
    common += ["--ignore=var"]
    for domain in DOMAINS:
        extra = ["--ignore=static/vendor"] if domain == "djangojs" else []
        subprocess.run(
            [
                sys.executable,
                "manage.py",
                "makemessages",
                "-d",
                domain,
                "-l",
                "it",
                *common,
                *extra,
            ],
            cwd=copy,
            env=environment,
            check=True,
            capture_output=True,
        )
    return copy / "locale" / "it" / "LC_MESSAGES"


def _keys(po: polib.POFile) -> set[tuple[str | None, str]]:
    return {(entry.msgctxt, entry.msgid) for entry in po if not entry.obsolete}


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("locale", LOCALES)
def test_the_catalogues_hold_every_string_of_the_code(fresh_catalogues, locale, domain):
    found = _keys(polib.pofile(str(fresh_catalogues / f"{domain}.po")))

    missing = sorted(msgid for _context, msgid in found - _keys(catalogue(locale, domain)))

    assert found
    assert not missing, (
        f"{len(missing)} strings not in locale/{locale}/{domain}.po (run scripts/messages.sh "
        f"and translate them), e.g. {missing[:5]}"
    )


def test_counted_strings_have_a_plural_form(fresh_catalogues):
    """ "1 deal", "2 deals": a count followed by a plural noun goes through ngettext (limits such
    as "at most %(n)d actions" are never one)."""
    counted = re.compile(r"%\((count|n|days|rows|total|idle|window)\)[sd] [a-z]{3,}s\b")
    singular_only = [
        entry.msgid
        for entry in polib.pofile(str(fresh_catalogues / "django.po"))
        if not entry.msgid_plural
        and counted.search(entry.msgid)
        and not re.search(r"\b(at most|0 to)\b", entry.msgid)
    ]

    assert not singular_only


# --- Pages with no English left --------------------------------------------------------------


class VisibleText(HTMLParser):
    """The text a reader sees: element text and text attributes, not scripts or styles."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "template"):
            self._hidden += 1
        self.parts.extend(value for name, value in attrs if name in TEXT_ATTRIBUTES and value)

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden:
            self.parts.append(data)


def english_left(html: str, *, allowed: tuple[str, ...] = ()) -> list[str]:
    """English UI words on the page, besides records' own text: the names `allowed` and the
    pipelines' stage names (an admin's data, the default pipeline's in English: Won, Lost)."""
    parser = VisibleText()
    parser.feed(html)
    text = " ".join(parser.parts)
    stage_names = Stage.objects.values_list("name", flat=True)
    for record_text in sorted({*allowed, *stage_names}, key=len, reverse=True):
        text = re.sub(rf"\b{re.escape(record_text)}\b", "", text)
    return sorted(set(ENGLISH.findall(text)))


@pytest.fixture
def records(rep, sales_team):
    # Record names in no language, so only the interface can speak English.
    contact = ContactFactory(first_name="Zora", last_name="Kwapisz", owner=rep)
    deal = DealFactory(
        name="Kwapisz 2027",
        owner=rep,
        company=contact.company,
        amount=Decimal("12345.60"),
        currency="USD",
        expected_close_date=date(2027, 3, 4),
    )
    TaskFactory(title="Kwapisz 1", assignee=rep, deal=deal)
    return {"contact": contact, "deal": deal}


def _page(client, user, language: str, url: str) -> str:
    user.language = language
    user.save(update_fields=["language"])
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200, url
    assert response["Content-Language"] == language
    return response.content.decode()


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_rep_s_pages_have_no_english_left(client, rep, records, language):
    deal = records["deal"]
    urls = [
        reverse("home"),
        reverse("deals"),
        reverse("contacts"),
        reverse("deal-detail", args=[deal.pk]),
        reverse("contact-detail", args=[records["contact"].pk]),
    ]
    allowed = (records["contact"].company.name,)

    left = {url: english_left(_page(client, rep, language, url), allowed=allowed) for url in urls}

    assert not {url: words for url, words in left.items() if words}


def test_the_english_words_check_finds_english(client, rep, records):
    html = _page(client, rep, "en", reverse("deals"))

    assert {"Deals", "Search", "Log out"} <= set(english_left(html))


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_dashboard_has_no_english_left(client, manager, records, language):
    url = reverse("dashboard", args=["sales"])

    assert not english_left(_page(client, manager, language, url))


@pytest.fixture
def invitation(records):
    return services.survey_invite(kind="nps", contact=records["contact"])


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_customer_survey_has_no_english_left(client, invitation, language):
    response = client.get(
        reverse("survey", args=[invitation.token]), headers={"accept-language": language}
    )

    assert response.status_code == 200
    assert response["Content-Language"] == language
    assert not english_left(response.content.decode())


def test_an_anonymous_spanish_browser_gets_the_survey_in_spanish(client, invitation):
    response = client.get(
        reverse("survey", args=[invitation.token]), headers={"accept-language": "es-MX,es;q=0.9"}
    )
    with translation.override("es"):
        send = translation.gettext("Send")

    assert response["Content-Language"] == "es"
    assert '<html lang="es">' in response.content.decode()
    assert send != "Send"
    assert f">{send}</button>" in response.content.decode()


# --- Dates and money -------------------------------------------------------------------------

DEAL_PAGE_FORMS = {
    "en": ("$12,345.60", "Mar 4, 2027"),
    "pt-br": ("US$ 12.345,60", "04/03/2027"),
    "es": ("12.345,60 US$", "04/03/2027"),
    "it": ("12.345,60 USD", "04/03/2027"),
}


@pytest.mark.parametrize("language", DEAL_PAGE_FORMS)
def test_a_deal_page_writes_money_and_dates_as_its_language_does(client, rep, records, language):
    money, day = DEAL_PAGE_FORMS[language]

    html = _page(client, rep, language, reverse("deal-detail", args=[records["deal"].pk]))
    text = html.replace("\xa0", " ")

    assert money in text
    assert day in text


def test_euros_go_after_the_amount_in_italian_and_before_it_in_english(client, rep, records):
    deal = records["deal"]
    deal.currency = "EUR"
    deal.save(update_fields=["currency"])

    italian = _page(client, rep, "it", reverse("deal-detail", args=[deal.pk]))
    english = _page(client, rep, "en", reverse("deal-detail", args=[deal.pk]))

    assert "12.345,60\xa0€" in italian
    assert "€12,345.60" in english


@pytest.mark.parametrize(("language", "first_day"), [("en", 0), ("pt-br", 0), ("es", 1), ("it", 1)])
def test_the_week_starts_on_the_language_s_day(language, first_day):
    from django.utils.formats import get_format

    with translation.override(language):
        assert get_format("FIRST_DAY_OF_WEEK") == first_day


# --- What is sent to a customer --------------------------------------------------------------


def test_a_portuguese_speaking_contact_gets_the_survey_email_in_portuguese(db, records):
    contact = records["contact"]
    contact.language = "pt-br"
    contact.save(update_fields=["language"])
    invitation = services.survey_invite(kind="nps", contact=contact)
    with translation.override("pt-br"):
        subject = translation.gettext("Would you recommend us? One question")
        question = translation.gettext(
            "One question, a few seconds: how likely are you to recommend us?"
        )

    assert email_survey_invitation(invitation=invitation)

    sent = mail.outbox[-1]
    assert subject != "Would you recommend us? One question"
    assert sent.subject == subject
    assert question in sent.body
    assert translation.get_language() == settings.LANGUAGE_CODE  # nothing leaks out


def test_a_contact_without_a_language_gets_the_installation_s_language(db, records):
    invitation = services.survey_invite(kind="nps", contact=records["contact"])

    with translation.override("it"):
        email_survey_invitation(invitation=invitation)

    assert mail.outbox[-1].subject == "Would you recommend us? One question"
