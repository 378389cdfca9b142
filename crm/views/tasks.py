"""Tasks: "My tasks", a task's page, create (alone, from a record, as a subtask), complete,
reopen and reassign. Every task is fetched through crm.access; every write is a service."""

from datetime import datetime, time, timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db.models import (
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.http import Http404, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm import services
from crm.access import get_for_user, get_task_for_user, is_support_agent, own, visible
from crm.forms.tasks import LINK_MODELS, ReassignForm, TaskForm
from crm.forms.tickets import QueueView
from crm.models import (
    Activity,
    Deal,
    DealStatus,
    Lead,
    LeadStatus,
    Task,
    TaskStatus,
    Ticket,
)
from crm.redirects import next_url, redirect_to
from crm.timeline import (
    OPEN_TASK_STATUSES,
    RowUrls,
    back_to,
    decorate_tasks,
    get_record_for_user,
    prefetch_task_links,
    task_link_prefetches,
)

from .activities import render_panels
from .tickets import NEXT_DUE, next_timer, view_filter

# Tasks per page of each section of My tasks; past MAX_SECTION_PAGE pages a section stops.
SECTION_PAGE = 25
MAX_SECTION_PAGE = 400


def day_bounds(day=None) -> tuple[datetime, datetime]:
    """Start of today and of tomorrow in the site's time zone."""
    day = day or timezone.localdate()
    start = timezone.make_aware(datetime.combine(day, time.min))
    end = timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))
    return start, end


def task_rows(queryset):
    """Tasks as shown in lists: their links fetched afterwards (prefetch_task_links), and
    subtask counts as subqueries (no GROUP BY over the joined rows)."""
    return (
        queryset.select_related("assignee")
        .prefetch_related(*task_link_prefetches())
        .annotate(
            subtask_count=_subtask_count(Q()),
            subtask_open=_subtask_count(Q(status__in=OPEN_TASK_STATUSES)),
        )
    )


def _subtask_count(condition: Q):
    counts = (
        Task.objects.filter(condition, parent=OuterRef("pk"))
        .order_by()
        .values("parent")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), 0)


class SectionRows(list):
    """One page of a section's tasks, and where its previous and next pages are."""

    def __init__(self, rows, *, key: str, number: int, has_next: bool, query):
        super().__init__(rows)
        self.key, self.number, self.has_next = key, number, has_next
        self.has_previous = number > 1
        self.previous_query = _page_query(query, key, number - 1) if self.has_previous else ""
        self.next_query = _page_query(query, key, number + 1) if has_next else ""


def section_page_param(key: str) -> str:
    return f"{key}_page"


def _page_query(query, key: str, number: int) -> str:
    params = query.copy()
    params[section_page_param(key)] = str(number)
    return params.urlencode()


def _page_number(query, key: str) -> int:
    raw = query.get(section_page_param(key), "")
    number = int(raw) if raw.isdigit() and len(raw) < 6 else 1
    return min(max(number, 1), MAX_SECTION_PAGE)


def own_task_rows(user):
    """The user's tasks as lists show them, with no joins: planning a task joined to its seven
    links took PostgreSQL longer than running it (20 ms against 1 ms on the large seed); the
    links of the rows shown are fetched afterwards, together (with_links)."""
    return own(Task, user).annotate(
        subtask_count=_subtask_count(Q()),
        subtask_open=_subtask_count(Q(status__in=OPEN_TASK_STATUSES)),
    )


def with_links(tasks: list, user) -> None:
    """Fetch the links of the user's own tasks (own_task_rows), as task rows show them."""
    for task in tasks:
        task.assignee = user  # own(): the user's tasks
    prefetch_task_links(tasks)


def _section_querysets(user) -> dict:
    start, end = day_bounds()
    mine = own_task_rows(user)
    active = mine.filter(status__in=OPEN_TASK_STATUSES)
    return {
        "overdue": active.filter(due_at__lt=start).order_by("due_at", "id"),
        "today": active.filter(due_at__gte=start, due_at__lt=end).order_by("due_at", "id"),
        "upcoming": active.filter(Q(due_at__gte=end) | Q(due_at__isnull=True)).order_by(
            F("due_at").asc(nulls_last=True), "id"
        ),
        "done": mine.filter(status=TaskStatus.DONE).order_by("-completed_at", "-id"),
    }


def my_task_sections(user, query=None) -> dict[str, SectionRows]:
    """One page of each section of the user's tasks: open ones by when they are due, and the
    ones done, latest first. A page reads one row more than it shows to know whether there is
    a next one, so no section is ever counted."""
    query = query if query is not None else QueryDict()
    pages = {}
    for key, queryset in _section_querysets(user).items():
        number = _page_number(query, key)
        offset = (number - 1) * SECTION_PAGE
        pages[key] = (number, list(queryset[offset : offset + SECTION_PAGE + 1]))
    with_links([task for _number, rows in pages.values() for task in rows], user)
    sections = {}
    for key, (number, rows) in pages.items():
        rows = decorate_tasks(rows)
        sections[key] = SectionRows(
            rows[:SECTION_PAGE],
            key=key,
            number=number,
            has_next=len(rows) > SECTION_PAGE,
            query=query,
        )
    return sections


def task_list(request):
    sections = my_task_sections(request.user, request.GET)
    titles = {
        "overdue": _("Overdue"),
        "today": _("Today"),
        "upcoming": _("Upcoming"),
        "done": _("Done"),
    }
    context = {
        "section": "tasks",
        "sections": [(key, titles[key], tasks) for key, tasks in sections.items()],
    }
    return render(request, "crm/tasks/list.html", context)


def _prefill(request) -> dict:
    """Initial links from the query string (?deal=12, ?parent=3), each checked for access."""
    initial = {}
    parent_id = request.GET.get("parent")
    if parent_id:
        parent = get_task_for_user(request.user, parent_id)
        initial["parent"] = parent.pk
        for name in LINK_MODELS:
            if getattr(parent, f"{name}_id"):
                initial[name] = getattr(parent, f"{name}_id")
    for name, model in LINK_MODELS.items():
        if request.GET.get(name):
            initial[name] = get_for_user(model, request.user, request.GET[name]).pk
    return initial


def _linked(form) -> list:
    """The records (and parent) a bound or prefilled form points at, for display."""
    found = []
    for name in ("parent", *LINK_MODELS):
        field = form[name]
        value = field.value()
        if not value:
            continue
        try:
            obj = form.fields[name].queryset.get(pk=value)
        except (ObjectDoesNotExist, ValueError, TypeError, ValidationError):
            continue
        found.append((name, obj._meta.verbose_name, obj))
    return found


def task_new(request):
    back = next_url(request)
    if request.method == "POST":
        form = TaskForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                task = services.task_create(actor=request.user, data=form.service_data())
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                messages.success(request, _("Task created."))
                return redirect_to(back or reverse("task-detail", args=[task.pk]))
        status = 400
    else:
        form = TaskForm(initial=_prefill(request), user=request.user)
        status = 200
    context = {
        "section": "tasks",
        "form": form,
        "linked": _linked(form),
        "next": back or "",
        "task": None,
    }
    return render(request, "crm/tasks/form.html", context, status=status)


def task_detail(request, pk: int):
    task = get_task_for_user(request.user, pk)
    status = 200
    if request.method == "POST":
        task = get_task_for_user(request.user, pk, write=True)
        form = TaskForm(request.POST, instance=task, user=request.user)
        if form.is_valid():
            try:
                services.task_update(task=task, actor=request.user, data=form.service_data())
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                messages.success(request, _("Task saved."))
                return redirect("task-detail", pk=task.pk)
        status = 400
    else:
        form = TaskForm(instance=task, user=request.user)
    task = task_rows(Task.objects.filter(pk=task.pk)).get()
    decorate_tasks([task])
    subtasks = decorate_tasks(
        task_rows(visible(task.subtasks.all(), request.user)).order_by("due_at", "id")
    )
    context = {
        "section": "tasks",
        "task": task,
        "form": form,
        "linked": _linked(form),
        "subtasks": subtasks,
        "reassign_form": ReassignForm(initial={"assignee": task.assignee_id}, user=request.user),
        "next": "",
    }
    return render(request, "crm/tasks/detail.html", context, status=status)


def _after_change(request, task: Task):
    """The answer to a one-click action: the record's panels, the task's row, or a redirect."""
    panel = request.POST.get("panel", "")
    if request.htmx and ":" in panel:
        kind, _sep, record_pk = panel.partition(":")
        try:
            record = get_record_for_user(request.user, kind, record_pk)
        except Http404:
            record = None
        if record is not None:
            return render_panels(request, record)
    if request.htmx:
        row = decorate_tasks(task_rows(Task.objects.filter(pk=task.pk)))[0]
        return render(request, "crm/tasks/_task_row.html", {"task": row})
    if request.POST.get("next"):
        return redirect_to(back_to(request))
    return redirect("task-detail", pk=task.pk)


def _transition(request, pk: int, service):
    task = get_task_for_user(request.user, pk, write=True)
    try:
        task = service(task=task, actor=request.user)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    return _after_change(request, task)


@require_POST
def task_complete(request, pk: int):
    return _transition(request, pk, services.task_complete)


@require_POST
def task_reopen(request, pk: int):
    return _transition(request, pk, services.task_reopen)


@require_POST
def task_reassign(request, pk: int):
    task = get_task_for_user(request.user, pk, write=True)
    form = ReassignForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            services.task_update(
                task=task, actor=request.user, data={"assignee": form.cleaned_data["assignee"]}
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request, _("Task assigned to %(user)s.") % {"user": form.cleaned_data["assignee"]}
            )
            return _after_change(request, task)
    else:
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
        if not request.htmx:
            return redirect("task-detail", pk=task.pk)
    return _after_change(request, task)


@require_POST
def record_task_add(request, record_type: str, pk: int):
    """Quick add from a record's panels: a title and an optional due time."""
    record = get_record_for_user(request.user, record_type, pk, write=True)
    data = {
        "title": request.POST.get("title", ""),
        "due_at": request.POST.get("due_at", ""),
        "priority": request.POST.get("priority") or "normal",
        "assignee": request.user.pk,
        record_type: record.pk,
    }
    form = TaskForm(data, user=request.user)
    errors = []
    if form.is_valid():
        try:
            services.task_create(actor=request.user, data=form.service_data())
        except ValidationError as error:
            errors = error.messages
    else:
        errors = [message for messages_ in form.errors.values() for message in messages_]
    if not request.htmx:
        for message in errors:
            messages.error(request, message)
        return redirect_to(back_to(request, record))
    return render_panels(request, record, task_form_errors=errors)


STALE_AFTER = timedelta(days=14)
MY_DAY_LIMIT = 20


def my_day(user) -> dict:
    """What the home page shows, by what the user works on: their tasks due by today; new
    leads and deals gone quiet (sales); their ticket queue and the tickets about to breach
    (support). Each list shows its first MY_DAY_LIMIT rows and links to the whole list."""
    start, end = day_bounds()
    active = own_task_rows(user).filter(status__in=OPEN_TASK_STATUSES)
    tasks = reverse("tasks")
    lists = {
        "overdue_tasks": (
            active.filter(due_at__lt=start).order_by("due_at", "id"),
            f"{tasks}#tasks-overdue",
        ),
        "today_tasks": (
            active.filter(due_at__gte=start, due_at__lt=end).order_by("due_at", "id"),
            f"{tasks}#tasks-today",
        ),
    }
    sales = user.has_perm("crm.view_lead")
    support = is_support_agent(user)
    if sales:
        lists.update(_sales_lists(user))
    if support:
        lists.update(_support_lists(user))
    context = {
        "stale_days": STALE_AFTER.days,
        "show_sales": sales,
        "show_support": support,
        "see_all": {key: url for key, (_rows, url) in lists.items()},
        "more": {},
    }
    for key, (queryset, _url) in lists.items():
        rows = list(queryset[: MY_DAY_LIMIT + 1])
        context["more"][key] = len(rows) > MY_DAY_LIMIT
        context[key] = rows[:MY_DAY_LIMIT]
    with_links(context["overdue_tasks"] + context["today_tasks"], user)
    for key in ("overdue_tasks", "today_tasks"):
        context[key] = decorate_tasks(context[key])
    for key in ("new_leads", "stale_deals"):
        if key in context:
            context[key] = _with_urls(context[key])
    now = timezone.now()
    for key in ("my_tickets", "unassigned_tickets", "breaching_tickets"):
        for ticket in context.get(key, []):
            ticket.timer = next_timer(ticket, now)
    return context


def _sales_lists(user) -> dict:
    cutoff = timezone.now() - STALE_AFTER
    last_activity = (
        Activity.objects.filter(deal=OuterRef("pk")).order_by("-occurred_at").values("occurred_at")
    )
    # Filtering with NOT EXISTS and ordering by a plain column lets the database stop at the
    # first quiet deals; the last-activity time is computed for the rows shown only.
    stale = (
        own(Deal, user)
        .filter(status=DealStatus.OPEN)
        .quiet(cutoff)
        .annotate(last_activity_at=Subquery(last_activity[:1]))
        .select_related("company", "stage")
        .order_by("created_at", "id")
    )
    new_leads = own(Lead, user).filter(status=LeadStatus.NEW).order_by("-created_at")
    leads_query = urlencode({"status": LeadStatus.NEW, "owner": user.pk})
    deals_query = urlencode(
        {
            "status": DealStatus.OPEN,
            "owner": user.pk,
            "quiet": STALE_AFTER.days,
            "sort": "created_at",
        }
    )
    return {
        "new_leads": (new_leads, f"{reverse('leads')}?{leads_query}"),
        "stale_deals": (stale, f"{reverse('deals')}?{deals_query}"),
    }


def _support_lists(user) -> dict:
    """An agent's queue (their open tickets, and the unassigned ones of their team) and the
    tickets about to breach, as the queue's views of the same names count them."""
    now = timezone.now()
    # As the queue sorts by default: the next due time first.
    tickets = (
        visible(Ticket, user)
        .annotate(next_due=NEXT_DUE)
        .select_related("contact", "company", "assignee")
        .order_by(F("next_due").asc(nulls_last=True), "-created_at", "pk")
    )
    queue = reverse("tickets")
    views = {
        "my_tickets": QueueView.MINE,
        "unassigned_tickets": QueueView.UNASSIGNED,
        "breaching_tickets": QueueView.BREACHING,
    }
    return {
        key: (tickets.filter(view_filter(view, user, now)), f"{queue}?view={view}")
        for key, view in views.items()
    }


def _with_urls(queryset) -> list:
    rows = list(queryset)
    urls = RowUrls()
    for row in rows:
        row.url = urls.record(row)
    return rows
