"""Setting goals: create, edit, delete, and split a team's goal between its members."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from crm.limits import check_text_lengths
from crm.models import User
from crm.services.deletes import record_delete

from .. import compute
from ..models import (
    Goal,
    Scope,
    Target,
    TargetKind,
)
from .recompute import goals_recompute
from .targets import TARGET_FIELDS, resolve_relative

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


def check_goal(goal: Goal) -> None:
    """The tree's rules: the subject matches the scope, a child's period lies inside its
    parent's and no goal is its own ancestor. Raises ValidationError by field."""
    check_text_lengths(goal, ["description"])
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
    record_delete(goal, actor=actor)
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
            resolve_relative(copy)
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
