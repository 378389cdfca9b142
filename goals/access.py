"""Who sees which goals, handed to crm.access (the one place visibility is decided).

- Admins see every goal (crm.access).
- Everyone sees the goals they own, the goals of the people in their teams (themselves
  included) and their teams' goals.
- Managers also see the company-wide goals; reps and agents see the team goals under them,
  not the company goal itself.

Hand-kept targets and milestones are updated by the goal's managers and by the people the goal
is about (its owner, its person, the members of its team), given the role's change_target.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Q

from crm.access import get_for_user, is_admin, is_manager, member_ids, team_ids

from .models import Goal, Scope, Target


def goal_rule(user, prefix: str = "") -> Q:
    rule = (
        Q(**{f"{prefix}owner_id": user.pk})
        | Q(**{f"{prefix}person_id__in": member_ids(user)})
        | Q(**{f"{prefix}team_id__in": team_ids(user)})
    )
    if is_manager(user):
        rule |= Q(**{f"{prefix}scope": Scope.COMPANY})
    return rule


def target_rule(user) -> Q:
    return goal_rule(user, prefix="goal__")


GOAL_PAGE_RELATED = ("owner", "team", "person", "parent")


def get_goal_for_user(user, pk, *, write: bool = False) -> Goal:
    return get_for_user(Goal.objects.select_related(*GOAL_PAGE_RELATED), user, pk, write=write)


def get_target_for_user(user, pk, *, write: bool = False) -> Target:
    queryset = Target.objects.select_related("goal", "goal__owner")
    return get_for_user(queryset, user, pk, write=write)


def can_manage(user) -> bool:
    return user.has_perm("goals.change_goal")


def can_keep(user, goal: Goal) -> bool:
    """May update the goal's hand-kept targets and milestones."""
    if is_admin(user) or can_manage(user):
        return True
    if not user.has_perm("goals.change_target"):
        return False
    return (
        goal.owner_id == user.pk
        or goal.person_id == user.pk
        or (goal.team_id is not None and goal.team_id in team_ids(user))
    )


def get_kept_target_for_user(user, pk) -> Target:
    target = get_target_for_user(user, pk)
    if not can_keep(user, target.goal):
        raise PermissionDenied
    return target
