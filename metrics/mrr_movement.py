"""MRR movement per month: new MRR (a customer's first subscription), expansion (further
subscriptions of existing customers, renewals excluded) and churn (subscriptions that ended
without a renewal).

The nightly run stores each month's movement beside the month's KPI snapshots, overall and per
owner and team, as rows of the keys MOVE_KEYS (metrics.fill.write_period); the chart reads a
month that is over from them, as any closed period is read, and counts from the subscriptions
only a month not stored (or a segment not stored) and the month still running. Counting the
eleven months over took two scans of 414k subscriptions (250 ms) on each first view.
"""

from datetime import date
from decimal import Decimal

from django.db.models import Exists, OuterRef, QuerySet, Sum
from django.db.models.functions import TruncMonth

from crm.models import Subscription

from .periods import Period, month_start
from .registry import REGISTRY, Result, Segment

MOVES = ("new", "expansion", "churn")
# The stored rows' KPI column: not KPIs of the registry, the chart's series.
MOVE_KEYS = {name: f"mrr_movement_{name}" for name in MOVES}

Moves = dict[str, dict[date, Decimal]]


def _subscriptions(segment: Segment) -> QuerySet:
    if segment.is_all:
        return Subscription.objects.all()
    path = REGISTRY["mrr"].segment_path(segment.field)
    return Subscription.objects.filter(**{path: segment.value})


def counted(first: date, last: date, segment: Segment) -> Moves:
    """New, expansion and churn MRR per month start, of the months from `first` to `last`,
    counted from the subscriptions."""
    return _counted_by(first, last, _subscriptions(segment), None).get(None, no_moves())


def no_moves() -> Moves:
    return {name: {} for name in MOVES}


def _counted_by(first: date, last: date, subscriptions: QuerySet, path: str | None):
    """{value of `path` (None without one): moves} of the months from `first` to `last`."""
    group = ["month", *([path] if path else [])]
    earlier = Subscription.objects.filter(
        company=OuterRef("company"), start_date__lt=OuterRef("start_date")
    )
    # One test of an earlier subscription per row, named once: a filter on the annotation in
    # each sum ran the subquery twice per subscription (new = all − expansion).
    starts = (
        subscriptions.filter(start_date__gte=first, start_date__lte=last, renewal_of__isnull=True)
        .annotate(month=TruncMonth("start_date"))
        .order_by()
        .values(*group)
        .annotate(
            started=Sum("monthly_value"),
            expansion=Sum("monthly_value", filter=Exists(earlier)),
        )
    )
    # NOT EXISTS, not `renewal__isnull`: the outer join read and hashed every subscription
    # where the anti-join probes the renewals' unique index for the month's endings alone.
    renewed = Subscription.objects.filter(renewal_of=OuterRef("pk"))
    ends = (
        subscriptions.filter(end_date__gte=first, end_date__lte=last)
        .filter(~Exists(renewed))
        .annotate(month=TruncMonth("end_date"))
        .order_by()
        .values(*group)
        .annotate(churn=Sum("monthly_value"))
    )
    found: dict = {}
    for row in starts:
        moves = found.setdefault(row[path] if path else None, no_moves())
        month = month_start(row["month"])
        new = (row["started"] or 0) - (row["expansion"] or 0)
        if new:
            moves["new"][month] = new
        if row["expansion"]:
            moves["expansion"][month] = row["expansion"]
    for row in ends:
        moves = found.setdefault(row[path] if path else None, no_moves())
        if row["churn"]:
            moves["churn"][month_start(row["month"])] = row["churn"]
    return found


def results_to_store(month: Period, segment_fields: list[str]) -> dict[str, dict]:
    """The month's movement as snapshot results, {move key: {(segment field, value):
    Result}}: overall (always, zero included, so a stored month is known) and per value of
    each segment field with any movement."""
    mrr = REGISTRY["mrr"]
    results = {key: {} for key in MOVE_KEYS.values()}
    overall = counted(month.start_date, month.end_date, Segment())
    for name, key in MOVE_KEYS.items():
        results[key][("", "")] = Result(overall[name].get(month.start_date, Decimal(0)))
    for field in segment_fields:
        path = mrr.segment_path(field)
        by_value = _counted_by(month.start_date, month.end_date, Subscription.objects.all(), path)
        for value, moves in by_value.items():
            if value is None:
                continue  # no owner or team: in the overall row only
            for name, key in MOVE_KEYS.items():
                results[key][(field, str(value))] = Result(
                    moves[name].get(month.start_date, Decimal(0))
                )
    return results


def stored(months: list[Period], segment: Segment) -> tuple[Moves, set[date]]:
    """The stored movement of `months` for `segment` (overall, an owner or a team), and the
    starts of the months stored: those whose overall rows a finished fill wrote. A segment
    without a row in a stored month had no movement."""
    from .models import KPISnapshot
    from .numbers import readable_snapshots

    starts = [month.start_date for month in months]
    rows = readable_snapshots(
        KPISnapshot.objects.filter(
            kpi__in=MOVE_KEYS.values(),
            grain="month",
            period_start__in=starts,
            segment_field__in={"", segment.field},
        )
    ).values_list("kpi", "period_start", "segment_field", "segment_value", "value")
    moves, found = no_moves(), set()
    names = {key: name for name, key in MOVE_KEYS.items()}
    for key, start, field, value_of, value in rows:
        if not field:
            found.add(start)
        if (field, value_of) == (segment.field, segment.value) and value:
            moves[names[key]][start] = value
    return moves, found
