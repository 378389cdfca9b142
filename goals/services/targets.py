"""Targets: what follows from the input (a relative target's numbers, a KPI's start), what is
refused, and the hand-kept values and milestones."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import User
from crm.services.deletes import record_delete
from metrics.registry import get_kpi

from .. import compute
from ..models import (
    Direction,
    Goal,
    Target,
    TargetKind,
    TargetUpdate,
)
from .recompute import goals_recompute

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


def resolve_target(target: Target) -> None:
    """Fill in what follows from the input (a relative target's start and target, a KPI's
    default start) and refuse what cannot progress. Raises ValidationError by field."""
    if target.kind == TargetKind.KPI:
        _check_kpi(target)
        if target.relative_percent is not None:
            resolve_relative(target)
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


def resolve_relative(target: Target) -> None:
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
    record_delete(target, actor=actor)
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
