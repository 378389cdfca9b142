"""Progress: compute the targets, roll the tree up, store a row per day, notify milestones."""

from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import Event
from crm.services import notify

from .. import compute
from ..bulk import bulk_set
from ..models import (
    Goal,
    GoalProgress,
    GoalStatus,
    Target,
    TargetKind,
    TargetProgress,
    Watermark,
)
from ..progress import one_place

MILESTONES = (50, 90, 100)
EVENTS_WATERMARK = "events"


@transaction.atomic
def goals_recompute(*, goal_ids: list[int] | None = None, day: date | None = None) -> int:
    """Compute the targets of the active goals named (all when None), roll the whole tree up,
    store today's rows and notify owners of milestones. Safe to run twice: the rows are one
    per day and the notifications one per key. Returns the number of goals whose row was
    written."""
    day = day or timezone.localdate()
    goals = Goal.objects.active()
    if goal_ids is not None:
        goals = goals.filter(pk__in=goal_ids)
    targets = list(Target.objects.filter(goal__in=goals).select_related("goal"))
    _compute_targets(targets, day)
    changed = _roll_up_and_store(day, set(goal_ids) if goal_ids is not None else None)
    return changed


def _compute_targets(targets: list[Target], day: date, *, write_rows: bool = True) -> None:
    kpis = compute.KPICache()
    kpis.prefetch(
        [
            (t.kpi_key, compute.kpi_period(t, day), t.segment)
            for t in targets
            if t.kind == TargetKind.KPI
        ]
    )
    ids = [t.pk for t in targets]
    shares = compute.task_shares([t.pk for t in targets if t.kind == TargetKind.TASKS], day)
    history = compute.histories(ids, day)
    rows = []
    before = {t.pk: _numbers(t) for t in targets}
    for target in targets:
        numbers = compute.target_numbers(
            target, day=day, kpis=kpis, shares=shares, history=history.get(target.pk, [])
        )
        target.current_value = numbers.current
        target.progress = numbers.progress
        target.forecast_value = numbers.forecast_value
        target.forecast_progress = numbers.forecast_progress
        target.pipeline_progress = numbers.pipeline_progress
        rows.append(
            TargetProgress(target=target, day=day, value=numbers.current, progress=target.progress)
        )
    changed = [t for t in targets if _numbers(t) != before[t.pk]]
    bulk_set(Target, changed, list(TARGET_NUMBERS))
    if write_rows:
        TargetProgress.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["target", "day"],
            update_fields=["value", "progress"],
            batch_size=500,
        )


TARGET_NUMBERS = (
    "current_value",
    "progress",
    "forecast_value",
    "forecast_progress",
    "pipeline_progress",
)


def _numbers(target: Target) -> tuple:
    return tuple(getattr(target, name) for name in TARGET_NUMBERS)


def _roll_up_and_store(day: date, touched: set[int] | None) -> int:
    nodes = _load_tree()
    compute.rollup(nodes)
    goals = {
        goal.pk: goal
        for goal in Goal.objects.filter(status=GoalStatus.ACTIVE).select_related("owner")
    }
    now, changed, rows = timezone.now(), [], []
    for goal in goals.values():
        node = nodes[goal.pk]
        before = (goal.progress, goal.forecast, goal.pipeline_share, goal.health)
        after = (
            one_place(node.progress),
            one_place(node.forecast),
            one_place(node.pipeline),
            compute.health(node, day),
        )
        if before == after and touched is not None and goal.pk not in touched:
            continue
        _notify_milestones(goal, before, after)
        goal.progress, goal.forecast, goal.pipeline_share, goal.health = after
        goal.computed_at = now
        changed.append(goal)
        rows.append(
            GoalProgress(goal=goal, day=day, progress=goal.progress, forecast=goal.forecast)
        )
    bulk_set(Goal, changed, ["progress", "forecast", "pipeline_share", "health", "computed_at"])
    GoalProgress.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["goal", "day"],
        update_fields=["progress", "forecast"],
        batch_size=500,
    )
    return len(rows)


def _load_tree() -> dict[int, compute.Node]:
    nodes = {
        row[0]: compute.Node(*row)
        for row in Goal.objects.exclude(status=GoalStatus.DRAFT).values_list(
            "id", "parent_id", "weight", "status", "start_date", "end_date"
        )
    }
    for row in Target.objects.filter(goal_id__in=nodes).values_list(
        "goal_id", "weight", "progress", "forecast_progress", "pipeline_progress"
    ):
        nodes[row[0]].targets.append(row[1:])
    for node in nodes.values():
        if node.status == GoalStatus.CLOSED:
            node.children = []
    return nodes


def _notify_milestones(goal: Goal, before: tuple, after: tuple) -> None:
    """Each milestone once per goal (the key makes the database refuse a second one)."""
    old_progress, new_progress = before[0] or 0, after[0]
    url = goal.get_absolute_url()
    for level in MILESTONES:
        if new_progress is not None and old_progress < level <= new_progress:
            notify(
                recipients=[goal.owner],
                title=_("%(goal)s reached %(level)s %%") % {"goal": goal.name, "level": level},
                body=compute.explanation(forecast=after[1], pipeline=after[2], end=goal.end_date),
                url=url,
                kind="goal",
                key=f"goal:{goal.pk}:progress:{level}",
            )
    health = after[3]
    if health in ("at_risk", "off_track") and health != before[3]:
        label = _("at risk") if health == "at_risk" else _("off track")
        notify(
            recipients=[goal.owner],
            title=_("%(goal)s is %(status)s") % {"goal": goal.name, "status": label},
            body=compute.explanation(forecast=after[1], pipeline=after[2], end=goal.end_date),
            url=url,
            kind="goal",
            key=f"goal:{goal.pk}:health:{health}",
        )


def goals_refresh_if_changed() -> bool:
    """Recompute the active goals when the CRM's records changed since the last pass (their
    events are the signal); a burst of changes costs one pass."""
    latest = Event.objects.aggregate(latest=Max("id"))["latest"] or 0
    mark, _created = Watermark.objects.get_or_create(name=EVENTS_WATERMARK)
    if latest <= mark.value:
        return False
    with transaction.atomic():
        # Claim the pass: a second worker with the same reading waits on the row, then finds
        # it moved. A failed pass rolls the claim back, so the next one tries again.
        claimed = Watermark.objects.filter(pk=mark.pk, value=mark.value).update(value=latest)
        if not claimed:
            return False
        goals_recompute()
    return True


@transaction.atomic
def goals_backfill(*, goal_ids: list[int], first: date, last: date) -> None:
    """Daily rows from `first` to `last` as if the nightly pass had run each day (demo data,
    a goal created late in its period)."""
    day = first
    while day <= last:
        targets = list(
            Target.objects.filter(goal_id__in=goal_ids, goal__status=GoalStatus.ACTIVE)
            .select_related("goal")
            .prefetch_related("updates")
        )
        for target in targets:
            if target.kind in (TargetKind.NUMBER, TargetKind.MONEY):
                target.current_value = _value_on(target, day)
        _compute_targets(targets, day)
        _roll_up_and_store(day, set(goal_ids))
        day += timedelta(days=1)


def _value_on(target: Target, day: date) -> Decimal | None:
    values = [u.value for u in target.updates.all() if timezone.localdate(u.at) <= day]
    return values[0] if values else target.start_value
