"""What can be exported: each list page as its user sees it, and whole record types.

A source builds a `tables.Table` from a user and the list's query string (a QueryDict), so
the same export runs in the request or, when large, in a Celery task. Rows always start from
`crm.access.visible` (or the list's own visibility rule): an export never shows a row its
user could not open.

Whole-type tables (`whole_type_table`) are for moving data: the headers are the fields'
names and the custom fields' keys, the values are stored ones (choice codes, ISO dates,
true/false), people by username and other records by name (contacts by email).
"""

from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db import models
from django.db.models import Case, F, IntegerField, QuerySet, Value, When
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm import access, lists
from crm.custom_fields import definitions_for
from crm.models import (
    Article,
    Company,
    Contact,
    CustomField,
    Deal,
    Expense,
    FieldType,
    Lead,
    RecordType,
    Subscription,
    Task,
    TaskStatus,
    Ticket,
    User,
)
from crm.timeline import OPEN_TASK_STATUSES

from .tables import ExportColumn, Table, custom_columns


class BadQuery(Exception):
    """The list's query string cannot be read (a filter's error): nothing to export."""


def _screen(value):
    """A list cell's raw value as the list shows it, numbers and dates kept as such."""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, models.Model):
        return str(value)
    return value


# --- the record lists (crm.lists.ListPage) ---------------------------------------------------


# Columns a list shows formatted ("$1,000.00") that a spreadsheet needs as numbers.
NUMERIC_COLUMNS = {
    ("deals", "amount"): [
        ExportColumn(gettext_lazy("Amount"), lambda deal: deal.amount),
        ExportColumn(gettext_lazy("Currency"), lambda deal: deal.currency),
    ],
}


def list_page_table(page: lists.ListPage, queryset: QuerySet, user, params: QueryDict) -> Table:
    """The rows and chosen columns of a ListPage, filtered and sorted as `params` say."""
    definitions = definitions_for(page.record_type)
    available = page.all_columns(definitions)
    chosen = lists.chosen_columns(user, page, available)
    filterset = page.filterset_class(
        params or None,
        queryset=queryset.select_related(*page.select_related),
        request=SimpleNamespace(user=user, GET=params),
        definitions=definitions,
    )
    rows = filterset.qs
    if filterset.is_bound and filterset.form.errors:
        raise BadQuery(_("Correct the list's filters first."))
    _sort, ordering = lists._ordering(
        params.get("sort", ""), available, page.default_sort, queryset.model
    )
    custom_by_key = {f"custom__{d.key}": d for d in definitions}
    columns = []
    for column in chosen:
        definition = custom_by_key.get(column.key)
        if definition is not None:
            columns.extend(custom_columns([definition]))
        elif (page.name, column.key) in NUMERIC_COLUMNS:
            columns.extend(NUMERIC_COLUMNS[(page.name, column.key)])
        elif _has_choices(queryset.model, column.key):
            columns.append(choice_column(queryset.model, column.key, column.label))
        else:
            columns.append(ExportColumn(column.label, lambda r, c=column: _screen(c.value(r))))
    return Table(rows.order_by(*ordering), columns, filename=page.name)


def _has_choices(model, name: str) -> bool:
    try:
        return bool(model._meta.get_field(name).choices)
    except FieldDoesNotExist:
        return False


def choice_column(model, name: str, label) -> ExportColumn:
    """A choice field's label, looked up in a dict made once: `get_<field>_display` hashes
    the lazy choices again on every row (half the time of a million-row export)."""
    field = model._meta.get_field(name)
    labels = {value: str(text) for value, text in field.flatchoices}
    return ExportColumn(
        label, lambda record: labels.get(value := getattr(record, field.attname), value)
    )


def _list_page_source(view_module: str, page_name: str, model) -> Callable:
    def build(user, params: QueryDict) -> Table:
        from importlib import import_module

        page = getattr(import_module(view_module), page_name)
        return list_page_table(page, access.visible(model, user), user, params)

    return build


# --- the other lists ---------------------------------------------------------------------


def tasks_table(user, params: QueryDict) -> Table:
    """My tasks, section after section as the page shows them: overdue, today and upcoming
    (by due time, undated last), then done (latest first)."""
    tasks = access.own(Task, user).select_related(
        "lead", "contact", "company", "deal", "ticket", "parent"
    )
    is_open = Case(
        When(status__in=OPEN_TASK_STATUSES, then=Value(0)),
        When(status=TaskStatus.DONE, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    tasks = (
        tasks.annotate(section=is_open)
        .filter(section__lt=2)
        .order_by(
            "section",
            F("due_at").asc(nulls_last=True),
            F("completed_at").desc(nulls_last=True),
            "id",
        )
    )
    columns = [
        ExportColumn(gettext_lazy("Task"), lambda t: t.title),
        choice_column(Task, "status", gettext_lazy("Status")),
        choice_column(Task, "priority", gettext_lazy("Priority")),
        ExportColumn(gettext_lazy("Due"), lambda t: t.due_at),
        ExportColumn(gettext_lazy("Record"), _task_record),
        ExportColumn(gettext_lazy("Parent task"), lambda t: t.parent),
        ExportColumn(gettext_lazy("Completed"), lambda t: t.completed_at),
        *custom_columns(definitions_for("task")),
    ]
    return Table(tasks, [_screened(column) for column in columns], filename="tasks")


def _task_record(task):
    return next(
        (
            getattr(task, name)
            for name in ("deal", "lead", "contact", "company", "ticket")
            if getattr(task, f"{name}_id")
        ),
        None,
    )


def tickets_table(user, params: QueryDict) -> Table:
    """The support queue with its view, filters and sort."""
    from crm.views.tickets import QueueFilterForm, queue_tickets

    visible = access.visible(Ticket, user)
    form = QueueFilterForm(params or None, user=user, tickets=visible)
    # An unreadable filter is ignored, as the queue page ignores it.
    data = form.cleaned_data if form.is_valid() else {}
    tickets = queue_tickets(visible, data, user, timezone.now()).select_related(
        "contact", "company", "assignee", "team"
    )
    columns = [
        ExportColumn(gettext_lazy("Ticket"), lambda t: t.pk),
        ExportColumn(gettext_lazy("Subject"), lambda t: t.subject),
        ExportColumn(gettext_lazy("Contact"), lambda t: t.contact),
        ExportColumn(gettext_lazy("Company"), lambda t: t.company),
        choice_column(Ticket, "status", gettext_lazy("Status")),
        choice_column(Ticket, "priority", gettext_lazy("Priority")),
        choice_column(Ticket, "channel", gettext_lazy("Channel")),
        ExportColumn(gettext_lazy("Assignee"), lambda t: t.assignee),
        ExportColumn(gettext_lazy("Team"), lambda t: t.team),
        ExportColumn(gettext_lazy("Next due"), lambda t: t.next_due),
        ExportColumn(gettext_lazy("Created"), lambda t: t.created_at),
        *custom_columns(definitions_for("ticket")),
    ]
    return Table(tickets, [_screened(column) for column in columns], filename="tickets")


def articles_table(user, params: QueryDict) -> Table:
    """The knowledge base list with its search, category and status."""
    from crm.forms.knowledge import ArticleSearchForm
    from crm.services.knowledge import article_search

    if not user.has_perm("crm.view_article"):
        raise PermissionDenied
    form = ArticleSearchForm(params or None)
    articles = Article.objects.select_related("category", "author")
    if form.is_bound and not form.is_valid():
        raise BadQuery(_("Correct the list's filters first."))
    if form.is_valid():
        articles = article_search(articles, form.cleaned_data["q"])
        if form.cleaned_data["category"]:
            articles = articles.filter(category=form.cleaned_data["category"])
        if form.cleaned_data["status"]:
            articles = articles.filter(status=form.cleaned_data["status"])
    columns = [
        ExportColumn(gettext_lazy("Title"), lambda a: a.title),
        ExportColumn(gettext_lazy("Category"), lambda a: a.category),
        choice_column(Article, "status", gettext_lazy("Status")),
        ExportColumn(gettext_lazy("Author"), lambda a: a.author),
        ExportColumn(gettext_lazy("Published"), lambda a: a.published_at),
        ExportColumn(gettext_lazy("Updated"), lambda a: a.updated_at),
    ]
    return Table(
        articles.order_by("title", "pk"), [_screened(c) for c in columns], filename="articles"
    )


def goals_table(user, params: QueryDict) -> Table:
    """The goal tree in reading order, with the page's `closed` and `period` switches."""
    from goals.models import Goal, GoalStatus
    from goals.views import TREE_RELATED, flatten_tree

    goals = access.visible(Goal.objects.select_related(*TREE_RELATED), user)
    # The same switches as goals.views.goal_tree.
    if params.get("closed") != "1":
        goals = goals.exclude(status=GoalStatus.CLOSED)
    if params.get("period") != "all":
        today = timezone.localdate()
        goals = goals.filter(start_date__lte=today, end_date__gte=today)
    rows = flatten_tree(list(goals.order_by("-start_date", "name", "id")))
    columns = [
        ExportColumn(gettext_lazy("Goal"), lambda row: "  " * row[0] + row[1].name),
        ExportColumn(gettext_lazy("Scope"), lambda row: row[1].get_scope_display()),
        ExportColumn(gettext_lazy("Owner"), lambda row: row[1].owner),
        ExportColumn(gettext_lazy("Team"), lambda row: row[1].team),
        ExportColumn(gettext_lazy("Person"), lambda row: row[1].person),
        ExportColumn(gettext_lazy("First day"), lambda row: row[1].start_date),
        ExportColumn(gettext_lazy("Last day"), lambda row: row[1].end_date),
        ExportColumn(gettext_lazy("Status"), lambda row: row[1].get_status_display()),
        ExportColumn(gettext_lazy("Progress"), lambda row: row[1].progress),
        ExportColumn(gettext_lazy("Forecast"), lambda row: row[1].forecast),
    ]
    return Table(rows, [_screened(c) for c in columns], filename="goals")


def runs_table(user, params: QueryDict) -> Table:
    """The automation runs on the user's records, with the page's status filter."""
    from automations.models import RuleRun, RunStatus
    from automations.views import _visible_runs_q

    if not user.has_perm("automations.view_rulerun"):
        raise PermissionDenied
    runs = RuleRun.objects.select_related("rule").filter(_visible_runs_q(user))
    status = params.get("status", "")
    if status in RunStatus.values:
        runs = runs.filter(status=status)
    columns = [
        ExportColumn(gettext_lazy("At"), lambda r: r.created_at),
        ExportColumn(gettext_lazy("Rule"), lambda r: r.rule),
        choice_column(RuleRun, "status", gettext_lazy("Status")),
        ExportColumn(gettext_lazy("Record type"), lambda r: r.record_type),
        ExportColumn(gettext_lazy("Record"), lambda r: r.record_id),
        ExportColumn(gettext_lazy("Error"), lambda r: r.error),
        ExportColumn(gettext_lazy("Duration (ms)"), lambda r: r.duration_ms),
    ]
    return Table(
        runs.order_by("-created_at", "-id"),
        [_screened(c) for c in columns],
        filename="automation-runs",
    )


def _screened(column: ExportColumn) -> ExportColumn:
    if column.user_field:
        return column
    return ExportColumn(column.label, lambda record, c=column: _screen(c.value(record)))


@dataclass(frozen=True)
class Source:
    key: str
    label: str
    build: Callable[..., Table]  # (user, params) -> Table
    list_url: str  # the list page's URL name


SOURCES = {
    source.key: source
    for source in (
        Source(
            "leads",
            gettext_lazy("Leads"),
            _list_page_source("crm.views.leads", "LEADS", Lead),
            "leads",
        ),
        Source(
            "contacts",
            gettext_lazy("Contacts"),
            _list_page_source("crm.views.contacts", "CONTACTS", Contact),
            "contacts",
        ),
        Source(
            "companies",
            gettext_lazy("Companies"),
            _list_page_source("crm.views.companies", "COMPANIES", Company),
            "companies",
        ),
        Source(
            "deals",
            gettext_lazy("Deals"),
            _list_page_source("crm.views.deals", "DEALS", Deal),
            "deals",
        ),
        Source("tasks", gettext_lazy("My tasks"), tasks_table, "tasks"),
        Source("tickets", gettext_lazy("Tickets"), tickets_table, "tickets"),
        Source("knowledge", gettext_lazy("Knowledge base"), articles_table, "knowledge"),
        Source("goals", gettext_lazy("Goals"), goals_table, "goals"),
        Source("automation-runs", gettext_lazy("Automation runs"), runs_table, "automation-runs"),
    )
}


# --- whole record types --------------------------------------------------------------------

WHOLE_TYPES = {
    "company": Company,
    "contact": Contact,
    "lead": Lead,
    "deal": Deal,
    "task": Task,
    "ticket": Ticket,
    "subscription": Subscription,
    "expense": Expense,
}
# Fields a copy of the data has no use for (the custom values get a column each).
SKIPPED_FIELDS = {"custom", "search_vector"}


def related_key(obj) -> str | None:
    """How a whole-type export names a related record: people by username, contacts by
    email (else name), anything else by its name."""
    if obj is None:
        return None
    if isinstance(obj, User):
        return obj.username
    if isinstance(obj, Contact):
        return obj.email or str(obj)
    return str(obj)


def _field_column(field: models.Field) -> ExportColumn:
    if field.many_to_one or field.one_to_one:
        return ExportColumn(field.name, lambda r, f=field: related_key(getattr(r, f.name)))
    if isinstance(field, models.BooleanField):
        return ExportColumn(field.name, lambda r, f=field: _true_false(getattr(r, f.name)))
    return ExportColumn(field.name, lambda r, f=field: getattr(r, f.attname))


def _true_false(value) -> str | None:
    return None if value is None else ("true" if value else "false")


def _custom_raw_column(definition: CustomField) -> ExportColumn:
    if definition.field_type == FieldType.USER:
        return ExportColumn(definition.key, related_key, user_field=definition.key)

    def value(record, d=definition):
        raw = (record.custom or {}).get(d.key)
        if isinstance(raw, bool):
            return _true_false(raw)
        if isinstance(raw, list):
            return "; ".join(str(item) for item in raw)
        return raw

    return ExportColumn(definition.key, value)


def whole_type_table(record_type: str, user) -> Table:
    """Every record of a type the user sees, every field and custom field, by id."""
    model = WHOLE_TYPES[record_type]
    if model not in access.RULES and not access.is_admin(user):
        raise PermissionDenied  # no visibility rule (expenses): admins only
    fields = [f for f in model._meta.concrete_fields if f.name not in SKIPPED_FIELDS]
    related = [f.name for f in fields if f.many_to_one or f.one_to_one]
    columns = [_field_column(f) for f in fields]
    if record_type in RecordType.values:
        columns += [_custom_raw_column(d) for d in definitions_for(record_type)]
    queryset = access.visible(model.objects.select_related(*related), user).order_by("pk")
    return Table(queryset, columns, filename=f"all-{record_type}")
