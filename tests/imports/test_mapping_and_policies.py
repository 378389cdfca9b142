"""The mapping guessed from headers (and remembered), the duplicate policies and match keys,
the preview that writes nothing, and "all or nothing"."""

import pytest

from crm.models import Contact, Event, FieldType, Lead
from imports import services
from imports.mapping import guess_mapping
from imports.models import ImportMapping, ImportRow, JobState
from tests.crm.factories import CompanyFactory, ContactFactory, CustomFieldFactory, LeadFactory

from .conftest import csv_bytes, run, upload

pytestmark = pytest.mark.django_db


def test_mapping_is_guessed_from_english_portuguese_spanish_and_italian_headers(sales_team):
    CustomFieldFactory(
        record_type="contact", key="shoe_size", label="Shoe size", field_type=FieldType.NUMBER
    )
    headers = [
        "Nome",
        "Sobrenome",
        "Correo electrónico",
        "Telefono",
        "Empresa",
        "Shoe size",
        "ID",
        "Whatever",
        "error",
    ]
    mapping = guess_mapping("contact", headers, sales_team["rep"])
    assert mapping == {
        "0": "first_name",
        "1": "last_name",
        "2": "email",
        "3": "phone",
        "4": "company",
        "5": "custom:shoe_size",
        "6": "external_id",
    }


def test_a_deals_company_column_goes_to_its_company_not_its_name(sales_team):
    mapping = guess_mapping("deal", ["Deal name", "Company", "Value"], sales_team["rep"])
    assert mapping == {"1": "company", "2": "amount"}


def test_the_mapping_chosen_is_remembered_for_the_next_import(sales_team, capture):
    rep = sales_team["rep"]
    job = upload(
        rep, "contact", csv_bytes([["Surname", "Mail", "Fav colour"], ["Parks", "r@x.org", "red"]])
    )
    run(job, capture=capture, mapping={"0": "last_name", "1": "email", "2": "title"})
    assert (
        ImportMapping.objects.get(user=rep, record_type="contact").columns["fav colour"] == "title"
    )

    again = upload(rep, "contact", csv_bytes([["FAV COLOUR", "Surname"], ["blue", "Lee"]]))
    assert again.mapping == {"0": "title", "1": "last_name"}
    other = upload(sales_team["mate"], "contact", csv_bytes([["Fav colour"], ["blue"]]))
    assert other.mapping == {}


FILE = [
    ["Name", "Email", "Source"],
    ["Rosa P", "ROSA@example.org", "web"],
    ["New one", "new@example.org", "web"],
]


@pytest.fixture
def rosa(sales_team):
    return LeadFactory(
        name="Rosa",
        email="rosa@example.org",
        source="event",
        owner=sales_team["rep"],
        team=sales_team["team"],
    )


def test_skip_leaves_the_match_alone_and_creates_the_rest(sales_team, rosa, capture):
    job = run(
        upload(sales_team["rep"], "lead", csv_bytes(FILE)),
        capture=capture,
        policy="skip",
        match_key="email",
    )
    assert (job.created_count, job.skipped_count, job.updated_count) == (1, 1, 0)
    rosa.refresh_from_db()
    assert (rosa.name, rosa.source) == ("Rosa", "event")
    assert Lead.objects.count() == 2


def test_update_changes_the_match_through_the_service(sales_team, rosa, capture):
    job = run(
        upload(sales_team["rep"], "lead", csv_bytes(FILE)),
        capture=capture,
        policy="update",
        match_key="email",
    )
    assert (job.created_count, job.updated_count) == (1, 1)
    rosa.refresh_from_db()
    assert (rosa.name, rosa.source) == ("Rosa P", "web")
    event = Event.objects.filter(type="lead.updated", record_id=rosa.pk).get()
    assert event.changes["name"] == ["Rosa", "Rosa P"]
    assert event.context["import_job"] == job.pk


def test_create_anyway_makes_a_second_record(sales_team, rosa, capture):
    job = run(
        upload(sales_team["rep"], "lead", csv_bytes(FILE)),
        capture=capture,
        policy="create",
        match_key="email",
    )
    assert job.created_count == 2
    assert Lead.objects.filter(email__iexact="rosa@example.org").count() == 2


def test_a_record_the_importer_may_not_change_is_no_match(sales_team, capture):
    hidden = LeadFactory(email="rosa@example.org", owner=sales_team["outsider"])
    job = run(
        upload(sales_team["rep"], "lead", csv_bytes(FILE)),
        capture=capture,
        policy="update",
        match_key="email",
    )
    assert job.created_count == 2
    hidden.refresh_from_db()
    assert hidden.name != "Rosa P"


def test_match_on_domain_phone_and_name(sales_team, capture):
    rep, team = sales_team["rep"], sales_team["team"]
    acme = CompanyFactory(name="Acme", domain="acme.example", owner=rep, team=team)
    job = run(
        upload(
            rep,
            "company",
            csv_bytes([["Name", "Website"], ["ACME Inc", "https://www.acme.example/"]]),
        ),
        capture=capture,
        policy="update",
        match_key="domain",
    )
    assert job.updated_count == 1
    acme.refresh_from_db()
    assert acme.name == "ACME Inc"

    ContactFactory(last_name="Lee", phone="+1 (555) 010-0200", owner=rep, team=team)
    job = run(
        upload(rep, "contact", csv_bytes([["Last name", "Phone"], ["Lee", "15550100200"]])),
        capture=capture,
        policy="skip",
        match_key="phone",
    )
    assert job.skipped_count == 1

    job = run(
        upload(rep, "company", csv_bytes([["Name"], ["acme inc"]])),
        capture=capture,
        policy="skip",
        match_key="name",
    )
    assert job.skipped_count == 1


def test_the_external_id_column_matches_what_an_earlier_import_made(sales_team, capture):
    rep = sales_team["rep"]
    first = run(
        upload(rep, "contact", csv_bytes([["ID", "Last name"], ["c-1", "Parks"]])),
        capture=capture,
        policy="update",
        match_key="external_id",
    )
    assert first.created_count == 1
    second = run(
        upload(
            rep, "contact", csv_bytes([["ID", "Last name"], ["c-1", "Parks-Lee"], ["c-2", "New"]])
        ),
        capture=capture,
        policy="update",
        match_key="external_id",
    )
    assert (second.updated_count, second.created_count) == (1, 1)
    assert set(Contact.objects.values_list("last_name", flat=True)) == {"Parks-Lee", "New"}


def test_two_rows_with_the_same_email_make_one_record_when_skipping(sales_team, capture):
    rows = [["Last name", "Email"], ["Parks", "rosa@example.org"], ["Parks", "rosa@example.org"]]
    job = run(
        upload(sales_team["rep"], "contact", csv_bytes(rows)),
        capture=capture,
        policy="skip",
        match_key="email",
    )
    assert (job.created_count, job.skipped_count) == (1, 1)


def test_preview_shows_rows_as_saved_and_writes_nothing(sales_team, rosa, capture):
    rows = [
        ["Name", "Email", "Score"],
        ["Rosa P", "rosa@example.org", "5"],
        ["Bad", "not-an-email", "500"],
        ["Fine", "fine@example.org", "1"],
    ]
    job = upload(sales_team["rep"], "lead", csv_bytes(rows))
    services.import_configure(
        job, mapping=job.mapping, duplicate_policy="update", match_key="email", all_or_nothing=False
    )
    before = (Lead.objects.count(), Event.objects.count(), ImportRow.objects.count())
    with capture() as callbacks:
        outcomes = services.import_preview(job)
    assert [o.action for o in outcomes] == ["updated", "failed", "created"]
    assert set(outcomes[1].errors) == {"email", "score"}
    assert (Lead.objects.count(), Event.objects.count(), ImportRow.objects.count()) == before
    assert callbacks == []
    rosa.refresh_from_db()
    assert rosa.name == "Rosa"
    job.refresh_from_db()
    assert job.state == JobState.MAPPING


def test_all_or_nothing_rolls_back_every_row_on_one_bad_row(sales_team, capture):
    rows = [["Last name", "Email"]] + [[f"P{n}", f"p{n}@example.org"] for n in range(700)]
    rows[650][1] = "broken@"
    before = Event.objects.count()
    job = run(
        upload(sales_team["rep"], "contact", csv_bytes(rows)), capture=capture, all_or_nothing=True
    )
    assert job.state == JobState.FAILED
    assert "Row 651" in job.error and "nothing was imported" in job.error
    assert (job.created_count, job.failed_count) == (0, 1)
    assert Contact.objects.count() == 0
    assert Event.objects.count() == before
    assert list(job.rows.values_list("line", "action")) == [(651, "failed")]


def test_without_all_or_nothing_the_good_rows_stay(sales_team, capture):
    rows = [["Last name", "Email"]] + [[f"P{n}", f"p{n}@example.org"] for n in range(700)]
    rows[650][1] = "broken@"
    job = run(upload(sales_team["rep"], "contact", csv_bytes(rows)), capture=capture)
    assert (job.state, job.created_count, job.failed_count) == (JobState.DONE, 699, 1)
    assert job.processed_rows == job.total_rows == 700
