"""What an export writes: a queryset (already visible to the user, filtered and sorted) and
its columns. Formats (exports.writers) read tables, never querysets."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from django.db.models import QuerySet

from crm.lists import format_custom
from crm.models import CustomField, FieldType, User

# Rows read from the database at a time: memory stays flat whatever the export's size.
CHUNK_SIZE = 2000


@dataclass(frozen=True)
class ExportColumn:
    label: str
    value: Callable[[Any], Any]  # record -> cell value (exports.cells makes it safe)
    # A user-type custom field: its values are user ids, named per chunk in one query.
    user_field: str | None = None


@dataclass
class Table:
    queryset: QuerySet | list
    columns: list[ExportColumn]
    filename: str  # without extension
    extra: dict = field(default_factory=dict)

    @property
    def headers(self) -> list[str]:
        return [str(column.label) for column in self.columns]

    def rows(self) -> Iterator[list]:
        return export_rows(self.queryset, self.columns)

    def count_upto(self, limit: int) -> int:
        """How many rows, counted no further than `limit` (a million rows cost a count)."""
        if isinstance(self.queryset, QuerySet):
            return self.queryset.order_by()[:limit].count()
        return min(len(self.queryset), limit)


def export_rows(queryset: QuerySet | list, columns: list[ExportColumn]) -> Iterator[list]:
    """The cell values of each row of `queryset`, read CHUNK_SIZE rows at a time (a server-side
    cursor on PostgreSQL). Cells are raw values; the writers make them safe."""
    if isinstance(queryset, QuerySet):
        records = queryset.iterator(chunk_size=CHUNK_SIZE)
    else:
        records = iter(queryset)  # rows put in order in Python (the goal tree)
    user_fields = [column.user_field for column in columns if column.user_field]
    while chunk := list(islice(records, CHUNK_SIZE)):
        users = _users_named(chunk, user_fields)
        for record in chunk:
            yield [
                _user_cell(column, record, users) if column.user_field else column.value(record)
                for column in columns
            ]


def _users_named(records, keys: list[str]) -> dict[int, User]:
    if not keys:
        return {}
    ids = {
        value
        for record in records
        for key in keys
        if isinstance(value := (record.custom or {}).get(key), int)
    }
    return User.objects.in_bulk(ids) if ids else {}


def _user_cell(column: ExportColumn, record, users: dict[int, User]):
    user_id = (record.custom or {}).get(column.user_field)
    user = users.get(user_id) if isinstance(user_id, int) else None
    return column.value(user) if user is not None else None


def custom_columns(definitions: list[CustomField], *, user_value=str) -> list[ExportColumn]:
    """One column per custom field, shown as the lists show it (crm.lists.format_custom)."""
    columns = []
    for definition in definitions:
        if definition.field_type == FieldType.USER:
            columns.append(ExportColumn(definition.label, user_value, user_field=definition.key))
        else:
            columns.append(
                ExportColumn(
                    definition.label,
                    lambda row, d=definition: format_custom(d, (row.custom or {}).get(d.key)),
                )
            )
    return columns
