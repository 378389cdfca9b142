"""What a record page shows beside its fields: the log-activity box, its tasks and its timeline.

Record detail views call `record_panels(request, record)` and add the result to their context;
their template includes "crm/_record_panels.html".

The timeline merges, newest first, the record's activities, deal stage changes, tasks (created
and completed) and tickets. Each source is one query limited to a page, so a record with ten
thousand entries costs the same handful of queries as one with ten. A company gathers what
happened on its contacts and deals too; a contact gathers its deals.
"""

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from django.db.models import Prefetch, Q, prefetch_related_objects
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from crm import access
from crm.lists import pk_urls
from crm.models import (
    Activity,
    Company,
    Contact,
    Deal,
    DealStageChange,
    Lead,
    Task,
    TaskStatus,
    Ticket,
)
from crm.redirects import next_url, safe_path

PAGE_SIZE = 50
PANEL_TASKS = 20
# A company with more deals or contacts than this shows the newest ones' history.
GATHER_LIMIT = 500
OPEN_TASK_STATUSES = [TaskStatus.OPEN, TaskStatus.IN_PROGRESS]

RECORD_MODELS = {
    "lead": Lead,
    "contact": Contact,
    "company": Company,
    "deal": Deal,
    "ticket": Ticket,
}
GETTERS = {
    "lead": access.get_lead_for_user,
    "contact": access.get_contact_for_user,
    "company": access.get_company_for_user,
    "deal": access.get_deal_for_user,
    "ticket": access.get_ticket_for_user,
}


def record_type(record) -> str:
    return record._meta.model_name


def get_record_for_user(user, kind: str, pk, *, write: bool = False):
    """The record a panel endpoint is about, through the access helpers (404 if unknown; with
    `write`, 403 if the user may not change it: adding an activity or a task writes on it)."""
    from django.http import Http404

    getter = GETTERS.get(kind)
    if getter is None:
        raise Http404
    return getter(user, pk, write=write)


def record_url(record) -> str | None:
    """The record's detail page, if that page exists."""
    name = record_type(record)
    for url_name in (f"{name}-detail", f"{name}_detail"):
        try:
            return reverse(url_name, args=[record.pk])
        except NoReverseMatch:
            continue
    return None


def task_about(task: Task):
    """The record a task is about (its link fields must be loaded with select_related)."""
    for name in RECORD_MODELS:
        if getattr(task, f"{name}_id"):
            return getattr(task, name)
    return None


class RowUrls(dict):
    """The URL makers of one batch of rows, by URL name, made when first needed."""

    def __missing__(self, url_name: str):
        try:
            maker = pk_urls(url_name)
        except NoReverseMatch:
            maker = None
        self[url_name] = maker
        return maker

    def record(self, record) -> str | None:
        maker = self[f"{record_type(record)}-detail"]
        return maker(record.pk) if maker else record_url(record)


# What a task row shows of each record (or parent task) it links to: its name, and its page.
TASK_LINK_FIELDS = {
    "parent": (Task, ("title",)),
    "lead": (Lead, ("name",)),
    "contact": (Contact, ("first_name", "last_name")),
    "company": (Company, ("name",)),
    "deal": (Deal, ("name",)),
    "ticket": (Ticket, ("subject",)),
}


def prefetch_task_links(tasks: list[Task]) -> None:
    """Fetch the links of task rows: one query per kind of link for all the rows, none for a
    kind no row has, reading only what the rows show. A task joined to its six links took
    PostgreSQL 18-33 ms to plan and 1 ms to run, and whole deals and companies took a third
    of My tasks' time."""
    prefetch_related_objects(tasks, *task_link_prefetches())


def task_link_prefetches() -> list[Prefetch]:
    """The prefetches of prefetch_task_links, for a queryset of task rows."""
    return [
        Prefetch(name, queryset=model.objects.only("pk", *fields))
        for name, (model, fields) in TASK_LINK_FIELDS.items()
    ]


def decorate_tasks(tasks) -> list[Task]:
    """Attach what the task rows show beyond their fields (no queries: links are joined):
    `about` and `about_url`, the task's own page, the URL of its one-click toggle, and the
    moment the row shows (done at, or due at) in local time, with its ISO form."""
    tasks = list(tasks)
    urls = RowUrls()
    for task in tasks:
        task.about = task_about(task)
        task.about_url = urls.record(task.about) if task.about is not None else None
        task.detail_url = urls["task-detail"](task.pk)
        toggle = "task-reopen" if task.status == TaskStatus.DONE else "task-complete"
        task.toggle_url = urls[toggle](task.pk)
        moment = task.completed_at if task.status == TaskStatus.DONE else task.due_at
        task.moment = timezone.localtime(moment) if moment else None
        task.moment_iso = task.moment.isoformat() if moment else ""
    return tasks


def current_page(request) -> str:
    """The page the panels are shown on (for redirects after a plain, non-htmx post)."""
    posted = next_url(request)
    if posted:
        return posted
    htmx = getattr(request, "htmx", None)
    shown = safe_path(request, htmx.current_url_abs_path) if htmx else None
    if shown:
        return shown
    return request.get_full_path()


def back_to(request, record=None) -> str:
    """Where a plain (non-htmx) post returns: the posted `next`, the record or home."""
    url = record_url(record) if record is not None else None
    return next_url(request, url or reverse("home"))


@dataclass
class Entry:
    at: datetime
    kind: str  # activity, stage_change, task_created, task_completed, ticket
    obj: object

    @property
    def sort_key(self):
        return (self.at, self.kind, self.obj.pk)


class Scope:
    """Which rows belong to a record's timeline (a Q per source, None when it has none)."""

    def __init__(self, record, user):
        kind = record_type(record)
        deal_ids: list[int] = []
        contact_ids: list[int] = []
        if kind == "company":
            deal_ids = _ids(access.visible(Deal, user).filter(company=record))
            contact_ids = _ids(access.visible(Contact, user).filter(company=record))
        elif kind == "contact":
            deal_ids = _ids(access.visible(Deal, user).filter(contact=record))
        elif kind == "deal":
            deal_ids = [record.pk]
        own = Q(**{kind: record})
        gathered = own
        if deal_ids and kind != "deal":
            gathered |= Q(deal_id__in=deal_ids)
        if contact_ids:
            gathered |= Q(contact_id__in=contact_ids)
        self.activities = gathered
        self.tasks = gathered
        self.stage_changes = Q(deal_id__in=deal_ids) if deal_ids else None
        self.tickets = None
        if kind == "contact":
            self.tickets = Q(contact=record)
        elif kind == "company":
            self.tickets = Q(company=record)


def _ids(queryset) -> list[int]:
    return list(queryset.order_by("-pk").values_list("pk", flat=True)[:GATHER_LIMIT])


def timeline_entries(record, user, *, before: datetime | None = None, scope: Scope | None = None):
    """(entries newest first, the cursor of the next page or None)."""
    scope = scope or Scope(record, user)
    limit = PAGE_SIZE + 1
    sources = []

    def page(queryset, field):
        if before is not None:
            queryset = queryset.filter(**{f"{field}__lt": before})
        return queryset.order_by(f"-{field}", "-pk")[:limit]

    activities = Activity.objects.filter(scope.activities).select_related("user")
    sources += [Entry(a.occurred_at, "activity", a) for a in page(activities, "occurred_at")]
    tasks = Task.objects.filter(scope.tasks).select_related("assignee", "created_by")
    sources += [Entry(t.created_at, "task_created", t) for t in page(tasks, "created_at")]
    done = tasks.filter(status=TaskStatus.DONE)
    sources += [Entry(t.completed_at, "task_completed", t) for t in page(done, "completed_at")]
    if scope.stage_changes is not None:
        changes = DealStageChange.objects.filter(scope.stage_changes).select_related(
            "deal", "from_stage", "to_stage", "changed_by"
        )
        sources += [Entry(c.changed_at, "stage_change", c) for c in page(changes, "changed_at")]
    if scope.tickets is not None:
        tickets = access.visible(Ticket, user).filter(scope.tickets).select_related("assignee")
        sources += [Entry(t.created_at, "ticket", t) for t in page(tickets, "created_at")]
    sources.sort(key=lambda entry: entry.sort_key, reverse=True)
    entries = sources[:PAGE_SIZE]
    cursor = entries[-1].at if len(sources) > PAGE_SIZE else None
    for entry in entries:
        if entry.kind == "ticket":
            entry.url = record_url(entry.obj)
    return entries, cursor


def timeline_url(record, cursor: datetime | None) -> str | None:
    if cursor is None:
        return None
    url = reverse("timeline", args=[record_type(record), record.pk])
    return f"{url}?{urlencode({'before': cursor.isoformat()})}"


def parse_cursor(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:
        return None
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


def panel_tasks(record, user, scope: Scope) -> list[Task]:
    tasks = list(
        Task.objects.filter(scope.tasks, status__in=OPEN_TASK_STATUSES)
        .select_related("assignee")
        .order_by("due_at", "id")[:PANEL_TASKS]
    )
    prefetch_task_links(tasks)
    return decorate_tasks(tasks)


def record_panels(request, record, *, activity_form=None, task_form_errors=None) -> dict:
    """Context for "crm/_record_panels.html": log-activity box, open tasks and timeline."""
    from crm.forms.activities import ActivityForm

    kind = record_type(record)
    can_write = access.can_change(request.user, record)
    scope = Scope(record, request.user)
    entries, cursor = timeline_entries(record, request.user, scope=scope)
    next_page = current_page(request)
    task_query = urlencode({kind: record.pk, "next": next_page})
    return {
        "panel_record": record,
        # Logging an activity or adding a task writes on the record: only offered to those
        # who may change it and may post to the endpoint.
        "panel_can_log": can_write and access.may_post(request.user, "activity-log"),
        "panel_can_add_task": can_write and access.may_post(request.user, "record-task-add"),
        "panel_type": kind,
        "panel_id": f"record-panels-{kind}-{record.pk}",
        "panel_next": next_page,
        "activity_form": activity_form or ActivityForm(auto_id=f"id_{kind}{record.pk}_%s"),
        "activity_log_url": reverse("activity-log", args=[kind, record.pk]),
        "task_quick_url": reverse("record-task-add", args=[kind, record.pk]),
        "task_new_url": f"{reverse('task-new')}?{task_query}",
        "task_form_errors": task_form_errors or [],
        "panel_tasks": panel_tasks(record, request.user, scope),
        "timeline": entries,
        "timeline_more_url": timeline_url(record, cursor),
    }
