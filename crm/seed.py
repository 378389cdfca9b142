"""Deterministic demo records: 18 months of history that feeds every KPI of KPIS.md.

Each company lives a plausible life: it arrives through a lead or a rep's outbound work,
new-business deals walk the pipeline stages, a first win makes it a customer with a
subscription, renewals, upsell and cross-sell deals follow, it opens tickets (with messages,
SLA due times and surveys), engages with the team, and some churn. Companies are generated
in chunks, each with its own random stream, so memory stays bounded and the same seed on the
same day gives the same rows.

This is imported history, not work a user did: no save(), no signals, no events in the
outbox. Rows go in with bulk_create in batches, parents first, inside the caller's
transaction; on PostgreSQL the medium and large scales stream the same rows with COPY
instead (see _CopyWriter), which is what keeps a million deals within 15 minutes, and build
the chunks in worker processes (see _ChunkProcesses) so that the generator uses both cores.
"""

import bisect
import ctypes
import gc
import json
import math
import multiprocessing
import os
import pickle
import random
import signal
import sys
import threading
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from queue import Empty, Full, Queue

from django.conf import settings
from django.db import connection, transaction
from django.db.models.base import ModelState
from django.urls import reverse
from django.utils import timezone

from .demo import DEMO_USERS, Organisation, create_demo_organisation
from .demo_articles import ARTICLES, seed_knowledge_base
from .demo_fields import accepted, ensure_demo_fields, retire_confusing_defaults
from .demo_texts import (
    ARTICLE_REPLY,
    CUSTOMER_FOLLOW_UPS,
    FIRST_REPLIES,
    INTERNAL_NOTES,
    LATER_REPLIES,
    LEAD_TASKS,
    ONBOARDING_TASKS,
    TASK_EFFORT,
    TICKET_TASKS,
    TICKET_TOPICS,
    deal_task_titles,
)
from .models import (
    Activity,
    ActivityKind,
    Company,
    Contact,
    ContactStage,
    Deal,
    DealKind,
    DealStageChange,
    DealStatus,
    Direction,
    Event,
    Expense,
    ExpenseCategory,
    Industry,
    Lead,
    LeadSource,
    LeadStatus,
    Lifecycle,
    LoginEvent,
    MessageAuthor,
    Pipeline,
    SizeBand,
    SLAPolicy,
    StageOutcome,
    Subscription,
    SubscriptionStatus,
    SurveyAnswer,
    SurveyKind,
    Task,
    TaskPriority,
    TaskStatus,
    Team,
    Ticket,
    TicketChannel,
    TicketMessage,
    TicketPriority,
    TicketStatus,
    User,
)
from .models.users import Role


@dataclass(frozen=True)
class Scale:
    companies: int
    chunk: int  # companies generated and written together
    # On PostgreSQL, stream rows with COPY: bulk_create's per-field work in Python costs
    # ~100 µs a row, which alone would take the large scale past 15 minutes.
    copy: bool
    # The demo's five accounts run the small scale; the bigger ones are a whole company
    # (crm.demo.create_demo_organisation): teams of reps, agents, several pipelines.
    organisation: bool = False


# Per company, roughly: 3.6 deals, 1.1 contacts, 1.3 leads, 1.1 tickets, 0.8 survey answers.
SCALES = {
    "small": Scale(companies=560, chunk=560, copy=False),
    "medium": Scale(companies=5_600, chunk=1_000, copy=True, organisation=True),
    "large": Scale(companies=280_000, chunk=2_000, copy=True, organisation=True),
}

HISTORY_MONTHS = 18
# Months before the window give its first months a customer base to grow and churn from.
PRE_HISTORY_DAYS = 365
BATCH_SIZE = 1_000

# Models written by the generator, children first: the order --reset deletes them in.
SEEDED_MODELS = [
    TicketMessage,
    SurveyAnswer,
    Activity,
    Task,
    DealStageChange,
    Subscription,
    Ticket,
    Deal,
    Lead,
    Contact,
    Company,
    Expense,
    LoginEvent,
]


class Weighted:
    """A fixed weighted choice; bisect on cumulative weights beats random.choices per call."""

    def __init__(self, pairs):
        self.items = [item for item, _weight in pairs]
        self.cumulative = []
        total = 0.0
        for _item, weight in pairs:
            total += weight
            self.cumulative.append(total)
        self.total = total

    def pick(self, rng: random.Random):
        return self.items[bisect.bisect_right(self.cumulative, rng.random() * self.total)]


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _lognormal(rng: random.Random, median: float, sigma: float) -> float:
    return rng.lognormvariate(math.log(median), sigma)


def _add_months(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 + months
    year, month = divmod(month_index, 12)
    month += 1
    last_day = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(day.day, last_day))


# --- the shape of the business ---------------------------------------------------------------

SIZES = Weighted(
    [
        (SizeBand.MICRO, 30),
        (SizeBand.SMALL, 30),
        (SizeBand.MEDIUM, 22),
        (SizeBand.LARGE, 12),
        (SizeBand.ENTERPRISE, 6),
    ]
)
INDUSTRIES = Weighted(
    [
        (Industry.SOFTWARE, 24),
        (Industry.FINANCE, 12),
        (Industry.RETAIL, 14),
        (Industry.MANUFACTURING, 13),
        (Industry.HEALTHCARE, 11),
        (Industry.EDUCATION, 8),
        (Industry.SERVICES, 13),
        (Industry.OTHER, 5),
    ]
)


@dataclass(frozen=True)
class SizeProfile:
    amount: tuple[int, int]  # new-business contract value range, installation currency
    stage_factor: float  # bigger buyers take longer in every stage
    win: float  # new-business win probability
    extra_contacts: float
    expansion_per_month: float  # upsell + cross-sell opportunities per customer-month
    tickets_per_month: float
    churn_per_year: float  # mid-contract cancellations
    engagement_per_month: float


PROFILES = {
    SizeBand.MICRO: SizeProfile((600, 2_400), 0.6, 0.36, 0.0, 0.20, 0.11, 0.35, 0.28),
    SizeBand.SMALL: SizeProfile((1_500, 6_000), 0.8, 0.33, 0.0, 0.33, 0.18, 0.22, 0.36),
    SizeBand.MEDIUM: SizeProfile((4_000, 15_000), 1.1, 0.30, 0.15, 0.55, 0.30, 0.12, 0.44),
    SizeBand.LARGE: SizeProfile((12_000, 45_000), 1.6, 0.27, 0.4, 0.90, 0.48, 0.07, 0.52),
    SizeBand.ENTERPRISE: SizeProfile((35_000, 140_000), 2.3, 0.24, 1.0, 1.40, 0.80, 0.04, 0.64),
}

# Share of lead volume and the chance that such a lead becomes a deal.
LEAD_SOURCES = {
    LeadSource.WEB: (30, 0.20),
    LeadSource.REFERRAL: (10, 0.50),
    LeadSource.ORGANIC_SEARCH: (18, 0.22),
    LeadSource.EMAIL_CAMPAIGN: (15, 0.10),
    LeadSource.EVENT: (10, 0.30),
    LeadSource.OUTBOUND: (12, 0.08),
    LeadSource.OTHER: (5, 0.14),
}
SOURCES = Weighted([(source, share) for source, (share, _rate) in LEAD_SOURCES.items()])
# Referrals are warmer, cold outbound is harder to close.
SOURCE_WIN_FACTOR = {LeadSource.REFERRAL: 1.3, LeadSource.EVENT: 1.1, LeadSource.OUTBOUND: 0.8}
# Reps answer inbound form fills faster than, say, a list imported from an event.
SOURCE_RESPONSE_FACTOR = {
    LeadSource.WEB: 0.6,
    LeadSource.REFERRAL: 0.8,
    LeadSource.EVENT: 2.5,
    LeadSource.OUTBOUND: 0.5,
    LeadSource.OTHER: 1.5,
}
# Share of companies whose first deal came from a converted lead; the rest were prospected.
LEAD_BORN_SHARE = 0.45
LEADS_PER_COMPANY = LEAD_BORN_SHARE / (
    sum(share * rate for share, rate in LEAD_SOURCES.values())
    / sum(share for share, _rate in LEAD_SOURCES.values())
)

STAGE_MEDIAN_DAYS = [10, 16, 26, 14]  # Prospecting, Qualification, Proposal, Negotiation
LOST_EXIT = [30, 30, 25, 15]  # where lost deals leave the pipeline, by open stage
KIND_SPEED = {
    DealKind.NEW_BUSINESS: 1.0,
    DealKind.RENEWAL: 0.45,
    DealKind.UPSELL: 0.6,
    DealKind.CROSS_SELL: 0.75,
}
LOST_REASONS = {
    DealKind.NEW_BUSINESS: Weighted(
        [
            ("Price too high", 25),
            ("Chose a competitor", 25),
            ("No budget", 15),
            ("No decision, went dark", 20),
            ("Missing feature", 10),
            ("Timing: revisit next year", 5),
        ]
    ),
    DealKind.RENEWAL: Weighted(
        [
            ("Budget cuts", 35),
            ("Moved to a competitor", 35),
            ("Not using the product enough", 20),
            ("Company acquired", 10),
        ]
    ),
    DealKind.UPSELL: Weighted([("No budget this year", 50), ("Not a priority", 50)]),
    DealKind.CROSS_SELL: Weighted(
        [("No budget this year", 40), ("Not a priority", 40), ("Price too high", 20)]
    ),
}
PLANS = ["Starter", "Team", "Business", "Enterprise"]
ADD_ONS = {
    DealKind.UPSELL: ["Extra seats", "Premium support", "Higher API limits"],
    DealKind.CROSS_SELL: ["Analytics add-on", "Help desk add-on", "Marketing add-on"],
}

TICKET_CHANNELS = Weighted(
    [
        (TicketChannel.EMAIL, 40),
        (TicketChannel.CHAT, 25),
        (TicketChannel.PHONE, 15),
        (TicketChannel.WEB, 20),
    ]
)
TICKET_PRIORITIES = Weighted(
    [
        (TicketPriority.LOW, 25),
        (TicketPriority.NORMAL, 45),
        (TicketPriority.HIGH, 20),
        (TicketPriority.URGENT, 10),
    ]
)
CHANNEL_RESPONSE_FACTOR = {
    TicketChannel.CHAT: 0.3,
    TicketChannel.PHONE: 0.25,
    TicketChannel.EMAIL: 1.2,
    TicketChannel.WEB: 1.0,
}
# The queue on the seed's day (issue 15, item 8): a share of the customers still with us have
# a ticket from the last few days that is still being worked, because it waits on the
# customer or on engineering, so it resolves in days rather than hours. Some are not answered
# yet (new, unassigned in the support team's queue), some wait on the customer (pending), and
# some are past their SLA.
LIVE_TICKET_SHARE = 0.12
LIVE_TICKET_MAX_AGE_DAYS = 4.0
LIVE_RESOLUTION_DAYS = 6.0
# Leads nobody has worked yet are recent; older ones were qualified, converted or disqualified
# (issue 15, item 10). The newest leads wait in the reps' backlog a few days.
NEW_LEAD_MAX_DAYS = 14
NEW_LEAD_BACKLOG_DAYS = 10
NEW_LEAD_BACKLOG_SHARE = 0.4
CONTACTED_LEAD_MAX_DAYS = 90
ENGAGEMENT = Weighted(
    [
        ((ActivityKind.EMAIL_OPENED, Direction.INBOUND), 32),
        ((ActivityKind.EMAIL_RECEIVED, Direction.INBOUND), 18),
        ((ActivityKind.MEETING, Direction.OUTBOUND), 14),
        ((ActivityKind.CALL, Direction.OUTBOUND), 12),
        ((ActivityKind.CALL, Direction.INBOUND), 8),
        ((ActivityKind.SITE_VISIT, Direction.INBOUND), 16),
    ]
)
DEAL_ACTIVITIES = Weighted(
    [
        ((ActivityKind.MEETING, Direction.OUTBOUND, "Demo"), 30),
        ((ActivityKind.CALL, Direction.OUTBOUND, "Discovery call"), 25),
        ((ActivityKind.EMAIL_SENT, Direction.OUTBOUND, "Proposal sent"), 25),
        ((ActivityKind.NOTE, Direction.INTERNAL, "Pricing discussed"), 20),
    ]
)
AGENT_REPLIES = Weighted([(1, 65), (2, 20), (3, 10), (4, 5)])
REOPENS = Weighted([(0, 90), (1, 8), (2, 2)])
# Typical hours by priority, well inside the SLA targets; the tail breaches.
FIRST_RESPONSE_HOURS = {"urgent": 0.4, "high": 1.0, "normal": 2.0, "low": 4.0}
RESOLUTION_HOURS = {"urgent": 1.5, "high": 3.0, "normal": 5.0, "low": 8.0}
CSAT_GOOD = Weighted([(1, 2), (2, 3), (3, 9), (4, 34), (5, 52)])
CSAT_BAD = Weighted([(1, 12), (2, 14), (3, 22), (4, 30), (5, 22)])
CES_GOOD = Weighted([(1, 22), (2, 30), (3, 22), (4, 12), (5, 8), (6, 4), (7, 2)])
CES_BAD = Weighted([(1, 5), (2, 10), (3, 16), (4, 20), (5, 20), (6, 15), (7, 14)])
DETRACTOR_SCORES = Weighted([(0, 2), (1, 2), (2, 3), (3, 5), (4, 8), (5, 14), (6, 20)])

# Foreign-currency deals convert with a stored rate (units of USD per unit).
USD_RATES = {"USD": 1.0, "EUR": 1.08, "GBP": 1.27}

EXPENSES = {
    # category: (share of its group, descriptions)
    ExpenseCategory.ADS: (0.34, ["Search ads", "Social ads", "Review site listing"]),
    ExpenseCategory.EVENTS: (0.14, ["Trade show booth", "Webinar production", "Meetup sponsor"]),
    ExpenseCategory.SALES_SALARIES: (0.42, ["Sales payroll"]),
    ExpenseCategory.TOOLS: (0.10, ["Outreach tooling", "Data enrichment"]),
    ExpenseCategory.SUPPORT: (0.50, ["Support payroll"]),
    ExpenseCategory.SUCCESS: (0.35, ["Customer success payroll", "Onboarding workshops"]),
    ExpenseCategory.LOYALTY: (0.15, ["Loyalty credits", "Customer gifts"]),
}
ACQUISITION = [
    ExpenseCategory.ADS,
    ExpenseCategory.EVENTS,
    ExpenseCategory.SALES_SALARIES,
    ExpenseCategory.TOOLS,
]
RETENTION = [ExpenseCategory.SUPPORT, ExpenseCategory.SUCCESS, ExpenseCategory.LOYALTY]

FIRST_NAMES = (
    "Ada Alan Alice Amir Ana Ben Bianca Carlos Chen Chloe Dan Dara Elena Emma Eric Fatima Femi "
    "Grace Hana Hugo Ines Ivan Jade Jonas Julia Kai Karim Laura Leo Lina Luca Maya Mei Mia Nadia "
    "Nina Noah Olga Omar Paula Pedro Priya Quinn Rafael Rosa Sam Sara Sofia Tariq Tom Uma Vera "
    "Victor Wei Yara Yusuf Zoe"
).split()
LAST_NAMES = (
    "Adams Ahmed Almeida Baker Berg Brown Chen Costa Dubois Evans Fischer Garcia Gomez Hansen "
    "Ito Jensen Kim Kowalski Lee Lopez Martin Meyer Moreau Nakamura Nguyen Novak Okafor Olsen "
    "Patel Perez Rossi Sato Schmidt Silva Singh Smith Tanaka Taylor Walker Wang Weber Wilson "
    "Yilmaz Young Zhang"
).split()
NAME_HEADS = (
    "Acme Apex Atlas Aurora Beacon Blue Bright Cedar Cobalt Crest Delta Echo Ember Evergreen "
    "Falcon Fusion Granite Harbor Helix Horizon Iron Juniper Keystone Lumen Maple Meridian "
    "Nimbus North Nova Oak Orbit Pine Pioneer Quantum Redwood River Sage Silver Spark Summit "
    "Terra True Vertex Willow Zenith"
).split()
NAME_TAILS = {
    Industry.SOFTWARE: ["Software", "Labs", "Systems", "Cloud", "Digital"],
    Industry.FINANCE: ["Capital", "Finance", "Bank", "Insurance", "Partners"],
    Industry.RETAIL: ["Retail", "Stores", "Market", "Goods", "Outfitters"],
    Industry.MANUFACTURING: ["Manufacturing", "Industries", "Works", "Metals", "Components"],
    Industry.HEALTHCARE: ["Health", "Clinic", "Medical", "Care", "Pharma"],
    Industry.EDUCATION: ["Academy", "Learning", "School", "Institute", "Education"],
    Industry.SERVICES: ["Consulting", "Advisors", "Services", "Group", "Agency"],
    Industry.OTHER: ["Co", "Holdings", "Ventures", "Collective", "Trading"],
}
LEGAL_SUFFIXES = ["", "", "", " Inc", " Ltd", " LLC", " GmbH", " SA"]


@dataclass
class _Customer:
    """What the rest of a company's life needs to know once it has become a customer."""

    since: float
    churn: float | None  # when it stopped (or will stop) being a customer
    base_annual: int


class _Chunk:
    """Rows of one chunk of companies, kept until they are written parents first."""

    def __init__(self, size: int):
        self.size = size
        self.prepared: list[tuple[type, list[tuple]]] = []  # rows as COPY tuples
        self.converted: list[tuple[Lead, Deal]] = []  # each converted lead and its deal
        self.companies: list[Company] = []
        self.contacts: list[Contact] = []
        self.leads: list[Lead] = []
        self.deals: list[Deal] = []
        self.changes: list[DealStageChange] = []
        self.activities: list[Activity] = []
        self.tasks: list[Task] = []
        self.tickets: list[Ticket] = []
        self.messages: list[TicketMessage] = []
        self.surveys: list[SurveyAnswer] = []
        # Subscriptions by renewal depth: a renewal needs its predecessor's id.
        self.subscriptions: list[list[Subscription]] = []

    @property
    def converted_ids(self) -> list[tuple[int, int]]:
        """(lead id, deal id) of each converted lead, once both have their ids."""
        return [(lead.pk, deal.pk) for lead, deal in self.converted]

    def tables(self):
        """(model, rows) parents first, so that every row finds the ids it points to."""
        yield Company, self.companies
        yield Contact, self.contacts
        yield Lead, self.leads
        yield Deal, self.deals
        yield DealStageChange, self.changes
        yield Ticket, self.tickets
        yield TicketMessage, self.messages
        yield SurveyAnswer, self.surveys
        for level in self.subscriptions:
            yield Subscription, level
        yield Activity, self.activities
        yield Task, self.tasks


@dataclass(frozen=True)
class _Flow:
    """A pipeline's stages as the deal walk needs them."""

    pipeline: Pipeline
    open_stages: list
    won_stage: object
    lost_stage: object
    lost_exit: dict  # open stage index a deal starts at -> where lost deals leave

    @classmethod
    def of(cls, pipeline: Pipeline) -> "_Flow":
        stages = list(pipeline.stages.order_by("order"))
        open_stages = [s for s in stages if s.outcome == StageOutcome.OPEN]
        return cls(
            pipeline=pipeline,
            open_stages=open_stages,
            won_stage=next(s for s in stages if s.outcome == StageOutcome.WON),
            lost_stage=next(s for s in stages if s.outcome == StageOutcome.LOST),
            lost_exit={
                start: Weighted(list(enumerate(LOST_EXIT[start : len(open_stages)] or [1])))
                for start in range(len(open_stages))
            },
        )


# The larger scales' spread of business over the reps: the k-th best seller owns in proportion
# to k ** -REP_SKEW (with forty reps the best owns about 8 %, the median about 2 %).
REP_SKEW = 0.4
AGENT_SKEW = 0.3
LEAD_ANSWERS = 0.05  # tickets the support team's manager answers
MANAGER_OWNED = 0.03  # accounts a sales manager keeps for themself
LATE_HIRES = 0.25  # share of reps who join during the window, so headcount grows
BIG_ACCOUNTS = {SizeBand.LARGE, SizeBand.ENTERPRISE}


class _Staff:
    """Who owns and works the records at the larger scales (an Organisation's people)."""

    def __init__(self, org: Organisation, rng: random.Random, window: float, end: float):
        self.team_of, self.manager_of = {}, {}
        self.managers = [org.managers[team.pk] for team in org.sales_teams]
        reps = []
        for team in org.sales_teams:
            manager = org.managers[team.pk]
            self.team_of[manager.pk], self.manager_of[manager.pk] = team, manager
            for rep in org.reps[team.pk]:
                self.team_of[rep.pk], self.manager_of[rep.pk] = team, manager
                reps.append(rep)
        # The first demo rep (Ana) is the best seller: a rep's pages are timed at their busiest.
        ranked = reps[:1] + rng.sample(reps[1:], len(reps) - 1)
        weight = {rep.pk: (rank + 1) ** -REP_SKEW for rank, rep in enumerate(ranked)}
        self.start = {rep.pk: 0.0 for rep in reps}
        for rep in rng.sample(ranked[1:], round(len(reps) * LATE_HIRES)):
            self.start[rep.pk] = window + rng.uniform(0, 0.75 * (end - window))
        self.hired = sorted(set(self.start.values()))
        self.reps_by_hiring = [
            Weighted([(rep, weight[rep.pk]) for rep in ranked if self.start[rep.pk] <= at])
            for at in self.hired
        ]
        self.reps = ranked
        self.agents = Weighted(
            [(agent, (rank + 1) ** -AGENT_SKEW) for rank, agent in enumerate(org.agents)]
        )
        self.support_lead = org.support_team.manager or self.managers[0]
        self.default_team = org.sales_teams[0]

    def rep(self, rng: random.Random, t: float) -> User:
        if rng.random() < MANAGER_OWNED:
            return rng.choice(self.managers)
        hired = max(0, bisect.bisect_right(self.hired, t) - 1)
        return self.reps_by_hiring[hired].pick(rng)

    def agent(self, rng: random.Random) -> User:
        return self.support_lead if rng.random() < LEAD_ANSWERS else self.agents.pick(rng)

    def team(self, user: User) -> Team:
        return self.team_of.get(user.pk, self.default_team)


class Seeder:
    """Times are float days since `origin`: local midnight, PRE_HISTORY_DAYS before the window
    (which starts on the first of the month, 18 months before this one) and `end` is today."""

    def __init__(
        self,
        *,
        scale: str,
        seed: int,
        today: date,
        progress: Callable[[str], None] | None = None,
        organisation: Organisation | None = None,
    ):
        self.scale = SCALES[scale]
        self.seed = seed
        self.progress = progress or (lambda message: None)
        self.window_start = _add_months(today.replace(day=1), -HISTORY_MONTHS)
        self.origin_date = self.window_start - timedelta(days=PRE_HISTORY_DAYS)
        local_origin = datetime.combine(self.origin_date, time.min)
        self.origin = timezone.make_aware(local_origin).astimezone(UTC)
        self.end = float((today - self.origin_date).days)
        self.window = float((self.window_start - self.origin_date).days)
        self.counts: Counter[str] = Counter()
        self._builders = {}
        self.new_customers: Counter[int] = Counter()  # by month index since origin
        self.active_customers: Counter[int] = Counter()
        self.base_currency = settings.CRM_CURRENCY
        self._load_reference_rows()
        self.staff = None
        if organisation is not None:
            self._load_organisation(organisation)

    # --- reference rows ----------------------------------------------------------------------

    def _load_reference_rows(self):
        users = {u.username: u for u in User.objects.filter(username__in=_demo_usernames())}
        by_role = {role: [] for role in Role}
        for username, _first, _last, role in DEMO_USERS:
            if username in users:
                by_role[role].append(users[username])
        self.users = users
        self.reps = by_role[Role.SALES_REP]
        self.managers = by_role[Role.MANAGER] or self.reps
        self.agents = by_role[Role.SUPPORT_AGENT] or self.managers
        # The second rep joins four months into the window: adoption grows on the charts.
        self.rep_start = {rep.pk: 0.0 for rep in self.reps}
        for rep in self.reps[1:]:
            self.rep_start[rep.pk] = self.window + 120
        self.sales_team = Team.objects.filter(name="Sales").first()
        self.support_team = Team.objects.filter(name="Support").first()
        self.flow = _Flow.of(Pipeline.objects.get(is_default=True))
        self.flows = {}  # (deal kind, big account?) -> _Flow, at the larger scales
        self.open_stages = self.flow.open_stages
        self.sla = {
            p.priority: (float(p.first_response_hours), float(p.resolution_hours))
            for p in SLAPolicy.objects.all()
        }
        for priority, fallback in [("urgent", (1, 4)), ("high", (4, 8)), ("normal", (8, 24))]:
            self.sla.setdefault(priority, fallback)
        self.sla.setdefault("low", (24, 72))
        retire_confusing_defaults()
        self.custom_fields = ensure_demo_fields()
        self.custom_choices = {
            key: [c for c in field.choices if isinstance(c, str)]
            if isinstance(field.choices, list)
            else []
            for key, field in self.custom_fields.items()
        }
        self.stage_index = _stage_index([self.flow])
        self.articles = {}  # help articles agents link: slug -> (title, url, published t)
        foreign = [c for c in USD_RATES if c != self.base_currency]
        self.currencies = (
            [(c, USD_RATES[c] / USD_RATES[self.base_currency]) for c in foreign]
            if self.base_currency in USD_RATES
            else []
        )

    def _load_organisation(self, org: Organisation):
        self.staff = _Staff(org, random.Random(self.seed * 1_000_003 - 2), self.window, self.end)
        self.rep_start = dict(self.staff.start)
        self.support_team = org.support_team
        pipelines = {name: _Flow.of(pipeline) for name, pipeline in org.pipelines.items()}
        for big in (False, True):
            self.flows[DealKind.NEW_BUSINESS, big] = pipelines["Enterprise"] if big else self.flow
            self.flows[DealKind.RENEWAL, big] = pipelines["Renewals"]
            self.flows[DealKind.UPSELL, big] = pipelines["Expansion"]
            self.flows[DealKind.CROSS_SELL, big] = pipelines["Expansion"]
        self.stage_index = _stage_index([self.flow, *pipelines.values()])

    def team(self, user: User) -> Team:
        return self.sales_team if self.staff is None else self.staff.team(user)

    def manager_of(self, user: User) -> User:
        return self.managers[0] if self.staff is None else self.staff.manager_of.get(user.pk, user)

    def flow_for(self, kind: str, company: Company) -> _Flow:
        return self.flows.get((kind, company.size_band in BIG_ACCOUNTS), self.flow)

    # --- building rows -----------------------------------------------------------------------

    def new(self, model, **values):
        """An unsaved instance, as `model(**values)` would make it, in a fraction of the time.

        Model.__init__ is 70% of the generator's time (it resolves every keyword against
        every field and sends pre/post_init); like Model.from_db, this fills __dict__ from
        the field defaults and the values given, and caches related objects the way
        assigning them does.
        """
        static, dynamic, relations = self._builders.get(model) or self._builder(model)
        row = model.__new__(model)
        row._state = ModelState()
        data = dict(static)
        for attname, default in dynamic:
            if attname not in values:
                data[attname] = default()
        for name, value in values.items():
            field = relations.get(name)
            if field is None:
                data[name] = value
            else:
                data[field.attname] = None if value is None else value.pk
                if value is not None:
                    row._state.fields_cache[name] = value
        row.__dict__.update(data)
        return row

    def _builder(self, model):
        static, dynamic, relations = {}, [], {}
        for field in model._meta.concrete_fields:
            if field.is_relation:
                relations[field.name] = field
                static[field.attname] = None
            elif field.has_default() and callable(field.default):
                dynamic.append((field.attname, field.default))
            else:
                static[field.attname] = field.get_default()
        self._builders[model] = static, dynamic, relations
        return self._builders[model]

    # --- time helpers ------------------------------------------------------------------------

    def dt(self, t: float) -> datetime:
        return self.origin + timedelta(seconds=round(t * 86400))

    def day(self, t: float) -> date:
        return self.origin_date + timedelta(days=math.floor(t))

    def t_of(self, day: date) -> float:
        return float((day - self.origin_date).days)

    def trend(self, t: float) -> float:
        """0 at the window start, 1 today: drives the slow improvements managers like to see."""
        return min(1.0, max(0.0, (t - self.window) / (self.end - self.window)))

    def month_index(self, t: float) -> int:
        day = self.day(t)
        return (day.year - self.origin_date.year) * 12 + day.month - self.origin_date.month

    def arrival(self, rng: random.Random) -> float:
        # The business grows: arrivals get denser towards today.
        return (self.end - 1.0) * rng.random() ** (1 / 1.15)

    def rep(self, rng: random.Random, t: float) -> User:
        if self.staff is not None:
            return self.staff.rep(rng, t)
        if rng.random() < 0.12 or not self.reps:
            return self.managers[0]
        return rng.choice([r for r in self.reps if self.rep_start[r.pk] <= t] or self.reps[:1])

    # --- the run -----------------------------------------------------------------------------

    def run(self, *, copy: bool | None = None, analyze: bool = True) -> Counter[str]:
        if copy is None:
            copy = self.scale.copy
        self._knowledge_base()
        if connection.vendor == "postgresql":
            # Check foreign keys as each statement ends, not all at commit: with millions of
            # rows the deferred queue would hold gigabytes and run after everything else.
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        if copy and connection.vendor == "postgresql":
            writer = _CopyWriter(SEEDED_MODELS)
            workers = min(_workers(), self._chunk_count())
            if workers > 1:
                chunks = _ChunkProcesses(self, writer, workers).built()
            else:
                # Build chunk n+1 in a thread while the database indexes and checks chunk n.
                chunks = _in_background(self._chunks(writer))
        else:
            writer = _BulkCreateWriter()
            chunks = self._chunks(writer)
        done = 0
        with _indexes_built_after(SEEDED_MODELS if copy else []):
            with closing(chunks):  # stops their thread or processes if a write fails
                for chunk in chunks:
                    self._write(writer, chunk)
                    done += chunk.size
                    self.progress(f"  {done:,} of {self.scale.companies:,} companies")
            rng = random.Random(self.seed * 1_000_003 - 1)
            self._logins(writer, rng)
            self._expenses(writer, rng)
        writer.finish()
        if analyze and connection.vendor == "postgresql":
            # Fresh planner statistics: without them PostgreSQL guesses one row per table and
            # picks scans that make the KPI and list queries many times slower until autovacuum
            # gets round to the new tables.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        return self.counts

    def _knowledge_base(self):
        """The help centre's articles, before the tickets whose replies link them."""
        published, created = seed_knowledge_base(today=self.day(self.end), users=self.users)
        self.counts["Article"] += created
        titles = {article.slug: article.title for article in ARTICLES}
        base = settings.CRM_BASE_URL.rstrip("/")
        for slug, published_at in published.items():
            at = (published_at - self.origin).total_seconds() / 86400
            url = base + reverse("help-article", args=[slug])
            self.articles[slug] = (titles[slug], url, at)

    def _custom(self, key: str, value):
        """`value` for the custom field `key` if the installation's definition takes it."""
        return accepted(self.custom_fields.get(key), value)

    def _chunk_count(self) -> int:
        return math.ceil(self.scale.companies / self.scale.chunk)

    def _chunks(self, writer) -> Iterator["_Chunk"]:
        for index in range(self._chunk_count()):
            chunk = self._chunk(index)
            writer.prepare(chunk)
            yield chunk

    def _chunk(self, index: int) -> _Chunk:
        """Each chunk has its own random stream: chunk n is the same whatever came before."""
        first = index * self.scale.chunk
        chunk = _Chunk(size=min(self.scale.chunk, self.scale.companies - first))
        self._fill(chunk, random.Random(self.seed * 1_000_003 + index), chunk.size)
        return chunk

    def _fill(self, chunk: _Chunk, rng: random.Random, companies: int):
        lead_born = 0
        for _ in range(round(companies * LEADS_PER_COMPANY)):
            lead, converted_at, industry = self._lead(chunk, rng, can_convert=lead_born < companies)
            if converted_at is not None:
                lead_born += 1
                self._company(chunk, rng, converted_at, industry, lead)
        for _ in range(companies - lead_born):
            self._company(chunk, rng, self.arrival(rng), INDUSTRIES.pick(rng), None)

    def _write(self, writer, chunk: _Chunk):
        for model, rows in writer.tables(chunk):
            writer.create(model, rows)
            self.counts[model.__name__] += len(rows)
            if model is Deal:
                self._link_converted_leads(chunk.converted_ids)

    def _link_converted_leads(self, pairs: list[tuple[int, int]]):
        """Lead and deal point at each other: the lead went in first, so it gets its deal now."""
        leads = [self.new(Lead, id=lead, converted_deal_id=deal) for lead, deal in pairs]
        Lead.objects.bulk_update(leads, ["converted_deal"], batch_size=BATCH_SIZE)

    # --- leads -------------------------------------------------------------------------------

    def _lead(self, chunk: _Chunk, rng: random.Random, *, can_convert: bool):
        t = self.arrival(rng)
        trend = self.trend(t)
        source = SOURCES.pick(rng)
        owner = self.rep(rng, t)
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        industry = INDUSTRIES.pick(rng)
        lead = self.new(
            Lead,
            name=f"{first} {last}",
            email=f"{first}.{last}{rng.randrange(1000)}@prospect.example".lower(),
            phone=f"+1 555 {rng.randrange(1000, 10000)}",
            company_name=_company_name(rng, industry),
            source=source,
            owner=owner,
            team=self.team(owner),
            created_at=self.dt(t),
        )
        products = self.custom_choices["product_interest"]
        if rng.random() < 0.2 and products:
            interest = self._custom("product_interest", rng.sample(products, rng.choice([1, 1, 2])))
            if interest is not None:
                lead.custom = {"product_interest": interest}
        chunk.leads.append(lead)

        # Response time falls from ~5 h to ~2 h median as the team adopts the CRM.
        median = 5.0 * (1.0 - 0.6 * trend) * SOURCE_RESPONSE_FACTOR.get(source, 1.0)
        responded = t + _lognormal(rng, median, 1.2) / 24
        age = self.end - t
        unworked = rng.random() < 0.04 or (
            age < NEW_LEAD_BACKLOG_DAYS and rng.random() < NEW_LEAD_BACKLOG_SHARE
        )
        if unworked or responded >= self.end:
            if age > NEW_LEAD_MAX_DAYS:
                # Nobody got to it: the reps' clean-up of stale leads disqualified it.
                lead.status, lead.score = LeadStatus.UNQUALIFIED, rng.randint(0, 20)
                lead.disqualified_reason = "Never contacted, gone stale"
            else:
                lead.status, lead.score = LeadStatus.NEW, rng.randint(5, 40)
                if rng.random() < 0.5:
                    title = _title(rng, LEAD_TASKS, lead.name, lead.company_name)
                    due = t + rng.uniform(1, 3)
                    self._task(chunk, rng, title, owner, t, lead=lead, due=due)
            return lead, None, industry
        lead.first_response_at = self.dt(responded)
        self._lead_touches(chunk, rng, lead, owner, responded)

        rate = LEAD_SOURCES[source][1] * (0.85 + 0.3 * trend)
        qualified = responded + rng.uniform(0.5, 9)
        converted = qualified + rng.uniform(0.2, 6)
        if can_convert and rng.random() < rate and converted < self.end:
            lead.status, lead.score = LeadStatus.CONVERTED, rng.randint(60, 100)
            lead.qualified_at, lead.converted_at = self.dt(qualified), self.dt(converted)
            return lead, converted, industry
        if rng.random() < 0.3 + 0.4 * rate and qualified < self.end:
            lead.qualified_at = self.dt(qualified)
            if self.end - qualified > 60 and rng.random() < 0.5:
                lead.status, lead.score = LeadStatus.UNQUALIFIED, rng.randint(20, 50)
                lead.disqualified_reason = "No budget after discovery"
            else:
                lead.status, lead.score = LeadStatus.QUALIFIED, rng.randint(50, 90)
        elif self.end - responded > CONTACTED_LEAD_MAX_DAYS or (
            self.end - responded > 14 and rng.random() < 0.7
        ):
            lead.status, lead.score = LeadStatus.UNQUALIFIED, rng.randint(0, 35)
            lead.disqualified_reason = rng.choice(
                ["Not a fit", "Student or job seeker", "Too small", "No reply after 3 attempts"]
            )
        else:
            lead.status, lead.score = LeadStatus.CONTACTED, rng.randint(20, 60)
        if rng.random() < 0.12:
            # Recent leads still have their follow-up ahead; older ones got it done.
            due = responded + 3 if self.end - responded < 14 else None
            title = _title(rng, LEAD_TASKS, lead.name, lead.company_name)
            self._task(chunk, rng, title, owner, responded, lead=lead, due=due)
        return lead, None, industry

    def _lead_touches(self, chunk, rng, lead, owner, responded):
        kind = ActivityKind.CALL if rng.random() < 0.45 else ActivityKind.EMAIL_SENT
        chunk.activities.append(
            self._activity(kind, Direction.OUTBOUND, "First contact", owner, responded, lead=lead)
        )
        if rng.random() < 0.1:
            later = responded + rng.uniform(0.1, 5)
            if later < self.end:
                chunk.activities.append(
                    self._activity(
                        ActivityKind.EMAIL_RECEIVED,
                        Direction.INBOUND,
                        "Re: First contact",
                        owner,
                        later,
                        lead=lead,
                    )
                )

    # --- companies, contacts and their deals -------------------------------------------------

    def _company(self, chunk: _Chunk, rng, t0: float, industry: str, lead: Lead | None):
        size = SIZES.pick(rng)
        profile = PROFILES[size]
        owner = lead.owner if lead else self.rep(rng, t0)
        name = lead.company_name if lead else _company_name(rng, industry)
        company = self.new(
            Company,
            name=name,
            domain=_domain(name, rng),
            industry=industry,
            size_band=size,
            owner=owner,
            team=self.team(owner),
            created_at=self.dt(t0),
            address=f"{rng.randint(1, 999)} {rng.choice(NAME_HEADS)} Street",
        )
        chunk.companies.append(company)
        contacts = []
        for index in range(1 + _poisson(rng, profile.extra_contacts)):
            if index == 0 and lead is not None:
                first, last = lead.name.split(" ", 1)
                email = lead.email
            else:
                first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                email = f"{first}.{last}@{company.domain}".lower()
            created = t0 if index == 0 else min(self.end - 0.01, t0 + rng.uniform(0, 45))
            contacts.append(
                self.new(
                    Contact,
                    first_name=first,
                    last_name=last,
                    email=email,
                    phone=f"+1 555 {rng.randrange(1000, 10000)}",
                    title=rng.choice(["CEO", "CTO", "Head of Sales", "Operations", "IT lead"]),
                    company=company,
                    owner=owner,
                    team=self.team(owner),
                    created_at=self.dt(created),
                )
            )
        chunk.contacts.extend(contacts)
        if lead is not None:
            lead.converted_company, lead.converted_contact = company, contacts[0]

        first_deal = len(chunk.deals)
        customer = self._new_business(chunk, rng, company, contacts, t0, lead, profile)
        stage = ContactStage.LEAD
        if customer is not None:
            company.customer_since = self.dt(customer.since)
            if customer.churn is not None and customer.churn < self.end:
                company.lifecycle, company.churned_at = Lifecycle.CHURNED, self.dt(customer.churn)
                stage = ContactStage.OTHER
            else:
                company.lifecycle = Lifecycle.CUSTOMER
                stage = ContactStage.EVANGELIST if rng.random() < 0.1 else ContactStage.CUSTOMER
            self._count_customer(customer)
        elif any(d.status == DealStatus.OPEN for d in chunk.deals[first_deal:]):
            stage = ContactStage.OPPORTUNITY
        for contact in contacts:
            contact.lifecycle_stage = stage

    def _new_business(self, chunk, rng, company, contacts, t0, lead, profile) -> _Customer | None:
        t, attempt = t0, 0
        win_factor = SOURCE_WIN_FACTOR.get(lead.source, 1.0) if lead else 1.0
        while True:
            low, high = profile.amount
            amount = round(math.exp(rng.uniform(math.log(low), math.log(high))), -1)
            win = profile.win * win_factor * (0.9 + 0.25 * self.trend(t))
            plan = PLANS[min(3, int(math.log10(amount)) - 2)]
            deal, closed, won = self._deal(
                chunk,
                rng,
                company,
                contacts[0],
                kind=DealKind.NEW_BUSINESS,
                name=f"{company.name} – {plan} plan",
                created=t,
                amount=amount,
                win=win,
                stage_factor=profile.stage_factor,
                source_lead=lead if attempt == 0 else None,
            )
            if lead is not None and attempt == 0:
                chunk.converted.append((lead, deal))
            if won:
                return self._customer(chunk, rng, company, contacts, closed, amount, profile)
            attempt += 1
            if closed is None or rng.random() > 0.7:
                return None
            t = closed + rng.uniform(15, 90)
            if t >= self.end:
                return None

    def _deal(
        self,
        chunk,
        rng,
        company,
        contact,
        *,
        kind,
        name,
        created,
        amount,
        win,
        stage_factor,
        start=0,
        source_lead=None,
        close_by=None,
    ):
        """Walk a deal through the stages; return (deal, closed time or None, won)."""
        won = rng.random() < win
        flow = self.flow_for(kind, company)
        start = min(start, len(flow.open_stages) - 1)
        stages = flow.open_stages[start:]
        if won:
            if len(stages) > 2 and rng.random() < 0.1:
                del stages[1]  # a deal that skipped a stage
            stages.append(flow.won_stage)
        else:
            exit_at = flow.lost_exit[start].pick(rng)
            stages = stages[: exit_at + 1] + [flow.lost_stage]
        speed = KIND_SPEED[kind] * stage_factor * (1.15 - 0.3 * self.trend(created))
        durations = []
        for offset, _stage in enumerate(stages[:-1]):
            median = STAGE_MEDIAN_DAYS[min(start + offset, len(STAGE_MEDIAN_DAYS) - 1)]
            stall = 1.4 if not won and offset == len(stages) - 2 else 1.0
            durations.append(_lognormal(rng, median * speed * stall, 0.6))
        planned = created + sum(durations)
        if close_by is not None and planned > close_by:
            squeeze = max(0.05, close_by - created) / sum(durations)
            durations = [d * squeeze for d in durations]
            planned = created + sum(durations)

        owner = company.owner
        deal = self.new(
            Deal,
            name=name,
            company=company,
            contact=contact,
            pipeline=flow.pipeline,
            owner=owner,
            team=self.team(owner),
            kind=kind,
            source_lead=source_lead,
            created_at=self.dt(created),
            expected_close_date=self.day(planned + rng.uniform(-10, 10)),
        )
        if self.currencies and kind == DealKind.NEW_BUSINESS and rng.random() < 0.08:
            deal.currency, rate = rng.choice(self.currencies)
            deal.exchange_rate = Decimal(f"{rate:.6f}")
            deal.amount = Decimal(round(amount / rate))
        else:
            deal.amount = Decimal(int(amount))
        custom = {}
        if rng.random() < 0.3 and self.custom_choices["region"]:
            custom["region"] = self._custom("region", rng.choice(self.custom_choices["region"]))
        if kind == DealKind.NEW_BUSINESS and rng.random() < 0.5:
            # Small buyers sign online, big ones negotiate a master agreement.
            paper = "Order form" if amount < 30_000 else "Master agreement"
            paper = "Self-serve" if amount < 3_000 else paper
            custom["contract_type"] = self._custom("contract_type", paper)
        deal.custom = {key: value for key, value in custom.items() if value is not None}

        at, stage = created, stages[0]
        chunk.changes.append(
            self.new(
                DealStageChange,
                deal=deal,
                to_stage=stage,
                changed_at=self.dt(created),
                changed_by=owner,
            )
        )
        for next_stage, duration in zip(stages[1:], durations, strict=True):
            moved = at + duration
            if moved >= self.end:
                break
            entered = self.dt(at)
            changed = self.dt(moved)
            chunk.changes.append(
                self.new(
                    DealStageChange,
                    deal=deal,
                    from_stage=stage,
                    to_stage=next_stage,
                    from_stage_entered_at=entered,
                    seconds_in_from_stage=int((changed - entered).total_seconds()),
                    changed_at=changed,
                    changed_by=self.manager_of(owner) if rng.random() < 0.08 else owner,
                )
            )
            at, stage = moved, next_stage
        deal.stage, deal.stage_entered_at = stage, self.dt(at)
        deal.status = stage.outcome
        closed = at if stage.outcome != StageOutcome.OPEN else None
        if closed is not None:
            deal.closed_at = deal.stage_entered_at
        if stage.outcome == StageOutcome.LOST:
            deal.lost_reason = LOST_REASONS[kind].pick(rng)
        chunk.deals.append(deal)
        self._deal_work(chunk, rng, deal, contact, created, closed)
        return deal, closed, stage.outcome == StageOutcome.WON

    def _deal_work(self, chunk, rng, deal, contact, created, closed):
        until = closed if closed is not None else self.end
        for _ in range(_poisson(rng, 0.18 if deal.kind == DealKind.NEW_BUSINESS else 0.08)):
            (kind, direction, subject) = DEAL_ACTIVITIES.pick(rng)
            chunk.activities.append(
                self._activity(
                    kind,
                    direction,
                    subject,
                    deal.owner,
                    rng.uniform(created, until),
                    deal=deal,
                    company=deal.company,
                    contact=contact,
                )
            )
        person, company = contact.first_name, deal.company.name
        if closed is None and rng.random() < 0.55:
            # The next step of the stage the deal is in: some are already late.
            due = self.end + rng.uniform(-12, 14)
            titles = deal_task_titles(deal.kind, self.stage_index.get(deal.stage_id, 0))
            title = _title(rng, titles, person, company)
            self._task(chunk, rng, title, deal.owner, created, deal=deal, due=due)
        elif closed is not None and rng.random() < 0.2:
            # Work done on the way through one of the stages it passed.
            titles = deal_task_titles(deal.kind, rng.randrange(len(self.open_stages)))
            title = _title(rng, titles, person, company)
            self._task(chunk, rng, title, deal.owner, created, deal=deal, done_by=closed)

    # --- customers ---------------------------------------------------------------------------

    def _customer(self, chunk, rng, company, contacts, since, annual, profile) -> _Customer:
        """Renewals and churn, expansion, tickets, surveys and engagement of a new customer."""
        term = 12 if rng.random() < 0.6 else 6
        # Mid-contract cancellation; bigger customers rarely leave, small ones that never got
        # going leave in their first months.
        cancel = since + rng.expovariate(profile.churn_per_year / 365)
        if rng.random() < profile.churn_per_year / 3:
            cancel = min(cancel, since + rng.uniform(20, 100))
        renew = 0.86 - (0.1 if company.size_band == SizeBand.MICRO else 0.0)
        # Contract periods: (first day, signed at, price factor); each renewal is a deal.
        periods = [(self.day(since), since, 1.0)]
        churn = cancelled = None
        while True:
            start, _signed, factor = periods[-1]
            term_end = _add_months(start, term)
            end_t = self.t_of(term_end)
            if cancel < end_t and cancel < self.end:
                churn = cancelled = cancel
                break
            opened = end_t - rng.uniform(25, 50)
            if opened >= self.end:
                break
            uplift = factor * rng.uniform(1.0, 1.08)
            _deal, closed, won = self._deal(
                chunk,
                rng,
                company,
                contacts[0],
                kind=DealKind.RENEWAL,
                name=f"{company.name} – renewal {term_end:%Y-%m}",
                created=opened,
                amount=round(annual * uplift * term / 12, -1),
                win=renew + 0.04 * self.trend(opened),
                stage_factor=1.0,
                start=min(2, len(self.open_stages) - 1),
                close_by=end_t - 1,
            )
            if closed is None:
                break
            if not won:
                # The customer said no before the term ended: it leaves when the term ends.
                churn, cancelled = end_t, closed
                break
            periods.append((term_end, closed, uplift))

        customer = _Customer(since=since, churn=churn, base_annual=int(annual))
        until = min(churn if churn is not None else self.end, self.end)
        upgrades = self._expansion(chunk, rng, company, contacts[0], customer, until, profile)
        self._subscriptions(chunk, company, annual / 12, periods, upgrades, churn, cancelled, term)
        self._support(chunk, rng, company, contacts, customer, until, profile)
        self._engagement(chunk, rng, company, contacts, customer, until, profile)
        self._nps(chunk, rng, company, contacts, customer, until)
        if rng.random() < 0.3 and since + 14 < self.end:
            title = _title(rng, ONBOARDING_TASKS, contacts[0].first_name, company.name)
            owner = company.owner
            self._task(chunk, rng, title, owner, since, company=company, done_by=until)
        # Account management follows the contract's value.
        tier = "Strategic" if annual >= 40_000 else "Key" if annual >= 10_000 else "Standard"
        tier = self._custom("tier", tier)
        if tier is not None:
            company.custom = {**company.custom, "tier": tier}
        return customer

    def _subscriptions(self, chunk, company, monthly, periods, upgrades, churn, cancelled, term):
        """One chain per customer: each renewal or upgrade ends a contract and continues it.

        Every contract carries the end of the `term` (months) it falls in as its renewal date:
        an upgrade mid-term keeps the term, so only the contract running at a term's end comes
        up for renewal, and a cancellation before it is churn."""
        term_starts = [start for start, _signed, _factor in periods]
        plan = PLANS[min(3, int(math.log10(monthly * 12)) - 2)]
        changes = [(start, signed, factor, 0.0) for start, signed, factor in periods]
        # An upgrade won on the day the customer leaves adds no contract (it would start a
        # one-day contract after the term the customer declined).
        changes += [
            (self.day(won), won, None, added)
            for won, added in upgrades
            if churn is None or self.day(won) < self.day(churn)
        ]
        changes.sort(key=lambda change: (change[0], change[1]))
        factor, added, add_ons, chain = 1.0, 0.0, 0, []
        for index, (start, signed, new_factor, extra) in enumerate(changes):
            if new_factor is not None:
                factor = new_factor
            else:
                added, add_ons = added + extra, add_ons + 1
            if index + 1 < len(changes) and changes[index + 1][0] == start:
                continue  # several changes on one day make one contract
            sub = self.new(
                Subscription,
                company=company,
                plan_name=f"{plan} + {add_ons} add-on{'s' if add_ons > 1 else ''}"
                if add_ons
                else plan,
                monthly_value=_money(monthly * factor + added),
                start_date=start,
                term_end=_add_months(max(s for s in term_starts if s <= start), term),
                renewal_of=chain[-1] if chain else None,
                created_at=self.dt(signed),
            )
            if chain:
                chain[-1].end_date = start
                if self.t_of(start) <= self.end:
                    chain[-1].status = SubscriptionStatus.EXPIRED
            chain.append(sub)
        last = chain[-1]
        if churn is not None:
            last.status = SubscriptionStatus.CANCELLED
            last.cancelled_at = self.dt(min(cancelled, self.end - 0.01))
            last.end_date = max(self.day(churn), last.start_date + timedelta(days=1))
        for level, sub in enumerate(chain):
            while len(chunk.subscriptions) <= level:
                chunk.subscriptions.append([])
            chunk.subscriptions[level].append(sub)

    def _expansion(self, chunk, rng, company, contact, customer, until, profile):
        """Upsell and cross-sell deals; returns (won at, monthly value added) of the wins."""
        t = customer.since + 30
        rate = profile.expansion_per_month / 30
        upgrades = []
        while True:
            t += rng.expovariate(rate)
            if t >= until - 20:
                return upgrades
            kind = DealKind.UPSELL if rng.random() < 0.6 else DealKind.CROSS_SELL
            # Frequent expanders buy smaller add-ons: each customer grows ~2% a month.
            share = rng.uniform(0.5, 1.5) * 0.04 / profile.expansion_per_month
            amount = max(100, round(customer.base_annual * share, -1))
            _deal, closed, won = self._deal(
                chunk,
                rng,
                company,
                contact,
                kind=kind,
                name=f"{company.name} – {rng.choice(ADD_ONS[kind])}",
                created=t,
                amount=amount,
                win=(0.55 if kind == DealKind.UPSELL else 0.45) * (0.9 + 0.2 * self.trend(t)),
                stage_factor=profile.stage_factor,
                start=1,
                close_by=customer.churn,
            )
            if won:
                upgrades.append((closed, amount / 12))

    def _count_customer(self, customer: _Customer):
        self.new_customers[self.month_index(customer.since)] += 1
        last = min(customer.churn if customer.churn is not None else self.end, self.end)
        for month in range(self.month_index(customer.since), self.month_index(last) + 1):
            self.active_customers[month] += 1

    # --- support -----------------------------------------------------------------------------

    def _support(self, chunk, rng, company, contacts, customer, until, profile):
        span = until - customer.since
        if span <= 0:
            return
        # Customers about to leave open more tickets.
        count = _poisson(rng, profile.tickets_per_month * span / 30)
        churn_soon = customer.churn is not None and customer.churn < self.end + 90
        for _ in range(count):
            t = customer.since + rng.random() * span
            if churn_soon and rng.random() < 0.3:
                t = max(customer.since, until - rng.uniform(0, 90))
            self._ticket(chunk, rng, company, rng.choice(contacts), t)
        if until >= self.end and rng.random() < LIVE_TICKET_SHARE:
            # Still a customer today: a ticket of the last few days that is still being worked,
            # mostly very recent ones.
            t = self.end - LIVE_TICKET_MAX_AGE_DAYS * rng.random() ** 2
            self._ticket(
                chunk, rng, company, rng.choice(contacts), max(t, customer.since), live=True
            )

    def _ticket(self, chunk, rng, company, contact, created, *, live=False):
        channel, priority = TICKET_CHANNELS.pick(rng), TICKET_PRIORITIES.pick(rng)
        topic = rng.choice(TICKET_TOPICS)
        first_sla, resolve_sla = self.sla[priority]
        # The support team gets faster over the window; chat and phone answer at once.
        pace = 1.2 - 0.4 * self.trend(created)
        first_median = FIRST_RESPONSE_HOURS.get(priority, first_sla / 4)
        first_h = _lognormal(rng, first_median * pace * CHANNEL_RESPONSE_FACTOR[channel], 0.9)
        resolve_median = RESOLUTION_HOURS.get(priority, resolve_sla / 4)
        if live:
            resolve_median = LIVE_RESOLUTION_DAYS * 24
        resolve_h = max(first_h + 0.1, _lognormal(rng, resolve_median * pace, 0.8))
        if self.staff is not None:
            agent = self.staff.agent(rng)
        else:
            agent = self.agents[0] if rng.random() < 0.85 else self.managers[0]
        area = self._custom("product_area", topic.area)
        ticket = self.new(
            Ticket,
            subject=topic.subject,
            description=topic.description,
            custom={"product_area": area} if area is not None and rng.random() < 0.7 else {},
            contact=contact,
            company=company,
            channel=channel,
            priority=priority,
            assignee=agent,
            team=self.support_team,
            created_at=self.dt(created),
            first_response_due_at=self.dt(created + first_sla / 24),
            resolution_due_at=self.dt(created + resolve_sla / 24),
        )
        # The conversation: (time, author kind, internal note?, customer reopening it?)
        events = [(created, MessageAuthor.CUSTOMER, False, False)]
        first = created + first_h / 24
        resolved = created + resolve_h / 24
        replies = AGENT_REPLIES.pick(rng)
        reply_times = [first] + sorted(rng.uniform(first, resolved) for _ in range(replies - 1))
        for previous, reply in zip(reply_times, reply_times[1:], strict=False):
            events.append((rng.uniform(previous, reply), MessageAuthor.CUSTOMER, False, False))
        events.extend((at, MessageAuthor.AGENT, False, False) for at in reply_times)
        if rng.random() < 0.25:
            events.append((rng.uniform(created, resolved), MessageAuthor.AGENT, True, False))
        if live and rng.random() < 0.4:
            # The customer chased it in the last day: the ticket is back on the agent's side.
            chased = rng.uniform(max(first, self.end - 1), self.end)
            if chased < resolved:
                events.append((chased, MessageAuthor.CUSTOMER, False, False))
        resolutions, reopened = [resolved], []
        for _ in range(REOPENS.pick(rng)):
            back = resolutions[-1] + rng.uniform(0.05, 1.5)
            answer = back + _lognormal(rng, first_median, 0.8) / 24
            events.append((back, MessageAuthor.CUSTOMER, False, True))
            events.append((answer, MessageAuthor.AGENT, False, False))
            reopened.append(back)
            resolutions.append(answer + rng.uniform(0.02, 0.5))
        events.sort(key=lambda event: event[0])

        # Only what happened before today is stored; the rest is still ahead of the ticket.
        past = [event for event in events if event[0] < self.end]
        public_replies = [e for e in past if e[1] == MessageAuthor.AGENT and not e[2]]
        ticket.agent_reply_count = len(public_replies)
        ticket.reopen_count = sum(1 for at in reopened if at < self.end)
        if public_replies:
            ticket.first_response_at = self.dt(public_replies[0][0])
        # Resolved now if its latest resolution is past and no reopening followed it yet.
        final = resolutions[ticket.reopen_count]
        if final < self.end:
            ticket.resolved_at = self.dt(final)
            ticket.status = TicketStatus.CLOSED if self.end - final > 3 else TicketStatus.RESOLVED
        elif not public_replies:
            ticket.status, ticket.assignee = TicketStatus.NEW, None
        elif past[-1][1] == MessageAuthor.AGENT and not past[-1][2]:
            ticket.status = TicketStatus.PENDING
        else:
            ticket.status = TicketStatus.OPEN
        ticket.sla_breached_at = self._breach(ticket)
        chunk.tickets.append(ticket)

        article = self.articles.get(topic.article)
        first_reply = True
        for index, (at, author_kind, internal, reopening) in enumerate(past):
            if index == 0:
                body = topic.description
            elif author_kind == MessageAuthor.CUSTOMER:
                body = "It is happening again." if reopening else rng.choice(CUSTOMER_FOLLOW_UPS)
            elif internal:
                body = rng.choice(INTERNAL_NOTES)
            elif first_reply:
                first_reply = False
                if article is not None and article[2] < at and rng.random() < 0.5:
                    body = ARTICLE_REPLY.format(title=article[0], url=article[1])
                else:
                    body = rng.choice(FIRST_REPLIES)
            else:
                body = rng.choice(LATER_REPLIES)
            chunk.messages.append(
                self.new(
                    TicketMessage,
                    ticket=ticket,
                    author_kind=author_kind,
                    author=agent if author_kind == MessageAuthor.AGENT else None,
                    is_internal=internal,
                    body=body,
                    created_at=self.dt(at),
                )
            )
        if ticket.resolved_at is not None:
            self._ticket_surveys(chunk, rng, ticket, final)
        # A ticket being worked often has a follow-up on its agent's list.
        if rng.random() < (0.35 if live and ticket.assignee_id else 0.06):
            done_by = final if ticket.resolved_at is not None else None
            due = None if done_by is not None else self.end + rng.uniform(-3, 5)
            self._task(
                chunk,
                rng,
                _title(rng, TICKET_TASKS, contact.first_name, company.name),
                agent,
                created,
                ticket=ticket,
                done_by=done_by,
                due=due,
            )

    def _breach(self, ticket) -> datetime | None:
        """The first moment a due time passed unmet, if it has happened yet."""
        first_due, resolve_due = ticket.first_response_due_at, ticket.resolution_due_at
        today = self.dt(self.end)
        answered = ticket.first_response_at or today
        if answered > first_due and first_due < today:
            return first_due
        resolved = ticket.resolved_at or today
        if resolved > resolve_due and resolve_due < today:
            return resolve_due
        return None

    def _ticket_surveys(self, chunk, rng, ticket, resolved):
        unhappy = ticket.sla_breached_at is not None or ticket.reopen_count > 0
        for kind, share, scale in [
            (SurveyKind.CSAT, 0.3, CSAT_BAD if unhappy else CSAT_GOOD),
            (SurveyKind.CES, 0.2, CES_BAD if unhappy else CES_GOOD),
        ]:
            if rng.random() < share:
                answered = resolved + rng.uniform(0.02, 2)
                if answered < self.end:
                    chunk.surveys.append(
                        self.new(
                            SurveyAnswer,
                            kind=kind,
                            score=scale.pick(rng),
                            contact=ticket.contact,
                            company=ticket.company,
                            ticket=ticket,
                            answered_at=self.dt(answered),
                        )
                    )

    # --- engagement and perception -----------------------------------------------------------

    def _engagement(self, chunk, rng, company, contacts, customer, until, profile):
        t = customer.since
        while t < until:
            window_end = min(t + 30, until)
            fading = customer.churn is not None and customer.churn - t < 75
            mean = profile.engagement_per_month * (0.3 if fading else 1.0) * (window_end - t) / 30
            for _ in range(_poisson(rng, mean)):
                kind, direction = ENGAGEMENT.pick(rng)
                chunk.activities.append(
                    self._activity(
                        kind,
                        direction,
                        "",
                        company.owner,
                        rng.uniform(t, window_end),
                        company=company,
                        contact=rng.choice(contacts),
                    )
                )
            t = window_end

    def _nps(self, chunk, rng, company, contacts, customer, until):
        leaving = customer.churn is not None
        t = customer.since + 30
        while t < until:
            if rng.random() < 0.22:
                answered = min(until - 0.01, t + rng.uniform(0, 10))
                trend = self.trend(answered)
                promoter = (0.40 + 0.14 * trend) * (0.5 if leaving else 1.0)
                detractor = (0.24 - 0.09 * trend) * (2.0 if leaving else 1.0)
                roll = rng.random()
                if roll < promoter:
                    score = rng.choice([9, 10])
                elif roll < promoter + detractor:
                    score = DETRACTOR_SCORES.pick(rng)
                else:
                    score = rng.choice([7, 8])
                chunk.surveys.append(
                    self.new(
                        SurveyAnswer,
                        kind=SurveyKind.NPS,
                        score=score,
                        contact=rng.choice(contacts),
                        company=company,
                        answered_at=self.dt(answered),
                    )
                )
            t += 91

    # --- rows shared by every part -----------------------------------------------------------

    def _activity(self, kind, direction, subject, user, t, **records) -> Activity:
        at = self.dt(t)
        return self.new(
            Activity,
            kind=kind,
            direction=direction,
            subject=subject,
            user=user,
            occurred_at=at,
            created_at=at,
            **records,
        )

    def _task(self, chunk, rng, title, assignee, created, *, done_by=None, due=None, **records):
        """A done task when `done_by` is given (finished before then), otherwise an open one."""
        task = self.new(
            Task,
            title=title,
            assignee=assignee,
            created_by=assignee,
            created_at=self.dt(created),
            priority=rng.choice([TaskPriority.NORMAL, TaskPriority.NORMAL, TaskPriority.HIGH]),
            **records,
        )
        if rng.random() < 0.35:
            effort = self._custom("effort", rng.choice(TASK_EFFORT))
            if effort is not None:
                task.custom = {"effort": effort}
        if done_by is not None or due is None:
            limit = min(done_by if done_by is not None else self.end, self.end - 0.01)
            finished = rng.uniform(created, max(created, limit))
            task.due_at = self.dt(finished + rng.uniform(-1, 3))
            if rng.random() < 0.05:
                task.status = TaskStatus.CANCELLED
            else:
                task.status, task.completed_at = TaskStatus.DONE, self.dt(finished)
        else:
            task.due_at = self.dt(max(due, created + 0.5))
            task.status = TaskStatus.IN_PROGRESS if rng.random() < 0.25 else TaskStatus.OPEN
        chunk.tasks.append(task)

    # --- team-wide rows ----------------------------------------------------------------------

    def _logins(self, writer, rng: random.Random):
        rows = []
        habits = {Role.ADMIN: 0.25, Role.MANAGER: 0.7, Role.SALES_REP: 0.9, Role.SUPPORT_AGENT: 0.9}
        for user, role in self._login_users():
            joined = self.rep_start.get(user.pk, 0.0)
            for day in range(int(self.window), int(self.end)):
                if day < joined or self.day(day).weekday() >= 5:
                    continue
                # Logging in becomes a habit as the CRM takes root.
                if rng.random() < habits[role] * (0.65 + 0.35 * self.trend(day)):
                    for _ in range(1 if rng.random() < 0.7 else 2):
                        rows.append(
                            self.new(
                                LoginEvent, user=user, at=self.dt(day + rng.uniform(0.3, 0.75))
                            )
                        )
        writer.create_now(LoginEvent, rows)
        self.counts["LoginEvent"] += len(rows)

    def _login_users(self) -> Iterator[tuple[User, Role]]:
        for username, _first, _last, role in DEMO_USERS:
            user = self.users.get(username)
            if user is not None and (self.staff is None or role == Role.ADMIN):
                yield user, role
        if self.staff is not None:
            yield from ((user, Role.MANAGER) for user in self.staff.managers)
            yield from ((user, Role.SALES_REP) for user in self.staff.reps)
            yield from ((user, Role.SUPPORT_AGENT) for user in self.staff.agents.items)

    def _expenses(self, writer, rng: random.Random):
        """Spend follows the customers: CAC improves from ~1,700 to ~1,050 per new customer."""
        rows = []
        yesterday = self.day(self.end - 1)
        month = self.origin_date.replace(day=1)
        while month <= yesterday:
            index = self.month_index(self.t_of(month))
            trend = self.trend(self.t_of(month))
            acquisition = max(self.new_customers[index], 0.5) * 1_700 * (1 - 0.38 * trend)
            retention = max(self.active_customers[index], 1) * 55 * (1 - 0.2 * trend)
            last = min(_add_months(month, 1) - timedelta(days=1), yesterday)
            for categories, total in [(ACQUISITION, acquisition), (RETENTION, retention)]:
                for category in categories:
                    share, descriptions = EXPENSES[category]
                    amount = total * share * rng.uniform(0.85, 1.15)
                    parts = 1 if len(descriptions) == 1 else rng.randint(1, len(descriptions))
                    for part in range(parts):
                        spent = month + timedelta(days=rng.randint(0, (last - month).days))
                        rows.append(
                            self.new(
                                Expense,
                                spent_on=spent,
                                amount=_money(amount / parts),
                                currency=self.base_currency,
                                category=category,
                                description=descriptions[part],
                                created_at=self.dt(self.t_of(spent) + 0.5),
                            )
                        )
            month = _add_months(month, 1)
        writer.create_now(Expense, rows)
        self.counts["Expense"] += len(rows)


class _BulkCreateWriter:
    """bulk_create in batches: ids come back from the database (RETURNING)."""

    def prepare(self, chunk: _Chunk):
        pass

    def tables(self, chunk: _Chunk):
        return chunk.tables()

    def create(self, model, rows):
        for start in range(0, len(rows), BATCH_SIZE):
            model.objects.bulk_create(rows[start : start + BATCH_SIZE])

    create_now = create

    def finish(self):
        pass


class _CopyWriter:
    """PostgreSQL COPY of the same rows bulk_create would write (a test compares the two).

    The seeded tables are locked against writes for the transaction (reads go on), so each
    table's ids can be handed out from one range of its sequence, in the order the database
    would give them. The generator thread (or the worker processes, see _ChunkProcesses) then
    formats whole tables as COPY text, and the main thread sends each in one call, so it
    seldom needs the interpreter lock while the generator holds it. `updated_at` is the time
    of the run rather than of each batch.
    """

    def __init__(self, models):
        self.now = timezone.now()
        self.columns = {}
        self.first_id, self.next_id = {}, {}
        tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in models)
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {tables} IN SHARE ROW EXCLUSIVE MODE")
            for model in models:
                cursor.execute("SELECT nextval(%s)", [self._sequence(model)])
                self.first_id[model] = self.next_id[model] = cursor.fetchone()[0]

    @staticmethod
    def _sequence(model) -> str:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_get_serial_sequence(%s, %s)",
                [model._meta.db_table, model._meta.pk.column],
            )
            return cursor.fetchone()[0]

    def prepare(self, chunk: _Chunk):
        """Give every row its id, then format each table (runs in the generator thread)."""
        self.number(chunk)
        self.format(chunk)

    def number(self, chunk: _Chunk):
        for model, rows in chunk.tables():
            self._number(model, rows)

    def format(self, chunk: _Chunk):
        chunk.prepared = [(model, self._payload(model, rows)) for model, rows in chunk.tables()]

    def tables(self, chunk: _Chunk):
        return chunk.prepared

    def create_now(self, model, rows):
        self._number(model, rows)
        self.create(model, self._payload(model, rows))

    def create(self, model, payload):
        if not payload.rows:
            return
        names = ", ".join(connection.ops.quote_name(f.column) for f, _ in self._columns(model))
        sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({names}) FROM STDIN"
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            copy.write(payload.data)

    def finish(self):
        """Move each sequence past the ids handed out."""
        with connection.cursor() as cursor:
            for model, next_id in self.next_id.items():
                if next_id > self.first_id[model]:
                    cursor.execute("SELECT setval(%s, %s)", [self._sequence(model), next_id - 1])

    def _number(self, model, rows):
        next_id = self.next_id[model]
        for row in rows:
            row.pk = next_id
            next_id += 1
        self.next_id[model] = next_id

    def _columns(self, model):
        """(field, how a value becomes COPY text: a function, or one text for every row)."""
        if model not in self.columns:
            columns = []
            for field in model._meta.concrete_fields:
                kind = field.get_internal_type()
                if field.is_relation:
                    write = str  # of the parent's id, resolved per row
                elif getattr(field, "auto_now", False):
                    write = self.now.isoformat()
                elif kind == "JSONField":
                    write = lambda value: _copy_text(json.dumps(value, separators=(",", ":")))  # noqa: E731
                elif kind == "BooleanField":
                    write = lambda value: "t" if value else "f"  # noqa: E731
                elif kind in ("DateTimeField", "DateField"):
                    write = _iso
                elif kind == "DecimalField":
                    write = lambda value: format(value, "f")  # noqa: E731
                elif "Integer" in kind or "AutoField" in kind:
                    write = str
                else:
                    write = lambda value: _copy_text(str(value))  # noqa: E731
                columns.append((field, write))
            self.columns[model] = columns
        return self.columns[model]

    def _payload(self, model, rows) -> "_Payload":
        columns = [
            (field.attname, field if field.is_relation else None, write)
            for field, write in self._columns(model)
        ]
        lines = []
        for row in rows:
            values = row.__dict__
            cells = []
            for attname, relation, write in columns:
                value = values[attname]
                if relation is not None and value is None:
                    # Assigned before its parent had an id: the parent has one now.
                    parent = relation.get_cached_value(row, default=None)
                    value = None if parent is None else parent.pk
                if write.__class__ is str:
                    cells.append(write)
                else:
                    cells.append("\\N" if value is None else write(value))
            lines.append("\t".join(cells))
        lines.append("")
        return _Payload(len(rows), "\n".join(lines).encode() if rows else b"")


@dataclass(frozen=True)
class _Payload:
    rows: int
    data: bytes

    def __len__(self):
        return self.rows


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: str) -> str:
    return value.translate(_COPY_ESCAPES)


def _iso(value) -> str:
    return value.isoformat()


_DONE = object()


# Memory for building each index again after the load (sorting a million rows in memory).
INDEX_BUILD_MEMORY = "256MB"


@contextmanager
def _indexes_built_after(models):
    """Load empty PostgreSQL tables without their secondary indexes, then build each index
    once: keeping twenty indexes of a million deals up to date row by row cost the database
    as much as the whole generation. Unique and primary-key indexes stay (constraints and
    foreign keys need them). Transactional: a failed seed leaves every index as it was."""
    tables = [
        model._meta.db_table
        for model in models
        if connection.vendor == "postgresql" and not model._default_manager.exists()
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        set_aside = [index for table in tables for index in _secondary_indexes(cursor, table)]
        for name, _definition in set_aside:
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
        yield
        if set_aside:
            cursor.execute("SET LOCAL maintenance_work_mem = %s", [INDEX_BUILD_MEMORY])
        for _name, definition in set_aside:
            cursor.execute(definition)


def _secondary_indexes(cursor, table: str) -> list[tuple[str, str]]:
    cursor.execute(
        """
        SELECT index_class.relname, pg_get_indexdef(ix.indexrelid)
        FROM pg_index ix JOIN pg_class index_class ON index_class.oid = ix.indexrelid
        WHERE ix.indrelid = %s::regclass AND NOT ix.indisprimary AND NOT ix.indisunique
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid)
        ORDER BY index_class.relname
        """,
        [table],
    )
    return cursor.fetchall()


def _in_background(items: Iterator) -> Iterator:
    """Produce the items in a thread, one ahead of the consumer.

    Building a chunk is pure Python (no queries); writing it mostly waits on the database.
    On two cores the next chunk gets built while the database indexes the previous one.
    """
    queue: Queue = Queue(maxsize=1)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                queue.put(item, timeout=0.2)
                return True
            except Full:
                continue
        return False

    def produce():
        try:
            for item in items:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as error:  # handed to the consumer, which raises it
            put(error)

    thread = threading.Thread(target=produce, name="seed-generator", daemon=True)
    thread.start()
    try:
        while True:
            item = queue.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def _workers() -> int:
    """Processes that build the chunks on the COPY path: SEED_WORKERS, 2 by default.

    They are forked (on Linux), so that they start with everything the parent has read; 1,
    or another platform, keeps the generator thread.
    """
    if sys.platform != "linux":
        return 1
    return max(1, int(os.environ.get("SEED_WORKERS", "2")))


@dataclass
class _Built:
    """A chunk as a worker process hands it back: numbered, formatted, and light to pickle."""

    index: int
    size: int
    prepared: list[tuple[type, "_Payload"]]
    converted_ids: list[tuple[int, int]]
    new_customers: Counter[int]
    active_customers: Counter[int]


@dataclass
class _Failed:
    error: BaseException
    traceback: str


class _ChunkProcesses:
    """Chunks built by forked worker processes, with the ids the generator thread would give.

    Building a chunk is one Python core's work, and at the larger scales the database waits
    on it. Worker k builds chunks k, k + N, k + 2N... on its own; only the numbering goes in
    chunk order, through ids shared by the workers, so the ids stay dense and in the order of
    a sequential run. The parent writes the chunks in order, as it does the thread's.

    The workers inherit the parent's connection with its transaction: they run no queries,
    and end with os._exit (multiprocessing's fork does), so nothing of theirs closes it.
    """

    AHEAD = 2  # chunks a worker may have built that the parent has not taken yet

    def __init__(self, seeder: "Seeder", writer: "_CopyWriter", workers: int):
        self.seeder, self.writer, self.workers = seeder, writer, workers
        self.context = multiprocessing.get_context("fork")
        self.parent = os.getpid()
        self.models = list(writer.next_id)
        # Shared by the workers, read and written under the turn.
        first_ids = [writer.next_id[model] for model in self.models]
        self.next_ids = self.context.Array("q", first_ids, lock=False)
        self.numbered = self.context.Value("q", 0, lock=False)  # chunks numbered so far
        self.turn = self.context.Condition()

    def built(self) -> Iterator[_Built]:
        queues = [self.context.Queue(maxsize=self.AHEAD) for _ in range(self.workers)]
        processes = [
            self.context.Process(
                target=self._work, args=(worker, queue), name=f"seed-worker-{worker}", daemon=True
            )
            for worker, queue in enumerate(queues)
        ]
        try:
            _start(processes)
            for index in range(self.seeder._chunk_count()):
                worker = index % self.workers
                built = self._receive(processes[worker], queues[worker])
                self._merge(built)
                yield built
            for index, model in enumerate(self.models):
                self.writer.next_id[model] = self.next_ids[index]
        finally:
            for process in processes:
                if process.is_alive():
                    process.terminate()
            for process in processes:
                if process.pid is not None:
                    process.join()
            for queue in queues:
                queue.close()

    def _receive(self, process, queue) -> _Built:
        while True:
            # Looked at first: what a worker put before it ended is in the queue by then.
            alive = process.is_alive()
            try:
                item = queue.get(timeout=0.5)
                break
            except Empty:
                if not alive:
                    ended = f"{process.name} ended (exit code {process.exitcode})"
                    raise RuntimeError(ended) from None
        if isinstance(item, _Failed):
            item.error.add_note(f"in {process.name}:\n{item.traceback}")
            raise item.error
        return item

    def _merge(self, built: _Built):
        """The customers a worker counted, which the expenses follow."""
        self.seeder.new_customers.update(built.new_customers)
        self.seeder.active_customers.update(built.active_customers)

    def _work(self, worker: int, queue):
        _die_with_parent(self.parent)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops the workers on Ctrl-C
        try:
            with connection.execute_wrapper(_no_queries):
                for index in range(worker, self.seeder._chunk_count(), self.workers):
                    queue.put(self._build(index))
        except BaseException as error:
            queue.put(_Failed(_picklable(error), traceback.format_exc()))

    def _build(self, index: int) -> _Built:
        seeder = self.seeder
        seeder.new_customers, seeder.active_customers = Counter(), Counter()
        chunk = seeder._chunk(index)
        with self.turn:
            self.turn.wait_for(lambda: self.numbered.value == index)
            self._number(chunk)
            self.numbered.value = index + 1
            self.turn.notify_all()
        self.writer.format(chunk)
        return _Built(
            index=index,
            size=chunk.size,
            prepared=chunk.prepared,
            converted_ids=chunk.converted_ids,
            new_customers=seeder.new_customers,
            active_customers=seeder.active_customers,
        )

    def _number(self, chunk: _Chunk):
        """Ids from where the previous chunk's left off (the caller holds the turn)."""
        for index, model in enumerate(self.models):
            self.writer.next_id[model] = self.next_ids[index]
        self.writer.number(chunk)
        for index, model in enumerate(self.models):
            self.next_ids[index] = self.writer.next_id[model]


def _start(processes):
    # Frozen objects are never collected, so a worker frees nothing it inherited (a finalizer
    # could close the parent's connection) and copies fewer pages.
    gc.freeze()
    try:
        for process in processes:
            process.start()
    finally:
        gc.unfreeze()


PR_SET_PDEATHSIG = 1  # prctl(2)


def _die_with_parent(parent: int):
    """A worker whose parent is killed would wait for it for ever (blocked on a full queue, or
    flushing it at exit): the kernel ends it too (Linux's PR_SET_PDEATHSIG)."""
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # killed before that
        os._exit(1)


def _no_queries(execute, sql, params, many, context):
    raise RuntimeError("a seed worker process must not use the parent's database connection")


def _picklable(error: BaseException) -> BaseException:
    try:
        return pickle.loads(pickle.dumps(error))
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")


def _money(value: float) -> Decimal:
    return Decimal(round(value * 100)) / 100


def _company_name(rng: random.Random, industry: str) -> str:
    tail = rng.choice(NAME_TAILS[industry])
    return f"{rng.choice(NAME_HEADS)} {tail}{rng.choice(LEGAL_SUFFIXES)}"


def _domain(name: str, rng: random.Random) -> str:
    words = name.lower().replace(" inc", "").replace(" ltd", "").split()[:2]
    return f"{''.join(words)}{rng.randrange(100)}.example"


def _title(rng: random.Random, templates: list[str], person: str, company: str) -> str:
    """One of the task title templates, about the person (by first name) and company."""
    first = person.split(" ", 1)[0] if person else "the customer"
    return rng.choice(templates).format(first=first, company=company or "the customer")


def _stage_index(flows: list[_Flow]) -> dict[int, int]:
    """Each open stage's position in its pipeline (task titles follow the step)."""
    return {stage.pk: index for flow in flows for index, stage in enumerate(flow.open_stages)}


def _demo_usernames() -> list[str]:
    return [username for username, *_rest in DEMO_USERS]


def seed_demo(
    *,
    scale: str = "small",
    seed: int = 42,
    today: date | None = None,
    progress: Callable[[str], None] | None = None,
    copy: bool | None = None,
    analyze: bool = True,
) -> Counter[str]:
    """Write the demo records; the demo users must exist. Returns rows created per model.

    `analyze` refreshes PostgreSQL's planner statistics at the end, inside the transaction;
    a caller that runs vacuum_seeded_tables() once it has committed passes False.

    `copy` forces (or forbids) PostgreSQL COPY instead of bulk_create; by default the scale
    decides. It is ignored on other databases.
    """
    organisation = create_demo_organisation() if SCALES[scale].organisation else None
    seeder = Seeder(
        scale=scale,
        seed=seed,
        today=today or timezone.localdate(),
        progress=progress,
        organisation=organisation,
    )
    return seeder.run(copy=copy, analyze=analyze)


def has_records() -> bool:
    return any(model.objects.exists() for model in (Company, Contact, Lead, Deal, Ticket))


def reset_demo_records() -> None:
    """Delete every record the generator writes (users, teams and configuration stay).

    Plain DELETEs, children first: the ORM's cascade collector would load a million deals
    into memory. Foreign keys are checked at commit (Django creates them deferred), so rows
    pointing at each other (lead and deal, renewals) go without first clearing the links.
    The outbox goes too, since its rows describe records that no longer exist.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # An earlier seed in this transaction may have made them immediate.
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        _clear_links_from_other_apps(cursor)
        for model in SEEDED_MODELS:
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")
        Event.objects.all().delete()


def _clear_links_from_other_apps(cursor) -> None:
    """Rows of other apps that point at demo records (a company's stored health score, a goal
    target's linked tasks) go with them, or lose the link when it is optional. `crm` imports
    no other app, so they are found through the records' reverse relations."""
    quote = connection.ops.quote_name
    for model in SEEDED_MODELS:
        for relation in model._meta.related_objects:
            if relation.related_model._meta.app_label == "crm":
                continue
            if relation.many_to_many:
                table = relation.through._meta.db_table
                cursor.execute(f"DELETE FROM {quote(table)}")
                continue
            table, column = relation.related_model._meta.db_table, relation.field.column
            if relation.field.null:
                cursor.execute(f"UPDATE {quote(table)} SET {quote(column)} = NULL")
            else:
                cursor.execute(f"DELETE FROM {quote(table)}")


def vacuum_seeded_tables() -> str | None:
    """VACUUM (ANALYZE) the tables the generator loaded, on PostgreSQL, once committed.

    ANALYZE alone leaves a freshly loaded table without a visibility map (relallvisible = 0),
    so the planner never chooses an index-only scan on it and every first read of a page also
    writes its hint bits; VACUUM does both once. It cannot run in a transaction: inside one
    (a test's, say) this falls back to ANALYZE. Returns what it ran, None elsewhere.
    """
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        if connection.in_atomic_block:
            cursor.execute("ANALYZE")
            return "analyze"
        quote = connection.ops.quote_name
        loaded = [model._meta.db_table for model in SEEDED_MODELS]
        cursor.execute(f"VACUUM (ANALYZE) {', '.join(map(quote, loaded))}")
        # The rest (users, pipelines, articles, custom fields...) is small: statistics suffice.
        others = sorted(set(connection.introspection.table_names(cursor)) - set(loaded))
        if others:
            cursor.execute(f"ANALYZE {', '.join(map(quote, others))}")
    return "vacuum (analyze)"
