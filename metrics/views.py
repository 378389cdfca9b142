"""Dashboards, the KPI page (value, trend, breakdown, drill-down, CSV) and user-built dashboards.

Who reads what is decided in metrics.dashboards (`can_view_segment`), on top of crm.access:
managers and admins read the company's numbers; everyone else reads their own and their teams'.
The rows behind a number (drill-down, CSV, breakdown names) are only those crm.access shows the
reader, admins excepted: a manager sees how many others there are, never which.
"""

from datetime import date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.access import is_admin, team_ids
from crm.choices import choice_label
from crm.models import (
    Company,
    Deal,
    DealStageChange,
    Lead,
    LoginEvent,
    Subscription,
    SurveyAnswer,
    Ticket,
    User,
)
from exports.cells import csv_cell  # noqa: F401 (the drill-down's cells, escaped as every export's)
from exports.writers import csv_lines, xlsx_response

from . import charts, health, services
from .dashboards import (
    READY_MADE,
    SEGMENT_LABELS,
    band_tone,
    build_cards,
    can_view_segment,
    default_segment,
    effective_bands,
    kpi_url,
    own_segment,
    parse_segment,
    query_string,
    sees_everything,
    segment_label,
    segment_names,
    segment_options,
    supports,
)
from .forms import CardForm, DashboardForm, PeriodSegmentForm
from .models import CardKind, Dashboard, DashboardCard
from .numbers import Reader
from .periods import comparison_for, period_for
from .registry import REGISTRY, Segment, all_kpis

DRILL_DOWN_PAGE_SIZE = 50
# A page number past any real list (a hostile one is not sent to the database as is).
MAX_PAGE = 10**9


# Period and segment ----------------------------------------------------------------------


def _filters(request, *, default=None, default_grain="month", fixed_segment=False):
    """(form, period, segment, status) from the GET picker; bad input is a form error (400)
    with this month and the default segment shown instead."""
    default = default if default is not None else default_segment(request.user)
    data = request.GET.copy()
    if fixed_segment:
        data.pop("segment", None)
    if "grain" not in data:
        data["grain"] = default_grain
    options = _segment_options(request)
    form = PeriodSegmentForm(data, user=request.user, default_segment=default, options=options)
    if form.is_valid():
        period, segment, status = form.cleaned_data["period"], form.cleaned_data["segment"], 200
        # Show the period actually displayed (a grain alone picks today's month, quarter...).
        form = PeriodSegmentForm(
            initial=PeriodSegmentForm.initial_for(period, segment),
            user=request.user,
            default_segment=default,
            options=options,
        )
    else:
        period, segment, status = period_for("month", timezone.localdate()), default, 400
    if not can_view_segment(request.user, segment):
        # Another team's numbers: as for a record of another team, they do not exist here.
        raise Http404
    return form, period, segment, status


def _segment_options(request):
    """The user's segment menu, built once per request (the picker shows it, the form
    validates against it)."""
    if not hasattr(request, "_segment_options"):
        request._segment_options = segment_options(request.user)
    return request._segment_options


def _picker_context(request, form, period, segment) -> dict:
    options = _segment_options(request)
    previous, following = period.previous(), _next(period)
    return {
        "filter_form": form,
        "period": period,
        "segment": segment,
        "segment_name": segment_label(segment, options),
        "previous_query": query_string(previous, segment),
        "next_query": query_string(following, segment) if following else "",
    }


def _next(period):
    if period.grain == "custom":
        return None
    following = period_for(period.grain, period.end_date + timedelta(days=1))
    return following if following.start_date <= timezone.localdate() else None


# Ready-made dashboards --------------------------------------------------------------------


def index(request):
    user = request.user
    mine = Dashboard.objects.filter(owner=user).order_by("name")
    shared = (
        Dashboard.objects.filter(shared_with__in=team_ids(user))
        .exclude(owner=user)
        .select_related("owner", "shared_with")
        .order_by("name")
    )
    ready = [d for d in READY_MADE.values() if not d.personal]
    return render(
        request,
        "metrics/index.html",
        {
            "section": "dashboards",
            "ready_made": ready,
            "sees_everything": sees_everything(user),
            "mine": mine,
            "shared": shared,
            "create_form": DashboardForm(user=user),
        },
    )


def dashboard(request, slug: str):
    definition = READY_MADE.get(slug)
    if definition is None:
        raise Http404
    user = request.user
    if definition.personal:
        segment = own_segment(user)
        form, period, _segment, status = _filters(request, default=segment, fixed_segment=True)
    else:
        form, period, segment, status = _filters(request)
    reader = Reader()
    context = {
        "section": "dashboards",
        "definition": definition,
        "cards": build_cards(definition.cards, period, segment, reader=reader),
        "charts": _chart_items(definition.charts, period, segment, reader),
        "personal": definition.personal,
        **_picker_context(request, form, period, segment),
    }
    if definition.at_risk:
        context["at_risk"] = _at_risk(user, segment)
        context["at_risk_shown"] = True
    return render(request, "metrics/dashboard.html", context, status=status)


def _chart_items(keys, period, segment, reader) -> list[dict]:
    payloads = charts.build_many(keys, period, segment, reader=reader)
    return [
        {"key": key, "dom_id": f"chart-{index}", "payload": payload}
        for index, (key, payload) in enumerate(zip(keys, payloads, strict=True))
    ]


def _at_risk(user, segment: Segment):
    kpi = REGISTRY["health_score"]
    if not supports(kpi, segment):
        return None
    segment_filter = (
        {} if segment.is_all else {f"company__{kpi.segment_path(segment.field)}": segment.value}
    )
    return list(health.at_risk(user, segment_filter=segment_filter))


# The KPI page ---------------------------------------------------------------------------


def _kpi_or_404(key: str):
    all_kpis()
    kpi = REGISTRY.get(key)
    if kpi is None:
        raise Http404
    return kpi


def kpi_detail(request, key: str):
    kpi = _kpi_or_404(key)
    form, period, segment, status = _filters(request)
    context = {
        "section": "dashboards",
        "kpi": kpi,
        "available": supports(kpi, segment),
        **_picker_context(request, form, period, segment),
    }
    if context["available"]:
        numerator_only = _numerator_only(request, kpi)
        reader = Reader()
        # The same numbers as the dashboard cards (metrics.numbers): live while the period
        # runs, its snapshot once it is over; compared with the same elapsed part before.
        comparison = comparison_for(period, reader.now, balance=kpi.as_of_end)
        by = _breakdown_field(request, kpi)
        if by:
            reader.prepare_breakdown(kpi, period, by)
        if segment.is_all:
            reader.prepare_counts(kpi, period)
        current, before = reader.read([(kpi, period, segment), (kpi, comparison.period, segment)])
        result, previous = current.result, before.result
        page, hidden = _drill_down_page(
            request, kpi, period, segment, numerator_only, reader, _records_behind(kpi, current)
        )
        columns = _columns(kpi.record_model(period))
        bands = effective_bands([kpi.key])[kpi.key]
        band = bands.band_for(result.value) if bands else None
        records_param = "numerator" if numerator_only else "all"
        context.update(
            result=result,
            previous=previous,
            delta=None
            if result.value is None or previous.value is None
            else result.value - previous.value,
            live=current.live,
            computed_at=current.computed_at,
            comparison=comparison,
            band=band,
            band_tone=band_tone(band, kpi.higher_is_better),
            bands=bands,
            trend_chart={
                "dom_id": "chart-trend",
                "payload": charts.trend(kpi.key, period, segment, reader=reader),
            },
            breakdown_field=by,
            breakdown_fields=_breakdown_fields(request.user, kpi),
            breakdown=_breakdown(request.user, kpi, period, by, reader) if by else [],
            numerator_only=numerator_only,
            has_numerator_filter=kpi.numerator_filter is not None,
            page=page,
            hidden_count=hidden,
            header=[label for label, _getter in columns],
            rows=[_row(record, columns) for record in page.object_list],
            page_query=query_string(period, segment, records=records_param, by=by),
            breakdown_query=query_string(period, segment, records=records_param),
            records_query=query_string(period, segment, by=by),
            extra_params=[("by", by), ("records", records_param)]
            if by
            else [("records", records_param)],
            export_url=reverse("kpi-export", args=[kpi.key])
            + "?"
            + query_string(period, segment, records=records_param),
        )
    return render(request, "metrics/kpi.html", context, status=status)


def kpi_export(request, key: str):
    """The drill-down's records as CSV or XLSX (`format`), streamed; past the exports' stream
    limit, the page that hands them to a background export (exports, queue transfers)."""
    from exports.forms import StartForm
    from exports.services import STREAM_LIMIT

    try:
        records, columns, filename = drilldown_table(request.user, key, request.GET)
    except ValueError as error:
        return HttpResponse(str(error), status=400)
    fmt = "xlsx" if request.GET.get("format") == "xlsx" else "csv"
    if records.order_by()[: STREAM_LIMIT + 1].count() > STREAM_LIMIT:
        query = request.GET.copy()
        query.pop("format", None)
        initial = {"source": KPI_EXPORT_PREFIX + key, "format": fmt, "query": query.urlencode()}
        context = {"form": StartForm(initial=initial), "limit": STREAM_LIMIT, "fmt": fmt}
        return render(request, "exports/large.html", {**context, "section": "dashboards"})
    headers = [label for label, _getter in columns]
    rows = (_row(record, columns, plain=True) for record in records.iterator(chunk_size=2000))
    if fmt == "xlsx":
        return xlsx_response(headers, rows, f"{filename}.xlsx")
    response = StreamingHttpResponse(
        csv_lines(headers, rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


# An export source naming a KPI's drill-down (exports.services.build_table).
KPI_EXPORT_PREFIX = "kpi:"


def drilldown_table(user, key: str, params) -> tuple:
    """(records, columns, file name) of a KPI's drill-down for the KPI page's query `params`,
    as `user` may see them: the export in the request and a large one's Celery task read the
    same. Raises Http404 for an unknown KPI or a segment not the user's, ValueError for a
    query that cannot be read."""
    kpi = _kpi_or_404(key)
    request = SimpleNamespace(GET=params, user=user)
    _form, period, segment, status = _filters(request)
    if status != 200:
        raise ValueError(_("Invalid period or segment."))
    if not supports(kpi, segment):
        raise ValueError(_("This KPI cannot be split by that segment."))
    numerator_only = _numerator_only(request, kpi)
    records = kpi.drill_down(period, segment, user=user, numerator_only=numerator_only)
    records = _with_related(records.order_by("-pk"))
    filename = f"{kpi.key}-{period.start_date.isoformat()}-{period.end_date.isoformat()}"
    return records, _columns(records.model), filename


def drilldown_cell(record, column) -> object:
    """One exported cell of a drill-down row (`column` from drilldown_table)."""
    return _row(record, [column], plain=True)[0]


class _CountedPaginator(Paginator):
    """A paginator told its count (read from the cache) instead of counting the rows."""

    def __init__(self, object_list, per_page, count: int):
        super().__init__(object_list, per_page)
        self._known_count = count

    @property
    def count(self) -> int:
        return self._known_count


def _records_behind(kpi, reading) -> dict | None:
    """{numerator_only: record count} told by a value computed from the records now (not a
    snapshot's, which may predate a change), when the KPI's numerator and denominator are
    record counts; None otherwise."""
    result = reading.result
    if not kpi.counts_records or reading.computed_at is not None:
        return None
    if result.numerator is None or result.denominator is None:
        return None
    return {True: int(result.numerator), False: int(result.denominator)}


def _drill_down_page(request, kpi, period, segment, numerator_only, reader, known=None):
    """(page, hidden): the page of records the reader may see, and how many records behind the
    value they do not see (a manager reading the company's number; 0 for an admin).

    `known`: the record counts, when the value told them (_records_behind); else the count of
    every record may come from the cached parts of the value (Reader.record_total), and so may
    the count of those the reader sees (Reader.seen_total). The counts and
    the page's keys are otherwise cached per version of the records (metrics.numbers),
    so a page viewed again reads 50 rows by primary key: a KPI whose records are computed
    (health scores of every customer) is computed once per change, not per view."""
    user = request.user
    parts = [kpi.key, period.start.isoformat(), period.end.isoformat()]
    parts += [segment.field, segment.value, str(numerator_only), reader.stored_part(kpi, period)]
    # Built only when something is not cached: building health's reads its settings.
    records = SimpleLazyObject(
        lambda: kpi.drill_down(period, segment, user=user, numerator_only=numerator_only)
    )
    total = known[numerator_only] if known is not None else None
    if total is None:
        total = reader.record_total(kpi, period, segment, numerator_only=numerator_only)
    if total is None:
        total = reader.cached(
            ["records", *parts],
            lambda: kpi.record_count(period, segment, numerator_only=numerator_only),
            kpi=kpi,
            period=period,
        )
    seen = total if is_admin(user) else None
    if seen is None:
        seen = reader.seen_total(kpi, period, segment, user, numerator_only=numerator_only)
    if seen is None:
        seen = reader.cached(
            ["seen", str(user.pk), *parts], lambda: records.count(), kpi=kpi, period=period
        )
    page = _CountedPaginator([], DRILL_DOWN_PAGE_SIZE, seen).get_page(_requested_page(request))
    start = (page.number - 1) * DRILL_DOWN_PAGE_SIZE
    # Not one query with a count over the rows: a window over every row costs far more than
    # the count and a page read backwards along the primary key (8 s against 0.4 s on the
    # open deals of a million).
    # A page past the records the reader sees (none at all, often: no lead of this month
    # converted yet) is empty without a query, which would read every record to find none.
    keys = (
        []
        if start >= seen
        else reader.cached(
            ["page", str(user.pk), str(page.number), *parts],
            lambda: _page_keys(kpi, period, segment, user, numerator_only, start),
            kpi=kpi,
            period=period,
            aggregates=False,
        )
    )
    model = kpi.record_model(period)
    page.object_list = list(_with_related(model.objects.filter(pk__in=keys).order_by("-pk")))
    return page, 0 if is_admin(user) else total - seen


def _page_keys(kpi, period, segment, user, numerator_only, start: int) -> list[int]:
    """The keys of a page of the drill-down, newest first (KPI.drill_down with `page`)."""
    records = kpi.drill_down(period, segment, user=user, numerator_only=numerator_only, page=True)
    keys = records.order_by("-pk").values_list("pk", flat=True)
    return list(keys[start : start + DRILL_DOWN_PAGE_SIZE])


def _requested_page(request) -> int:
    try:
        return min(MAX_PAGE, max(1, int(request.GET.get("page", 1))))
    except (TypeError, ValueError):
        return 1


def _numerator_only(request, kpi) -> bool:
    if kpi.numerator_filter is None:
        return False
    return request.GET.get("records", "numerator") != "all"


def _breakdown_fields(user, kpi) -> list[tuple[str, str]]:
    if kpi.compute is not None:
        return []
    fields = [f for f in kpi.segments if f != "custom"]
    if not sees_everything(user):
        fields = [f for f in fields if f in ("owner", "team")]
    return [(f, str(SEGMENT_LABELS.get(f, f))) for f in fields]


def _breakdown_field(request, kpi) -> str | None:
    fields = [f for f, _label in _breakdown_fields(request.user, kpi)]
    if not fields:
        return None
    wanted = request.GET.get("by")
    if wanted in fields:
        return wanted
    return "owner" if "owner" in fields else fields[0]


def _breakdown(user, kpi, period, by: str, reader: Reader) -> list[dict]:
    """The KPI per value of `by` (one query, or a closed period's snapshot rows: Reader),
    labelled, limited to what the user may read.

    A person or team the user does not see (crm.access, as for segments) is never named. For
    a reader of the company's numbers (a manager) they are summed into one "Other" row (one
    more query), so the rows still add up to the number above; anyone else reads only their
    own people's and teams' numbers, so those rows are dropped.
    """
    results = reader.breakdown(kpi, period, by)
    shown = {v: r for v, r in results.items() if v and can_view_segment(user, Segment(by, v))}
    others = [v for v in results if v and v not in shown]
    names = segment_names(by, list(shown))
    rows = [
        {
            "label": names.get(value, value),
            "result": result,
            "url": kpi_url(kpi.key, period, Segment(by, value)) if _linkable(by) else "",
        }
        for value, result in shown.items()
    ]
    if "" in results and sees_everything(user):
        rows.append({"label": _("(none)"), "result": results[""], "url": ""})
    rows.sort(key=lambda row: str(row["label"]).lower())
    if others and sees_everything(user):
        other = reader.among(kpi, period, by, others)
        rows.append({"label": _("Other"), "result": other, "url": "", "other": True})
    return rows


def _linkable(field: str) -> bool:
    try:
        parse_segment(f"{field}=1")
    except ValueError:
        return False
    return True


# Drill-down columns: (label, attribute path) per model; paths are followed with getattr.
def _columns(model) -> list[tuple[str, str]]:
    columns = {
        Deal: [
            (_("Deal"), "name"),
            (_("Company"), "company"),
            (_("Owner"), "owner"),
            (_("Stage"), "stage.name"),
            (_("Kind"), "get_kind_display"),
            (_("Amount"), "amount"),
            (_("Currency"), "currency"),
            (_("Status"), "get_status_display"),
            (_("Created"), "created_at"),
            (_("Closed"), "closed_at"),
        ],
        DealStageChange: [
            (_("Deal"), "deal.name"),
            (_("From stage"), "from_stage.name"),
            (_("To stage"), "to_stage.name"),
            (_("Days in stage"), "days_in_stage"),
            (_("Moved"), "changed_at"),
        ],
        Lead: [
            (_("Lead"), "name"),
            (_("Company"), "company_name"),
            (_("Owner"), "owner"),
            (_("Source"), "get_source_display"),
            (_("Status"), "get_status_display"),
            (_("Created"), "created_at"),
            (_("First response"), "first_response_at"),
        ],
        Company: [
            (_("Company"), "name"),
            (_("Owner"), "owner"),
            (_("Industry"), "get_industry_display"),
            (_("Size"), "get_size_band_display"),
            (_("Customer since"), "customer_since"),
            (_("Churned"), "churned_at"),
        ],
        Subscription: [
            (_("Company"), "company"),
            (_("Plan"), "plan_name"),
            (_("Monthly value"), "monthly_value"),
            (_("Start"), "start_date"),
            (_("End"), "end_date"),
            (_("Status"), "get_status_display"),
        ],
        Ticket: [
            (_("Ticket"), "__str__"),
            (_("Company"), "company"),
            (_("Assignee"), "assignee"),
            (_("Priority"), "get_priority_display"),
            (_("Channel"), "get_channel_display"),
            (_("Created"), "created_at"),
            (_("First response"), "first_response_at"),
            (_("Resolved"), "resolved_at"),
        ],
        SurveyAnswer: [
            (_("Survey"), "get_kind_display"),
            (_("Score"), "score"),
            (_("Company"), "company"),
            (_("Answered"), "answered_at"),
            (_("Comment"), "comment"),
        ],
        User: [(_("User"), "__str__"), (_("Username"), "username")],
        LoginEvent: [(_("User"), "user"), (_("At"), "at")],
    }
    return columns.get(model, [(_("Record"), "__str__")])


RELATED = {
    Deal: ["company", "owner", "stage"],
    DealStageChange: ["deal", "from_stage", "to_stage"],
    Lead: ["owner"],
    Company: ["owner"],
    Subscription: ["company"],
    Ticket: ["company", "assignee"],
    SurveyAnswer: ["company"],
    LoginEvent: ["user"],
}


def _with_related(queryset):
    related = RELATED.get(queryset.model)
    return queryset.select_related(*related) if related else queryset


def _value(record, path: str):
    if path == "days_in_stage":
        seconds = record.seconds_in_from_stage
        return None if seconds is None else round(seconds / 86400, 1)
    value = record
    for part in path.split("."):
        if value is None:
            return None
        if part.startswith("get_") and part.endswith("_display"):
            return choice_label(value, part.removeprefix("get_").removesuffix("_display"))
        value = getattr(value, part)
    return value() if callable(value) else value


def _row(record, columns, *, plain=False) -> list:
    values = [_value(record, path) for _label, path in columns]
    if plain:
        return [
            timezone.localtime(v).isoformat(timespec="minutes")
            if isinstance(v, datetime)
            else v.isoformat()
            if isinstance(v, date)
            else v
            if isinstance(v, int | float | Decimal) or v is None
            else str(v)
            for v in values
        ]
    first = {"value": values[0], "url": _record_url(record)}
    return [first, *({"value": v} for v in values[1:])]


# The records' pages (crm); link when the name resolves, else show plain text.
DETAIL_URL_NAMES = {
    Deal: ["deal-detail"],
    Lead: ["lead-detail"],
    Company: ["company-detail"],
    Ticket: ["ticket-detail"],
}


def _record_url(record) -> str:
    target = record.deal if isinstance(record, DealStageChange) else record
    if isinstance(record, Subscription | SurveyAnswer):
        target = record.company
    if target is None:
        return ""
    for name in DETAIL_URL_NAMES.get(type(target), []):
        try:
            return reverse(name, args=[target.pk])
        except NoReverseMatch:
            continue
    return ""


# User-built dashboards ---------------------------------------------------------------------


def get_dashboard_for_user(user, pk, *, write: bool = False) -> Dashboard:
    """The owner and members of the team it is shared with see it (admins see all); only the
    owner changes it."""
    visible = Q(owner=user) | Q(shared_with__in=team_ids(user))
    queryset = Dashboard.objects.select_related("owner", "shared_with")
    if not is_admin(user):
        queryset = queryset.filter(visible)
    dashboard_obj = get_object_or_404(queryset, pk=pk)
    if write and dashboard_obj.owner_id != user.pk:
        raise PermissionDenied
    return dashboard_obj


def readable_segment(user, board: Dashboard) -> Segment:
    """The segment a dashboard opens on for a viewer who may not read its own: the team it is
    shared with (whose numbers its members read), else the viewer's default."""
    if board.shared_with_id:
        team = Segment("team", str(board.shared_with_id))
        if can_view_segment(user, team):
            return team
    return default_segment(user)


@require_POST
def dashboard_create(request):
    form = DashboardForm(request.POST, user=request.user)
    if not form.is_valid():
        messages.error(
            request,
            _("The dashboard was not created: %(errors)s")
            % {"errors": "; ".join(str(e) for errors in form.errors.values() for e in errors)},
        )
        return redirect("dashboards")
    created = services.dashboard_create(owner=request.user, data=form.service_data())
    return redirect("dashboard-edit", pk=created.pk)


def custom_dashboard(request, pk: int):
    board = get_dashboard_for_user(request.user, pk)
    default = Segment(board.segment_field, board.segment_value)
    scoped_from = None
    if not can_view_segment(request.user, default):
        # Shared with the viewer, set to numbers they may not read ("Everyone" for a rep): it
        # opens on the numbers they may read instead, and says so.
        scoped_from, default = default, readable_segment(request.user, board)
    form, period, segment, status = _filters(request, default=default, default_grain=board.grain)
    cards = list(board.cards.order_by("order", "pk"))
    reader = Reader()
    items = []
    for index, card in enumerate(cards):
        card_segment = (
            Segment(card.segment_field, card.segment_value) if card.segment_field else segment
        )
        card_period = period_for(card.grain, period.end_date) if card.grain else period
        readable = can_view_segment(request.user, card_segment)
        item = {"card": card, "readable": readable}
        if readable and card.kind == CardKind.KPI and card.key in REGISTRY:
            item["kpi_card"] = build_cards([card.key], card_period, card_segment, reader=reader)[0]
        elif readable and card.kind == CardKind.CHART and charts.is_chart(card.key):
            item["chart"] = {
                "dom_id": f"chart-{index}",
                "payload": charts.build(card.key, card_period, card_segment, reader=reader),
            }
        items.append(item)
    return render(
        request,
        "metrics/custom_dashboard.html",
        {
            "section": "dashboards",
            "board": board,
            "items": items,
            "can_edit": board.owner_id == request.user.pk,
            "scoped_from": scoped_from,
            **_picker_context(request, form, period, segment),
        },
        status=status,
    )


def dashboard_edit(request, pk: int):
    board = get_dashboard_for_user(request.user, pk, write=True)
    form = DashboardForm(request.POST or None, instance=board, user=request.user)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.dashboard_update(
                    dashboard=board, actor=request.user, data=form.service_data()
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("Dashboard saved."))
                return redirect("dashboard-edit", pk=board.pk)
        status = 400
        board.refresh_from_db()
    return _edit_page(request, board, form, CardForm(user=request.user), status)


def _edit_page(request, board, form, card_form, status=200):
    all_kpis()
    labels = dict(charts.chart_choices())
    cards = [
        {
            "card": card,
            "label": REGISTRY[card.key].label
            if card.kind == CardKind.KPI and card.key in REGISTRY
            else labels.get(card.key, card.key),
        }
        for card in board.cards.order_by("order", "pk")
    ]
    return render(
        request,
        "metrics/dashboard_edit.html",
        {
            "section": "dashboards",
            "board": board,
            "form": form,
            "card_form": card_form,
            "cards": cards,
        },
        status=status,
    )


@require_POST
def card_add(request, pk: int):
    board = get_dashboard_for_user(request.user, pk, write=True)
    card_form = CardForm(request.POST, user=request.user)
    if card_form.is_valid():
        try:
            services.card_add(dashboard=board, actor=request.user, data=card_form.service_data())
        except ValidationError as error:
            card_form.add_error(None, error)
        else:
            return redirect("dashboard-edit", pk=board.pk)
    return _edit_page(
        request, board, DashboardForm(instance=board, user=request.user), card_form, 400
    )


@require_POST
def card_remove(request, pk: int, card_pk: int):
    board = get_dashboard_for_user(request.user, pk, write=True)
    card = get_object_or_404(DashboardCard, pk=card_pk, dashboard=board)
    services.card_remove(card=card, actor=request.user)
    return redirect("dashboard-edit", pk=board.pk)


@require_POST
def card_move(request, pk: int, card_pk: int):
    """Up/down buttons: the same reorder as drag and drop, without JavaScript."""
    board = get_dashboard_for_user(request.user, pk, write=True)
    ids = list(board.cards.order_by("order", "pk").values_list("pk", flat=True))
    if card_pk not in ids:
        raise Http404
    index = ids.index(card_pk)
    other = index - 1 if request.POST.get("direction") == "up" else index + 1
    if 0 <= other < len(ids):
        ids[index], ids[other] = ids[other], ids[index]
        services.cards_reorder(dashboard=board, actor=request.user, card_ids=ids)
    return redirect("dashboard-edit", pk=board.pk)


@require_POST
def cards_reorder(request, pk: int):
    """Drag and drop (static/js/dashboard_builder.js) posts every card id in the new order."""
    board = get_dashboard_for_user(request.user, pk, write=True)
    try:
        ids = [int(value) for value in request.POST.getlist("card")]
        services.cards_reorder(dashboard=board, actor=request.user, card_ids=ids)
    except (ValueError, ValidationError):
        return HttpResponse(_("The new order must list every card once."), status=400)
    return HttpResponse(status=204)


@require_POST
def dashboard_delete(request, pk: int):
    board = get_dashboard_for_user(request.user, pk, write=True)
    services.dashboard_delete(dashboard=board, actor=request.user)
    messages.success(request, _("Dashboard deleted."))
    return redirect("dashboards")
