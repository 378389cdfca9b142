"""What each simulated user of the load test does it on: a JSON plan read from a seeded database
before the run (the locustfile has no database), with real accounts of each role and records
each account may change.

Every simulated user has a slot of its own: its account (accounts are shared round-robin when
the seed has fewer people of a role than simulated users) and records no other slot touches,
so two slots never drag the same card or answer the same ticket at once.
"""

import random

from crm.access import visible
from crm.models import (
    Company,
    Deal,
    DealStatus,
    Stage,
    StageOutcome,
    Ticket,
    TicketStatus,
)
from tests.bench.load_records import users_of_role

RECORDS_PER_SLOT = 40
SEARCH_TERMS_PER_SLOT = 20
REP_LISTS = ["/", "/deals/", "/leads/", "/contacts/", "/companies/", "/tasks/"]
AGENT_QUEUES = [
    "/tickets/",
    "/tickets/?view=mine",
    "/tickets/?view=unassigned",
    "/tickets/?view=team",
    "/tickets/?view=breaching",
]


def _accounts(role: str, count: int, usable) -> list:
    """`count` accounts of the role (round-robin over those `usable` says have work)."""
    users = [user for user in users_of_role(role) if usable(user)]
    if not users:
        raise LookupError(f"the seeded database has no {role} with records to work on")
    return [users[index % len(users)] for index in range(count)]


def _open_stages_by_pipeline() -> dict[int, list[int]]:
    stages: dict[int, list[int]] = {}
    for stage in Stage.objects.filter(outcome=StageOutcome.OPEN).order_by("order"):
        stages.setdefault(stage.pipeline_id, []).append(stage.pk)
    return stages


def _movable_deals(user):
    """Open deals the rep owns (so no two accounts share one) and may change."""
    return visible(Deal.objects.filter(status=DealStatus.OPEN, owner=user), user, write=True)


def _answerable_tickets(user):
    live = [TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING]
    return visible(Ticket.objects.filter(status__in=live), user, write=True)


def _split(rows: list, slots: int) -> list[list]:
    return [rows[index::slots] for index in range(slots)]


def rep_slots(count: int, rng: random.Random) -> list[dict]:
    stages = _open_stages_by_pipeline()
    movable = {pipeline for pipeline, ids in stages.items() if len(ids) > 1}
    accounts = _accounts(
        "rep", count, lambda user: _movable_deals(user).filter(pipeline__in=movable).exists()
    )
    slots = []
    for user in dict.fromkeys(accounts):
        mine = [index for index, account in enumerate(accounts) if account == user]
        deals = list(
            _movable_deals(user)
            .filter(pipeline__in=movable)
            .order_by("-stage_entered_at")
            .values("pk", "pipeline_id", "stage_id")[: RECORDS_PER_SLOT * len(mine)]
        )
        names = list(
            visible(Company.objects.all(), user)
            .order_by("-pk")
            .values_list("name", flat=True)[: SEARCH_TERMS_PER_SLOT * 10]
        )
        terms = sorted({name.split()[0] for name in names if name.split()})
        for deal_part in _split(deals, len(mine)):
            slots.append(
                {
                    "username": user.username,
                    "deals": [
                        {"id": d["pk"], "stage": d["stage_id"], "stages": stages[d["pipeline_id"]]}
                        for d in deal_part
                    ],
                    "pipelines": sorted({d["pipeline_id"] for d in deal_part}),
                    "search": rng.sample(terms, min(len(terms), SEARCH_TERMS_PER_SLOT)),
                    "lists": REP_LISTS,
                }
            )
    return slots


def agent_slots(count: int) -> list[dict]:
    accounts = _accounts("agent", count, lambda user: _answerable_tickets(user).exists())
    slots = []
    for user in dict.fromkeys(accounts):
        mine = [index for index, account in enumerate(accounts) if account == user]
        tickets = list(
            _answerable_tickets(user)
            .order_by("-pk")
            .values_list("pk", flat=True)[: RECORDS_PER_SLOT * len(mine)]
        )
        for part in _split(tickets, len(mine)):
            slots.append({"username": user.username, "tickets": part, "queues": AGENT_QUEUES})
    return slots


def manager_slots(count: int) -> list[dict]:
    from metrics.dashboards import READY_MADE
    from metrics.registry import all_kpis

    kpis = [
        {
            "key": kpi.key,
            # The breakdowns the page offers (none for a computed KPI).
            "by": [] if kpi.compute is not None else [f for f in kpi.segments if f != "custom"],
        }
        for kpi in all_kpis()
    ]
    accounts = _accounts("manager", count, lambda user: True)
    return [
        {"username": user.username, "dashboards": list(READY_MADE), "kpis": kpis}
        for user in accounts
    ]


def build_plan(*, reps: int, agents: int, managers: int, password: str, seed: int = 19) -> dict:
    rng = random.Random(seed)
    return {
        "password": password,
        "rep": rep_slots(reps, rng),
        "agent": agent_slots(agents),
        "manager": manager_slots(managers),
    }
