"""The pipeline board: a column per stage, cards loaded 50 at a time, drag to move.

The page runs a constant number of queries whatever the number of deals: one aggregate for
the counts and totals of every column, one windowed query for the first cards of each column.
"""

import hashlib
from datetime import datetime, timedelta

from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Max,
    Q,
    QuerySet,
    Sum,
)
from django.http import Http404, HttpResponseBadRequest, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from crm import services
from crm.access import get_deal_for_user, visible
from crm.forms.deals import DealFilterForm, MoveInputForm
from crm.lists import pk_urls
from crm.models import Deal, DealStatus, Pipeline, Stage, StageOutcome, Task, TaskStatus
from crm.money import format_money
from crm.views.deals import render_deal_page

CARDS_PER_PAGE = 50
# Won and lost columns show the deals closed recently: drop targets, not an archive.
CLOSED_DAYS = 30
CARD_ORDER = ("-stage_entered_at", "-id")
# Deletions and bulk updates do not touch `updated_at`: cached sums live at most this long.
TOTALS_CACHE_SECONDS = 60
AMOUNT_IN_CURRENCY = ExpressionWrapper(
    F("amount") * F("exchange_rate"), output_field=DecimalField(max_digits=30, decimal_places=8)
)
OPEN_TASK = (TaskStatus.OPEN, TaskStatus.IN_PROGRESS)


def column_deals(user, stage: Stage, filters: DealFilterForm) -> QuerySet:
    """The deals a column shows: visible, filtered, in the stage; of a won or lost stage,
    those closed lately. A deal's status follows its stage (a database rule), so an open
    stage's deals are all open and need no condition (read in order from the board's index,
    stopping at a page), and a closed stage's are found by their closing time alone: an OR
    of both read every deal of a lost column of 56k (118 ms), where the recent closes are
    read from their index (19 ms)."""
    # The stage names its pipeline: no pipeline condition for the planner to intersect.
    deals = filters.filter(visible(Deal.objects.filter(stage=stage), user))
    if stage.outcome == StageOutcome.OPEN:
        return deals
    return deals.filter(status__in=[DealStatus.WON, DealStatus.LOST], closed_at__gte=_recent())


def _recent():
    return timezone.now() - timedelta(days=CLOSED_DAYS)


def _pipeline_deals(user, pipeline: Pipeline, filters: DealFilterForm) -> QuerySet:
    return filters.filter(visible(Deal.objects.filter(pipeline=pipeline), user))


def column_totals(user, pipeline: Pipeline, filters: DealFilterForm) -> dict[int, dict]:
    """Count and total amount (installation currency) per stage of the deals on the board.

    Summing a million deals is the board's dearest query, and boards are opened far more often
    than deals change: the sums are cached under the time of the latest deal change (one index
    lookup), so any saved change, a move included, makes the next board sum afresh.
    """
    latest_change = Deal.objects.aggregate(latest=Max("updated_at"))["latest"]
    scope = filters.data.urlencode() if filters.is_bound else ""
    parts = f"{pipeline.pk}:{user.pk}:{latest_change}:{scope}"
    key = "board-totals:" + hashlib.sha256(parts.encode()).hexdigest()
    return cache.get_or_set(
        key, lambda: _sum_columns(user, pipeline, filters), TOTALS_CACHE_SECONDS
    )


def _sum_columns(user, pipeline: Pipeline, filters: DealFilterForm) -> dict[int, dict]:
    # Open deals and recent closes are summed apart: each query then reads one index (on
    # PostgreSQL the covering indexes of migration 0015) instead of an OR of two.
    deals = _pipeline_deals(user, pipeline, filters).order_by()
    totals: dict[int, dict] = {}
    for part in (
        deals.filter(status=DealStatus.OPEN),
        deals.filter(status__in=[DealStatus.WON, DealStatus.LOST], closed_at__gte=_recent()),
    ):
        # COUNT(*), not COUNT(id): the id is not in the covering index.
        rows = part.values("stage_id").annotate(count=Count("*"), total=Sum(AMOUNT_IN_CURRENCY))
        for row in rows:
            totals[row["stage_id"]] = {"count": row["count"], "total": row["total"] or 0}
    return totals


def with_card_fields(deals: QuerySet) -> QuerySet:
    return deals.select_related("company", "owner").only(
        "id",
        "name",
        "amount",
        "currency",
        "stage_id",
        "stage_entered_at",
        "company__id",
        "company__name",
        "owner__id",
        "owner__username",
        "owner__first_name",
        "owner__last_name",
    )


def decorate_cards(cards: list[Deal], now) -> None:
    """Days in stage, links, and the overdue-task marker of every card, in one query.

    A subquery per card let PostgreSQL hash every overdue task of the installation instead.
    """
    overdue = set(
        Task.objects.filter(
            deal_id__in=[deal.pk for deal in cards], status__in=OPEN_TASK, due_at__lt=now
        ).values_list("deal_id", flat=True)
    )
    detail_url, move_url = pk_urls("deal-detail"), pk_urls("deal-move")
    for deal in cards:
        deal.has_overdue_task = deal.pk in overdue
        _decorate(deal, now)
        deal.detail_url = detail_url(deal.pk)
        deal.move_url = move_url(deal.pk)


def first_cards(user, stages: list[Stage], filters: DealFilterForm, now) -> dict[int, list[Deal]]:
    """The first CARDS_PER_PAGE + 1 cards of every column (the extra one says "more").

    One query per stage, each stopped at the limit (an open column read in order from the
    (stage, stage_entered_at, id) index): a window over every deal of the board sorted them
    all first.
    """
    by_stage: dict[int, list[Deal]] = {}
    for stage in stages:
        cards = with_card_fields(column_deals(user, stage, filters)).order_by(*CARD_ORDER)
        by_stage[stage.pk] = list(cards[: CARDS_PER_PAGE + 1])
    decorate_cards([deal for cards in by_stage.values() for deal in cards], now)
    return by_stage


def _decorate(deal: Deal, now) -> None:
    # Labels and links are made here rather than in the template: with 300 cards on a board
    # the template tags (reverse, plural blocktranslate, floatformat) were most of its time.
    days = max((now - deal.stage_entered_at).days, 0)
    deal.days_in_stage = days
    deal.days_label = ngettext("%(days)d day in stage", "%(days)d days in stage", days) % {
        "days": days
    }
    deal.amount_label = format_money(deal.amount, deal.currency)


def format_total(total) -> str:
    return format_money(total)


def _pipeline(request, pipelines: list[Pipeline]) -> Pipeline:
    wanted = request.GET.get("pipeline")
    if wanted:
        for pipeline in pipelines:
            if str(pipeline.pk) == wanted:
                return pipeline
        raise Http404(_("There is no such pipeline."))
    if not pipelines:
        raise Http404(_("There is no pipeline yet."))
    return next((p for p in pipelines if p.is_default), pipelines[0])


def _filter_query(params: QueryDict, pipeline: Pipeline, **extra) -> str:
    query = params.copy()
    query.pop("after", None)
    query["pipeline"] = str(pipeline.pk)
    for key, value in extra.items():
        query[key] = str(value)
    return query.urlencode()


@require_GET
def board(request):
    pipelines = list(Pipeline.objects.all())
    pipeline = _pipeline(request, pipelines)
    stages = list(pipeline.stages.order_by("order"))
    filters = DealFilterForm(request.GET or None, user=request.user)
    now = timezone.now()
    totals = column_totals(request.user, pipeline, filters)
    cards = first_cards(request.user, stages, filters, now)
    columns = []
    for stage in stages:
        stage_cards = cards.get(stage.pk, [])
        stats = totals.get(stage.pk, {"count": 0, "total": 0})
        columns.append(
            {
                "stage": stage,
                "count": stats["count"],
                "total": format_total(stats["total"]),
                "closed": stage.outcome != StageOutcome.OPEN,
                "cards": stage_cards[:CARDS_PER_PAGE],
                "more_url": _more_url(request.GET, pipeline, stage, stage_cards),
            }
        )
    context = {
        "section": "deals",
        "pipelines": pipelines,
        "pipeline": pipeline,
        "columns": columns,
        "filters": filters,
        "filter_query": _filter_query(request.GET, pipeline),
        "closed_days": CLOSED_DAYS,
    }
    return render(request, "crm/deals/board.html", context)


def _more_url(params: QueryDict, pipeline: Pipeline, stage: Stage, cards: list[Deal]) -> str:
    """The next cards start after the last one shown (a cursor: moves do not shift it)."""
    if len(cards) <= CARDS_PER_PAGE:
        return ""
    last = cards[CARDS_PER_PAGE - 1]
    cursor = f"{last.stage_entered_at.isoformat()}|{last.pk}"
    url = reverse("deal-board-cards", args=[stage.pk])
    return f"{url}?{_filter_query(params, pipeline, after=cursor)}"


def _after(cursor: str) -> Q:
    """Cards after the cursor in CARD_ORDER (newest in stage first); ValueError if malformed."""
    entered, _sep, pk = cursor.rpartition("|")
    entered_at = datetime.fromisoformat(entered)
    if timezone.is_naive(entered_at):
        raise ValueError(cursor)
    return Q(stage_entered_at__lt=entered_at) | Q(stage_entered_at=entered_at, pk__lt=int(pk))


@require_GET
def board_cards(request, stage_id: int):
    """The next cards of a column (an htmx swap of its "Load more" button)."""
    stage = get_object_or_404(Stage.objects.select_related("pipeline"), pk=stage_id)
    filters = DealFilterForm(request.GET or None, user=request.user)
    deals = column_deals(request.user, stage, filters)
    if request.GET.get("after"):
        try:
            deals = deals.filter(_after(request.GET["after"]))
        except ValueError:
            return HttpResponseBadRequest(_("The position to load cards after is not valid."))
    now = timezone.now()
    cards = list(with_card_fields(deals).order_by(*CARD_ORDER)[: CARDS_PER_PAGE + 1])
    decorate_cards(cards, now)
    context = {
        "cards": cards[:CARDS_PER_PAGE],
        "more_url": _more_url(request.GET, stage.pipeline, stage, cards),
        "stage": stage,
    }
    return render(request, "crm/deals/_column_cards.html", context)


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _error_messages(error: ValidationError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [message for messages_ in error.message_dict.values() for message in messages_]
    return list(error.messages)


@require_POST
def deal_move(request, pk: int):
    """Move a deal to another stage: from the board (JSON) or the deal page's form."""
    deal = get_deal_for_user(request.user, pk, write=True)
    form = MoveInputForm(request.POST)
    errors: list[str] = []
    if form.is_valid():
        try:
            deal = services.deal_move_stage(
                deal=deal,
                stage=form.cleaned_data["stage"],
                actor=request.user,
                lost_reason=form.cleaned_data["lost_reason"],
            )
        except ValidationError as error:
            errors = _error_messages(error)
            for field, messages_ in getattr(error, "message_dict", {}).items():
                for message in messages_:
                    form.add_error(field if field in form.fields else None, message)
            if not hasattr(error, "error_dict"):
                form.add_error(None, error)
    else:
        errors = [message for messages_ in form.errors.values() for message in messages_]

    if _wants_json(request):
        return _move_json(request, deal, errors)
    if errors:
        return render_deal_page(request, deal, move_form=form, status=400)
    messages.success(request, _("Moved to “%s”.") % deal.stage.name)
    return redirect("deal-detail", pk=deal.pk)


def _move_json(request, deal: Deal, errors: list[str]) -> JsonResponse:
    if errors:
        return JsonResponse({"ok": False, "errors": errors}, status=400)
    # The board sends its filters so the new counts and totals match what it shows.
    params = QueryDict(request.POST.get("filters", ""))
    filters = DealFilterForm(params or None, user=request.user)
    totals = column_totals(request.user, deal.pipeline, filters)
    columns = {
        str(stage_id): {"count": stats["count"], "total": format_total(stats["total"])}
        for stage_id, stats in totals.items()
    }
    return JsonResponse(
        {
            "ok": True,
            "message": _("“%(deal)s” moved to “%(stage)s”.")
            % {"deal": deal.name, "stage": deal.stage.name},
            "stage": deal.stage_id,
            "columns": columns,
            "empty": {"count": 0, "total": format_total(0)},
        }
    )
