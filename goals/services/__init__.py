"""Operations on goals: the only write path (views, tasks, admin, the demo all call these).

Progress is computed here and stored on the goals and targets with a row per day, so every page
reads the same number. A change to a goal or a target recomputes at once; a change to the CRM's
records is picked up by `goals_refresh_if_changed` (every two minutes) and the nightly pass.
"""

from .goals import (
    GOAL_FIELDS,
    ancestor_ids,
    check_goal,
    goal_create,
    goal_delete,
    goal_split,
    goal_update,
)
from .recompute import MILESTONES, goals_backfill, goals_recompute, goals_refresh_if_changed
from .targets import (
    TARGET_FIELDS,
    check_weights,
    default_start,
    previous_value,
    resolve_target,
    target_create,
    target_delete,
    target_record_value,
    target_set_done,
    target_update,
)

__all__ = [
    "GOAL_FIELDS",
    "MILESTONES",
    "TARGET_FIELDS",
    "ancestor_ids",
    "check_goal",
    "check_weights",
    "default_start",
    "goal_create",
    "goal_delete",
    "goal_split",
    "goal_update",
    "goals_backfill",
    "goals_recompute",
    "goals_refresh_if_changed",
    "previous_value",
    "resolve_target",
    "target_create",
    "target_delete",
    "target_record_value",
    "target_set_done",
    "target_update",
]
