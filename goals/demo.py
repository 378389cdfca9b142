"""Demo goals, called after `seed_demo` (settings.CRM_AFTER_SEED): a company goal for the
current quarter with a team goal for Sales and Support and a goal per person, covering every
kind of target, with daily rows back to the quarter's start so the burn-up charts are alive.
Running it again changes nothing (the company goal of the quarter is looked up by name)."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import Task, TaskStatus, Team, User
from metrics.periods import period_for

from . import services
from .models import Direction, Goal, Grain, Scope, Target, TargetKind

DEMO_NAME = "Grow new business this quarter"


def seed_demo_goals(*, scale: str = "small", today: date | None = None, **_ignored) -> dict:
    today = today or timezone.localdate()
    quarter = period_for("quarter", today)
    first, last = quarter.start_date, quarter.end_date
    if Goal.objects.filter(name=DEMO_NAME, start_date=first).exists():
        return {"goals": 0}
    people = {u.username: u for u in User.objects.filter(username__in=DEMO_PEOPLE)}
    sales = Team.objects.filter(name="Sales").first()
    support = Team.objects.filter(name="Support").first()
    if len(people) < len(DEMO_PEOPLE) or sales is None or support is None:
        return {"goals": 0}  # not the demo's users: nothing to hang goals on
    with transaction.atomic():
        goals = _make_tree(people, sales, support, first, last, today)
    services.goals_backfill(goal_ids=[g.pk for g in goals], first=first, last=today)
    return {"goals": len(goals)}


DEMO_PEOPLE = ("diego", "carla", "ana", "marco", "bruno")


def _make_tree(people, sales, support, first, last, today) -> list[Goal]:
    diego, carla = people["diego"], people["carla"]

    def goal(name, owner, scope, parent=None, weight=1, **subject):
        data = {
            "name": name,
            "owner": owner,
            "scope": scope,
            "grain": Grain.QUARTER,
            "start_date": first,
            "end_date": last,
            "parent": parent,
            "weight": Decimal(weight),
            **subject,
        }
        return services.goal_create(actor=diego, data=data)

    company = goal(DEMO_NAME, diego, Scope.COMPANY)
    _kpi(company, _("Net new revenue +20 %"), "net_new_revenue", relative=20, absolute=50000)
    _target(
        company,
        name=_("Churn stays within 0–5 %"),
        kind=TargetKind.KPI,
        kpi_key="churn_rate",
        direction=Direction.BAND,
        band_low=Decimal(0),
        band_high=Decimal(5),
    )
    sales_goal = goal(_("Sales: win more, log in more"), carla, Scope.TEAM, company, 2, team=sales)
    _kpi(sales_goal, _("Win rate +10 %"), "win_rate", relative=10, absolute=30)
    _kpi(sales_goal, _("Logins +20 % over last quarter"), "logins", relative=20, absolute=200)
    training = _target(sales_goal, name=_("Sales training session held"), kind="milestone")
    services.target_set_done(actor=carla, target=training, done=True, at=_at(first, 10, today))
    support_goal = goal(_("Support: answer faster"), carla, Scope.TEAM, company, 1, team=support)
    _kpi(
        support_goal,
        _("First response 20 % faster"),
        "first_response_hours",
        relative=-20,
        absolute=4,
    )
    _target(support_goal, name=_("Knowledge base reviewed"), kind="milestone")
    tasks = list(
        Task.objects.filter(assignee=people["bruno"])
        .exclude(status=TaskStatus.CANCELLED)
        .order_by("-created_at")[:10]
    )
    if tasks:
        _target(support_goal, name=_("Onboarding tasks done"), kind="tasks", tasks=tasks)

    members = [people["ana"], people["marco"]]
    children = services.goal_split(
        actor=carla, goal=sales_goal, shares={member: Decimal(1) for member in members}
    )
    for child, demos in zip(children, (14, 9), strict=True):
        number = _target(
            child,
            name=_("Customer demos given"),
            kind="number",
            start_value=Decimal(0),
            target_value=Decimal(20),
        )
        money = _target(
            child,
            name=_("Expansion quotes sent"),
            kind="money",
            start_value=Decimal(0),
            target_value=Decimal(60000),
        )
        _history(number, child.person, first, today, demos, step=Decimal(1))
        _history(money, child.person, first, today, demos, step=Decimal(2500))
    bruno = goal(
        _("Bruno: share what we know"),
        people["bruno"],
        Scope.PERSON,
        support_goal,
        person=people["bruno"],
    )
    articles = _target(
        bruno,
        name=_("Help articles written"),
        kind="number",
        start_value=Decimal(0),
        target_value=Decimal(12),
    )
    _history(articles, people["bruno"], first, today, 5, step=Decimal(1))
    return [company, sales_goal, support_goal, *children, bruno]


def _target(goal: Goal, *, name: str, kind: str, tasks=(), **data) -> Target:
    return services.target_create(
        actor=goal.owner, goal=goal, data={"name": name, "kind": kind, **data}, tasks=tasks
    )


def _kpi(goal: Goal, name: str, key: str, *, relative: int, absolute) -> Target | None:
    """Relative to last quarter when it has a value; otherwise an absolute target."""
    data = {"name": name, "kind": TargetKind.KPI, "kpi_key": key}
    try:
        with transaction.atomic():
            return _target(goal, **data, relative_percent=Decimal(relative))
    except ValidationError:
        pass
    direction = Direction.DECREASE if relative < 0 else Direction.INCREASE
    try:
        with transaction.atomic():
            return _target(goal, **data, direction=direction, target_value=Decimal(absolute))
    except ValidationError:
        return None  # no usable start on this data: the demo goes without it


def _history(target: Target, person: User, first: date, today: date, count: int, *, step):
    """`count` updates spread over the quarter so far, each one `step` more."""
    elapsed = max((today - first).days, 1)
    value = Decimal(0)
    for index in range(count):
        value += step
        day = first + timedelta(days=elapsed * (index + 1) // (count + 1))
        services.target_record_value(
            actor=person, target=target, value=value, at=_at(day, 0, today)
        )


def _at(day: date, days_later: int, today: date) -> datetime:
    moment = min(day + timedelta(days=days_later), today)
    return timezone.make_aware(datetime.combine(moment, time(10)))
