"""Real people and records of a seeded database, for the page benchmark and the load test.

Nothing here writes: the users are those of the seed (one per role, the demo accounts when the
seed has them, BENCH_USERS to choose others: `rep=ana,agent=bruno`), and each user's records
are rows they may see (through crm.access), so a walk of the site as that user times pages it
would open, not refusals.
"""

import os

from django.apps import apps
from django.db.models import Model, QuerySet

from crm.access import visible, visible_teams
from crm.models import (
    Activity,
    Article,
    ArticleStatus,
    Company,
    Contact,
    CustomField,
    Deal,
    DealStatus,
    Expense,
    Lead,
    Notification,
    Role,
    Subscription,
    SurveyAnswer,
    SurveyInvitation,
    Task,
    Team,
    Ticket,
    User,
)
from tests.reliability.sitemap import Dataset

ROLE_GROUPS = {
    "rep": Role.SALES_REP,
    "agent": Role.SUPPORT_AGENT,
    "manager": Role.MANAGER,
    "admin": Role.ADMIN,
}
DEMO_USERNAMES = {"rep": "ana", "agent": "bruno", "manager": "carla", "admin": "diego"}


def chosen_usernames() -> dict[str, str]:
    """BENCH_USERS (`rep=ana,agent=bruno`) over the demo accounts."""
    chosen = dict(DEMO_USERNAMES)
    for pair in filter(None, os.environ.get("BENCH_USERS", "").split(",")):
        role, _sep, username = pair.partition("=")
        chosen[role.strip()] = username.strip()
    return chosen


def users_of_role(role: str) -> QuerySet:
    group = ROLE_GROUPS[role]
    users = User.objects.filter(is_active=True, groups__name=group.value)
    if role == "admin":
        users = User.objects.filter(is_active=True, is_superuser=True) | users
    return users.distinct().order_by("username")


def person(role: str) -> User | None:
    """The chosen user of the role, or the first active one of it."""
    wanted = chosen_usernames().get(role)
    user = users_of_role(role).filter(username=wanted).first() if wanted else None
    return user or users_of_role(role).first()


def people() -> dict[str, User]:
    """One user per role, the roles the seed has."""
    found = {role: person(role) for role in ROLE_GROUPS}
    return {role: user for role, user in found.items() if user is not None}


class Missing:
    """Stands in for a record the user sees none of: its id is 0 (no row has it) and so is
    every `*_id`, so the route map can still fill the other routes' arguments."""

    pk = 0

    def __getattr__(self, name):
        return 0 if name.endswith("_id") else self

    def __bool__(self):
        return False


MISSING = Missing()


def names_missing(kwargs: dict) -> bool:
    """Whether URL arguments name a record the user sees none of."""
    return any(value is MISSING or value == 0 for value in kwargs.values())


def _latest(queryset: QuerySet) -> Model | None:
    return queryset.order_by("-pk").first()


def _seen(model, user) -> Model | None:
    return _latest(visible(model, user))


def _api_token(user):
    if not apps.is_installed("api"):
        return None
    token_model = apps.get_model("api", "ApiToken")
    return _latest(token_model.objects.filter(user=user))


def _webhook():
    if not apps.is_installed("webhooks"):
        return None
    return apps.get_model("webhooks", "Subscription").objects.order_by("pk").first()


def _rule_run(deal, ticket):
    """A rule run on a record the user sees (runs follow their record). Looked up by record:
    the visibility rule over every run took minutes for an agent on a million deals."""
    from automations.models import RuleRun

    for record_type, record in (("deal", deal), ("ticket", ticket)):
        if record is not None:
            run = RuleRun.objects.filter(record_type=record_type, record_id=record.pk).first()
            if run is not None:
                return run
    return None


def _dashboard_and_card(user):
    from metrics.models import Dashboard, DashboardCard

    dashboard = _latest(Dashboard.objects.filter(owner=user)) or _latest(
        Dashboard.objects.filter(shared_with__in=visible_teams(user))
    )
    card = DashboardCard.objects.filter(dashboard=dashboard).order_by("pk").first()
    return dashboard, card


def _goal_and_target(user):
    from goals.models import Goal, Target

    goal = _latest(visible(Goal, user).filter(targets__isnull=False))
    target = visible(Target, user).filter(goal=goal).order_by("pk").first() if goal else None
    return goal, target


def dataset_for(user: User, everyone: dict[str, User]) -> Dataset:
    """A record of each kind the user may see (None where they see none), in the shape the
    route map (tests/reliability/sitemap.py real_kwargs) fills URL arguments from."""
    from automations.models import Rule

    deal = _latest(visible(Deal.objects.filter(status=DealStatus.OPEN), user)) or _seen(Deal, user)
    ticket = _seen(Ticket, user)
    goal, target = _goal_and_target(user)
    dashboard, card = _dashboard_and_card(user)
    data = Dataset(
        users={"anonymous": None, **everyone},
        team=visible_teams(user).order_by("pk").first() or Team.objects.order_by("pk").first(),
        company=_seen(Company, user),
        contact=_seen(Contact, user),
        lead=_seen(Lead, user),
        deal=deal,
        task=_seen(Task, user),
        ticket=ticket,
        article=_latest(Article.objects.filter(status=ArticleStatus.PUBLISHED)),
        goal=goal,
        target=target,
        dashboard=dashboard,
        card=card,
        rule=_seen(Rule, user),
        notification=_latest(Notification.objects.filter(recipient=user)),
        invitation=_latest(SurveyInvitation.objects.all()),
        custom_field=CustomField.objects.order_by("pk").first(),
        activity=_seen(Activity, user),
        webhook=_webhook(),
        api_token=_api_token(user),
        api_records={
            "subscription": _seen(Subscription, user),
            "expense": _latest(Expense.objects.all()),
            "survey_answer": _seen(SurveyAnswer, user),
            "run": _rule_run(deal, ticket),
        },
    )
    for name, value in vars(data).items():
        if value is None:
            setattr(data, name, MISSING)
    data.api_records = {key: value or MISSING for key, value in data.api_records.items()}
    return data
