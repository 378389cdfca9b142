"""Sales KPIs of KPIS.md: pipeline, win rate, stage velocity, cycle, leads, revenue per deal.

Conventions shared by the definitions below:
- Ratios (percentages, mean durations, APV) are "no data" when their denominator is empty.
- Sums and counts (pipeline value, net new revenue, deals won) over no records are a real 0.
  Their numerator is the value and their denominator the number of records behind it, so the
  drill-down count always matches one of the two.
- Money is amount × exchange rate: the amount in the installation's currency.
- A list "as of" the end of a period reads each deal as it was then: open from its creation
  to its closing (`created_at`, `closed_at`), in the stage its stage history has for that
  moment (`stage_probability_at`), never its status or stage today.
- Durations are timestamp differences summed in SQL. PostgreSQL returns an interval and SQLite
  microseconds, which Django's DurationField converter turns into a timedelta; `duration_seconds`
  accepts either, so both databases give the same number.
"""

from datetime import timedelta
from decimal import Decimal

from django.db.models import (
    Avg,
    Count,
    DecimalField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import Deal, DealKind, DealStageChange, DealStatus, Lead

from ..periods import Period
from ..registry import (
    ALL,
    KPI,
    Bands,
    Result,
    Segment,
    duration_seconds,
    ratio,
    register,
    rounded,
    to_decimal,
)
from .revenue import customers_at_start, flag

HOUR = Decimal(3600)
DAY = Decimal(86400)
MONEY = DecimalField(max_digits=32, decimal_places=8)
REVENUE = ExpressionWrapper(F("amount") * F("exchange_rate"), output_field=MONEY)
# Amount × rate × the probability (0–100) of the stage the deal was in at the period's end,
# annotated by `deals_open_at_end_weighted`; `_weighted_total` divides by 100 afterwards,
# because SQLite divides integers as integers (3 × 50 / 100 = 1).
WEIGHTED_REVENUE = ExpressionWrapper(
    F("amount") * F("exchange_rate") * F("probability_at_end"), output_field=MONEY
)
# From the deal's creation, or its source lead's when it came from one, to its closing.
# The source lead's creation read per deal through its primary key: a join made PostgreSQL
# hash every lead (600k on the large seed) to find a month's 29k won deals' leads.
SOURCE_LEAD_CREATED = Subquery(
    Lead.objects.filter(pk=OuterRef("source_lead_id")).values("created_at")[:1]
)
SALES_CYCLE = ExpressionWrapper(
    F("closed_at") - Coalesce(SOURCE_LEAD_CREATED, "created_at"),
    output_field=DurationField(),
)
RESPONSE_TIME = ExpressionWrapper(
    F("first_response_at") - F("created_at"), output_field=DurationField()
)
# A lead converts when a deal it produced is won, whenever that happens (a cohort measure):
# the deal recorded at conversion or any deal naming it as its source lead.
LEAD_WON = Q(
    Exists(
        Deal.objects.won().filter(Q(source_lead=OuterRef("pk")) | Q(pk=OuterRef("converted_deal")))
    )
)

DEAL_SEGMENTS = {
    "owner": "owner",
    "team": "team",
    "lead_source": "source_lead__source",
    "pipeline": "pipeline",
    "deal_kind": "kind",
    "industry": "company__industry",
    "company_size": "company__size_band",
    "custom": "custom",
}
STAGE_EXIT_SEGMENTS = {
    "stage": "from_stage",
    **{key: f"deal__{path}" for key, path in DEAL_SEGMENTS.items()},
}
LEAD_SEGMENTS = {"owner": "owner", "team": "team", "lead_source": "source", "custom": "custom"}
CUSTOMER_SEGMENTS = {
    "owner": "owner",
    "team": "team",
    "industry": "industry",
    "company_size": "size_band",
    "custom": "custom",
}


# Records -------------------------------------------------------------------------------


def _during(period: Period, field: str) -> Q:
    return Q(**{f"{field}__gte": period.start, f"{field}__lt": period.end})


def deals_open_at_end(period: Period) -> QuerySet:
    """Deals open when the period ended, including those closed since."""
    return Deal.objects.filter(created_at__lt=period.end).filter(
        Q(closed_at__isnull=True) | Q(closed_at__gte=period.end)
    )


def deals_open_at_end_apart(period: Period) -> tuple[QuerySet, QuerySet]:
    """`deals_open_at_end` as two querysets with no deal in both: those open now (status open,
    which the table's constraint ties to having no closing time) and those closed since the
    period ended. Each is one index's range; together, an OR that PostgreSQL can only read
    through the table (100-150 ms on a million deals against 14 ms for the open ones alone
    from their covering index, crm 0038)."""
    created = Deal.objects.filter(created_at__lt=period.end)
    return (
        created.filter(status=DealStatus.OPEN),
        created.filter(status__in=[DealStatus.WON, DealStatus.LOST], closed_at__gte=period.end),
    )


def stage_probability_at(moment) -> Coalesce:
    """The probability of the stage a deal was in at `moment`, from its stage history: the
    stage of its last move before `moment`; without one, the stage its first later move left
    (history recorded only from then on); without any history, its current stage."""
    changes = DealStageChange.objects.filter(deal=OuterRef("pk"))
    entered = (
        changes.filter(changed_at__lt=moment)
        .order_by("-changed_at", "-id")
        .values("to_stage__probability")[:1]
    )
    left = (
        changes.filter(changed_at__gte=moment, from_stage__isnull=False)
        .order_by("changed_at", "id")
        .values("from_stage__probability")[:1]
    )
    return Coalesce(
        Subquery(entered), Subquery(left), F("stage__probability"), output_field=IntegerField()
    )


def deals_open_at_end_weighted(period: Period) -> QuerySet:
    """The deals open at the end of the period, each with `probability_at_end`. While the
    period runs, the stage a deal will be in at its end is the stage it is in now: no history
    to read (two subqueries per open deal, seconds on a large installation)."""
    return _with_probability_at_end(deals_open_at_end(period), period)


def deals_open_at_end_weighted_apart(period: Period) -> list[QuerySet]:
    """`deals_open_at_end_weighted` as the two sets of `deals_open_at_end_apart`."""
    return [_with_probability_at_end(deals, period) for deals in deals_open_at_end_apart(period)]


def _with_probability_at_end(deals: QuerySet, period: Period) -> QuerySet:
    if period.end > timezone.now():
        probability = F("stage__probability")
    else:
        probability = stage_probability_at(period.end)
    return deals.annotate(probability_at_end=probability)


def deals_closed_in(period: Period) -> QuerySet:
    return Deal.objects.filter(
        _during(period, "closed_at"), status__in=[DealStatus.WON, DealStatus.LOST]
    )


def deals_won_in(period: Period) -> QuerySet:
    return Deal.objects.won().filter(_during(period, "closed_at"))


def stage_exits_in(period: Period) -> QuerySet:
    return DealStageChange.objects.filter(
        _during(period, "changed_at"), from_stage__isnull=False, seconds_in_from_stage__isnull=False
    )


def leads_created_in(period: Period) -> QuerySet:
    return Lead.objects.filter(_during(period, "created_at"))


def _customers_with_won(kind: str):
    """Customers at period start, flagged when they won a deal of `kind` during the period."""

    def records(period: Period) -> QuerySet:
        # One set of the companies that won, where an EXISTS per customer read an index once
        # per customer (a hundred thousand of them on the large seed).
        won = deals_won_in(period).filter(kind=kind, company__isnull=False).values("company")
        return customers_at_start(period).annotate(won_in_period=flag(Q(pk__in=won)))

    return records


# Aggregates and how they combine --------------------------------------------------------


def _money(expression):
    return lambda period: {"total": Sum(expression), "records": Count("id")}


def _share(hits: Q):
    return lambda period: {"hits": Count("id", filter=hits), "records": Count("id")}


def _count(period: Period) -> dict:
    return {"records": Count("id")}


def _duration(expression):
    return lambda period: {"duration": Sum(expression), "records": Count("id")}


def _total(row: dict) -> Result:
    total = rounded(to_decimal(row["total"]) or Decimal(0), 2)
    return Result(total, total, to_decimal(row["records"]))


def _weighted_total(row: dict) -> Result:
    return _total({**row, "total": (to_decimal(row["total"]) or Decimal(0)) / 100})


def _tally(row: dict) -> Result:
    count = to_decimal(row["records"])
    return Result(count, count, None)


def _percent(row: dict) -> Result:
    return ratio(row["hits"], row["records"], scale=100)


def _mean_money(row: dict) -> Result:
    result = ratio(rounded(to_decimal(row["total"]), 2), row["records"])
    return Result(rounded(result.value, 2), result.numerator, result.denominator)


def _mean_duration(unit: Decimal, seconds_of=duration_seconds):
    """Mean of the summed durations in `unit`; the numerator is the total in that unit."""

    def combine(row: dict) -> Result:
        seconds = seconds_of(row["duration"])
        return ratio(rounded(seconds / unit) if seconds is not None else None, row["records"])

    return combine


def _segmented(kpi: KPI, queryset: QuerySet, segment: Segment) -> QuerySet:
    if segment.is_all:
        return queryset
    return queryset.filter(**{kpi.segment_path(segment.field): segment.value})


# Pipeline -------------------------------------------------------------------------------

PIPELINE_VALUE = register(
    KPI(
        key="pipeline_value",
        label=_("Pipeline value"),
        description=_(
            "Sum of the amounts of the deals open at the end of the period, including deals "
            "closed since, in the installation's currency."
        ),
        unit="money",
        higher_is_better=True,
        records=deals_open_at_end,
        records_apart=deals_open_at_end_apart,
        aggregates=_money(REVENUE),
        combine=_total,
        segments=DEAL_SEGMENTS,
        as_of_end=True,
    )
)

WEIGHTED_PIPELINE_VALUE = register(
    KPI(
        key="weighted_pipeline_value",
        label=_("Weighted pipeline value"),
        description=_(
            "Sum of amount × win probability of the deals open at the end of the period (the "
            "deals of the pipeline value). The probability is that of the stage each deal was "
            "in at the end of the period, read from its stage history, not of its stage today: "
            "a deal won or lost since counts at the probability it had then."
        ),
        unit="money",
        higher_is_better=True,
        records=deals_open_at_end_weighted,
        records_apart=deals_open_at_end_weighted_apart,
        aggregates=_money(WEIGHTED_REVENUE),
        combine=_weighted_total,
        segments=DEAL_SEGMENTS,
        as_of_end=True,
    )
)

WIN_RATE = register(
    KPI(
        key="win_rate",
        label=_("Win rate"),
        description=_("Deals won ÷ deals closed (won or lost) in the period × 100."),
        unit="percent",
        higher_is_better=True,
        records=deals_closed_in,
        aggregates=_share(Q(status=DealStatus.WON)),
        combine=_percent,
        segments=DEAL_SEGMENTS,
        numerator_filter=Q(status=DealStatus.WON),
        counts_records=True,
    )
)

DEAL_VELOCITY = register(
    KPI(
        key="deal_velocity",
        label=_("Stage velocity"),
        description=_(
            "Mean days deals spent in a stage, over the moves out of a stage made in the "
            "period. Break it down by stage to find the bottleneck, the slowest stage."
        ),
        unit="days",
        higher_is_better=False,
        records=stage_exits_in,
        settles_by="changed_at",
        aggregates=lambda period: {
            "duration": Sum("seconds_in_from_stage"),
            "records": Count("id"),
        },
        combine=_mean_duration(DAY, seconds_of=to_decimal),
        segments=STAGE_EXIT_SEGMENTS,
    )
)


def bottleneck_stage(period: Period, segment: Segment = ALL) -> tuple[int, Result] | None:
    """The stage deals left most slowly in the period, and its velocity; None without exits."""
    row = (
        DEAL_VELOCITY.segmented_records(period, segment)
        .order_by()
        .values("from_stage")
        .annotate(**DEAL_VELOCITY.aggregates(period), mean=Avg("seconds_in_from_stage"))
        .order_by("-mean", "from_stage")
        .first()
    )
    if row is None:
        return None
    stage_id = row.pop("from_stage")
    row.pop("mean")
    return stage_id, DEAL_VELOCITY.combine(row)


# Closing --------------------------------------------------------------------------------

SALES_CYCLE_DAYS = register(
    KPI(
        key="sales_cycle_days",
        label=_("Sales cycle length"),
        description=_(
            "Mean days from a deal's creation (or its source lead's creation) to its closing, "
            "over the deals won in the period."
        ),
        unit="days",
        higher_is_better=False,
        records=deals_won_in,
        aggregates=_duration(SALES_CYCLE),
        combine=_mean_duration(DAY),
        segments=DEAL_SEGMENTS,
        bands=Bands(typical=(90, 180)),
    )
)


def sales_cycle_median_days(period: Period, segment: Segment = ALL) -> Result:
    """Median of the same cycles, read in SQL: sort by length, take the middle row(s)."""
    deals = SALES_CYCLE_DAYS.segmented_records(period, segment)
    count = deals.count()
    if not count:
        return Result(None, None, Decimal(0))
    # One middle row for an odd count, the two middle rows (averaged) for an even one.
    middle, even = divmod(count - 1, 2)
    cycles = (
        deals.annotate(cycle=SALES_CYCLE)
        .order_by("cycle", "pk")
        .values_list("cycle", flat=True)[middle : middle + 1 + even]
    )
    seconds = [duration_seconds(cycle) for cycle in cycles]
    return Result(rounded(sum(seconds) / len(seconds) / DAY), None, Decimal(count))


DEALS_WON_COUNT = register(
    KPI(
        key="deals_won_count",
        label=_("Deals won"),
        description=_("Number of deals won in the period."),
        unit="count",
        higher_is_better=True,
        records=deals_won_in,
        aggregates=_count,
        combine=_tally,
        segments=DEAL_SEGMENTS,
    )
)

APV = register(
    KPI(
        key="apv",
        label=_("Average purchase value"),
        description=_("Revenue of the deals won in the period ÷ the number of those deals."),
        unit="money",
        higher_is_better=True,
        records=deals_won_in,
        aggregates=_money(REVENUE),
        combine=_mean_money,
        segments=DEAL_SEGMENTS,
    )
)

NET_NEW_REVENUE = register(
    KPI(
        key="net_new_revenue",
        label=_("Net new revenue"),
        description=_(
            "Revenue won in the period from new-business deals only (renewals, upsells and "
            "cross-sells excluded)."
        ),
        unit="money",
        higher_is_better=True,
        records=lambda period: deals_won_in(period).filter(kind=DealKind.NEW_BUSINESS),
        aggregates=_money(REVENUE),
        combine=_total,
        segments={key: path for key, path in DEAL_SEGMENTS.items() if key != "deal_kind"},
    )
)


# Leads ----------------------------------------------------------------------------------

LEAD_CONVERSION_RATE = register(
    KPI(
        key="lead_conversion_rate",
        label=_("Lead conversion rate"),
        description=_(
            "Of the leads created in the period, the share that became a customer: a deal "
            "converted from the lead, or naming it as source, has been won (at any time so far)."
        ),
        unit="percent",
        higher_is_better=True,
        records=leads_created_in,
        aggregates=_share(LEAD_WON),
        combine=_percent,
        segments=LEAD_SEGMENTS,
        counts_records=True,
        numerator_filter=LEAD_WON,
        bands=Bands(typical=(2, 5), good=(5, 10), exceptional=(10, None)),
    )
)

LEAD_QUALIFICATION_RATE = register(
    KPI(
        key="lead_qualification_rate",
        label=_("Lead qualification rate"),
        description=_("Of the leads created in the period, the share that has been qualified."),
        unit="percent",
        higher_is_better=True,
        records=leads_created_in,
        aggregates=_share(Q(qualified_at__isnull=False)),
        combine=_percent,
        segments=LEAD_SEGMENTS,
        counts_records=True,
        numerator_filter=Q(qualified_at__isnull=False),
    )
)

LEAD_RESPONSE_HOURS = register(
    KPI(
        key="lead_response_hours",
        label=_("Lead response time"),
        description=_(
            "Mean hours from a lead's creation to the first outbound activity on it, over the "
            "leads created in the period that have been answered."
        ),
        unit="hours",
        higher_is_better=False,
        records=lambda period: leads_created_in(period).filter(first_response_at__isnull=False),
        aggregates=_duration(RESPONSE_TIME),
        combine=_mean_duration(HOUR),
        segments=LEAD_SEGMENTS,
        bands=Bands(good=(None, 24), exceptional=(None, 1)),
    )
)


def lead_response_within_sla(
    period: Period, segment: Segment = ALL, hours: int = 24, *, now=None
) -> Result:
    """% of the leads created in the period answered within `hours`.

    An unanswered lead is a miss once its `hours` have run out; until then it is left out.
    """
    limit = timedelta(hours=hours)
    deadline_passed = (now or timezone.now()) - limit
    leads = _segmented(LEAD_RESPONSE_HOURS, leads_created_in(period), segment).exclude(
        first_response_at__isnull=True, created_at__gt=deadline_passed
    )
    within = Q(first_response_at__lte=F("created_at") + limit)
    return _percent(leads.aggregate(**_share(within)(period)))


# Existing customers ---------------------------------------------------------------------


def _expansion_rate(key: str, label, description, kind: str) -> KPI:
    return register(
        KPI(
            key=key,
            label=label,
            description=description,
            unit="percent",
            higher_is_better=True,
            records=_customers_with_won(kind),
            aggregates=_share(Q(won_in_period=True)),
            combine=_percent,
            segments=CUSTOMER_SEGMENTS,
            numerator_filter=Q(won_in_period=True),
            counts_records=True,
        )
    )


UPSELL_RATE = _expansion_rate(
    "upsell_rate",
    _("Upsell rate"),
    _(
        "Customers with at least one won upsell deal in the period ÷ customers at the start "
        "of the period × 100."
    ),
    DealKind.UPSELL,
)
CROSS_SELL_RATE = _expansion_rate(
    "cross_sell_rate",
    _("Cross-sell rate"),
    _(
        "Customers with at least one won cross-sell deal in the period ÷ customers at the "
        "start of the period × 100."
    ),
    DealKind.CROSS_SELL,
)
