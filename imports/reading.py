"""Reading an uploaded table, row by row, never whole: CSV (encoding and delimiter detected) or
XLSX (openpyxl in read-only mode). Every way a file can be unreadable is a FileProblem with a
message for the person who uploaded it.
"""

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time

from django.utils.translation import gettext as _

from crm import limits

SAMPLE_BYTES = 64 * 1024
CHUNK_BYTES = 1024 * 1024
XLSX_MAGIC = b"PK\x03\x04"
# Bytes that only binary files hold: a PDF, an image or an old .xls renamed to .csv.
BINARY_MARKERS = (b"\x00", b"%PDF", b"\x89PNG", b"\xd0\xcf\x11\xe0", b"\xff\xd8\xff")


class FileProblem(Exception):
    """The file cannot be imported; the message says why, in the uploader's language."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class FileShape:
    file_format: str
    encoding: str
    delimiter: str
    headers: list[str]
    total_rows: int


def sniff_format(name: str, head: bytes) -> str:
    if head.startswith(XLSX_MAGIC):
        return "xlsx"
    if any(head.startswith(marker) for marker in BINARY_MARKERS[1:]) or b"\x00" in head:
        raise FileProblem(
            _("“%(name)s” is not a CSV or Excel (.xlsx) file. Save it as CSV or .xlsx.")
            % {"name": name}
        )
    return "csv"


def detect_encoding(stream) -> str:
    """UTF-8 (with or without BOM) when every byte decodes as UTF-8, else Windows-1252, else
    Latin-1 (which decodes anything). Reads the whole file in chunks: a single accented
    character near the end decides it as much as one near the start."""
    stream.seek(0)
    head = stream.read(3)
    if head == codecs.BOM_UTF8:
        return "utf-8-sig"
    stream.seek(0)
    for encoding in ("utf-8", "cp1252"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            while chunk := stream.read(CHUNK_BYTES):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError:
            stream.seek(0)
    return "latin-1"


def detect_delimiter(sample: str) -> str:
    lines = sample.splitlines()[:20]
    if len(lines) > 1 and len(sample) >= SAMPLE_BYTES:
        lines = lines[:-1]  # the last line of a cut sample is cut too
    text = "\n".join(lines)
    try:
        return csv.Sniffer().sniff(text, delimiters=";,\t|").delimiter
    except csv.Error:
        first = lines[0] if lines else ""
        counts = {d: first.count(d) for d in ";,\t|"}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","


def csv_text(stream, encoding: str) -> io.TextIOWrapper:
    stream.seek(0)
    return io.TextIOWrapper(stream, encoding=encoding, newline="")


def csv_rows(stream, encoding: str, delimiter: str) -> Iterator[list[str]]:
    """The file's rows as lists of text; a broken one is a FileProblem naming its line."""
    text = csv_text(stream, encoding)
    reader = csv.reader(text, delimiter=delimiter, strict=True)
    try:
        for row in reader:
            _check_width(row, reader.line_num)
            yield row
    except csv.Error as error:
        raise FileProblem(
            _(
                "Line %(line)d cannot be read (%(error)s): a quote opened and never closed "
                "is the usual cause."
            )
            % {"line": reader.line_num, "error": error}
        ) from error
    finally:
        text.detach()


def xlsx_rows(stream) -> Iterator[list]:
    """The first sheet's rows; formulas come as their text (never evaluated, data_only off)."""
    from openpyxl import load_workbook

    stream.seek(0)
    try:
        workbook = load_workbook(stream, read_only=True, data_only=False)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as error:
        raise FileProblem(_("The Excel file cannot be opened: it is damaged or not .xlsx.")) from (
            error
        )
    try:
        sheet = workbook.worksheets[0]
        # A sheet's stored dimensions can claim thousands of empty columns: read what is there.
        sheet.reset_dimensions()
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = list(row)
            while cells and cells[-1] in (None, ""):
                cells.pop()
            _check_width(cells, number)
            yield [_xlsx_cell(value) for value in cells]
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as error:
        raise FileProblem(_("The Excel file cannot be read: it is damaged.")) from error
    finally:
        workbook.close()


def _xlsx_cell(value):
    """Dates stay dates (no guessing their format); everything else becomes text."""
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _check_width(row: list, line: int) -> None:
    if len(row) > limits.IMPORT_MAX_COLUMNS:
        raise FileProblem(
            _("Line %(line)d has %(count)s columns; an import takes at most %(limit)s.")
            % {"line": line, "count": f"{len(row):,}", "limit": limits.IMPORT_MAX_COLUMNS}
        )


def table_rows(stream, shape_or_format, encoding: str = "", delimiter: str = ""):
    """Every row of the file, header included."""
    if shape_or_format == "xlsx":
        return xlsx_rows(stream)
    return csv_rows(stream, encoding, delimiter)


def inspect(stream, name: str) -> FileShape:
    """Read the file through once: its format, encoding, delimiter, header and row count.
    Nothing is kept but the header, so a big file costs time, not memory."""
    stream.seek(0)
    head = stream.read(SAMPLE_BYTES)
    if not head.strip():
        raise FileProblem(_("The file is empty."))
    file_format = sniff_format(name, head)
    encoding = delimiter = ""
    if file_format == "csv":
        encoding = detect_encoding(stream)
        sample = head.decode(encoding, errors="ignore")
        delimiter = detect_delimiter(sample)
    rows = table_rows(stream, file_format, encoding, delimiter)
    headers = None
    total = 0
    for row in rows:
        if headers is None:
            headers = [_header_text(cell) for cell in row]
            continue
        if any(_has_value(cell) for cell in row):
            total += 1
    if not headers or not any(headers):
        raise FileProblem(_("The file has no header row: its first line must name the columns."))
    if total == 0:
        raise FileProblem(_("The file has a header but no rows to import."))
    return FileShape(file_format, encoding, delimiter, headers, total)


def data_rows(stream, job) -> Iterator[tuple[int, list]]:
    """(line, cells) of every non-empty data row, the header skipped."""
    rows = table_rows(stream, job.file_format, job.encoding, job.delimiter)
    for line, row in enumerate(rows, start=1):
        if line == 1 or not any(_has_value(cell) for cell in row):
            continue
        yield line, row


def _has_value(cell) -> bool:
    return not isinstance(cell, str) or bool(cell.strip())


def _header_text(cell) -> str:
    return str(cell).strip() if cell is not None else ""
