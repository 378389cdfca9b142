"""Bad files: each a clear message, never a 500, and nothing written that was not reported."""

import io

import pytest
from openpyxl import Workbook

from crm.models import Contact, Event, Lead
from imports.models import ImportJob, JobState

from .conftest import csv_bytes, run

pytestmark = pytest.mark.django_db


@pytest.fixture
def page(client, sales_team):
    client.force_login(sales_team["rep"])

    def post(content: bytes, name="data.csv", record_type="contact"):
        from django.core.files.uploadedfile import SimpleUploadedFile

        return client.post(
            f"/imports/{record_type}/new/", {"file": SimpleUploadedFile(name, content)}
        )

    return post


def refused(response, text):
    assert response.status_code in (400, 413)
    assert text in response.content.decode()
    assert ImportJob.objects.count() == 0
    assert Contact.objects.count() == 0


def test_a_wrong_file_type_is_refused(page):
    refused(page(b"%PDF-1.7\n binary", name="data.pdf"), "is not a CSV or Excel")
    refused(page(b"\x89PNG\r\n\x1a\n\x00\x00", name="photo.csv"), "is not a CSV or Excel")


def test_an_empty_file_and_a_header_only_file(page):
    refused(page(b""), "The submitted file is empty")
    refused(page(b"   \n\n"), "The file is empty")
    refused(page(b"Last name,Email\n"), "no rows to import")


def test_a_file_over_the_limit_is_refused_before_it_is_read(page, monkeypatch):
    from crm import limits

    monkeypatch.setattr(limits, "IMPORT_MAX_BYTES", 1000)
    refused(page(b"Last name\n" + b"Parks\n" * 20_000), "an import takes files of up to")


def test_a_100_mb_file_gets_a_message_and_is_not_read(sales_team, tmp_path, monkeypatch):
    from django.core.files.uploadedfile import UploadedFile

    from imports import reading, services

    big = tmp_path / "big.csv"
    with big.open("wb") as file:
        file.truncate(100_000_000)  # sparse: 100 MB that take no disk
    monkeypatch.setattr(reading, "inspect", lambda *a: pytest.fail("the file was read"))
    with big.open("rb") as file, pytest.raises(reading.FileProblem) as refusal:
        services.import_upload(
            user=sales_team["rep"],
            record_type="contact",
            uploaded=UploadedFile(file, name="big.csv", size=100_000_000),
        )
    assert refusal.value.message == ("The file is 100 MB; an import takes files of up to 50 MB.")
    assert ImportJob.objects.count() == 0


def test_a_row_with_5000_columns(page):
    wide = ",".join(["x"] * 5000)
    refused(page(f"Last name\nParks\n{wide}\n".encode()), "Line 3 has 5,000 columns")


def test_broken_quotes(page):
    refused(
        page(b'Last name,Email\n"Parks,rosa@example.org\nLee,lee@example.org\n'),
        "a quote opened and never closed",
    )
    refused(page(b'Last name,Email\n"Parks"x,rosa@example.org\n'), "cannot be read")


def test_a_broken_xlsx(page):
    refused(page(b"PK\x03\x04 not really a zip", name="data.xlsx"), "cannot be opened")


def test_dates_in_iso_day_first_and_the_users_locale(sales_team, capture):
    from crm.models import FieldType
    from tests.crm.factories import CustomFieldFactory

    CustomFieldFactory(record_type="contact", key="since", label="Since", field_type=FieldType.DATE)
    rows = [
        ["Last name", "Since"],
        ["A", "2025-03-04"],
        ["B", "25/03/2025"],
        ["C", "12/31/2025"],
        ["D", "03/04/2025"],
        ["E", "March 4th"],
    ]
    from .conftest import upload

    job = run(upload(sales_team["rep"], "contact", csv_bytes(rows)), capture=capture)
    values = dict(Contact.objects.values_list("last_name", "custom__since"))
    # ISO, day-first, and English's month-first where it is the only reading.
    assert values == {"A": "2025-03-04", "B": "2025-03-25", "C": "2025-12-31"}
    errors = dict(job.rows.filter(action="failed").values_list("line", "error"))
    assert "could be 2025-03-04 or 2025-04-03" in errors[5]
    assert "is not a date" in errors[6]


def test_a_formula_is_imported_as_text_never_evaluated(sales_team, capture):
    from .conftest import upload

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Name", "Email"])
    sheet.append(["=1+1", "rosa@example.org"])
    sheet.append(['=HYPERLINK("http://evil.example","x")', "lee@example.org"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    job = run(
        upload(sales_team["rep"], "lead", buffer.getvalue(), name="leads.xlsx"), capture=capture
    )
    assert job.state == JobState.DONE and job.created_count == 2
    assert set(Lead.objects.values_list("name", flat=True)) == {
        "=1+1",
        '=HYPERLINK("http://evil.example","x")',
    }

    csv_job = run(upload(sales_team["rep"], "lead", b"Name\n=2+2\n@SUM(A1)\n"), capture=capture)
    assert csv_job.created_count == 2
    assert Lead.objects.filter(name="=2+2").exists()


def test_latin1_semicolons_and_a_bom(sales_team, capture):
    from .conftest import upload

    latin = upload(
        sales_team["rep"],
        "contact",
        csv_bytes([["Nom", "Last name"], ["x", "Müller-Gonçalves"]], ";", "cp1252"),
    )
    assert (latin.encoding, latin.delimiter) == ("cp1252", ";")
    run(latin, capture=capture)
    bom = upload(
        sales_team["rep"], "contact", "\ufeffLast name\tEmail\nNiño\tnino@example.org\n".encode()
    )
    assert (bom.encoding, bom.delimiter, bom.headers) == ("utf-8-sig", "\t", ["Last name", "Email"])
    run(bom, capture=capture)
    assert set(Contact.objects.values_list("last_name", flat=True)) == {"Müller-Gonçalves", "Niño"}


def test_a_bad_upload_writes_no_event(page):
    before = Event.objects.count()
    page(b"\x00\x01\x02", name="x.csv")
    assert Event.objects.count() == before


def test_a_date_and_time_in_day_first_form(sales_team, capture):
    from django.utils import timezone

    from crm.models import Task

    from .conftest import upload

    rows = [["Title", "Due"], ["A", "31/12/2025 09:30"], ["B", "31/12/2025 25:99"]]
    job = run(upload(sales_team["rep"], "task", csv_bytes(rows)), capture=capture)
    assert (job.created_count, job.failed_count) == (1, 1)
    due = timezone.localtime(Task.objects.get(title="A").due_at)
    assert (due.day, due.month, due.hour, due.minute) == (31, 12, 9, 30)
    assert "is not a date and time" in job.rows.get(action="failed").error
