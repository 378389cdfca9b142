"""Undo (created rows removed, updates reverted, refused after a later change) and the
failed rows as a CSV to fix and import again."""

import csv
import io

import pytest

from crm import services as crm_services
from crm.models import Contact, Event, Lead
from imports import services
from imports.models import JobState
from tests.crm.factories import LeadFactory

from .conftest import csv_bytes, run, upload

pytestmark = pytest.mark.django_db


def undo(job, capture):
    with capture(execute=True):
        services.import_undo_request(job)
    job.refresh_from_db()
    return job


def test_undo_removes_created_rows_and_reverts_updates(sales_team, capture):
    rep = sales_team["rep"]
    rosa = LeadFactory(
        name="Rosa", email="rosa@example.org", score=10, owner=rep, team=sales_team["team"]
    )
    rows = [
        ["Name", "Email", "Score"],
        ["Rosa P", "rosa@example.org", "90"],
        ["New", "new@example.org", "5"],
    ]
    job = run(
        upload(rep, "lead", csv_bytes(rows)), capture=capture, policy="update", match_key="email"
    )
    assert (job.created_count, job.updated_count) == (1, 1)

    job = undo(job, capture)

    assert job.state == JobState.UNDONE, job.undo_error
    rosa.refresh_from_db()
    assert (rosa.name, rosa.score) == ("Rosa", 10)
    assert list(Lead.objects.all()) == [rosa]
    assert Event.objects.filter(type="lead.deleted", context__import_undo=job.pk).count() == 1


def test_undo_is_refused_when_someone_changed_a_record_since(sales_team, capture):
    rep, mate = sales_team["rep"], sales_team["mate"]
    rows = [["Last name", "Email"], ["Parks", "rosa@example.org"], ["Lee", "lee@example.org"]]
    job = run(upload(rep, "contact", csv_bytes(rows)), capture=capture)
    lee = Contact.objects.get(last_name="Lee")
    crm_services.record_update(lee, actor=mate, data={"title": "CTO"})

    job = undo(job, capture)

    assert job.state == JobState.DONE
    assert "row 3" in job.undo_error
    assert Contact.objects.count() == 2
    lee.refresh_from_db()
    assert lee.title == "CTO"


def test_the_failed_rows_come_back_as_a_csv_to_fix_and_import_again(sales_team, capture, client):
    rep = sales_team["rep"]
    rows = [
        ["Last name", "Email"],
        ["Parks", "rosa@example.org"],
        ["Lee", "lee-at-example"],
        ["", "nobody@example.org"],
    ]
    job = run(upload(rep, "contact", csv_bytes(rows)), capture=capture)
    assert job.failed_count == 2

    client.force_login(rep)
    response = client.get(f"/imports/{job.pk}/failed-rows.csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(text)))
    assert table[0] == ["Last name", "Email", "error"]
    assert [row[:2] for row in table[1:]] == [["Lee", "lee-at-example"], ["", "nobody@example.org"]]
    assert "Email" in table[1][2] and "Last name" in table[2][2]

    table[1][1], table[2][0] = "lee@example.org", "Nobody"
    fixed = io.StringIO()
    csv.writer(fixed).writerows(table)
    again = upload(rep, "contact", fixed.getvalue().encode())
    assert "2" not in again.mapping  # the error column is not imported
    again = run(again, capture=capture)
    assert (again.created_count, again.failed_count) == (2, 0)


def test_the_report_page_shows_the_counts_and_the_progress_survives_a_reload(
    sales_team, capture, client
):
    rep = sales_team["rep"]
    job = upload(rep, "contact", csv_bytes([["Last name"], ["Parks"], [""], ["Lee"]]))
    client.force_login(rep)
    page = client.get(f"/imports/{job.pk}/")
    assert page.status_code == 200 and b"import-mapping" in page.content
    with capture(execute=True):
        response = client.post(
            f"/imports/{job.pk}/",
            {
                "column_0": "last_name",
                "duplicate_policy": "create",
                "match_key": "email",
                "start": "1",
            },
        )
    assert response.status_code == 302
    report = client.get(f"/imports/{job.pk}/")
    assert b"import-report" in report.content
    progress = client.get(f"/imports/{job.pk}/progress/", headers={"HX-Request": "true"})
    assert progress["HX-Refresh"] == "true"
    job.refresh_from_db()
    assert (job.created_count, job.total_rows, job.percent) == (2, 2, 100)


def test_the_failed_rows_csv_escapes_formulas_and_imports_back_as_typed(
    sales_team, capture, client
):
    rep = sales_team["rep"]
    rows = [["Last name", "Email"], ["=cmd|' /C calc'!A0", "-bad"], ["+1", "@x"]]
    job = run(upload(rep, "contact", csv_bytes(rows)), capture=capture)
    assert job.failed_count == 2
    client.force_login(rep)
    response = client.get(f"/imports/{job.pk}/failed-rows.csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(text)))
    assert [row[:2] for row in table[1:]] == [["'=cmd|' /C calc'!A0", "'-bad"], ["'+1", "'@x"]]

    table = [row[:1] for row in table]  # the email column dropped: the names import
    fixed = io.StringIO()
    csv.writer(fixed).writerows(table)
    again = run(upload(rep, "contact", fixed.getvalue().encode()), capture=capture)
    assert again.created_count == 2
    assert set(Contact.objects.values_list("last_name", flat=True)) == {"=cmd|' /C calc'!A0", "+1"}
