"""Demo accounts for a first local run; every one shares DEMO_PASSWORD (see README.md)."""

import random
from collections.abc import Iterator
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import transaction

from .models import Pipeline, StageOutcome, Team, User
from .models.users import Role
from .services import support_settings_update
from .services.pipelines import pipeline_create, stage_create

DEMO_PASSWORD = "crm-demo"  # noqa: S105 - printed and documented on purpose

DEMO_USERS = [
    # username, first name, last name, role
    ("diego", "Diego", "Admin", Role.ADMIN),
    ("carla", "Carla", "Manager", Role.MANAGER),
    ("ana", "Ana", "Rep", Role.SALES_REP),
    ("marco", "Marco", "Rep", Role.SALES_REP),
    ("bruno", "Bruno", "Agent", Role.SUPPORT_AGENT),
]


@transaction.atomic
def create_demo_users() -> list[User]:
    users = {}
    for username, first, last, role in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"first_name": first, "last_name": last, "email": f"{username}@example.com"},
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.is_staff = role == Role.ADMIN
            user.is_superuser = role == Role.ADMIN
            user.save()
        user.groups.add(Group.objects.get(name=role.value))
        users[username] = user
    sales, _ = Team.objects.get_or_create(name="Sales", defaults={"manager": users["carla"]})
    sales.members.add(users["ana"], users["marco"], users["carla"])
    support, _ = Team.objects.get_or_create(name="Support", defaults={"manager": users["carla"]})
    support.members.add(users["bruno"])
    # New tickets without a team (the public form, customer emails) go to Support's queue.
    support_settings_update(actor=None, default_team=support)
    return list(users.values())


# The larger scales' company (issue 19): five sales teams of eight reps under a manager each,
# and ten agents in Support, so that a rep's pages show a rep's share of the business. The demo
# accounts above keep their places: Carla manages Sales (with Ana and Marco) and Support.
SALES_TEAMS = ["Sales", "Mid-Market", "Enterprise", "EMEA", "Inbound"]
REPS_PER_TEAM = 8
SUPPORT_AGENTS = 10
# Pipelines besides the default "Sales" one, each with four open stages before Won and Lost.
DEMO_PIPELINES = {
    "Enterprise": ["Discovery", "Solution design", "Business case", "Procurement"],
    "Renewals": ["Renewal due", "Usage review", "Quote sent", "Final terms"],
    "Expansion": ["Identified", "Qualified", "Proposal", "Negotiation"],
}
STAGE_PROBABILITIES = [10, 30, 60, 80]


@dataclass(frozen=True)
class Organisation:
    sales_teams: list[Team]
    managers: dict[int, User]  # team id -> manager
    reps: dict[int, list[User]]  # team id -> its reps
    support_team: Team
    agents: list[User]
    pipelines: dict[str, Pipeline]


def _staff_names(count: int) -> Iterator[tuple[str, str, str]]:
    """(username, first, last) of `count` made-up colleagues, the same every run."""
    rng = random.Random(19)
    seen = {username for username, *_rest in DEMO_USERS}
    while count:
        first, last = rng.choice(STAFF_FIRST_NAMES), rng.choice(STAFF_LAST_NAMES)
        username = f"{first}.{last}".lower()
        if username not in seen:
            seen.add(username)
            count -= 1
            yield username, first, last


@transaction.atomic
def create_demo_organisation() -> Organisation:
    """Teams, colleagues and pipelines of the larger scales; running it again changes nothing.

    The colleagues share the demo password; it is hashed once for all of them."""
    demo = {u.username: u for u in User.objects.filter(username__in=[d[0] for d in DEMO_USERS])}
    password = make_password(DEMO_PASSWORD)
    names = _staff_names(len(SALES_TEAMS) - 1 + len(SALES_TEAMS) * REPS_PER_TEAM + SUPPORT_AGENTS)

    def colleague(role: Role) -> User:
        username, first, last = next(names)
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"first_name": first, "last_name": last, "email": f"{username}@example.com"},
        )
        if created:
            user.password = password
            user.save(update_fields=["password"])
        user.groups.add(Group.objects.get(name=role.value))
        return user

    teams, managers, reps = [], {}, {}
    for index, name in enumerate(SALES_TEAMS):
        manager = demo["carla"] if index == 0 else colleague(Role.MANAGER)
        team, _ = Team.objects.get_or_create(name=name, defaults={"manager": manager})
        members = [demo["ana"], demo["marco"]] if index == 0 else []
        while len(members) < REPS_PER_TEAM:
            members.append(colleague(Role.SALES_REP))
        team.members.add(manager, *members)
        teams.append(team)
        managers[team.pk], reps[team.pk] = team.manager or manager, members
    support = Team.objects.get(name="Support")
    agents = [demo["bruno"]] + [colleague(Role.SUPPORT_AGENT) for _ in range(SUPPORT_AGENTS - 1)]
    support.members.add(*agents)
    pipelines = {name: _demo_pipeline(name, stages) for name, stages in DEMO_PIPELINES.items()}
    return Organisation(teams, managers, reps, support, agents, pipelines)


def _demo_pipeline(name: str, stages: list[str]) -> Pipeline:
    pipeline = Pipeline.objects.filter(name=name).first()
    if pipeline is None:
        pipeline = pipeline_create(actor=None, data={"name": name})
        for stage, probability in zip(stages, STAGE_PROBABILITIES, strict=True):
            stage_create(
                pipeline=pipeline,
                actor=None,
                data={"name": stage, "probability": probability, "outcome": StageOutcome.OPEN},
            )
    return pipeline


STAFF_FIRST_NAMES = (
    "Aisha Andre Beatriz Boris Camila Daniel Dmitri Elif Esther Felix Gabriel Hannah Ibrahim "
    "Irene Jakob Jonah Keiko Lars Leila Lucas Marta Mateo Nora Oscar Pablo Petra Rahul Renata "
    "Selin Simon Tessa Theo Valentina Wendy Xavier Yasmin Zara"
).split()
STAFF_LAST_NAMES = (
    "Abbott Bianchi Carvalho Dimitrov Eriksen Ferreira Gallagher Haddad Ibarra Johansson "
    "Kaplan Lindqvist Mendes Nowak Oliveira Pereira Quinn Romano Sandoval Torres Ueda Varga "
    "Whitfield Xu Yamada Zielinski"
).split()
