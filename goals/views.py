"""Goal pages: the tree, a goal with its burn-up chart, the forms, and two fragments loaded by
htmx (My goals on My day, the goals card on the dashboards). Goals come through goals.access;
every write is a goals.services call; every page reads the stored progress."""

from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.access import is_admin, is_manager, team_ids, visible
from metrics.registry import Segment, get_kpi

from . import compute, services
from .access import (
    can_keep,
    can_manage,
    get_goal_for_user,
    get_kept_target_for_user,
    get_target_for_user,
)
from .forms import GoalForm, RecordValueForm, SplitForm, TargetForm
from .models import Goal, GoalProgress, GoalStatus, Scope, TargetKind, TargetUpdate

TREE_RELATED = ("owner", "team", "person")
CHILDREN_SHOWN = 50
FRAGMENT_LIMIT = 8


def goal_tree(request):
    """The goals the user may see as a tree: company → team → person. By default those whose
    period runs today; `period=all` for every period, `closed=1` to add the closed ones."""
    show_closed = request.GET.get("closed") == "1"
    all_periods = request.GET.get("period") == "all"
    goals = visible(Goal.objects.select_related(*TREE_RELATED), request.user)
    if not show_closed:
        goals = goals.exclude(status=GoalStatus.CLOSED)
    if not all_periods:
        today = timezone.localdate()
        goals = goals.filter(start_date__lte=today, end_date__gte=today)
    rows = flatten_tree(list(goals.order_by("-start_date", "name", "id")))
    context = {
        "section": "goals",
        "rows": rows,
        "show_closed": show_closed,
        "all_periods": all_periods,
        "closed_query": urlencode(
            {"closed": "" if show_closed else "1", "period": "all" if all_periods else ""}
        ),
        "period_query": urlencode(
            {"closed": "1" if show_closed else "", "period": "" if all_periods else "all"}
        ),
        "can_add": request.user.has_perm("goals.add_goal"),
    }
    return render(request, "goals/tree.html", context)


def _tree_query(*, closed: bool, all_periods: bool) -> str:
    return urlencode({"closed": "1" if closed else "", "period": "all" if all_periods else ""})


def flatten_tree(goals: list[Goal]) -> list[tuple[int, Goal]]:
    """(depth, goal) in reading order; a goal whose parent is hidden shows as a root."""
    by_parent: dict[int | None, list[Goal]] = {}
    ids = {goal.pk for goal in goals}
    for goal in goals:
        parent = goal.parent_id if goal.parent_id in ids else None
        by_parent.setdefault(parent, []).append(goal)
    rows: list[tuple[int, Goal]] = []
    stack = [(0, goal) for goal in reversed(by_parent.get(None, []))]
    while stack:
        depth, goal = stack.pop()
        rows.append((min(depth, 5), goal))
        stack.extend((depth + 1, child) for child in reversed(by_parent.get(goal.pk, [])))
    return rows


def goal_detail(request, pk: int):
    goal = get_goal_for_user(request.user, pk)
    targets = list(goal.targets.all())
    counted = visible(goal.children.all(), request.user).exclude(status=GoalStatus.DRAFT)
    # The sub-goals that contribute most come first; a team of hundreds shows the first ones.
    children = list(
        counted.select_related(*TREE_RELATED)
        .annotate(points=F("weight") * Coalesce("progress", Decimal(0)))
        .order_by("-points", "name", "pk")[:CHILDREN_SHOWN]
    )
    child_totals = counted.aggregate(count=Count("pk"), weight=Sum("weight"))
    updates: dict[int, list[TargetUpdate]] = {}
    for update in TargetUpdate.objects.filter(target__goal=goal).select_related("by")[:200]:
        updates.setdefault(update.target_id, []).append(update)
    for target in targets:
        target.goal = goal
        target.history = updates.get(target.pk, [])[:5]
    _read_live_kpis(goal, targets)
    rows = list(GoalProgress.objects.filter(goal=goal).values_list("day", "progress"))
    total = sum((t.weight for t in targets), Decimal(0)) + (child_totals["weight"] or 0)
    for item in [*targets, *children]:
        item.share = _share(item.weight, total)
        item.contribution = _share(item.weight * (item.progress or 0) / 100, total)
    context = {
        "section": "goals",
        "goal": goal,
        "targets": targets,
        "children": children,
        "children_hidden": child_totals["count"] - len(children),
        "explanation": compute.explanation(
            forecast=goal.forecast, pipeline=goal.pipeline_share, end=goal.end_date
        ),
        "chart": burn_up(goal, rows),
        # A parent the user may not open (a rep under the company goal) is named, not linked.
        "parent_visible": bool(
            goal.parent_id
            and visible(Goal.objects.filter(pk=goal.parent_id), request.user).exists()
        ),
        "can_manage": can_manage(request.user),
        "can_keep": can_keep(request.user, goal),
        "value_form": RecordValueForm(),
    }
    return render(request, "goals/detail.html", context)


def _read_live_kpis(goal: Goal, targets) -> None:
    """While the goal runs, its KPI targets show the KPI's value now, read as the KPI page
    they link to reads it (metrics.numbers), not the value stored at the last recompute: the
    two pages agree at every moment. The goal's own progress is the stored roll-up."""
    today = timezone.localdate()
    if goal.status != GoalStatus.ACTIVE or goal.end_date < today:
        return
    kpis = compute.KPICache()
    for target in targets:
        if target.kind == TargetKind.KPI:
            value = compute.current_value(target, as_of=today, kpis=kpis, shares={})
            target.current_value = value
            target.progress = compute.progress_of(target, value)


def _share(part, total) -> Decimal | None:
    if not total:
        return None
    return (Decimal(part) * 100 / total).quantize(Decimal("0.1"))


def burn_up(goal: Goal, rows) -> dict:
    """The chart's JSON: actual progress per day, the ideal straight line and the forecast
    from today's point to the period's end."""
    days = (goal.end_date - goal.start_date).days + 1
    actual = {day: progress for day, progress in rows}
    today = timezone.localdate()
    labels, ideal, done, ahead = [], [], [], []
    for index in range(days):
        day = goal.start_date + timedelta(days=index)
        labels.append(day.isoformat())
        ideal.append(round(100 * (index + 1) / days, 1))
        value = actual.get(day)
        done.append(float(value) if value is not None and day <= today else None)
        ahead.append(None)
    last_index = max((i for i, v in enumerate(done) if v is not None), default=None)
    if last_index is not None and goal.forecast is not None:
        start, end = done[last_index], float(goal.forecast)
        span = max(days - 1 - last_index, 1)
        for index in range(last_index, days):
            ahead[index] = round(start + (end - start) * (index - last_index) / span, 1)
    return {
        "labels": labels,
        "datasets": [
            {"label": _("Actual"), "data": done},
            {"label": _("Ideal"), "data": ideal},
            {"label": _("Forecast"), "data": ahead},
        ],
    }


def goal_create(request):
    if not request.user.has_perm("goals.add_goal"):
        raise PermissionDenied
    initial = {}
    parent_id = request.GET.get("parent")
    if parent_id:
        parent = get_goal_for_user(request.user, parent_id)
        initial = {
            "parent": parent.pk,
            "grain": parent.grain,
            "anchor": parent.start_date,
            "start_date": parent.start_date,
            "end_date": parent.end_date,
        }
    form = GoalForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        goal = form.save_with(actor=request.user)
        if goal is not None:
            messages.success(request, _("Goal “%s” created.") % goal.name)
            return redirect(goal)
    return render(
        request,
        "goals/goal_form.html",
        {"section": "goals", "form": form, "goal": None},
        status=400 if request.method == "POST" else 200,
    )


def goal_edit(request, pk: int):
    goal = get_goal_for_user(request.user, pk, write=True)
    form = GoalForm(request.POST or None, instance=goal, user=request.user)
    if request.method == "POST" and form.is_valid():
        saved = form.save_with(actor=request.user)
        if saved is not None:
            messages.success(request, _("Goal “%s” saved.") % saved.name)
            return redirect(saved)
        goal.refresh_from_db()
    return render(
        request,
        "goals/goal_form.html",
        {"section": "goals", "form": form, "goal": goal},
        status=400 if request.method == "POST" else 200,
    )


@require_POST
def goal_delete(request, pk: int):
    goal = get_goal_for_user(request.user, pk, write=True)
    if not request.user.has_perm("goals.delete_goal"):
        raise PermissionDenied
    services.goal_delete(actor=request.user, goal=goal)
    messages.success(request, _("Goal “%s” deleted.") % goal.name)
    return redirect("goals")


def goal_split(request, pk: int):
    goal = get_goal_for_user(request.user, pk, write=True)
    if goal.scope != Scope.TEAM:
        messages.error(request, _("Only a team's goal can be split between its members."))
        return redirect(goal)
    form = SplitForm(request.POST or None, goal=goal)
    if request.method == "POST" and form.is_valid():
        try:
            children = services.goal_split(actor=request.user, goal=goal, shares=form.shares())
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request, _("Split into %(count)s personal goals.") % {"count": len(children)}
            )
            return redirect(goal)
    return render(
        request,
        "goals/split.html",
        {"section": "goals", "form": form, "goal": goal},
        status=400 if request.method == "POST" else 200,
    )


@require_POST
def goal_recompute(request, pk: int):
    goal = get_goal_for_user(request.user, pk)
    if not can_keep(request.user, goal):
        raise PermissionDenied
    services.goals_recompute(goal_ids=[goal.pk])
    messages.success(request, _("Progress recomputed."))
    return redirect(goal)


def target_create(request, pk: int):
    goal = get_goal_for_user(request.user, pk, write=True)
    form = TargetForm(request.POST or None, goal=goal, user=request.user)
    if request.method == "POST" and form.is_valid():
        target = form.save_with(actor=request.user)
        if target is not None:
            messages.success(request, _("Target “%s” added.") % target.name)
            return redirect(goal)
    return _target_page(request, form, goal, None)


def target_edit(request, pk: int):
    target = get_target_for_user(request.user, pk, write=True)
    goal = get_goal_for_user(request.user, target.goal_id, write=True)
    form = TargetForm(request.POST or None, instance=target, goal=goal, user=request.user)
    if request.method == "POST" and form.is_valid():
        saved = form.save_with(actor=request.user)
        if saved is not None:
            messages.success(request, _("Target “%s” saved.") % saved.name)
            return redirect(goal)
    return _target_page(request, form, goal, target)


def _target_page(request, form, goal, target):
    context = {"section": "goals", "form": form, "goal": goal, "target": target}
    status = 400 if request.method == "POST" else 200
    return render(request, "goals/target_form.html", context, status=status)


@require_POST
def target_delete(request, pk: int):
    target = get_target_for_user(request.user, pk, write=True)
    goal = get_goal_for_user(request.user, target.goal_id, write=True)
    services.target_delete(actor=request.user, target=target)
    messages.success(request, _("Target “%s” removed.") % target.name)
    return redirect(goal)


@require_POST
def target_value(request, pk: int):
    target = get_kept_target_for_user(request.user, pk)
    form = RecordValueForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The value was not saved: give a number."))
        return redirect(target.goal)
    try:
        services.target_record_value(
            actor=request.user,
            target=target,
            value=form.cleaned_data["value"],
            note=form.cleaned_data["note"],
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("“%s” updated.") % target.name)
    return redirect(target.goal)


@require_POST
def target_done(request, pk: int):
    target = get_kept_target_for_user(request.user, pk)
    try:
        services.target_set_done(
            actor=request.user, target=target, done=request.POST.get("done") == "1"
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect(target.goal)


def kpi_preview(request, pk: int):
    """The KPI's current value for the goal's period and segment, shown while typing."""
    goal = get_goal_for_user(request.user, pk, write=True)
    key = request.GET.get("kpi_key", "")
    context = {"goal": goal, "kpi": None}
    try:
        kpi = get_kpi(key)
    except KeyError:
        return render(request, "goals/_kpi_preview.html", context)
    field, _sep, value = request.GET.get("segment", "").partition("=")
    segment = Segment(field.strip(), value.strip()) if field.strip() else goal.segment
    context["kpi"] = kpi
    if not segment.is_all and (kpi.compute is not None or segment.field not in kpi.segments):
        context["refused"] = True
        return render(request, "goals/_kpi_preview.html", context)
    # Read as the KPI page reads it (metrics.numbers), so the two show the same number.
    kpis = compute.KPICache()
    context["now"] = kpis.value(kpi.key, goal.period, segment)
    context["previous"] = kpis.value(kpi.key, compute.previous_period(goal), segment)
    return render(request, "goals/_kpi_preview.html", context)


def my_goals(request):
    """My day's panel: the active goals about the user or their teams (stored progress)."""
    user = request.user
    goals = (
        Goal.objects.active()
        .filter(Q(person=user) | Q(owner=user) | Q(team_id__in=team_ids(user)))
        .select_related(*TREE_RELATED)
        .order_by("end_date", "name")[:FRAGMENT_LIMIT]
    )
    return render(request, "goals/_my_goals.html", {"goals": goals})


def goals_card(request):
    """The dashboards' card for managers and admins: the top goals they can see."""
    user = request.user
    if not (is_admin(user) or is_manager(user)):
        return render(request, "goals/_goals_card.html", {"goals": [], "hidden": True})
    goals = (
        visible(Goal.objects.active(), user)
        .exclude(scope=Scope.PERSON)
        .select_related(*TREE_RELATED)
        .order_by("scope", "end_date", "name")[:FRAGMENT_LIMIT]
    )
    return render(request, "goals/_goals_card.html", {"goals": goals, "url": reverse("goals")})
