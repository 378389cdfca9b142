"""Reading an export back: its rows as lists of cell values, for CSV and XLSX alike."""

import csv
import io

from django.urls import reverse
from openpyxl import load_workbook


def export_url(source: str, query: str = "", fmt: str = "csv") -> str:
    return f"{reverse('export-list', args=[source])}?{query}{'&' if query else ''}format={fmt}"


def body(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def read_rows(response, fmt: str) -> list[list]:
    """The export's rows, header first. CSV cells are text; XLSX cells keep their types."""
    data = body(response)
    if fmt == "xlsx":
        sheet = load_workbook(io.BytesIO(data), read_only=True).active
        return [list(row) for row in sheet.iter_rows(values_only=True)]
    text = data.decode("utf-8").removeprefix("\ufeff")
    return list(csv.reader(io.StringIO(text, newline="")))


def column(rows: list[list], label: str) -> list:
    index = rows[0].index(label)
    return [row[index] for row in rows[1:]]
