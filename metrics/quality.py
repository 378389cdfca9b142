"""Data quality: the records that make the numbers less true (issue 17).

Each check names one problem on one kind of record: an explanation, the filter that finds
the offending rows and the KPIs they distort (by registry key).

A team's score is the share of its records (deals, leads, contacts, companies, tickets with
that team) that no check flags.

Both come from one tally per kind of record (`tally`): the rows its reader may see
(crm.access), grouped by team, each check counted once. The page costs the same few queries
on a thousand deals or a million. Tallies and pages are cached per kind of record checked,
until a record of a kind its checks read changes: a new deal recounts the deals alone.
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from django.core.cache import cache
from django.db import connection
from django.db.models import (
    Case,
    Count,
    Model,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.lookups import Exact, In
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from crm import access, duplicates
from crm.db_settings import one_process
from crm.models import (
    Company,
    Contact,
    Deal,
    DealStatus,
    Lead,
    LeadSource,
    LeadStatus,
    Lifecycle,
    Subscription,
    Ticket,
    User,
)
from crm.models.tickets import DONE_STATUSES

from .kpis.revenue import active_on
from .numbers import Reader
from .registry import KPI, get_kpi
from .sources import STRUCTURE

OPEN_LEAD_STATUSES = (LeadStatus.NEW, LeadStatus.CONTACTED, LeadStatus.QUALIFIED)
# Records listed a page under a check.
PAGE_SIZE = 25


@dataclass(frozen=True)
class Check:
    key: str
    title: Promise
    explanation: Promise
    model: type[Model]
    # The offending rows, as a filter on `model` (duplicates compare among the user's rows).
    problem: Callable[[object], Q]
    kpi_keys: tuple[str, ...]
    detail_url: str
    person_field: str = "owner"
    # A page of the CRM that already lists these records in a more useful shape: the
    # duplicates page, or a record list (url name, query of its filters) to edit them in bulk.
    elsewhere_url: str = ""
    elsewhere_query: str = ""
    # Kinds of records the problem reads besides `model`'s and the structure's (users, teams).
    also_reads: tuple[str, ...] = ()

    def records(self, user) -> QuerySet:
        return access.visible(self.model._default_manager.filter(self.problem(user)), user)

    def count(self, user) -> int:
        return self.records(user).count()

    @property
    def kpis(self) -> list[KPI]:
        return [get_kpi(key) for key in self.kpi_keys]

    def record_url(self, record) -> str:
        return reverse(self.detail_url, args=[record.pk])

    @property
    def elsewhere(self) -> str:
        if not self.elsewhere_url:
            return ""
        url = reverse(self.elsewhere_url)
        return f"{url}?{self.elsewhere_query}" if self.elsewhere_query else url


def _inactive_users() -> list[int]:
    """The people who left, as a list of ids, not a subquery: the planner then knows how few
    records they own and reads them from the owner index, where for a page of them it read
    every open lead newest first looking for one (1.4 s on 600k leads when nobody left)."""
    return list(User.objects.filter(is_active=False).values_list("pk", flat=True))


def _repeated_keys(kind_key: str, user) -> QuerySet:
    """The keys held by more than one row the user sees under the kind's exact rule (email
    for leads and contacts, web domain for companies), keyed as crm.duplicates keys them, with
    how many rows hold each. COUNT(*), not of ids: on PostgreSQL the keys are then read in
    order from an index that carries them (crm 0037), not hashed from every row."""
    kind = duplicates.KINDS[kind_key]
    rule = kind.rules[0]
    return (
        duplicates.comparable(access.visible(kind.model, user), rule)
        .order_by()
        .values(dupe_key=duplicates.key_expression(kind.model, rule))
        .annotate(holders=Count("*"))
        .filter(holders__gt=1)
    )


def _duplicated(kind_key: str, user) -> Q:
    """Another row the user sees with the same key. Phone numbers and names alike are left to
    the duplicates page, which compares them.

    The keys held more than once are grouped once, then each row's key is looked up in that
    set: an existence check per row read the table again for each of 300k contacts. The look-up
    is a value compared with true, not a condition PostgreSQL may turn into a join: a page of
    the newest duplicates then reads the newest rows until it has 25, each looked up in the set
    built once, where the join matched all 600k leads to the set first (1.3 s)."""
    kind = duplicates.KINDS[kind_key]
    key = duplicates.key_expression(kind.model, kind.rules[0])
    repeated = In(key, _repeated_keys(kind_key, user).values("dupe_key"))
    return Q(Exact(Case(When(repeated, then=Value(True)), default=Value(False)), True))


def _customer_without_subscription(_user) -> Q:
    """A customer no running subscription names. The running subscriptions' companies are
    gathered once and looked up: an existence check per customer probed the subscriptions'
    index 96k times (the team score query of companies: 450 -> 320 ms)."""
    today = timezone.localdate()
    paying = Subscription.objects.filter(active_on(today)).values("company_id")
    return Q(lifecycle=Lifecycle.CUSTOMER) & ~Q(pk__in=paying)


CHECKS: dict[str, Check] = {
    check.key: check
    for check in (
        Check(
            "deals-without-amount",
            _("Deals without an amount"),
            _("Open and won deals whose amount is zero: pipeline and revenue count them as 0."),
            Deal,
            lambda _user: Q(amount=0) & ~Q(status=DealStatus.LOST),
            ("pipeline_value", "weighted_pipeline_value", "apv", "net_new_revenue"),
            "deal-detail",
            elsewhere_url="deals",
            elsewhere_query="status=open&status=won&amount_max=0",
        ),
        Check(
            "deals-without-close-date",
            _("Open deals without an expected close date"),
            _("Forecasts cannot place them in any period."),
            Deal,
            lambda _user: Q(status=DealStatus.OPEN, expected_close_date__isnull=True),
            ("weighted_pipeline_value", "pipeline_value"),
            "deal-detail",
        ),
        Check(
            "won-deals-without-company",
            _("Won deals without a company"),
            _("Their revenue belongs to no customer: upsell, cross-sell and CAC miss them."),
            Deal,
            lambda _user: Q(status=DealStatus.WON, company__isnull=True),
            ("upsell_rate", "cross_sell_rate", "cac"),
            "deal-detail",
        ),
        Check(
            "leads-without-source",
            _("Leads without a source"),
            _("Leads whose source is missing or “Other”: conversion by source cannot use them."),
            Lead,
            lambda _user: Q(source__in=["", LeadSource.OTHER]),
            ("lead_conversion_rate", "lead_qualification_rate", "lead_response_hours"),
            "lead-detail",
            elsewhere_url="leads",
            elsewhere_query=f"source={LeadSource.OTHER}",
        ),
        Check(
            "tickets-closed-unanswered",
            _("Tickets closed without a reply"),
            _("Resolved or closed tickets nobody ever answered: response times leave them out."),
            Ticket,
            lambda _user: Q(status__in=DONE_STATUSES, first_response_at__isnull=True),
            ("first_response_hours", "fcr_rate", "resolution_hours"),
            "ticket-detail",
            person_field="assignee",
        ),
        Check(
            "customers-without-subscription",
            _("Customers without a subscription"),
            _("Companies marked as customers with no subscription running today: MRR omits them."),
            Company,
            _customer_without_subscription,
            ("mrr", "churn_rate", "clv"),
            "company-detail",
            also_reads=("subscription",),
        ),
        Check(
            "duplicate-leads",
            _("Possible duplicate leads"),
            _("Leads sharing an email address with another lead: each is counted twice."),
            Lead,
            lambda user: _duplicated("lead", user),
            ("lead_conversion_rate", "lead_qualification_rate"),
            "lead-detail",
            elsewhere_url="lead-duplicates",
        ),
        Check(
            "duplicate-contacts",
            _("Possible duplicate contacts"),
            _("Contacts sharing an email address with another contact."),
            Contact,
            lambda user: _duplicated("contact", user),
            ("nps", "csat"),
            "contact-detail",
            elsewhere_url="contact-duplicates",
        ),
        Check(
            "duplicate-companies",
            _("Possible duplicate companies"),
            _("Companies sharing a web domain with another company: customers counted twice."),
            Company,
            lambda user: _duplicated("company", user),
            ("churn_rate", "clv", "health_score"),
            "company-detail",
            elsewhere_url="company-duplicates",
        ),
        Check(
            "open-deals-deactivated-owner",
            _("Open deals owned by deactivated users"),
            _("Nobody follows them up, and per-person numbers credit someone who left."),
            Deal,
            lambda _user: Q(status=DealStatus.OPEN, owner_id__in=_inactive_users()),
            ("pipeline_value", "win_rate"),
            "deal-detail",
        ),
        Check(
            "open-leads-deactivated-owner",
            _("Open leads owned by deactivated users"),
            _("Nobody answers them: response time and conversion suffer."),
            Lead,
            lambda _user: Q(status__in=OPEN_LEAD_STATUSES, owner_id__in=_inactive_users()),
            ("lead_response_hours", "lead_conversion_rate"),
            "lead-detail",
        ),
        Check(
            "open-tickets-deactivated-assignee",
            _("Open tickets assigned to deactivated users"),
            _("Nobody works them: they will breach their SLA."),
            Ticket,
            lambda _user: ~Q(status__in=DONE_STATUSES) & Q(assignee_id__in=_inactive_users()),
            ("first_response_hours", "resolution_hours", "sla_breach_rate"),
            "ticket-detail",
            person_field="assignee",
        ),
    )
}


# Counts ------------------------------------------------------------------------------------


def kinds_read(model: type[Model]) -> frozenset[str]:
    """The kinds of records the checks of `model` read: their counts, pages and the model's
    share of the team scores are cached until one of those changes. A new deal recounts the
    deal checks alone, not the leads' duplicate emails (0.8-2.8 s for the whole page on a
    million deals against 0.1-0.5 s for the deals'), nor anything on a drag or a call."""
    also = {kind for check in CHECKS.values() if check.model is model for kind in check.also_reads}
    return STRUCTURE | {model._meta.model_name} | also


def checked_models() -> list[type[Model]]:
    """The kinds of records the checks look at, in the order of their first check."""
    return list(dict.fromkeys(check.model for check in CHECKS.values()))


# A scope is warmed while its readers read it: for a week after one of them last opened the
# page, a check's list or the dashboard's card. The warm-up runs every minute while records
# change, and tallying every manager's scope each time, read or not, took the database
# seconds of every minute.
READ_LATELY_SECONDS = 7 * 24 * 3600


def _read_lately_key(scope: str) -> str:
    return "data-quality-read:" + hashlib.sha256(scope.encode()).hexdigest()


def note_read(user) -> None:
    """The user read the page or its card: keep their scope warm (warm)."""
    cache.set(_read_lately_key(_scope(user)), True, READ_LATELY_SECONDS)


def warm(reader: Reader) -> int:
    """Tally every kind of record for each scope the page's readers have (admins share one)
    and read lately (note_read), as the page does: its next view after a change reads the
    cache (metrics.warm, with the dashboards). Returns the scopes warmed."""
    permission = access.ROUTE_PERMISSIONS["data-quality"][0]
    readers = {}
    able = User.objects.with_perm(permission, backend="django.contrib.auth.backends.ModelBackend")
    for user in able.filter(is_active=True).order_by("pk"):
        readers.setdefault(_scope(user), user)
    keys = {scope: _read_lately_key(scope) for scope in readers}
    read_lately = cache.get_many(list(keys.values()))
    warmed = [user for scope, user in readers.items() if keys[scope] in read_lately]
    for user in warmed:
        team_scores(user, reader=reader)
    return len(warmed)


def _scope(user) -> str:
    """What the user's counts depend on: everything for an admin, else their people and teams."""
    if access.is_admin(user):
        return "all"
    members = ",".join(map(str, access.member_ids(user)))
    teams = ",".join(map(str, access.team_ids(user)))
    return f"{members}|{teams}"


def counts(user, *, reader: Reader | None = None) -> dict[str, int]:
    """{check key: offending rows the user sees}."""
    reader = reader or Reader()
    counted = {}
    for model in checked_models():
        counted |= cached_tally(model, user, reader)["checks"]
    return {key: counted[key] for key in CHECKS}


def cached_tally(model: type[Model], user, reader: Reader) -> dict:
    """The tally of `model`'s checks for the user, cached until a record of a kind they read
    changes (kinds_read)."""
    return reader.cached(
        ["data-quality-tally", model._meta.model_name, _scope(user)],
        lambda: tally(model, user),
        kinds=kinds_read(model),
    )


def tally(model: type[Model], user) -> dict:
    """{"checks": {check key: offending rows}, "teams": {team id: (rows, rows flagged by any
    check)}} over the rows of `model` the user sees, in one query.

    Each row's checks are worked out once, in a subquery the planner may not fold into the
    counts (OFFSET 0): folded, each count and the "any check" count tested every row against
    the repeated emails again, each building their set anew. Counting each check apart and
    the teams apart read 600k leads four times (manager's page: 1.5 s of SQL, 17 queries)."""
    checks = {key: check for key, check in CHECKS.items() if check.model is model}
    flags = {f"check_{index}": check for index, check in enumerate(checks.values())}
    rows = (
        access.visible(model, user)
        .order_by()
        .annotate(
            **{
                name: Case(When(check.problem(user), then=Value(True)), default=Value(False))
                for name, check in flags.items()
            }
        )
        .values("team_id", *flags)
    )
    inner, params = rows.query.sql_with_params()
    quote = connection.ops.quote_name
    names = [quote(name) for name in flags]
    counted = ", ".join(f"COUNT(*) FILTER (WHERE {name})" for name in names)
    fence = " OFFSET 0" if connection.vendor == "postgresql" else ""
    team = quote("team_id")
    sql = (
        f"SELECT {team}, COUNT(*), {counted}, COUNT(*) FILTER (WHERE {' OR '.join(names)}) "
        f"FROM ({inner}{fence}) checked GROUP BY {team}"
    )
    # Each row is tested against the checks' sets (repeated keys, paying customers, people
    # who left): parallel workers would each build them again.
    with one_process(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        grouped = cursor.fetchall()
    totals = [sum(row[2 + index] for row in grouped) for index in range(len(flags))]
    return {
        "checks": dict(zip(checks, totals, strict=True)),
        "teams": {row[0]: (row[1], row[-1]) for row in grouped if row[0] is not None},
    }


def page_keys(check: Check, user, number: int, *, reader: Reader | None = None) -> list[int]:
    """The primary keys of page `number` of a check's records, newest first, cached until a
    record of a kind the check's model's checks read changes: finding a duplicate's rows
    groups every key again (0.5 s on 600k leads)."""
    reader = reader or Reader()
    start = (number - 1) * PAGE_SIZE
    rows = check.records(user).order_by("-created_at", "-pk").values_list("pk", flat=True)
    return reader.cached(
        ["data-quality-page", check.key, _scope(user), str(number)],
        lambda: _first_rows(rows, start),
        kinds=kinds_read(check.model),
    )


def _first_rows(rows: QuerySet, start: int) -> list[int]:
    # In one process, as the tally: each worker would build the checks' sets again.
    with one_process():
        return list(rows[start : start + PAGE_SIZE])


# Team scores -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TeamScore:
    team_id: int
    name: str
    records: int
    flawed: int

    @property
    def score(self) -> int | None:
        """The share of the team's records no check flags, 0-100; None without records."""
        if not self.records:
            return None
        return round(100 * (self.records - self.flawed) / self.records)


def team_scores(user, *, reader: Reader | None = None) -> list[TeamScore]:
    """The score of each team the user sees (admins: every team), from each kind of record's
    tally: a change recounts the teams' records of its own kind alone. A team's rows are
    among those the user sees (a manager sees their teams' records; an admin every one)."""
    reader = reader or Reader()
    teams = reader.cached(
        ["data-quality-teams", _scope(user)],
        lambda: list(access.visible_teams(user).order_by("name").values_list("pk", "name")),
        kinds=STRUCTURE,
    )
    totals = {pk: [0, 0] for pk, _name in teams}
    for model in checked_models():
        for team_id, (total, flawed) in cached_tally(model, user, reader)["teams"].items():
            if team_id in totals:
                totals[team_id][0] += total
                totals[team_id][1] += flawed
    return [TeamScore(pk, name, *totals[pk]) for pk, name in teams]
