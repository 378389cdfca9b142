"""Goals and targets for tests, made through goals.services as the pages make them."""

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from goals import services
from goals.models import Goal, Grain, Scope, Target


def this_quarter() -> tuple[date, date]:
    from metrics.periods import period_for

    period = period_for("quarter", timezone.localdate())
    return period.start_date, period.end_date


def running_period(days_done: int = 20, days_left: int = 20) -> tuple[date, date]:
    """A custom period around today: `days_done` days behind (today included), the rest ahead."""
    today = timezone.localdate()
    return today - timedelta(days=days_done - 1), today + timedelta(days=days_left)


def make_goal(*, owner, scope=Scope.COMPANY, team=None, person=None, parent=None, **data) -> Goal:
    first, last = data.pop("dates", None) or running_period()
    values = {
        "name": data.pop("name", "Goal"),
        "owner": owner,
        "scope": scope,
        "team": team,
        "person": person,
        "grain": data.pop("grain", Grain.CUSTOM),
        "start_date": first,
        "end_date": last,
        "parent": parent,
        **data,
    }
    return services.goal_create(actor=owner, data=values)


DECIMALS = ("weight", "start_value", "target_value", "band_low", "band_high", "relative_percent")


def make_target(goal: Goal, *, kind="number", tasks=(), **data) -> Target:
    values = {"name": data.pop("name", f"{kind} target"), "kind": kind, **data}
    for key in DECIMALS:
        if key in values and values[key] is not None:
            values[key] = Decimal(str(values[key]))
    return services.target_create(actor=goal.owner, goal=goal, data=values, tasks=tasks)


def reload(obj):
    obj.refresh_from_db()
    return obj
