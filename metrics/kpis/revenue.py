"""Revenue and retention KPIs (KPIS.md): recurring revenue, churn, renewals, acquisition and
retention cost, lifetime value and customer health.

A company is a customer during [customer_since, churned_at). "Customers at the start" of a
period are the customers going into it (customers at the end of the previous period), so
every churn and every new customer falls in exactly one period.

A subscription's `term_end` is its renewal date. It comes up for renewal in the period its
term ends in, unless it stopped before (a mid-term cancellation is churn); month-to-month
subscriptions (no term end) never do.
"""

from datetime import time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import (
    BigIntegerField,
    BooleanField,
    Case,
    Count,
    DateField,
    DateTimeField,
    DecimalField,
    Exists,
    F,
    FloatField,
    Func,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Greatest, Least, NullIf, Round
from django.db.models.lookups import GreaterThan, GreaterThanOrEqual
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import (
    ACQUISITION_CATEGORIES,
    ENGAGEMENT_KINDS,
    RETENTION_CATEGORIES,
    Activity,
    Company,
    Deal,
    DealStatus,
    Expense,
    Subscription,
    SubscriptionStatus,
    SurveyAnswer,
    SurveyKind,
    Ticket,
)

from ..joins import JoinedColumn, join_grouped
from ..periods import Period
from ..registry import (
    KPI,
    Bands,
    Result,
    Segment,
    get_kpi,
    ratio,
    register,
    rounded,
    to_decimal,
)

MONEY = DecimalField(max_digits=20, decimal_places=2)

COMPANY_SEGMENTS = {
    "owner": "owner",
    "team": "team",
    "industry": "industry",
    "company_size": "size_band",
    "custom": "custom",
}
SUBSCRIPTION_SEGMENTS = {
    "owner": "company__owner",
    "team": "company__team",
    "industry": "company__industry",
    "company_size": "company__size_band",
    "plan": "plan_name",
    "custom": "company__custom",
}

# Health score: how far back "recent" activity, answers, tickets and purchases look.
HEALTH_WINDOW = timedelta(days=90)
DEFAULT_HEALTH_WEIGHTS = {
    "engagement": 0.3,
    "surveys": 0.25,
    "tickets": 0.15,
    "purchase_recency": 0.15,
    "renewal": 0.15,
}
DEFAULT_HEALTH_RISK_THRESHOLD = 40


# Customer sets -------------------------------------------------------------------------


def customers_at_start(period: Period) -> QuerySet:
    """Customers going into the period: became one before it, not churned before it."""
    return Company.objects.filter(customer_since__lt=period.start).filter(
        Q(churned_at__isnull=True) | Q(churned_at__gte=period.start)
    )


def customers_at_end(period: Period) -> QuerySet:
    """Customers on the last instant of the period."""
    return Company.objects.filter(customer_since__lt=period.end).filter(
        Q(churned_at__isnull=True) | Q(churned_at__gte=period.end)
    )


def customers_active(period: Period) -> QuerySet:
    """Customers for at least part of the period: [customer_since, churned_at) overlaps it."""
    return Company.objects.filter(customer_since__lt=period.end).filter(
        Q(churned_at__isnull=True) | Q(churned_at__gt=period.start)
    )


def new_customers(period: Period) -> QuerySet:
    """Companies that became customers in the period (a returning customer counts again)."""
    return Company.objects.filter(customer_since__gte=period.start, customer_since__lt=period.end)


def flag(condition: Q) -> Case:
    """A per-period boolean annotation, so a static `numerator_filter` can select on it."""
    return Case(
        When(condition, then=Value(True)), default=Value(False), output_field=BooleanField()
    )


def periods_per_year(period: Period) -> Decimal:
    """How many such periods make a year: whole months count as twelfths, other spans
    as days of a 365-day year (a month gives exactly 12, a quarter 4, a year 1)."""
    start, end = period.start_date, period.end_date + timedelta(days=1)
    if start.day == 1 and end.day == 1:
        months = (end.year - start.year) * 12 + end.month - start.month
        return Decimal(12) / months
    return Decimal(365) / (end - start).days


def _require_whole(kpi_key: str, segment: Segment) -> None:
    if not segment.is_all:
        raise KeyError(f"{kpi_key} cannot be segmented by {segment.field}")


# MRR -----------------------------------------------------------------------------------


def active_on(day) -> Q:
    """Subscriptions running on `day` (end_date is exclusive; a cancellation sets it)."""
    return Q(start_date__lte=day) & (Q(end_date__isnull=True) | Q(end_date__gt=day))


def _mrr_combine(row: dict) -> Result:
    # A sum over no subscriptions is a real 0; the denominator is the subscriptions counted.
    mrr = to_decimal(row["mrr"]) or Decimal(0)
    return Result(mrr, mrr, to_decimal(row["subscriptions"]))


register(
    KPI(
        key="mrr",
        label=_("Monthly recurring revenue"),
        description=_(
            "Sum of the monthly value of subscriptions active on the last day of the period."
        ),
        unit="money",
        higher_is_better=True,
        records=lambda period: Subscription.objects.filter(active_on(period.end_date)),
        aggregates=lambda period: {"mrr": Sum("monthly_value"), "subscriptions": Count("pk")},
        combine=_mrr_combine,
        segments=SUBSCRIPTION_SEGMENTS,
        group="retention",
        as_of_end=True,
        parts_within="mrr_growth_rate",
    )
)


def _mrr_growth_combine(row: dict) -> Result:
    current = to_decimal(row["mrr"]) or Decimal(0)
    previous = to_decimal(row["previous_mrr"]) or Decimal(0)
    return ratio(current - previous, previous, scale=100)


# One query over the subscriptions active at either end, so breakdowns work as for any KPI.
register(
    KPI(
        key="mrr_growth_rate",
        label=_("MRR growth rate"),
        description=_(
            "(MRR at the end of the period − MRR at the end of the previous period) ÷ MRR at "
            "the end of the previous period × 100; no data when the previous MRR is 0."
        ),
        unit="percent",
        higher_is_better=True,
        records=lambda period: Subscription.objects.filter(
            active_on(period.end_date) | active_on(period.previous().end_date)
        ),
        aggregates=lambda period: {
            "mrr": Sum("monthly_value", filter=active_on(period.end_date)),
            "previous_mrr": Sum("monthly_value", filter=active_on(period.previous().end_date)),
            # The MRR's own count (its parts are read from these: KPI.parts_within).
            "subscriptions": Count("pk", filter=active_on(period.end_date)),
            # Every record, at either end: the drill-down's counts read from the parts.
            "records": Count("pk"),
        },
        combine=_mrr_growth_combine,
        segments=SUBSCRIPTION_SEGMENTS,
        bands=Bands(typical=(18, 20), good=(20, 30), exceptional=(30, None)),
        group="retention",
    )
)


# Churn and renewals --------------------------------------------------------------------

register(
    KPI(
        key="churn_rate",
        label=_("Customer churn rate"),
        description=_("Customers lost in the period ÷ customers at the start of the period × 100."),
        unit="percent",
        higher_is_better=False,
        records=lambda period: customers_at_start(period).annotate(
            lost=flag(Q(churned_at__lt=period.end))
        ),
        aggregates=lambda period: {
            "lost_count": Count("pk", filter=Q(lost=True)),
            "customers": Count("pk"),
        },
        combine=lambda row: ratio(row["lost_count"], row["customers"], scale=100),
        segments=COMPANY_SEGMENTS,
        numerator_filter=Q(lost=True),
        counts_records=True,
        bands=Bands(typical=(10, 15), good=(5, 10), exceptional=(None, 5)),
        group="retention",
    )
)


# A subscription that came up for renewal went on: a renewal follows it, or it ran past its
# term end itself (a contract that renews tacitly). EXISTS, not `renewal__isnull=False`: that
# outer join read and hashed every subscription (80 ms on the large seed) where this probes
# the renewals' unique index for the period's terms alone (30 ms).
RENEWED = (
    Exists(Subscription.objects.filter(renewal_of=OuterRef("pk")))
    | Q(end_date__isnull=True)
    | Q(end_date__gt=F("term_end"))
)


def came_up_for_renewal(period: Period) -> QuerySet:
    """Subscriptions whose contract term ended in the period (by today, for an open period),
    flagged `renewed` when they went on: a renewal subscription exists, or the subscription
    itself ran past its term end (no end, or an end after it). One that stopped before its
    term end is churn, not a renewal opportunity, and is left out; one without a term end
    (month-to-month) never comes up for renewal."""
    last_day = min(period.end_date, timezone.localdate())
    return (
        Subscription.objects.filter(term_end__gte=period.start_date, term_end__lte=last_day)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=F("term_end")))
        .annotate(renewed=flag(RENEWED))
    )


register(
    KPI(
        key="renewal_rate",
        label=_("Renewal rate"),
        description=_(
            "Subscriptions renewed ÷ subscriptions whose contract term ended (came up for "
            "renewal) in the period × 100. The term end is the subscription's renewal date; "
            "it is renewed when a renewal subscription follows it or it runs on past its term "
            "end. A cancellation before the term end is churn, not a failed renewal, and "
            "month-to-month subscriptions (no term end) never come up for renewal."
        ),
        unit="percent",
        higher_is_better=True,
        records=came_up_for_renewal,
        aggregates=lambda period: {
            "renewed_count": Count("pk", filter=Q(renewed=True)),
            "ended": Count("pk"),
        },
        combine=lambda row: ratio(row["renewed_count"], row["ended"], scale=100),
        segments=SUBSCRIPTION_SEGMENTS,
        numerator_filter=Q(renewed=True),
        group="retention",
    )
)


# Spend per customer --------------------------------------------------------------------


def spend(period: Period, categories) -> Subquery:
    """Expenses of `categories` in the period, as one scalar subquery."""
    total = (
        Expense.objects.filter(
            category__in=categories,
            spent_on__gte=period.start_date,
            spent_on__lte=period.end_date,
        )
        .order_by()
        # SUM as a plain function: one row for the whole filter, no GROUP BY.
        .annotate(total=Func(F("amount"), function="SUM", output_field=MONEY))
        .values("total")
    )
    return Subquery(total, output_field=MONEY)


def _spend_aggregate(period: Period, categories):
    # The spend is not a per-customer number; Max() lets it sit beside the customer count,
    # and the outer Coalesce keeps it when there are no customers.
    amount = spend(period, categories)
    return Coalesce(Max(amount), amount, Value(Decimal(0)), output_field=MONEY)


def _per_customer(row: dict) -> Result:
    return ratio(row["spend"], row["customers"])


# Spend cannot be attributed to an owner or industry, so these two are not segmented.
register(
    KPI(
        key="cac",
        label=_("Customer acquisition cost"),
        description=_(
            "Acquisition spend (sales and marketing expenses) in the period ÷ companies that "
            "became customers in the period."
        ),
        unit="money",
        higher_is_better=False,
        records=new_customers,
        aggregates=lambda period: {
            "spend": _spend_aggregate(period, ACQUISITION_CATEGORIES),
            "customers": Count("pk"),
        },
        combine=_per_customer,
        bands=Bands(typical=(1000, 1500), good=(700, 1000), exceptional=(None, 700)),
        group="retention",
    )
)

register(
    KPI(
        key="retention_cost",
        label=_("Customer retention cost"),
        description=_(
            "Retention spend (support, loyalty, customer success expenses) in the period ÷ "
            "customers active at any time in the period."
        ),
        unit="money",
        higher_is_better=False,
        records=customers_active,
        aggregates=lambda period: {
            "spend": _spend_aggregate(period, RETENTION_CATEGORIES),
            "customers": Count("pk"),
        },
        combine=_per_customer,
        group="retention",
    )
)


# Lifetime value ------------------------------------------------------------------------


def annual_churn(period_churn: Decimal, per_year: Decimal) -> Decimal:
    """Compound a period's churn (0–1) to a year: 1 − (1 − churn)^(periods per year)."""
    if per_year == 1:
        return period_churn
    return 1 - (1 - period_churn) ** per_year


def _clv(period: Period, segment: Segment) -> Result:
    _require_whole("clv", segment)
    apv_kpi = get_kpi("apv")
    apv = apv_kpi.value(period).value
    churn = get_kpi("churn_rate").value(period)
    customers = customers_active(period).count()
    # The purchases are the deals APV averages over: the two multiply to revenue per customer.
    purchases = apv_kpi.records(period).count()
    if apv is None or churn.value is None or not customers:
        return Result(None)
    per_year = periods_per_year(period)
    frequency = Decimal(purchases) / customers * per_year
    # From the counts, not the rounded percentage.
    yearly_churn = annual_churn(churn.numerator / churn.denominator, per_year)
    configured = getattr(settings, "CRM_CUSTOMER_LIFESPAN_YEARS", None)
    if configured is not None:
        lifespan = to_decimal(configured)
    elif yearly_churn > 0:
        lifespan = 1 / yearly_churn
    else:
        # Nobody churned and no lifespan is configured: the lifetime is unbounded.
        return Result(None)
    return Result(rounded(apv * frequency * lifespan * (1 - yearly_churn)))


register(
    KPI(
        key="clv",
        label=_("Customer lifetime value"),
        description=_(
            "APV × purchase frequency × expected lifespan × retention rate. Purchase frequency "
            "= deals won in the period ÷ customers active in the period, per year; annual churn "
            "= 1 − (1 − period churn)^(periods per year); lifespan = "
            "CRM_CUSTOMER_LIFESPAN_YEARS, or 1 ÷ annual churn when not configured; retention "
            "rate = 1 − annual churn. E.g. (100 × 4) × 5 × 0.80 = 1,600."
        ),
        unit="money",
        higher_is_better=True,
        records=customers_active,
        aggregates=lambda period: {"customers": Count("pk")},
        combine=lambda row: Result(None),
        compute=_clv,
        made_of=("apv", "churn_rate"),
        bands=Bands(typical=(500, 2500), good=(2500, 5000), exceptional=(5000, None)),
        group="retention",
    )
)


def _ltv_cac(period: Period, segment: Segment) -> Result:
    _require_whole("ltv_cac_ratio", segment)
    clv = get_kpi("clv").value(period).value
    cac = get_kpi("cac").value(period).value
    if clv is None:
        return Result(None, None, cac)
    return ratio(clv, cac)


register(
    KPI(
        key="ltv_cac_ratio",
        label=_("LTV : CAC"),
        description=_("Customer lifetime value ÷ customer acquisition cost, same period."),
        unit="ratio",
        higher_is_better=True,
        records=new_customers,
        aggregates=lambda period: {"customers": Count("pk")},
        combine=lambda row: Result(None),
        compute=_ltv_cac,
        made_of=("clv", "cac"),
        group="retention",
    )
)


# Health score --------------------------------------------------------------------------


def _health_settings():
    # Edited in the admin (metrics.HealthSettings); settings and defaults apply without a row.
    from ..models import HealthSettings

    return HealthSettings.objects.order_by("pk").first()


def health_weights() -> dict[str, float]:
    """Installation weights (the HealthSettings row, else CRM_HEALTH_WEIGHTS) over the
    defaults; a missing key keeps its default, a zero leaves that component out."""
    row = _health_settings()
    if row is not None:
        return row.weights
    return {**DEFAULT_HEALTH_WEIGHTS, **(getattr(settings, "CRM_HEALTH_WEIGHTS", None) or {})}


def health_risk_threshold() -> float:
    row = _health_settings()
    if row is not None:
        return row.risk_threshold
    threshold = getattr(settings, "CRM_HEALTH_RISK_THRESHOLD", None)
    return DEFAULT_HEALTH_RISK_THRESHOLD if threshold is None else threshold


def company_in(queryset: QuerySet) -> Q:
    """The company has a row in `queryset`, naming it or one of its contacts: two IN
    (subquery) tests whose subqueries run once each (a hashed set of companies), where an
    EXISTS per company read an index once per customer."""
    return Q(pk__in=queryset.filter(company__isnull=False).values("company")) | Q(
        pk__in=queryset.filter(contact__company__isnull=False).values("contact__company")
    )


def _per_company(source: QuerySet, *, via_contact: bool = False, **aggregates) -> QuerySet:
    """`aggregates` over `source` grouped by company (as `health_company`): the rows naming the
    company, or (via_contact) those naming one of its contacts and not the company itself, so
    a row naming both counts once."""
    if via_contact:
        rows = source.filter(contact__company__isnull=False).filter(
            Q(company__isnull=True)
            | Q(company__lt=F("contact__company"))
            | Q(company__gt=F("contact__company"))
        )
        key = F("contact__company")
    else:
        rows = source.filter(company__isnull=False)
        key = F("company")
    return rows.order_by().values(health_company=key).annotate(**aggregates)


def _join(companies: QuerySet, name: str, grouped: QuerySet, **columns) -> tuple[QuerySet, dict]:
    """`companies` left-joined to `grouped` (metrics.joins); {column: its expression}."""
    companies, alias = join_grouped(companies, grouped, key="health_company", name=name)
    return companies, {
        column: JoinedColumn(alias, column, field) for column, field in columns.items()
    }


def _zero_if_null(expression) -> Coalesce:
    return Coalesce(expression, Value(0))


def health_components(period: Period, companies: QuerySet) -> tuple[QuerySet, dict]:
    """Each component of the health score as a 0–100 SQL expression, as of the period end, on
    `companies` joined to one aggregate per source table grouped by company (activities and
    answers twice: naming the company, naming one of its contacts)."""
    as_of, since = period.end, period.end - HEALTH_WINDOW
    last_day = period.end_date
    year_ago = as_of - timedelta(days=365)
    count = IntegerField()
    activities = Activity.objects.filter(
        kind__in=ENGAGEMENT_KINDS, occurred_at__gte=since, occurred_at__lt=as_of
    )
    companies, direct_activities = _join(
        companies, "health_activities", _per_company(activities, rows=Count("pk")), rows=count
    )
    companies, contact_activities = _join(
        companies,
        "health_contact_activities",
        _per_company(activities, via_contact=True, rows=Count("pk")),
        rows=count,
    )
    # NPS 0–10 and CSAT 1–5 on one 0–100 scale.
    survey_points = Case(
        When(kind=SurveyKind.NPS, then=F("score") * 10),
        default=(F("score") - 1) * 25,
        output_field=IntegerField(),
    )
    answers = SurveyAnswer.objects.filter(
        kind__in=[SurveyKind.NPS, SurveyKind.CSAT], answered_at__gte=since, answered_at__lt=as_of
    )
    answer_aggregates = {"rows": Count("pk"), "points": Sum(survey_points)}
    companies, direct_answers = _join(
        companies,
        "health_answers",
        _per_company(answers, **answer_aggregates),
        rows=count,
        points=count,
    )
    companies, contact_answers = _join(
        companies,
        "health_contact_answers",
        _per_company(answers, via_contact=True, **answer_aggregates),
        rows=count,
        points=count,
    )
    open_ticket = Q(resolved_at__isnull=True) | Q(resolved_at__gte=as_of)
    recent_ticket = Q(created_at__gte=since)
    companies, tickets = _join(
        companies,
        "health_tickets",
        _per_company(
            Ticket.objects.filter(created_at__lt=as_of).filter(open_ticket | recent_ticket),
            open_tickets=Count("pk", filter=open_ticket),
            recent_tickets=Count("pk", filter=recent_ticket),
        ),
        open_tickets=count,
        recent_tickets=count,
    )
    companies, won = _join(
        companies,
        "health_won_deals",
        _per_company(
            Deal.objects.filter(
                status=DealStatus.WON, closed_at__gte=year_ago, closed_at__lt=as_of
            ),
            last_won=Max("closed_at"),
        ),
        last_won=DateTimeField(),
    )
    running = active_on(last_day)
    renewed_subscriptions = Subscription.objects.filter(renewal_of__isnull=False).values(
        "renewal_of"
    )
    companies, subscriptions = _join(
        companies,
        "health_subscriptions",
        _per_company(
            Subscription.objects.filter(start_date__lte=last_day).filter(
                Q(start_date__gt=year_ago.date()) | running
            ),
            last_start=Max("start_date"),
            # Cancelled, still running out its term.
            cancelled=Count(
                "pk",
                filter=running & Q(status=SubscriptionStatus.CANCELLED, cancelled_at__lt=as_of),
            ),
            going_on=Count(
                "pk",
                filter=running
                & (
                    Q(end_date__isnull=True)
                    | Q(end_date__gt=last_day + HEALTH_WINDOW)
                    # Renewed: a set of the renewed subscriptions, not a join of every row.
                    | Q(pk__in=renewed_subscriptions)
                ),
            ),
        ),
        last_start=DateField(),
        cancelled=count,
        going_on=count,
    )
    engagement_count = _zero_if_null(direct_activities["rows"]) + _zero_if_null(
        contact_activities["rows"]
    )
    answer_count = _zero_if_null(direct_answers["rows"]) + _zero_if_null(contact_answers["rows"])
    points_sum = _zero_if_null(direct_answers["points"]) + _zero_if_null(contact_answers["points"])
    survey_average = Cast(points_sum, FloatField()) / NullIf(
        Cast(answer_count, FloatField()), Value(0.0)
    )

    def bought_within(days: int) -> Q:
        cutoff = as_of - timedelta(days=days)
        return Q(GreaterThanOrEqual(won["last_won"], Value(cutoff))) | Q(
            GreaterThan(subscriptions["last_start"], Value(cutoff.date()))
        )

    components = {
        "engagement": Least(engagement_count * 25, Value(100)),
        # No answers in the window: neutral, neither reward nor penalty.
        "surveys": Coalesce(survey_average, Value(50.0)),
        "tickets": Greatest(
            Value(100)
            - _zero_if_null(tickets["open_tickets"]) * 25
            - _zero_if_null(tickets["recent_tickets"]) * 10,
            Value(0),
        ),
        "purchase_recency": Case(
            When(bought_within(90), then=Value(100)),
            When(bought_within(180), then=Value(70)),
            When(bought_within(365), then=Value(40)),
            default=Value(0),
        ),
        "renewal": Case(
            When(GreaterThan(subscriptions["cancelled"], Value(0)), then=Value(0)),
            When(GreaterThan(subscriptions["going_on"], Value(0)), then=Value(100)),
            # Up for renewal within the window and not renewed yet, or no subscription at all.
            default=Value(50),
        ),
    }
    return companies, components


def company_health_scores(period: Period) -> QuerySet:
    """Customers at the end of the period, annotated with `health_score` (0–100, weighted
    blend of the components) and `at_risk` (below CRM_HEALTH_RISK_THRESHOLD)."""
    companies, components = health_components(period, customers_at_end(period))
    return _scored(companies, components)


def stored_health_scores() -> QuerySet:
    """The customers the nightly run scored (metrics.CompanyHealth), annotated as
    `company_health_scores` is. Stored scores follow the weights of now: changing them
    rescores the stored rows (metrics.health.rescore_stored)."""
    from ..models import CompanyHealth

    return Company.objects.filter(health__isnull=False).annotate(
        **{f"health_{name}": F(f"health__{name}") for name in CompanyHealth.COMPONENTS},
        health_score=F("health__score"),
        at_risk=F("health__at_risk"),
        health_hundredths=_stored_hundredths("health__score"),
    )


def stored_health_rows() -> QuerySet:
    """The stored scores themselves, with the names the health KPI's aggregates read, one row
    per scored customer: the whole company's mean reads them without joining each to its
    company (a hundred thousand scores to 280k companies: 60-90 ms on the large seed)."""
    from ..models import CompanyHealth

    return CompanyHealth.objects.annotate(health_hundredths=_stored_hundredths("score"))


def _stored_hundredths(score: str):
    # Stored to two places: the float × 100 is a whole number but for the last bit, so
    # rounding it as a float is exact, with no decimal cast (Django's Round casts one; a
    # quarter of the read's time).
    return Cast(
        Func(F(score) * Value(100.0), function="ROUND", output_field=FloatField()),
        BigIntegerField(),
    )


def health_blend(components: dict):
    """The health score: the components (0–100 each) weighted by the installation's weights."""
    weights = health_weights()
    total_weight = sum(weights.values())
    return sum(
        (
            Cast(expression, FloatField()) * Value(float(weights[name]))
            for name, expression in components.items()
            if weights.get(name)
        ),
        Value(0.0),
    ) / Value(float(total_weight))


def _scored(companies: QuerySet, components: dict) -> QuerySet:
    return (
        companies.annotate(
            **{f"health_{name}": Cast(e, FloatField()) for name, e in components.items()}
        )
        .annotate(health_score=Cast(health_blend(components), FloatField()))
        .annotate(
            at_risk=flag(Q(health_score__lt=health_risk_threshold())),
            health_hundredths=score_in_hundredths("health_score"),
        )
    )


def stored_health_time(period: Period):
    """When the stored scores that tell `period`'s health were computed, or None when they
    do not tell it. They do for a period ending with the day they are as of (its day, or a
    month ending that day), and for a period still running once the nightly run scored
    yesterday: a running period's health is last night's, never recomputed per page view
    (scoring every customer takes seconds on a large installation)."""
    from ..models import CompanyHealth

    stored = CompanyHealth.objects.order_by().values_list("as_of", "computed_at").first()
    if stored is None:
        return None
    as_of, computed_at = stored
    end = timezone.localtime(period.end)
    if end.time() == time(0) and period.end_date == as_of:
        return computed_at
    yesterday = timezone.localdate() - timedelta(days=1)
    if period.end > timezone.now() and as_of >= yesterday:
        return computed_at
    return None


def health_scores(period: Period) -> QuerySet:
    """The health KPI's records: the stored scores where they tell the period, else every
    customer scored from the records."""
    if stored_health_time(period) is not None:
        return stored_health_scores()
    return company_health_scores(period)


_SCORE_EXACT = DecimalField(max_digits=12, decimal_places=6)


def score_to_two_places(expression):
    """A health score as it is stored and shown: to two places, rounded from its decimal."""
    return Round(Cast(expression, _SCORE_EXACT), 2)


def score_in_hundredths(expression):
    """A health score to two places (as stored), in hundredths: a whole number, so the sums
    of any parts add up to the whole's to the last digit (sums of floats may not), and the
    mean is that of the scores each customer shows."""
    return Cast(Round(Cast(expression, _SCORE_EXACT) * Value(100)), BigIntegerField())


def _health_combine(row: dict) -> Result:
    if not row["scored"]:
        return Result(None, to_decimal(row["at_risk_count"]), Decimal(0))
    return Result(
        rounded(Decimal(row["hundredths"]) / row["scored"] / 100),
        to_decimal(row["at_risk_count"]),
        to_decimal(row["scored"]),
    )


register(
    KPI(
        key="health_score",
        label=_("Customer health score"),
        description=_(
            "Mean health score (0–100) of customers at the end of the period: a weighted blend "
            "(CRM_HEALTH_WEIGHTS) of engagement activities, NPS/CSAT answers, open and recent "
            "tickets, purchase recency and renewal status over the last 90 days. Numerator: "
            "customers below the risk threshold (CRM_HEALTH_RISK_THRESHOLD); denominator: "
            "customers scored."
        ),
        unit="score",
        higher_is_better=True,
        records=health_scores,
        stored_at=stored_health_time,
        stored_rows=stored_health_rows,
        aggregates=lambda period: {
            "hundredths": Sum("health_hundredths"),
            "at_risk_count": Count("pk", filter=Q(at_risk=True)),
            "scored": Count("pk"),
        },
        combine=_health_combine,
        segments=COMPANY_SEGMENTS,
        numerator_filter=Q(at_risk=True),
        counts_records=True,
        group="retention",
        as_of_end=True,
    )
)
