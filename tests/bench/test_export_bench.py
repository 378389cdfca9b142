"""A million deals exported as CSV, streamed, from the seeded database (read only): rows per
second and how far the process's resident memory grows while the rows go by.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_large .venv/bin/pytest -q -s \\
        -p no:cacheprovider --override-ini addopts= tests/bench/test_export_bench.py

The rows are the deals list as the admin Diego sees it (every deal, the list's default sort
and columns), read by the same code as the download (exports.services.build_table and
exports.writers.csv_lines), so a server-side cursor feeds the writer 2,000 rows at a time.
Target (issue 13): memory flat, whatever the number of rows. XLSX is timed on the first
BENCH_XLSX_ROWS rows (openpyxl's write-only workbook). Nothing is written to the database.
"""

import os
import tempfile
import time
from itertools import islice

import pytest

from exports.services import build_table
from exports.writers import csv_lines, write_xlsx_rows

# Resident memory may grow by this much at most while the rows stream.
MAX_GROWTH_MB = 150
XLSX_ROWS = int(os.environ.get("BENCH_XLSX_ROWS", "100000"))
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")

pytestmark = pytest.mark.postgres


def resident_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE_SIZE / 2**20


class Sink:
    """Where a response's bytes would go: counted, not kept."""

    def __init__(self):
        self.bytes = 0

    def write(self, text: str) -> None:
        self.bytes += len(text.encode())


def _admin():
    from crm.models import User

    return (
        User.objects.filter(username="diego").first()
        or User.objects.filter(is_superuser=True).order_by("pk").first()
    )


def test_a_million_deals_stream_as_csv_with_flat_memory(seeded_database):
    table = build_table(user=_admin(), source="deals", query="")
    sink = Sink()
    start_mb = peak_mb = resident_mb()
    started = time.perf_counter()
    rows = -1  # the header
    for rows, line in enumerate(csv_lines(table.headers, table.rows(), bom=True), start=0):
        sink.write(line)
        if rows % 10_000 == 0:
            peak_mb = max(peak_mb, resident_mb())
    seconds = time.perf_counter() - started
    growth = peak_mb - start_mb
    print(
        f"\nCSV: {rows:,} deals in {seconds:.1f} s = {rows / seconds:,.0f} rows/s, "
        f"{sink.bytes / 2**20:,.0f} MB written; resident memory {start_mb:.0f} MB -> "
        f"peak {peak_mb:.0f} MB (+{growth:.0f} MB)"
    )
    assert rows >= 100_000
    assert growth < MAX_GROWTH_MB


def test_deals_as_xlsx_rows_per_second(seeded_database):
    table = build_table(user=_admin(), source="deals", query="")
    start_mb = resident_mb()
    started = time.perf_counter()
    with tempfile.TemporaryFile() as file:
        rows = write_xlsx_rows(table.headers, islice(table.rows(), XLSX_ROWS), file)
        size = file.tell()
    seconds = time.perf_counter() - started
    growth = resident_mb() - start_mb
    print(
        f"\nXLSX: {rows:,} deals in {seconds:.1f} s = {rows / seconds:,.0f} rows/s, "
        f"{size / 2**20:.0f} MB file; resident memory +{growth:.0f} MB"
    )
    assert growth < MAX_GROWTH_MB
