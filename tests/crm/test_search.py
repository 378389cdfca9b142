"""The header search: every field of every record type, only records the user may see."""

import pytest
from django.contrib.postgres.search import SearchQuery
from django.db import DataError, connection
from django.db.models.expressions import RawSQL
from django.urls import reverse

from crm import search as crm_search
from crm.access import visible
from crm.models import Company, Contact, Deal, Lead
from crm.search import search
from tests.crm.factories import CompanyFactory, ContactFactory, DealFactory, LeadFactory

pytestmark = pytest.mark.django_db

URL = reverse("search")


def results(client, term, group):
    response = client.get(URL, {"q": term})
    assert response.status_code == 200
    groups = {g["key"]: g["rows"] for g in response.context["groups"]}
    return groups.get(group, [])


def make(kind, owner, team, **values):
    factory = {
        "leads": LeadFactory,
        "contacts": ContactFactory,
        "companies": CompanyFactory,
        "deals": DealFactory,
    }[kind]
    return factory(owner=owner, team=team, **values)


CASES = [
    ("leads", {"name": "Zelda Quixote"}, "Zelda"),
    ("leads", {"name": "Zelda Quixote"}, "quixote zelda"),
    ("leads", {"name": "Zelda Quixote"}, "Quix"),
    ("leads", {"email": "zq@lighthouse.example"}, "zq@lighthouse.example"),
    ("leads", {"email": "zq@lighthouse.example"}, "lighthouse.exa"),
    ("leads", {"phone": "+1 (555) 010-7788"}, "555 0107788"),
    ("leads", {"phone": "+1 555 0107788"}, "010-7788"),
    ("leads", {"company_name": "Vortexa Labs"}, "vortexa"),
    ("contacts", {"first_name": "Imogen", "last_name": "Bramblewood"}, "Imogen Bramblewood"),
    ("contacts", {"first_name": "Imogen", "last_name": "Bramblewood"}, "bramble"),
    ("contacts", {"email": "imogen@brambles.example"}, "imogen@brambles.example"),
    ("contacts", {"email": "imogen@brambles.example"}, "brambles.example"),
    ("contacts", {"phone": "+44 20 7946 0958"}, "7946-0958"),
    ("companies", {"name": "Quokka Dynamics"}, "quokka"),
    ("companies", {"name": "Quokka Dynamics"}, "Quokka Dynamics"),
    ("companies", {"domain": "quokkadyn.example"}, "quokkadyn.example"),
    ("companies", {"domain": "quokkadyn.example"}, "quokkadyn"),
    ("deals", {"name": "Zephyr renewal 2026"}, "zephyr"),
    ("deals", {"name": "Zephyr renewal 2026"}, "Zephyr renewal"),
]


@pytest.mark.parametrize(("kind", "values", "term"), CASES)
def test_search_finds_each_field_and_hides_other_teams(
    client, rep, sales_team, outsider, other_team, kind, values, term
):
    mine = make(kind, rep, sales_team, **values)
    theirs = make(kind, outsider, other_team, **values)
    make(kind, rep, sales_team)  # an unrelated record
    client.force_login(rep)

    found = results(client, term, kind)

    assert mine in found
    assert theirs not in found
    assert len(found) == 1


def test_teammates_records_are_found_and_admin_sees_all(
    client, rep, teammate, sales_team, outsider, other_team, admin_user
):
    ours = LeadFactory(name="Marlowe Finch", owner=teammate, team=sales_team)
    theirs = LeadFactory(name="Marlowe Finch", owner=outsider, team=other_team)
    client.force_login(rep)
    assert results(client, "marlowe", "leads") == [ours]
    client.force_login(admin_user)
    assert set(results(client, "marlowe", "leads")) == {ours, theirs}


def test_results_link_to_records_and_page_shows_groups(client, rep, sales_team):
    company = CompanyFactory(name="Heliotrope Ltd", owner=rep, team=sales_team)
    client.force_login(rep)
    response = client.get(URL, {"q": "heliotrope"})
    body = response.content.decode()
    assert "Heliotrope Ltd" in body
    assert f'href="{reverse("company-detail", args=[company.pk])}"' in body
    assert 'data-testid="results-companies"' in body
    assert 'data-testid="results-deals"' not in body


def test_no_match_and_empty_query(client, rep, sales_team):
    client.force_login(rep)
    response = client.get(URL, {"q": "nothing-like-this"})
    assert 'data-testid="no-results"' in response.content.decode()
    response = client.get(URL, {"q": "   "})
    assert response.status_code == 200
    assert response.context["groups"] == []


def test_odd_input_does_not_fail(client, rep, sales_team):
    LeadFactory(name="O'Brien", owner=rep, team=sales_team)
    client.force_login(rep)
    for term in ["O'Brien", "'\"", "a & b | !c", "(", "-", "x" * 500, "%_", ":*"]:
        assert client.get(URL, {"q": term}).status_code == 200


def test_htmx_preview_returns_partial(client, rep, sales_team):
    LeadFactory(name="Pennywhistle", owner=rep, team=sales_team)
    client.force_login(rep)
    response = client.get(URL, {"q": "penny", "preview": "1"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "Pennywhistle" in body
    assert "<html" not in body


def test_results_are_limited_per_type(client, rep, sales_team):
    for n in range(15):
        DealFactory(name=f"Gigantic deal {n}", owner=rep, team=sales_team)
    client.force_login(rep)
    assert len(results(client, "gigantic", "deals")) == 10


def test_search_function_works_on_any_queryset(rep, sales_team):
    LeadFactory(name="Alpha Beta", owner=rep, team=sales_team)
    assert search(Lead.objects.all(), "alpha").count() == 1
    assert search(Contact.objects.all(), "alpha").count() == 0
    assert search(Company.objects.all(), "").count() == 0
    assert search(Deal.objects.all(), "alpha").count() == 0


def test_search_query_count_is_constant(client, rep, sales_team, django_assert_max_num_queries):
    client.force_login(rep)
    client.get(URL, {"q": "warm"})  # warm up session and caches
    for n in range(12):
        company = CompanyFactory(name=f"Acme {n}", owner=rep, team=sales_team)
        ContactFactory(last_name=f"Acme {n}", company=company, owner=rep, team=sales_team)
        DealFactory(name=f"Acme deal {n}", company=company, owner=rep, team=sales_team)
        LeadFactory(name=f"Acme lead {n}", owner=rep, team=sales_team)
    with django_assert_max_num_queries(10):
        response = client.get(URL, {"q": "acme"})
    assert all(len(g["rows"]) == 10 for g in response.context["groups"])


MODELS = {"leads": Lead, "contacts": Contact, "companies": Company, "deals": Deal}
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the GIN index path is PostgreSQL's"
)


@on_postgresql
def test_a_rare_word_is_read_from_the_index_a_common_one_from_the_table(monkeypatch):
    """By PostgreSQL's own estimate: under INDEX_SHARE of the rows, the GIN index."""
    company = CompanyFactory(name="Holder")
    pipeline_deal = DealFactory(company=company)
    names = [f"Plan {n}" for n in range(2900)] + [f"Maple {n}" for n in range(30)]
    Deal.objects.bulk_create(
        Deal(name=name, company=company, pipeline=pipeline_deal.pipeline, stage=pipeline_deal.stage)
        for name in names
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE crm_deal")  # rolled back with the test
    monkeypatch.setattr(crm_search, "INDEX_MIN_ROWS", 0)
    monkeypatch.setattr(crm_search, "_row_counts", {})
    fields = crm_search.SEARCH_FIELDS[Deal]

    def selective(term):
        query = SearchQuery(term, config="simple", search_type="websearch")
        return crm_search._words_are_selective(Deal, fields, query, "default")

    assert selective("maple")
    assert not selective("plan")


@on_postgresql
def test_the_index_path_finds_what_the_table_path_finds_and_puts_the_planner_back(
    monkeypatch, rep, sales_team, outsider, other_team
):
    for kind, values, _term in CASES:
        make(kind, rep, sales_team, **values)
        make(kind, outsider, other_team, **values)
    expected = {
        (kind, term): list(search(visible(MODELS[kind], rep), term).values_list("pk", flat=True))
        for kind, _values, term in CASES
    }
    monkeypatch.setattr(crm_search, "_words_are_selective", lambda *args: True)

    for kind, _values, term in CASES:
        found = search(visible(MODELS[kind], rep), term).values_list("pk", flat=True)
        assert list(found) == expected[(kind, term)], (kind, term)
        assert expected[(kind, term)], (kind, term)

    # The test runs inside a transaction, as a request may: the settings are put back.
    with connection.cursor() as cursor:
        cursor.execute("SHOW enable_seqscan")
        assert cursor.fetchone()[0] == "on"
        cursor.execute("SHOW enable_indexscan")
        assert cursor.fetchone()[0] == "on"


@on_postgresql
def test_a_failing_index_read_raises_its_own_error_and_leaves_the_planner_as_it_was():
    """Inside an outer transaction (as a test or an atomic request), the query's error comes
    out, not a second one from putting the settings back on an aborted transaction."""
    broken = Deal.objects.filter(pk__gt=RawSQL("1 / 0", [])).values("pk")
    with pytest.raises(DataError):
        crm_search._ids_read_from_index(broken, "default")
    with connection.cursor() as cursor:
        cursor.execute("SHOW enable_seqscan")
        assert cursor.fetchone()[0] == "on"
