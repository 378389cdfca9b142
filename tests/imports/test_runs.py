"""A run is claimed once, resumes after its last committed batch, and reads XLSX dates."""

import io
from datetime import date, datetime, timedelta

import pytest
from openpyxl import Workbook

from crm.models import Contact, Deal
from imports import services
from imports.models import ImportJob, JobState
from tests.crm.factories import CompanyFactory

from .conftest import csv_bytes, run, upload

pytestmark = pytest.mark.django_db


def queued(job):
    services.import_configure(
        job,
        mapping=job.mapping,
        duplicate_policy="create",
        match_key="email",
        all_or_nothing=False,
    )
    ImportJob.objects.filter(pk=job.pk).update(state=JobState.QUEUED)
    return job


def test_a_run_delivered_twice_imports_once(sales_team):
    job = queued(upload(sales_team["rep"], "contact", csv_bytes([["Last name"], ["Parks"]])))
    assert services.import_run(job.pk) is not None
    assert services.import_run(job.pk) is None
    assert Contact.objects.count() == 1


def test_a_run_whose_worker_died_resumes_after_its_last_committed_batch(sales_team):
    rows = [["Last name"]] + [[f"P{n}"] for n in range(services.BATCH_SIZE + 10)]
    job = queued(upload(sales_team["rep"], "contact", csv_bytes(rows)))
    # As a worker killed after its first batch leaves it: that batch and the counters committed.
    services.import_run(job.pk)
    Contact.objects.filter(
        last_name__in=[f"P{n}" for n in range(services.BATCH_SIZE, 510)]
    ).delete()
    job.rows.filter(line__gt=services.BATCH_SIZE + 1).delete()
    ImportJob.objects.filter(pk=job.pk).update(
        state=JobState.RUNNING,
        processed_rows=services.BATCH_SIZE,
        created_count=services.BATCH_SIZE,
    )
    assert services.import_run(job.pk) is None  # still running, as far as anyone can tell

    ImportJob.objects.filter(pk=job.pk).update(
        updated_at=datetime.now().astimezone() - services.STALE_AFTER - timedelta(minutes=1)
    )
    services.import_run(job.pk)
    job.refresh_from_db()
    assert (job.state, job.created_count, job.processed_rows) == (JobState.DONE, 510, 510)
    assert Contact.objects.count() == 510


def test_xlsx_dates_and_numbers_are_read_as_the_cells_hold_them(sales_team, capture):
    rep = sales_team["rep"]
    CompanyFactory(name="Acme", owner=rep, team=sales_team["team"])
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Name", "Company", "Amount", "Expected close"])
    sheet.append(["Big one", "Acme", 1234.5, datetime(2030, 6, 30)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    job = run(upload(rep, "deal", buffer.getvalue(), name="deals.xlsx"), capture=capture)
    assert (job.file_format, job.created_count) == ("xlsx", 1), job.error
    deal = Deal.objects.get()
    assert (deal.amount, deal.expected_close_date) == (1234.5, date(2030, 6, 30))
