"""100,000 contacts imported from a CSV file on PostgreSQL, through the services (an event per
contact), in committed batches: seconds, rows per second and the process's memory growth.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> .venv/bin/pytest -q -s \\
        -p no:cacheprovider tests/bench/test_import_bench.py

Targets (issue 13): under 2 minutes on 2 cores, memory flat (the file is streamed: the growth
must not follow the file's size). BENCH_IMPORT_ROWS changes the row count.
"""

import csv
import os
import resource
import time

import pytest
from django.core.files.uploadedfile import UploadedFile
from django.db import connection

from crm.models import Contact, Event, Role
from imports import services
from imports.models import JobState
from tests.factories import TeamFactory, UserFactory

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "100000"))
TARGET_SECONDS = 120
# Python's peak resident size may grow by this much at most, whatever the file's size.
MAX_GROWTH_MB = 150

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def write_contacts(path, rows: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["First name", "Last name", "Email", "Phone", "Job title", "Owner"])
        for n in range(rows):
            writer.writerow(
                [
                    f"Ana{n}",
                    f"Silva{n}",
                    f"ana{n}@bench.example",
                    f"+55 11 9{n:08d}",
                    "Buyer",
                    "bench-rep" if n % 2 else "bench-mate",
                ]
            )


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def test_import_100k_contacts(tmp_path, settings):
    if connection.vendor != "postgresql":
        pytest.skip("the import benchmark is for PostgreSQL (set DATABASE_URL)")
    settings.MEDIA_ROOT = str(tmp_path / "media")
    rep = UserFactory(username="bench-rep", role=Role.SALES_REP)
    mate = UserFactory(username="bench-mate", role=Role.SALES_REP)
    TeamFactory(name="Bench", members=[rep, mate])
    path = tmp_path / "contacts.csv"
    write_contacts(path, ROWS)
    size_mb = path.stat().st_size / 1e6

    rss_before = peak_rss_mb()
    started = time.perf_counter()
    with path.open("rb") as file:
        job = services.import_upload(
            user=rep,
            record_type="contact",
            uploaded=UploadedFile(file, name="contacts.csv", size=path.stat().st_size),
        )
    uploaded = time.perf_counter()
    services.import_configure(
        job, mapping=job.mapping, duplicate_policy="skip", match_key="email", all_or_nothing=False
    )
    job.state = JobState.QUEUED
    job.save(update_fields=["state"])
    services.import_run(job.pk)  # what the Celery task calls
    finished = time.perf_counter()
    growth = peak_rss_mb() - rss_before

    job.refresh_from_db()
    seconds = finished - started
    print(
        f"\nimport of {ROWS:,} contacts ({size_mb:.1f} MB CSV): {seconds:.1f} s "
        f"(upload check {uploaded - started:.1f} s, run {finished - uploaded:.1f} s), "
        f"{ROWS / seconds:,.0f} rows/s; peak memory growth {growth:.0f} MB"
    )
    assert (job.state, job.created_count, job.failed_count) == (JobState.DONE, ROWS, 0), job.error
    assert Contact.objects.count() == ROWS
    assert Event.objects.filter(type="contact.created").count() == ROWS
    assert growth < MAX_GROWTH_MB
    assert seconds < TARGET_SECONDS
