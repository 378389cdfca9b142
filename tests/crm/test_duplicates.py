"""Possible duplicates: each rule finds its pairs among the records the user sees, the pages
stand hostile input, and the create forms warn (without blocking) about a likely duplicate."""

import pytest
from django.db import connection
from django.urls import reverse

from crm import duplicates
from crm.duplicates import KINDS, Rule, duplicate_page, likely_duplicates
from crm.models import Company, Contact, Lead
from tests.crm.factories import CompanyFactory, ContactFactory, LeadFactory

pytestmark = pytest.mark.django_db

on_sqlite = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="SQLite's rule: the same name once normalised"
)


def grouped(kind: str, rule: str, user) -> list[set[int]]:
    page = duplicate_page(KINDS[kind], rule, user)
    return [{record.pk for record in group.records} for group in page.groups]


@pytest.fixture
def mine(rep, sales_team):
    return {"owner": rep, "team": sales_team}


@pytest.fixture
def theirs(outsider, other_team):
    return {"owner": outsider, "team": other_team}


def test_same_email_in_any_case(mine, rep):
    one = ContactFactory(email="Ana.Lima@Acme.example", **mine)
    two = ContactFactory(email="ana.lima@acme.example", **mine)
    ContactFactory(email="someone@acme.example", **mine)
    ContactFactory(email="", **mine)
    ContactFactory(email="", **mine)
    assert grouped("contact", Rule.EMAIL, rep) == [{one.pk, two.pk}]


def test_same_email_for_leads(mine, rep):
    one = LeadFactory(email="rosa@parks.example", **mine)
    two = LeadFactory(email="ROSA@parks.example", **mine)
    assert grouped("lead", Rule.EMAIL, rep) == [{one.pk, two.pk}]


def test_same_web_domain_for_companies(mine, rep):
    one = CompanyFactory(name="Acme", domain="acme.example", **mine)
    two = CompanyFactory(name="Acme Holdings", domain="ACME.example", **mine)
    CompanyFactory(name="Other", domain="other.example", **mine)
    assert grouped("company", Rule.DOMAIN, rep) == [{one.pk, two.pk}]


def test_same_phone_digits_whatever_the_separators(mine, rep):
    one = ContactFactory(phone="+44 20 7946 0018", **mine)
    two = ContactFactory(phone="020-7946-0018", **mine)
    three = ContactFactory(phone="(020) 7946.0018", **mine)
    ContactFactory(phone="+44 20 7946 0019", **mine)
    # Too few digits to tell people apart: never compared.
    ContactFactory(phone="+1 555 1234", **mine)
    ContactFactory(phone="1 555 1234", **mine)
    assert grouped("contact", Rule.PHONE, rep) == [{one.pk, two.pk, three.pk}]


def test_same_phone_digits_for_leads(mine, rep):
    one = LeadFactory(phone="+55 11 91234-5678", **mine)
    two = LeadFactory(phone="11 91234 5678", **mine)
    assert grouped("lead", Rule.PHONE, rep) == [{one.pk, two.pk}]


@on_sqlite
def test_names_alike_on_sqlite_are_the_same_name_once_normalised(mine, rep):
    one = CompanyFactory(name="Acme Ltd", **mine)
    two = CompanyFactory(name="  ACME ltd ", **mine)
    CompanyFactory(name="Acme Limited", **mine)
    ana = ContactFactory(first_name="Ana", last_name="Lima", **mine)
    ana_again = ContactFactory(first_name="ana", last_name="LIMA", **mine)
    assert grouped("company", Rule.NAME, rep) == [{one.pk, two.pk}]
    assert grouped("contact", Rule.NAME, rep) == [{ana.pk, ana_again.pk}]


@pytest.mark.postgres
def test_names_alike_on_postgresql_by_trigram_similarity(mine, rep):
    if connection.vendor != "postgresql":
        pytest.skip("trigram similarity needs PostgreSQL")
    one = CompanyFactory(name="Acme Limited", **mine)
    two = CompanyFactory(name="Acme Limitd", **mine)
    CompanyFactory(name="Globex Corporation", **mine)
    ana = ContactFactory(first_name="Ana", last_name="Lima Souza", **mine)
    ana_again = ContactFactory(first_name="Anna", last_name="Lima Souza", **mine)
    ContactFactory(first_name="Bruno", last_name="Costa", **mine)
    assert grouped("company", Rule.NAME, rep) == [{one.pk, two.pk}]
    assert grouped("contact", Rule.NAME, rep) == [{ana.pk, ana_again.pk}]
    found = [m.record for m in likely_duplicates(Lead, {"name": "x"}, rep)]
    assert found == []


@pytest.mark.postgres
def test_the_trigram_and_phone_indexes_exist_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("the indexes are made on PostgreSQL only")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE indexname LIKE ANY (%s)",
            [["%_name_trgm", "%_phone_digits", "lead_email_any_case"]],
        )
        names = {row[0] for row in cursor.fetchall()}
    assert names == {
        "contact_name_trgm",
        "company_name_trgm",
        "lead_name_trgm",
        "contact_phone_digits",
        "lead_phone_digits",
        "lead_email_any_case",
    }


def test_a_rep_sees_no_duplicates_of_other_teams_records(mine, theirs, rep, admin_user):
    ContactFactory(email="shared@acme.example", **mine)
    ContactFactory(email="shared@acme.example", **theirs)
    assert grouped("contact", Rule.EMAIL, rep) == []
    assert len(grouped("contact", Rule.EMAIL, admin_user)) == 1
    assert (
        likely_duplicates(Contact, {"email": "shared@acme.example"}, rep)[0].record.owner
        == (mine["owner"])
    )
    assert len(likely_duplicates(Contact, {"email": "shared@acme.example"}, rep)) == 1


def test_pages_of_groups(mine, rep, monkeypatch):
    monkeypatch.setattr(duplicates, "PAGE_SIZE", 2)
    for n in range(3):
        ContactFactory(email=f"twice{n}@acme.example", **mine)
        ContactFactory(email=f"TWICE{n}@acme.example", **mine)
    first = duplicate_page(KINDS["contact"], Rule.EMAIL, rep, 1)
    last = duplicate_page(KINDS["contact"], Rule.EMAIL, rep, 2)
    assert (len(first.groups), first.has_next) == (2, True)
    assert (len(last.groups), last.has_next, last.has_previous) == (1, False, True)


def test_a_big_group_shows_its_first_members_and_how_many_more(mine, rep, monkeypatch):
    monkeypatch.setattr(duplicates, "GROUP_MEMBERS", 3)
    for _ in range(5):
        ContactFactory(phone="+44 20 7946 0018", **mine)
    (group,) = duplicate_page(KINDS["contact"], Rule.PHONE, rep).groups
    assert (len(group.records), group.total, group.more) == (3, 5, 2)


# --- The page ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["contact", "company", "lead"])
def test_the_duplicates_page_of_each_type(client, rep, mine, kind):
    if kind == "company":
        CompanyFactory(domain="acme.example", **mine)
        CompanyFactory(domain="acme.example", **mine)
    client.force_login(rep)
    response = client.get(reverse(f"{kind}-duplicates"))
    assert response.status_code == 200
    if kind == "company":
        assert response.content.decode().count('data-testid="duplicate-group"') == 1


def test_the_page_lists_pairs_with_merge_links_for_those_who_may_merge(
    client, rep, admin_user, mine
):
    one = ContactFactory(email="ana@acme.example", **mine)
    two = ContactFactory(email="ANA@acme.example", **mine)
    merge = f"{reverse('contact-merge', args=[one.pk])}?other={two.pk}"
    client.force_login(admin_user)
    assert merge in client.get(reverse("contact-duplicates")).content.decode()
    client.force_login(rep)
    page = client.get(reverse("contact-duplicates")).content.decode()
    assert reverse("contact-detail", args=[two.pk]) in page
    assert merge not in page  # reps may not delete contacts, so they do not merge


@pytest.mark.parametrize(
    "query",
    ["rule=nope", "rule=domain", "page=abc", "page=-3", "page=99999999999", "page=٣", "page=0"],
)
def test_hostile_parameters_get_a_page(client, rep, query):
    client.force_login(rep)
    assert client.get(f"{reverse('contact-duplicates')}?{query}").status_code == 200


def test_an_agent_without_lead_access_is_refused(client, agent):
    client.force_login(agent)
    assert client.get(reverse("lead-duplicates")).status_code == 403


# --- The create forms' warning -------------------------------------------------------------


def contact_form(**values) -> dict:
    data = {"first_name": "Ana", "last_name": "Lima", "email": "ana@acme.example"}
    return {**data, "lifecycle_stage": "lead", **values}


def test_creating_a_contact_like_one_that_exists_warns_then_creates_on_confirmation(
    client, rep, mine
):
    existing = ContactFactory(first_name="Ana", last_name="Lima", email="ana@acme.example", **mine)
    client.force_login(rep)
    data = contact_form(email="ANA@acme.example")

    warned = client.post(reverse("contact-create"), data)

    assert warned.status_code == 200
    page = warned.content.decode()
    assert 'data-testid="duplicate-warning"' in page
    assert reverse("contact-detail", args=[existing.pk]) in page
    assert Contact.objects.count() == 1

    created = client.post(reverse("contact-create"), {**data, "confirm_duplicate": "1"})

    assert created.status_code == 302
    assert Contact.objects.count() == 2


def test_a_company_with_a_known_domain_warns(client, rep, mine):
    CompanyFactory(name="Acme", domain="acme.example", **mine)
    client.force_login(rep)
    response = client.post(
        reverse("company-create"), {"name": "Acme Europe", "domain": "www.acme.example"}
    )
    assert 'data-testid="duplicate-warning"' in response.content.decode()
    assert Company.objects.count() == 1


def test_a_lead_with_a_known_phone_warns(client, rep, mine):
    LeadFactory(phone="+55 11 91234 5678", **mine)
    client.force_login(rep)
    response = client.post(
        reverse("lead-create"),
        {"name": "Someone", "phone": "11 91234-5678", "source": "web", "score": "0"},
    )
    assert 'data-testid="duplicate-warning"' in response.content.decode()
    assert Lead.objects.count() == 1


def test_no_warning_about_a_record_the_user_cannot_see(client, rep, theirs):
    ContactFactory(first_name="Ana", last_name="Lima", email="ana@acme.example", **theirs)
    client.force_login(rep)
    response = client.post(reverse("contact-create"), contact_form())
    assert response.status_code == 302
    assert Contact.objects.count() == 2


def test_nothing_alike_creates_at_once(client, rep, mine):
    ContactFactory(first_name="Bruno", last_name="Costa", email="bruno@x.example", **mine)
    client.force_login(rep)
    response = client.post(reverse("contact-create"), contact_form())
    assert response.status_code == 302


@pytest.mark.parametrize("kind, plural", [("contact", "contacts"), ("company", "companies")])
def test_the_lists_link_their_duplicates_page(client, rep, kind, plural):
    client.force_login(rep)
    page = client.get(reverse(plural)).content.decode()
    assert reverse(f"{kind}-duplicates") in page
