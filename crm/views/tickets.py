"""The support queue and the ticket page (agents' side).

Tickets come through `crm.access` (visible / get_ticket_for_user); every change goes through
the services. Both pages run a fixed number of queries whatever the number of rows.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Case, Count, Exists, F, OuterRef, Q, When
from django.http import HttpResponseNotAllowed, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from crm import access, lists, services
from crm.custom_fields import definitions_for
from crm.forms.tickets import (
    NO_ASSIGNEE,
    BulkForm,
    NPSSendForm,
    QueueView,
    ReplyForm,
    TicketCreateForm,
    TicketFilterForm,
    TicketHandlingForm,
)
from crm.forms.widgets import SearchSelect
from crm.models import (
    DONE_STATUSES,
    Company,
    Contact,
    Deal,
    SLAPolicy,
    Ticket,
    TicketPriority,
    TicketStatus,
    User,
)
from crm.redirects import next_url, redirect_to
from crm.search import search

from .search import MAX_TERM, OPTIONS_LIMIT

PAGE_SIZE = 50
# A timer turns amber when less than this share of its window is left, red once it is over.
SLA_WARNING_SHARE = 0.25
PRIORITY_ORDER = Case(
    When(priority=TicketPriority.URGENT, then=0),
    When(priority=TicketPriority.HIGH, then=1),
    When(priority=TicketPriority.NORMAL, then=2),
    default=3,
)
# Tickets still being worked on; the views of the queue show only these (but a chosen status).
WORKING = ~Q(status__in=DONE_STATUSES)
# The next due time of a working ticket: its first response until answered, then resolution.
NEXT_DUE = Case(
    When(status__in=DONE_STATUSES, then=None),
    When(first_response_at__isnull=True, then=F("first_response_due_at")),
    default=F("resolution_due_at"),
)


@dataclass
class Timer:
    label: str
    due: datetime | None
    done_at: datetime | None
    state: str  # ok, warning, breached, met, late, none
    remaining: timedelta | None = None

    @property
    def css(self) -> str:
        return {
            "ok": "sla-ok",
            "warning": "sla-warning",
            "breached": "sla-breached",
            "met": "sla-met",
            "late": "sla-breached",
        }.get(self.state, "sla-none")


def _timer(label, created, due, done_at, now) -> Timer:
    if due is None:
        return Timer(label, None, done_at, "none")
    if done_at is not None:
        return Timer(label, due, done_at, "met" if done_at <= due else "late")
    remaining = due - now
    if remaining <= timedelta(0):
        return Timer(label, due, None, "breached", remaining)
    window = due - created
    state = "warning" if remaining <= window * SLA_WARNING_SHARE else "ok"
    return Timer(label, due, None, state, remaining)


def sla_timers(ticket: Ticket, now: datetime) -> list[Timer]:
    resolved_at = ticket.resolved_at if ticket.status in DONE_STATUSES else None
    return [
        _timer(
            gettext_lazy("First response"),
            ticket.created_at,
            ticket.first_response_due_at,
            ticket.first_response_at,
            now,
        ),
        _timer(
            gettext_lazy("Resolution"),
            ticket.created_at,
            ticket.resolution_due_at,
            resolved_at,
            now,
        ),
    ]


def next_timer(ticket: Ticket, now: datetime) -> Timer:
    """The timer that matters now: the first one still running, else the resolution."""
    timers = sla_timers(ticket, now)
    running = [t for t in timers if t.done_at is None and t.due is not None]
    if ticket.status in DONE_STATUSES:
        return timers[1]
    return running[0] if running else timers[1]


def about_to_breach(now: datetime) -> Q:
    """Working tickets already breached, or inside the last share of their SLA window.

    The window comes from each priority's policy, so the filter stays one SQL condition.
    """
    condition = Q(sla_breached_at__isnull=False)
    for policy in SLAPolicy.objects.all():
        response_margin = timedelta(hours=float(policy.first_response_hours) * SLA_WARNING_SHARE)
        resolution_margin = timedelta(hours=float(policy.resolution_hours) * SLA_WARNING_SHARE)
        condition |= Q(
            priority=policy.priority,
            first_response_at__isnull=True,
            first_response_due_at__lt=now + response_margin,
        )
        condition |= Q(priority=policy.priority, resolution_due_at__lt=now + resolution_margin)
    # Tickets without a policy still breach on their stored due times.
    condition |= Q(first_response_at__isnull=True, first_response_due_at__lt=now)
    condition |= Q(resolution_due_at__lt=now)
    return condition & ~Q(status__in=DONE_STATUSES)


def view_filter(view: str, user, now) -> Q:
    """The tickets of one view of the queue (My day's ticket lists use the same)."""
    working = WORKING
    if view == QueueView.UNASSIGNED:
        return working & Q(assignee__isnull=True)
    if view == QueueView.MINE:
        return working & Q(assignee=user)
    if view == QueueView.TEAM:
        team_ids = access.team_ids(user)
        # A subquery, not a join: the team join would repeat a ticket once per team.
        members = User.objects.filter(teams__in=team_ids).values("pk")
        return working & (Q(team__in=team_ids) | Q(assignee__in=members) | Q(assignee=user))
    if view == QueueView.BREACHING:
        return about_to_breach(now)
    if view == QueueView.PENDING:
        return Q(status=TicketStatus.PENDING)
    return working


class CompanySearchSelect(SearchSelect):
    """The Company filter of the queue: only the chosen company is in the page; typing asks
    `ticket-companies` for the companies of the user's tickets."""

    def __init__(self, attrs=None):
        super().__init__("company", attrs)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["attrs"]["data-search-url"] = reverse("ticket-companies")
        return context


class QueueFilterForm(TicketFilterForm):
    def __init__(self, *args, tickets, **kwargs):
        super().__init__(*args, tickets=tickets, **kwargs)
        field = self.fields["company"]
        field.queryset = ticket_companies(tickets).only("pk", "name")
        # Tens of thousands of companies have tickets: never list them all.
        field.widget = CompanySearchSelect(attrs=field.widget.attrs)
        field.widget.choices = field.choices


def ticket_companies(tickets):
    """The companies of `tickets` (a visible queryset): each company once, however many
    tickets it has."""
    with_ticket = tickets.filter(company=OuterRef("pk"))
    return Company.objects.filter(Exists(with_ticket))


def company_options(request):
    """Companies of the user's tickets matching the typed words, as JSON for the queue's
    Company filter: [{"id": 1, "label": "Acme"}], at most OPTIONS_LIMIT."""
    term = " ".join(request.GET.get("q", "").split())[:MAX_TERM]
    if not term:
        return JsonResponse({"results": []})
    companies = ticket_companies(access.visible(Ticket, request.user))
    rows = search(companies, term).only("pk", "name")[:OPTIONS_LIMIT]
    return JsonResponse({"results": [{"id": row.pk, "label": str(row)} for row in rows]})


def queue(request):
    now = timezone.now()
    visible = access.visible(Ticket, request.user)
    form = QueueFilterForm(request.GET or None, user=request.user, tickets=visible)
    data = form.cleaned_data if form.is_valid() else {}
    view = data.get("view") or QueueView.ALL
    tickets = queue_tickets(visible, data, request.user, now)
    tickets = tickets.select_related("contact", "company", "assignee", "team")

    views = _views_with_counts(visible, request.user, now)
    # Counted up to lists.CappedPaginator.COUNT_CAP: a chosen status may match 280k tickets.
    paginator = lists.CappedPaginator(tickets, PAGE_SIZE)
    if not any(data.get(name) for name in NARROWING_FILTERS):
        # The view's own count says how many rows there are: no second pass over them.
        paginator.count = next(count for key, _label, count in views if key == view)
    page = paginator.get_page(request.GET.get("page"))
    rows = [(ticket, next_timer(ticket, now)) for ticket in page.object_list]
    detail_url = lists.pk_urls("ticket-detail")
    for ticket, _timer in rows:
        ticket.detail_url = detail_url(ticket.pk)
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "crm/tickets/queue.html",
        {
            "section": "tickets",
            "form": form,
            "view": view,
            "views": views,
            "page": page,
            "rows": rows,
            "query": params.urlencode(),
            "view_query": _without(params, "view"),
            "assignees": form.assignees,
            "bulk_statuses": BulkForm.STATUSES,
            "can_change": request.user.has_perm("crm.change_ticket"),
        },
    )


def queue_tickets(visible, data: dict, user, now):
    """The queue's tickets for the filter form's cleaned data, sorted as the page shows them
    (the queue and its export read the same rows)."""
    view = data.get("view") or QueueView.ALL
    tickets = visible
    if data.get("status"):
        # Choosing a status shows it whatever the view (resolved tickets included).
        tickets = tickets.filter(status=data["status"])
        if view != QueueView.ALL:
            tickets = tickets.filter(view_filter(view, user, now))
    else:
        tickets = tickets.filter(view_filter(view, user, now))
    for name in ("priority", "channel", "company"):
        if data.get(name):
            tickets = tickets.filter(**{name: data[name]})
    if data.get("assignee") == NO_ASSIGNEE:
        tickets = tickets.filter(assignee__isnull=True)
    elif data.get("assignee"):
        tickets = tickets.filter(assignee_id=int(data["assignee"]))
    if data.get("q"):
        term = data["q"].strip()
        tickets = tickets.filter(
            Q(subject__icontains=term)
            | Q(contact__email__icontains=term)
            | Q(company__name__icontains=term)
            | (Q(pk=int(term.lstrip("#"))) if term.lstrip("#").isdigit() else Q(pk__in=[]))
        )
    return _sorted(tickets.annotate(next_due=NEXT_DUE), data.get("sort") or "sla")


# Filters that narrow a view's tickets (the sort only orders them).
NARROWING_FILTERS = ("status", "priority", "channel", "company", "assignee", "q")


def _without(params, key: str) -> str:
    params = params.copy()
    params.pop(key, None)
    return params.urlencode()


def _sorted(tickets, sort: str):
    if sort == "newest":
        return tickets.order_by("-created_at", "-pk")
    if sort == "oldest":
        return tickets.order_by("created_at", "pk")
    if sort == "priority":
        return tickets.order_by(PRIORITY_ORDER, F("next_due").asc(nulls_last=True), "pk")
    return tickets.order_by(F("next_due").asc(nulls_last=True), "-created_at", "pk")


def _views_with_counts(visible, user, now) -> list[tuple[str, str, int]]:
    """Each view with how many tickets it holds, counted in one query."""
    # Every view holds working tickets only: counting those reads the working tickets' index,
    # not the years of resolved ones.
    counts = visible.filter(WORKING).aggregate(
        **{
            key: Count("pk", filter=view_filter(key, user, now))
            for key, _label in QueueView.CHOICES
        }
    )
    return [(key, label, counts[key]) for key, label in QueueView.CHOICES]


@require_POST
def bulk(request):
    form = BulkForm(request.POST, user=request.user)
    back = next_url(request, reverse("tickets"))
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect_to(back)
    if not request.user.has_perm("crm.change_ticket"):
        raise PermissionDenied
    # Only tickets the user sees are touched; others in the list are silently ignored.
    tickets = list(
        access.visible(Ticket, request.user)
        .filter(pk__in=form.cleaned_data["ids"])
        .select_related("assignee")
        .order_by("pk")
    )
    if form.cleaned_data["action"] == "assign":
        changed, errors = services.tickets_bulk_assign(
            tickets=tickets, actor=request.user, assignee=form.chosen_assignee()
        )
    else:
        changed, errors = services.tickets_bulk_set_status(
            tickets=tickets, actor=request.user, status=form.cleaned_data["status"]
        )
    messages.success(request, _("%(n)s ticket(s) changed.") % {"n": changed})
    for error in errors:
        messages.warning(request, error)
    return redirect_to(back)


def detail(request, pk: int, *, reply_form=None, handling_form=None, status=200):
    ticket = access.get_ticket_for_user(request.user, pk)
    now = timezone.now()
    conversation = list(ticket.messages.select_related("author").order_by("created_at", "pk"))
    recent_tickets, deals = [], []
    if ticket.contact_id or ticket.company_id:
        same_customer = Q(contact_id=ticket.contact_id) if ticket.contact_id else Q(pk__in=[])
        if ticket.company_id:
            same_customer |= Q(company_id=ticket.company_id)
        recent_tickets = list(
            access.visible(Ticket, request.user)
            .filter(same_customer)
            .exclude(pk=ticket.pk)
            .order_by("-created_at")[:5]
        )
    if ticket.company_id:
        deals = list(
            access.visible(Deal, request.user)
            .filter(company_id=ticket.company_id)
            .select_related("stage")
            .order_by("-created_at")[:5]
        )
    can_change = access.can_change(request.user, ticket)
    return render(
        request,
        "crm/tickets/detail.html",
        {
            "section": "tickets",
            "ticket": ticket,
            "conversation": conversation,
            "timers": sla_timers(ticket, now),
            "recent_tickets": recent_tickets,
            "deals": deals,
            "survey_answers": list(ticket.survey_answers.order_by("-answered_at")[:5]),
            "custom_values": lists.custom_values(ticket, definitions_for("ticket")),
            "can_change": can_change,
            "company_visible": bool(
                ticket.company_id
                and access.visible(Company, request.user).filter(pk=ticket.company_id).exists()
            ),
            "contact_visible": bool(
                ticket.contact_id
                and access.visible(Contact, request.user).filter(pk=ticket.contact_id).exists()
            ),
            "reply_form": reply_form or ReplyForm(),
            "handling_form": handling_form
            or TicketHandlingForm(
                user=request.user,
                initial={"assignee": ticket.assignee_id, "priority": ticket.priority},
            ),
            "is_done": ticket.status in DONE_STATUSES,
        },
        status=status,
    )


def ticket_page(request, pk: int):
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    return detail(request, pk)


@require_POST
def reply(request, pk: int):
    ticket = access.get_ticket_for_user(request.user, pk, write=True)
    form = ReplyForm(request.POST)
    if form.is_valid():
        try:
            services.ticket_agent_reply(
                ticket=ticket,
                actor=request.user,
                body=form.cleaned_data["body"],
                internal=form.cleaned_data["internal"],
                status=form.cleaned_data["status"] or None,
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            if form.cleaned_data["internal"]:
                messages.success(request, _("Note added."))
            else:
                messages.success(request, _("Reply sent."))
            return redirect("ticket-detail", pk=ticket.pk)
    return detail(request, pk, reply_form=form, status=400)


@require_POST
def handling(request, pk: int):
    ticket = access.get_ticket_for_user(request.user, pk, write=True)
    form = TicketHandlingForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            services.ticket_update(
                ticket=ticket,
                actor=request.user,
                data={
                    "assignee": form.cleaned_data["assignee"],
                    "priority": form.cleaned_data["priority"],
                },
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("Ticket updated."))
            return redirect("ticket-detail", pk=ticket.pk)
    return detail(request, pk, handling_form=form, status=400)


@require_POST
def resolve(request, pk: int):
    ticket = access.get_ticket_for_user(request.user, pk, write=True)
    try:
        services.ticket_resolve_and_survey(ticket=ticket, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Ticket resolved."))
    return redirect("ticket-detail", pk=ticket.pk)


@require_POST
def reopen(request, pk: int):
    ticket = access.get_ticket_for_user(request.user, pk, write=True)
    try:
        services.ticket_reopen(ticket=ticket, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Ticket reopened."))
    return redirect("ticket-detail", pk=ticket.pk)


def create(request):
    if not request.user.has_perm("crm.add_ticket"):
        raise PermissionDenied
    form = TicketCreateForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            ticket = services.ticket_open_for_customer(
                actor=request.user,
                name=data["name"],
                email=data["email"],
                subject=data["subject"],
                message=data["message"],
                channel=data["channel"],
                priority=data["priority"],
                assignee=data["assignee"],
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("Ticket opened."))
            return redirect("ticket-detail", pk=ticket.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "crm/tickets/create.html", {"section": "tickets", "form": form}, status=status
    )


def nps_send(request):
    """Ask a company's contacts for their NPS now (the schedule does it quarterly)."""
    if not request.user.has_perm("crm.add_surveyinvitation"):
        raise PermissionDenied
    companies = access.visible(Company, request.user).order_by("name")
    form = NPSSendForm(request.POST or None, companies=companies)
    _search_as_you_type(form.fields["company"])
    if request.method == "POST" and form.is_valid():
        company = form.cleaned_data["company"]
        contact_ids = list(
            Contact.objects.filter(company=company).exclude(email="").values_list("pk", flat=True)
        )
        if contact_ids:
            from crm import tasks

            tasks.send_nps_surveys.delay_on_commit(contact_ids)
            messages.success(
                request,
                _("An NPS survey is on its way to %(n)s contact(s) of %(company)s.")
                % {"n": len(contact_ids), "company": company},
            )
        else:
            messages.warning(
                request,
                _("%(company)s has no contact with an email address.") % {"company": company},
            )
        return redirect("tickets-nps")
    status = 400 if request.method == "POST" else 200
    return render(
        request, "crm/tickets/nps.html", {"section": "tickets", "form": form}, status=status
    )


def _search_as_you_type(field) -> None:
    """Give a company field the select that holds only the chosen company."""
    field.widget = SearchSelect("company", attrs=field.widget.attrs)
    field.widget.choices = field.choices


def _add_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for name, messages_ in error.message_dict.items():
            for message in messages_:
                form.add_error(name if name in form.fields else None, message)
    else:
        form.add_error(None, error)
