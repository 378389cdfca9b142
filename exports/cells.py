"""Cells a spreadsheet will not run, the same for CSV and XLSX (formula injection).

Text starting with = + - @ tab, carriage return or NUL is read as a formula (or a DDE
command) by Excel, LibreOffice and Google Sheets: it gets a leading apostrophe, which they
show as text. Numbers stay numbers, so a negative amount is still a number, not text.
"""

from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0")

Cell = str | int | float | Decimal | date | datetime | None


def safe_text(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def safe_cell(value) -> Cell:
    """The value to write: numbers, dates and None as they are, anything else as safe text.
    Aware datetimes are turned into the site's local time (spreadsheets have no time zones)."""
    if value is None or isinstance(value, bool):
        return None if value is None else str(value)
    if isinstance(value, int | float | Decimal):
        return value
    if isinstance(value, datetime):
        return timezone.localtime(value).replace(tzinfo=None) if timezone.is_aware(value) else value
    if isinstance(value, date):
        return value
    return safe_text(str(value))


def csv_cell(value) -> str:
    """A CSV cell a spreadsheet will not execute (see the module docstring)."""
    value = safe_cell(value)
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
