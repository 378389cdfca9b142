"""CSV and XLSX from a `tables.Table`, to a stream (a response) or to a file (a job).

CSV is written line by line; XLSX with openpyxl's write-only workbook, which keeps no rows in
memory. Every cell goes through exports.cells, in both formats.
"""

import csv
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from .cells import csv_cell, safe_cell
from .tables import Table

CSV, XLSX = "csv", "xlsx"
FORMATS = (CSV, XLSX)
CONTENT_TYPES = {
    CSV: "text/csv; charset=utf-8",
    XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# Excel opens a UTF-8 CSV as UTF-8 only when it starts with a byte-order mark.
BOM = "\ufeff"
# Excel's limit on a sheet's name.
SHEET_TITLE_LENGTH = 31


class _Echo:
    """A file whose write returns the line, so csv.writer can feed a generator."""

    def write(self, value: str) -> str:
        return value


def csv_lines(headers: list[str], rows: Iterable[list], *, bom: bool = False) -> Iterator[str]:
    """CSV lines, every cell made safe; `bom` for a file Excel opens as UTF-8."""
    writer = csv.writer(_Echo())
    yield (BOM if bom else "") + writer.writerow([csv_cell(label) for label in headers])
    for row in rows:
        yield writer.writerow([csv_cell(value) for value in row])


def write_csv(table: Table, file: IO[str]) -> int:
    """Write the table to a text file; returns the number of rows written."""
    count = -1  # the header line is not a row
    for line in csv_lines(table.headers, table.rows(), bom=True):
        file.write(line)
        count += 1
    return count


def _xlsx_cell(value):
    value = safe_cell(value)
    if isinstance(value, str):
        # Control characters make an invalid file (openpyxl refuses them): dropped.
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def write_xlsx(table: Table, file: IO[bytes], *, title: str = "") -> int:
    """Write the table to a binary file as one sheet; returns the number of rows written."""
    return write_xlsx_rows(table.headers, table.rows(), file, title=title or table.filename)


def write_xlsx_rows(headers: list[str], rows: Iterable[list], file: IO[bytes], *, title="") -> int:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_sheet_title(title))
    sheet.append([_xlsx_cell(label) for label in headers])
    count = 0
    for row in rows:
        sheet.append([_xlsx_cell(value) for value in row])
        count += 1
    workbook.save(file)
    return count


def _sheet_title(title: str) -> str:
    cleaned = "".join(char for char in title if char not in "[]:*?/\\")
    return cleaned[:SHEET_TITLE_LENGTH] or "Export"


def xlsx_tempfile(headers: list[str], rows: Iterable[list], *, title: str = "") -> IO[bytes]:
    """The workbook in a temporary file (deleted once closed), rewound for reading."""
    file = tempfile.TemporaryFile()
    write_xlsx_rows(headers, rows, file, title=title)
    file.seek(0)
    return file


def xlsx_response(headers: list[str], rows: Iterable[list], filename: str, *, title: str = ""):
    """A download of the rows as XLSX (also the KPI drill-down's, metrics.views.kpi_export)."""
    from django.http import FileResponse

    file = xlsx_tempfile(headers, rows, title=title or filename.rsplit(".", 1)[0])
    return FileResponse(
        file, as_attachment=True, filename=filename, content_type=CONTENT_TYPES[XLSX]
    )
