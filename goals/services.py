"""Operations on goals: the only write path (views, tasks, admin, the demo all call these).

Progress is computed here and stored on the goals and targets with a row per day, so every page
reads the same number. A change to a goal or a target recomputes at once; a change to the CRM's
records is picked up by `goals_refresh_if_changed` (every two minutes) and the nightly pass.
"""

from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import Event, User
from crm.services import notify
from metrics.registry import get_kpi

from . import compute
from .bulk import bulk_set
from .models import (
    Direction,
    Goal,
    GoalProgress,
    GoalStatus,
    Scope,
    Target,
    TargetKind,
    TargetProgress,
    TargetUpdate,
    Watermark,
)
from .progress import one_place

MILESTONES = (50, 90, 100)
GOAL_FIELDS = (
    "name",
    "description",
    "owner",
    "scope",
    "team",
    "person",
    "grain",
    "start_date",
    "end_date",
    "parent",
    "weight",
    "status",
)
TARGET_FIELDS = (
    "name",
    "kind",
    "weight",
    "direction",
    "kpi_key",
    "segment_field",
    "segment_value",
    "relative_percent",
    "start_value",
    "target_value",
    "band_low",
    "band_high",
)
EVENTS_WATERMARK = "events"


# Goals -----------------------------------------------------------------------------------


def check_goal(goal: Goal) -> None:
    """The tree's rules: the subject matches the scope, a child's period lies inside its
    parent's and no goal is its own ancestor. Raises ValidationError by field."""
    if goal.end_date < goal.start_date:
        raise ValidationError({"end_date": _("The last day comes before the first day.")})
    if (
        goal.pk
        and goal.children.filter(
            Q(start_date__lt=goal.start_date) | Q(end_date__gt=goal.end_date)
        ).exists()
    ):
        raise ValidationError(
            {"end_date": _("A sub-goal's period would fall outside this goal's period.")}
        )
    parent = goal.parent
    if parent is None:
        return
    if goal.pk and (parent.pk == goal.pk or goal.pk in ancestor_ids(parent)):
        raise ValidationError({"parent": _("A goal cannot sit under itself or its own sub-goal.")})
    if goal.start_date < parent.start_date or goal.end_date > parent.end_date:
        raise ValidationError(
            {
                "parent": _("The period must lie within the parent goal's (%(period)s).")
                % {"period": parent.period}
            }
        )


def ancestor_ids(goal: Goal) -> list[int]:
    found, current = [goal.pk], goal
    while current.parent_id and current.parent_id not in found:
        found.append(current.parent_id)
        current = Goal.objects.only("id", "parent_id").get(pk=current.parent_id)
    return found


def _match_subject(goal: Goal) -> None:
    """Keep only the subject the scope names: a team for a team's goal, a person for one
    person's, none for the company's."""
    if goal.scope != Scope.TEAM:
        goal.team = None
    if goal.scope != Scope.PERSON:
        goal.person = None
    if goal.scope == Scope.TEAM and goal.team_id is None:
        raise ValidationError({"team": _("Pick the team this goal is for.")})
    if goal.scope == Scope.PERSON and goal.person_id is None:
        raise ValidationError({"person": _("Pick the person this goal is for.")})


@transaction.atomic
def goal_create(*, actor: User, data: dict) -> Goal:
    goal = Goal(**{key: data[key] for key in GOAL_FIELDS if key in data})
    _match_subject(goal)
    check_goal(goal)
    goal.save()
    goals_recompute(goal_ids=[goal.pk])
    return goal


@transaction.atomic
def goal_update(*, actor: User, goal: Goal, data: dict) -> Goal:
    for key in GOAL_FIELDS:
        if key in data:
            setattr(goal, key, data[key])
    _match_subject(goal)
    check_goal(goal)
    # Only what the form edits: the stored progress may be newer than this instance.
    goal.save(update_fields=[*GOAL_FIELDS, "updated_at"])
    goals_recompute(goal_ids=[goal.pk])
    return goal


@transaction.atomic
def goal_delete(*, actor: User, goal: Goal) -> None:
    parent_id = goal.parent_id
    goal.delete()
    if parent_id:
        goals_recompute(goal_ids=[parent_id])


@transaction.atomic
def goal_split(*, actor: User, goal: Goal, shares: dict[User, Decimal]) -> list[Goal]:
    """One child goal per member with the team goal's targets divided by each one's share
    (amounts that add up are divided; rates and milestones are copied)."""
    if goal.scope != Scope.TEAM:
        raise ValidationError(_("Only a team's goal can be split between its members."))
    total = sum((Decimal(share) for share in shares.values()), Decimal(0))
    if total <= 0 or any(Decimal(share) < 0 for share in shares.values()):
        raise ValidationError(_("The shares must be zero or more and add up to more than zero."))
    taken = set(goal.children.filter(scope=Scope.PERSON).values_list("person_id", flat=True))
    clash = [str(user) for user in shares if user.pk in taken]
    if clash:
        raise ValidationError(
            _("Already split for: %(names)s.") % {"names": ", ".join(sorted(clash))}
        )
    targets = list(goal.targets.prefetch_related("tasks"))
    children = []
    for member, share in shares.items():
        if not share:
            continue  # no share, no personal goal
        fraction = Decimal(share) / total
        child = Goal.objects.create(
            name=f"{goal.name} · {member.get_full_name() or member.username}",
            description=goal.description,
            owner=member,
            scope=Scope.PERSON,
            person=member,
            grain=goal.grain,
            start_date=goal.start_date,
            end_date=goal.end_date,
            parent=goal,
            weight=fraction * 100,
            status=goal.status,
        )
        for target in targets:
            _copy_target(target, child, fraction, member)
        children.append(child)
    goals_recompute(goal_ids=[child.pk for child in children])
    return children


def _copy_target(target: Target, child: Goal, fraction: Decimal, member: User) -> None:
    tasks = [task for task in target.tasks.all() if task.assignee_id == member.pk]
    if target.kind == TargetKind.TASKS and not tasks:
        return
    copy = Target(goal=child, **{key: getattr(target, key) for key in TARGET_FIELDS})
    copy.position = target.position
    if copy.segment_field == "team":
        copy.segment_field = copy.segment_value = ""  # the member's own numbers
    relative = False
    if target.relative_percent is not None:
        try:
            _resolve_relative(copy)
            relative = True
        except ValidationError:
            copy.relative_percent = None  # the member has no history: their share instead
    if not relative and compute.is_additive(target):
        for key in ("start_value", "target_value"):
            value = getattr(copy, key)
            setattr(
                copy, key, None if value is None else (value * fraction).quantize(Decimal("0.01"))
            )
    if target.kind in (TargetKind.NUMBER, TargetKind.MONEY):
        copy.current_value = copy.start_value
    copy.save()
    if tasks:
        copy.tasks.set(tasks)


# Targets ---------------------------------------------------------------------------------


def resolve_target(target: Target) -> None:
    """Fill in what follows from the input (a relative target's start and target, a KPI's
    default start) and refuse what cannot progress. Raises ValidationError by field."""
    if target.kind == TargetKind.KPI:
        _check_kpi(target)
        if target.relative_percent is not None:
            _resolve_relative(target)
        elif target.direction != Direction.BAND and target.start_value is None:
            target.start_value = default_start(target)
    elif target.kind in (TargetKind.NUMBER, TargetKind.MONEY):
        if target.start_value is None:
            target.start_value = Decimal(0)
        if target.current_value is None:
            target.current_value = target.start_value
    if target.kind in (TargetKind.MILESTONE, TargetKind.TASKS):
        target.direction = Direction.INCREASE
        target.start_value = target.target_value = None
        return
    _check_bounds(target)


def _check_kpi(target: Target) -> None:
    try:
        kpi = get_kpi(target.kpi_key)
    except KeyError as error:
        raise ValidationError({"kpi_key": _("Pick a KPI from the list.")}) from error
    segment = target.segment
    if segment.is_all:
        return
    if kpi.compute is not None or segment.field not in kpi.segments:
        raise ValidationError(
            {
                "kpi_key": _(
                    "%(kpi)s cannot be split by %(field)s, so it cannot measure this goal's "
                    "%(scope)s; pick another KPI or a company-wide goal."
                )
                % {
                    "kpi": kpi.label,
                    "field": segment.field,
                    "scope": target.goal.get_scope_display(),
                }
            }
        )


def default_start(target: Target) -> Decimal | None:
    """Amounts that add up start each period at zero; levels and rates at last period's value."""
    if target.kpi_key in compute.ACCUMULATING_KPIS:
        return Decimal(0)
    return previous_value(target)


def previous_value(target: Target) -> Decimal | None:
    period = compute.previous_period(target.goal)
    return get_kpi(target.kpi_key).value(period, target.segment).value


def _resolve_relative(target: Target) -> None:
    previous = previous_value(target)
    if not previous:
        raise ValidationError(
            {
                "relative_percent": _(
                    "The previous period has no value to raise from; give an absolute target."
                )
            }
        )
    target.previous_value = previous
    change = Decimal(str(target.relative_percent)) / 100
    target.target_value = (previous * (1 + change)).quantize(Decimal("0.0001"))
    if target.kpi_key in compute.ACCUMULATING_KPIS:
        target.start_value = Decimal(0)
    else:
        target.start_value = previous
    target.direction = (
        Direction.INCREASE if target.target_value > target.start_value else Direction.DECREASE
    )


def _check_bounds(target: Target) -> None:
    if target.direction == Direction.BAND:
        low, high = target.band_low, target.band_high
        if low is None and high is None:
            raise ValidationError({"band_low": _("Give at least one end of the band.")})
        if low is not None and high is not None and low > high:
            raise ValidationError({"band_high": _("The band's top is below its bottom.")})
        return
    if target.target_value is None:
        raise ValidationError({"target_value": _("Give the value to reach.")})
    if target.start_value is None:
        raise ValidationError({"start_value": _("No start value is known; type one.")})
    if target.target_value == target.start_value:
        raise ValidationError(
            {"target_value": _("The target equals the start value: there is nothing to reach.")}
        )
    rising = target.target_value > target.start_value
    if rising != (target.direction == Direction.INCREASE):
        raise ValidationError(
            {
                "target_value": _(
                    "To increase, the target must be above the start (%(start)s); to decrease, "
                    "below it."
                )
                % {"start": f"{target.start_value.normalize():f}"}
            }
        )


def check_weights(goal: Goal, *, target: Target | None = None) -> None:
    """A goal's targets and sub-goals must weigh something together."""
    others = goal.targets.all()
    if target is not None and target.pk:
        others = others.exclude(pk=target.pk)
    total = sum(others.values_list("weight", flat=True), Decimal(0))
    total += sum(goal.children.values_list("weight", flat=True), Decimal(0))
    if target is not None:
        total += target.weight
    if total <= 0:
        raise ValidationError(
            {"weight": _("The weights of this goal's targets and sub-goals add up to zero.")}
        )


@transaction.atomic
def target_create(*, actor: User, goal: Goal, data: dict, tasks=()) -> Target:
    target = Target(goal=goal, **{key: data[key] for key in TARGET_FIELDS if key in data})
    target.position = goal.targets.count()
    resolve_target(target)
    check_weights(goal, target=target)
    target.save()
    if target.kind == TargetKind.TASKS:
        target.tasks.set(tasks)
    goals_recompute(goal_ids=[goal.pk])
    return target


@transaction.atomic
def target_update(*, actor: User, target: Target, data: dict, tasks=None) -> Target:
    for key in TARGET_FIELDS:
        if key in data:
            setattr(target, key, data[key])
    resolve_target(target)
    check_weights(target.goal, target=target)
    target.save(update_fields=[*TARGET_FIELDS, "previous_value"])
    if tasks is not None and target.kind == TargetKind.TASKS:
        target.tasks.set(tasks)
    goals_recompute(goal_ids=[target.goal_id])
    return target


@transaction.atomic
def target_delete(*, actor: User, target: Target) -> None:
    goal_id = target.goal_id
    target.delete()
    goals_recompute(goal_ids=[goal_id])


@transaction.atomic
def target_record_value(
    *, actor: User, target: Target, value: Decimal, note: str = "", at=None
) -> TargetUpdate:
    """A new value of a hand-kept number or money target, kept in its history (`at` for a
    value noted on paper earlier)."""
    if target.kind not in (TargetKind.NUMBER, TargetKind.MONEY):
        raise ValidationError(_("Only number and money targets are updated by hand."))
    update = TargetUpdate.objects.create(
        target=target, value=value, note=note, by=actor, at=at or timezone.now()
    )
    target.current_value = value
    target.save(update_fields=["current_value"])
    goals_recompute(goal_ids=[target.goal_id])
    return update


@transaction.atomic
def target_set_done(*, actor: User, target: Target, done: bool, at=None) -> Target:
    if target.kind != TargetKind.MILESTONE:
        raise ValidationError(_("Only milestones are marked done."))
    if done != target.done:
        target.done_at = (at or timezone.now()) if done else None
        target.save(update_fields=["done_at"])
        goals_recompute(goal_ids=[target.goal_id])
    return target


# Progress --------------------------------------------------------------------------------


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
    shares = compute.task_shares([t.pk for t in targets if t.kind == TargetKind.TASKS])
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
    # Claim the pass: a second worker with the same reading finds the row already moved.
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
