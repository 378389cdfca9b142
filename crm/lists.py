"""The list pages' machinery: filters, sorting, pagination, chosen columns and bulk actions.

A page describes itself with a `ListPage` (its columns, FilterSet and detail URL); the view
calls `list_context(request, page, queryset)` with a queryset already limited by
`crm.access.visible`. Whatever the number of rows shown, a page runs a fixed number of
queries: every column reads the row or a `select_related` relation, and the users named by
user-type custom fields are fetched in one query.
"""

import heapq
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Case, F, Model, OuterRef, QuerySet, When
from django.db.models.constants import LOOKUP_SEP
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm import access
from crm.custom_fields import definitions_for, is_sortable, sort_expression
from crm.forms.bootstrap import bootstrap as style_form
from crm.forms.custom_fields import PREFIX
from crm.models import CustomField, FieldType, User

PER_PAGE = 25
MAX_BULK = 500


# A primary key no real row has, marking where the key goes in a reversed URL.
_PK_MARK = 987654321987


def pk_urls(url_name: str):
    """reverse(url_name, args=[pk]) for many rows at the price of one reverse: My tasks'
    hundred rows reversed 300 URLs, a sixth of the time it took to render them."""
    before, after = reverse(url_name, args=[_PK_MARK]).split(str(_PK_MARK))
    return lambda pk: f"{before}{pk}{after}"


class CappedPaginator(Paginator):
    """Counts matches only up to COUNT_CAP: past that a list says "10,000+" and its pages stop
    there, because counting a million rows exactly costs more than showing the page."""

    COUNT_CAP = 10_000

    @cached_property
    def count(self) -> int:
        return self.object_list.order_by()[: self.COUNT_CAP + 1].count()

    @property
    def is_capped(self) -> bool:
        return self.count > self.COUNT_CAP

    @property
    def count_label(self) -> str:
        return f"{self.COUNT_CAP:,}+" if self.is_capped else f"{self.count:,}"


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    value: Callable[[Any], Any]
    sort: str | None = None  # the field to order by, or None when not sortable
    link: bool = False  # the cell links to the record's page
    sort_expression: Any = None  # a custom field's ordering expression
    # Sorted by a column that may be empty and whose values each hold few rows (a deal's company
    # name, a company's "customer since"): the rows with a value are read in the order of an
    # index of that column, then those without (crm.lists.ValuedFirst).
    sort_splits_empty: bool = False
    # Sorted by a column of a small related table whose rows each hold thousands (a record's
    # owner or team, a deal's stage): ordered by the related row's id next, so each related
    # row's records come together, in id order, and a reader who may see the records of every
    # one of them reads them one related row at a time (crm.lists.ByRelatedRow).
    sort_by_related_row: bool = False


@dataclass
class ListPage:
    """What a list page shows: its columns, filters, detail page and bulk actions."""

    name: str  # key in user.preferences["columns"], and URL name of the list
    record_type: str
    filterset_class: type
    columns: list[Column]
    default_columns: list[str]
    detail_url: str
    default_sort: str
    select_related: tuple[str, ...] = ()
    per_page: int = PER_PAGE
    extra: dict = field(default_factory=dict)

    def all_columns(self, definitions: list[CustomField]) -> list[Column]:
        return [*self.columns, *(custom_column(d) for d in definitions)]


def company_column() -> Column:
    """A record's company, sorted by its name in the order of the companies' name index."""
    return Column(
        "company",
        gettext_lazy("Company"),
        lambda row: row.company,
        "company__name",
        sort_splits_empty=True,
    )


def related_row_column(key: str, label, sort: str, value=None) -> Column:
    """A record's owner, team or stage (`key`), sorted by `sort` (a field of it), its records
    together one related row at a time (`Column.sort_by_related_row`)."""
    return Column(
        key,
        label,
        value or (lambda row: getattr(row, key)),
        sort,
        sort_by_related_row=True,
    )


def display_value(value) -> Any:
    """A model value as a cell shows it."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, datetime):
        return formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")
    if isinstance(value, date):
        return formats.date_format(value, "SHORT_DATE_FORMAT")
    if isinstance(value, Model):
        return str(value)
    return formats.localize(value)


def format_custom(definition: CustomField, value, users: dict[int, User] | None = None) -> Any:
    """A stored custom value as people read it."""
    if value is None or value == "" or value == []:
        return ""
    kind = definition.field_type
    if kind == FieldType.MULTI_SELECT and isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if kind == FieldType.CHECKBOX:
        return _("Yes") if value else _("No")
    if kind == FieldType.USER:
        user = (users or {}).get(value)
        return str(user) if user else ""
    if kind == FieldType.DATETIME and isinstance(value, str):
        return value.replace("T", " ")[:16]
    return value


def custom_values(record, definitions: list[CustomField]) -> list[tuple[str, Any]]:
    """(label, display value) of each custom field of one record (detail pages)."""
    custom = record.custom or {}
    user_ids = [
        custom[d.key]
        for d in definitions
        if d.field_type == FieldType.USER and isinstance(custom.get(d.key), int)
    ]
    users = User.objects.in_bulk(user_ids) if user_ids else {}
    return [(d.label, format_custom(d, custom.get(d.key), users)) for d in definitions]


def custom_column(definition: CustomField) -> Column:
    sortable = is_sortable(definition)
    return Column(
        key=f"{PREFIX}{definition.key}",
        label=definition.label,
        value=lambda row, d=definition: (row.custom or {}).get(d.key),
        sort=f"{PREFIX}{definition.key}" if sortable else None,
        # The expression the field's sort indexes are made of (crm.custom_fields).
        sort_expression=sort_expression(definition) if sortable else None,
    )


def chosen_columns(user, page: ListPage, available: list[Column]) -> list[Column]:
    """The columns the user chose for this page (their order kept), or the page's default."""
    by_key = {column.key: column for column in available}
    saved = (user.preferences or {}).get("columns", {}).get(page.name)
    keys = saved if isinstance(saved, list) else page.default_columns
    columns = [by_key[key] for key in keys if isinstance(key, str) and key in by_key]
    return columns or [by_key[key] for key in page.default_columns if key in by_key]


def save_columns(user, page: ListPage, keys: Iterable[str]) -> list[str]:
    """Store the user's column choice; unknown keys are dropped, the page's order is kept."""
    wanted = set(keys)
    available = page.all_columns(definitions_for(page.record_type))
    chosen = [column.key for column in available if column.key in wanted]
    preferences = dict(user.preferences or {})
    columns = dict(preferences.get("columns") or {})
    columns[page.name] = chosen or list(page.default_columns)
    preferences["columns"] = columns
    user.preferences = preferences
    # A personal display setting, not a business record: no service or event needed.
    user.save(update_fields=["preferences"])
    return columns[page.name]


def _ordering(sort: str, available: list[Column], default: str, model) -> tuple[str, list]:
    key = sort.removeprefix("-")
    column = sorted_column(key, available)
    if column is None:
        return default, [default, "-pk" if default.startswith("-") else "pk"]
    descending = sort.startswith("-")
    target = column.sort_expression if column.sort_expression is not None else F(column.sort)
    # Empty values last either way. A column that is never empty is ordered plainly, so one
    # (column, id) index serves both directions, read forwards or backwards.
    empty_last = column.sort_expression is not None or _may_be_empty(model, key)
    options = {"nulls_last": True} if empty_last else {}
    ordered = [target.desc(**options) if descending else target.asc(**options)]
    if column.sort_by_related_row:
        relation = F(key.split(LOOKUP_SEP)[0])
        ordered.append(relation.desc(**options) if descending else relation.asc(**options))
    return sort, [*ordered, "-pk" if descending else "pk"]


def sorted_column(key: str, available: list[Column]) -> Column | None:
    """The sortable column ordered by `key` (a `Column.sort`), or None for any other key."""
    return next((column for column in available if column.sort and column.sort == key), None)


def _sorted_page(
    ordered: QuerySet,
    per_page: int,
    number,
    sort: str,
    column: Column | None,
    *,
    sees_every_group: bool = False,
    reach: tuple[list, list] | None = None,
    ids_first: bool = False,
):
    """The page `number` of `ordered`: (page, paginator, its records).

    Sorted by a column of another table (a deal's owner, company or stage), the rows cannot be
    read in order from an index of their own table. Only their ids and the sort column go
    through that sort, joined to the sorted table alone (or, for a column that opts in, the
    two queries of `ValuedFirst`); the page's rows and their relations are read afterwards by
    id. Carrying whole joined rows (a company's 150 bytes for each of a
    million deals) through the sort cost two to four times as much (issue 19).
    Sorted by owner, team or stage (`Column.sort_by_related_row`) for a reader whose rule is
    not on the owner and team alone (`sees_every_group`), the ids come one related row at a
    time (`ByRelatedRow`); so do they for a reader whose rule is (`reach`: their people and
    teams). With `ids_first` (a rule that probes another table per row), the ids go first
    too, from a sort index carrying the rule's columns: the page's whole rows read in index
    order, only to be dropped by the rule, cost a support agent's companies by lifecycle 57
    ms against 19 ms for the ids alone.
    """
    splits = column is not None and column.sort_splits_empty
    walks = (
        column is not None
        and column.sort_by_related_row
        and (sees_every_group or reach is not None)
    )
    if LOOKUP_SEP not in sort and not splits and not ids_first:
        paginator = CappedPaginator(ordered, per_page)
        page_obj = paginator.get_page(number)
        return page_obj, paginator, list(page_obj.object_list)
    ids = ordered.values_list("pk", flat=True)
    if splits:
        ids = ValuedFirst(ids, sort, _empty_lookup(ordered.model, column.sort))
    elif walks and connection.vendor == "postgresql":
        ids = ByRelatedRow(ids, sort, None if sees_every_group else reach)
    paginator = CappedPaginator(ids, per_page)
    page_obj = paginator.get_page(number)
    page_ids = list(page_obj.object_list)
    by_id = ordered.order_by().in_bulk(page_ids)
    records = [by_id[pk] for pk in page_ids if pk in by_id]
    page_obj.object_list = records
    return page_obj, paginator, records


def _empty_lookup(model, path: str) -> str:
    """What is empty in the rows without a value at `path`: the row's own nullable field
    (`customer_since`), or an optional relation whose field is required (a deal's
    `company__name`: the deals without a company)."""
    names = path.split(LOOKUP_SEP)
    field = model._meta.get_field(names[0])
    if len(names) == 1 and field.null:
        return path
    if len(names) == 2 and field.null and not field.related_model._meta.get_field(names[1]).null:
        return names[0]
    raise ValueError(f"{path} cannot be split into rows with a value and rows without")


class ValuedFirst:
    """The ids of rows sorted by a column that may be empty (empty values last either way), read
    as two queries: the rows with a value, then those without, in id order.

    One query has to sort every row: NULLS LAST matches no index read backwards, and an
    optional relation is an outer join, which PostgreSQL cannot walk from the related table.
    Split, the rows with a value come in the order of the column's index (the related table's,
    by an inner join) and the walk stops at the page: a deal list by company name went from
    0.4 s to a few ms on a million deals. Only worth it where each value holds few rows: sorted
    by a team's name, the walk reads a whole team before its first row (186 ms against 72 ms
    sorted in one query), so a column opts in (`Column.sort_splits_empty`).
    """

    ordered = True

    def __init__(self, ids: QuerySet, sort: str, empty: str):
        by_id = "-pk" if sort.startswith("-") else "pk"
        self.all = ids
        # Ordered without NULLS LAST, which these values never are: the related table's index
        # then serves either direction, read forwards or backwards.
        self.valued = ids.filter(**{f"{sort.removeprefix('-')}__isnull": False}).order_by(
            sort, by_id
        )
        self.empty = ids.filter(**{f"{empty}__isnull": True}).order_by(by_id)

    def order_by(self, *fields) -> QuerySet:
        return self.all.order_by(*fields)

    def __getitem__(self, window: slice) -> list:
        start, stop = window.start or 0, window.stop
        ids = list(self.valued[start:stop])
        if len(ids) == stop - start:
            return ids
        # The valued rows end within or before this window; how many there are places the rest.
        valued = start + len(ids) if ids else self.valued.order_by()[:start].count()
        return ids + list(self.empty[max(start - valued, 0) : stop - valued])


class ByRelatedRow:
    """The ids of rows sorted by a column of a small related table, then by that row's id and
    their own (`Column.sort_by_related_row`): a company's owner, a deal's stage. Read one
    related row at a time: for each owner in the sort's order, their first rows by id, as many
    as the window needs (one array per owner, from the (owner, id) index, stopped there),
    then the rows with no owner by id.

    One query sorts every row the reader sees first; where each row's visibility is an
    existence check (a support agent's companies: a ticket of theirs), all 280k companies
    were checked before the first row, 0.5-1.0 s, against 10-20 ms one owner at a time.

    Sorted by owner for a rep or manager (`reach`: crm.access.owner_team_reach, their people
    and teams): each of their people's rows as above, and of any other owner only the rows
    in one of their teams, one array per team from the (owner, team, id) index, merged. A
    single array of "this owner, any of these teams" was planned as a walk of every row by id
    (the planner guessing it would soon find some), which read other owners' rows through to
    find none. Sorted by team, the same the other way round: their teams' rows, and of any
    other team the rows of each of their people. Sorted by stage: for each stage, the rows of
    each of their people and of each of their teams ((stage, owner, id) and (stage, team, id)
    indexes), merged, a row of one of their people in one of their teams once. PostgreSQL only
    (arrays of a subquery).
    """

    ordered = True

    def __init__(self, ids: QuerySet, sort: str, reach: tuple[list, list] | None = None):
        self.descending = sort.startswith("-")
        relation, field_name = sort.removeprefix("-").split(LOOKUP_SEP)
        self._by_id = "-pk" if self.descending else "pk"
        rows = ids.order_by()
        self.all = rows
        self._rows, self._relation, self._reach = rows, relation, reach
        empty = rows.filter(**{f"{relation}__isnull": True})
        if reach is not None and relation in ("owner", "team"):
            # Rows without an owner are a reader's through their teams alone, and rows without
            # a team through their people.
            _theirs, others_field, others = self._split()
            empty = empty.filter(**{f"{others_field}__in": others})
        self.empty = empty.order_by(self._by_id)
        related = rows.model._meta.get_field(relation).related_model
        self._related = related._base_manager.order_by(
            f"-{field_name}" if self.descending else field_name, self._by_id
        )

    def _split(self) -> tuple[list[int], str, list[int]]:
        """(the owners or teams sorted by whose every row the reader sees, the other of the
        two fields, its values that make another owner's or team's row theirs)."""
        people, teams = self._reach
        if self._relation == "owner":
            return people, "team", teams
        return teams, "owner", people

    def _groups(self, limit: int) -> Iterator[list[int]]:
        """Each related row's first `limit` ids, in the sort's order."""
        from django.contrib.postgres.expressions import ArraySubquery

        def first_ids(**narrowed):
            rows = self._rows.filter(**{self._relation: OuterRef("pk")}, **narrowed)
            return ArraySubquery(rows.order_by(self._by_id).values("pk")[:limit])

        if self._reach is None:
            yield from self._related.annotate(ids=first_ids()).values_list("ids", flat=True)
            return
        arrays = self._reach_arrays(first_ids)
        for groups in self._related.annotate(**arrays).values_list(*arrays):
            merged = heapq.merge(*(group or () for group in groups), reverse=self.descending)
            # A row of one of their people in one of their teams is in two arrays.
            unique = (pk for pk, _same in itertools.groupby(merged))
            yield list(itertools.islice(unique, limit))

    def _reach_arrays(self, first_ids) -> dict:
        """The arrays whose merge is each related row's first ids for a rep or manager."""
        if self._relation not in ("owner", "team"):
            people, teams = self._reach
            return {
                **{f"owner_{i}": first_ids(owner=person) for i, person in enumerate(people)},
                **{f"team_{i}": first_ids(team=team) for i, team in enumerate(teams)},
            }
        theirs, others_field, others = self._split()
        arrays = {"ids": Case(When(pk__in=theirs, then=first_ids()), default=None)}
        for index, other in enumerate(others):
            arrays[f"by_{index}"] = Case(
                When(pk__in=theirs, then=None), default=first_ids(**{others_field: other})
            )
        return arrays

    def order_by(self, *fields) -> QuerySet:
        return self.all.order_by(*fields)

    def __getitem__(self, window: slice) -> list:
        start, stop = window.start or 0, window.stop
        if stop <= start:  # an empty list's page: an array of no rows would read as NULL
            return []
        valued = [pk for group in self._groups(stop) for pk in group or ()]
        ids = valued[start:stop]
        if len(ids) == stop - start:
            return ids
        # No related row filled the window, so `valued` holds every row with one.
        return ids + list(self.empty[max(start - len(valued), 0) : stop - len(valued)])


def _may_be_empty(model, path: str) -> bool:
    """Whether the value at `path` (a field, or one across relations) can be NULL: a nullable
    field, or a nullable relation on the way."""
    for name in path.split("__"):
        field = model._meta.get_field(name)
        if field.null:
            return True
        if not field.is_relation:
            return False
        model = field.related_model
    return True


def list_context(request, page: ListPage, queryset: QuerySet) -> dict:
    """Everything a list template needs, for `queryset` (already limited to visible rows)."""
    definitions = definitions_for(page.record_type)
    available = page.all_columns(definitions)
    columns = chosen_columns(request.user, page, available)
    filterset = page.filterset_class(
        request.GET or None,
        queryset=queryset.select_related(*page.select_related),
        request=request,
        definitions=definitions,
    )
    bootstrap(filterset.form)
    rows_qs = filterset.qs
    sort, ordering = _ordering(
        request.GET.get("sort", ""), available, page.default_sort, queryset.model
    )
    sorted_by = sorted_column(sort.removeprefix("-"), available)
    page_obj, paginator, records = _sorted_page(
        rows_qs.order_by(*ordering),
        page.per_page,
        request.GET.get("page"),
        sort,
        sorted_by,
        sees_every_group=access.owner_team_fields(queryset.model, request.user) is None,
        reach=access.owner_team_reach(queryset.model, request.user),
        ids_first=access.reaches_past_owner_team(queryset.model, request.user),
    )
    users = _users_named(records, [d for d in definitions if d.field_type == FieldType.USER])
    custom_by_key = {f"{PREFIX}{d.key}": d for d in definitions}
    rows = []
    detail_url = pk_urls(page.detail_url)
    for record in records:
        cells = []
        for column in columns:
            raw = column.value(record)
            definition = custom_by_key.get(column.key)
            value = format_custom(definition, raw, users) if definition else display_value(raw)
            cells.append({"value": value, "link": column.link, "key": column.key})
        rows.append(
            {
                "record": record,
                "url": detail_url(record.pk),
                "cells": cells,
            }
        )
    headers = [
        {
            "column": column,
            "sorted": sort.removeprefix("-") == column.sort if column.sort else False,
            "descending": sort.startswith("-"),
            "next_sort": (
                f"-{column.sort}" if sort == column.sort else column.sort if column.sort else ""
            ),
        }
        for column in columns
    ]
    chosen_keys = {column.key for column in columns}
    form = filterset.form
    custom_names = {name for name in form.fields if name.startswith(PREFIX)}
    return {
        "filter": filterset,
        "standard_filter_fields": [form[name] for name in form.fields if name not in custom_names],
        "custom_filter_fields": [form[name] for name in form.fields if name in custom_names],
        "custom_filters_used": any(request.GET.get(name) for name in custom_names),
        "filter_errors": filterset.is_bound and not filterset.form.is_valid(),
        "page_obj": page_obj,
        "paginator": paginator,
        "rows": rows,
        "headers": headers,
        "column_choices": [(c.key, c.label, c.key in chosen_keys) for c in available],
        "list_page": page,
        "sort": sort,
    }


def _users_named(records: list[Model], definitions: list[CustomField]) -> dict[int, User]:
    if not definitions:
        return {}
    ids = {
        (record.custom or {}).get(d.key)
        for record in records
        for d in definitions
        if isinstance((record.custom or {}).get(d.key), int)
    }
    return User.objects.in_bulk(ids) if ids else {}


def bootstrap(form: forms.BaseForm) -> forms.BaseForm:
    """List pages use small inputs and style their inline choice lists in records.css."""
    return style_form(form, small=True, choice_lists=False)


# Bulk actions ---------------------------------------------------------------------------


class IdsField(forms.Field):
    """The ids of the rows ticked on a list (repeated `ids` inputs)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        if not value:
            return []
        if isinstance(value, str | int):
            value = [value]
        try:
            ids = sorted({int(item) for item in value})
        except (TypeError, ValueError):
            raise ValidationError(_("Choose records from the list."), code="invalid") from None
        if ids and not (-(2**63) <= ids[0] and ids[-1] < 2**63):
            # Past any integer column: SQLite raised OverflowError from the IN query.
            raise ValidationError(_("Choose records from the list."), code="invalid")
        if len(ids) > MAX_BULK:
            raise ValidationError(
                _("Choose at most %(limit)d records at a time.") % {"limit": MAX_BULK}
            )
        return ids

    def validate(self, value):
        super().validate(value)
        if not value:
            raise ValidationError(_("Tick at least one record."), code="required")


class BulkForm(forms.Form):
    """Base of a page's bulk-action form: the ticked ids and the action to apply."""

    ids = IdsField(required=True)
    next = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, user, **kwargs):
        self.user = user
        # Distinct ids: the filter form on the same page has fields of the same names.
        kwargs.setdefault("auto_id", "bulk_%s")
        super().__init__(*args, **kwargs)


def error_messages(form: forms.BaseForm) -> list[str]:
    """A form's errors as flash messages, each named after its field."""
    found = []
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else None
        found.extend(f"{label}: {error}" if label else str(error) for error in errors)
    return found


def bulk_targets(user, queryset: QuerySet, ids: list[int]) -> list[Model]:
    """The ticked records the user may change: invisible ids are ignored, never touched."""
    records = list(access.visible(queryset, user, write=True).filter(pk__in=ids).order_by("pk"))
    if records and not access.can_change(user, records[0]):
        raise PermissionDenied
    return records
