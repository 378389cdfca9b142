"""Reading the numbers a goal needs, without writing anything: KPI values through the registry,
shares of tasks done, the weighted open pipeline, and the roll-up of a tree held in memory.
goals.services stores what these return."""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, Sum
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from crm.models import Deal, DealKind, TaskStatus
from metrics.numbers import Reader
from metrics.periods import Period, custom_period, local_midnight, period_for
from metrics.registry import Segment, get_kpi

from .forecast import capped, health_for, run_rate_forecast
from .models import Direction, Goal, Target, TargetKind, TargetProgress
from .progress import HUNDRED, one_place, target_progress, weighted_mean

# KPIs that add up over a period (a count of events, money won): they start each period at
# zero and a team's target splits between its members. The others are levels or ratios.
ACCUMULATING_KPIS = {"logins", "active_users", "deals_won_count", "net_new_revenue"}
# Revenue-type KPIs: the open pipeline expected to close in the period adds to their forecast.
REVENUE_KPIS = {"net_new_revenue"}
RUN_RATE_DAYS = 28
WEIGHTED_AMOUNT = ExpressionWrapper(
    F("amount") * F("exchange_rate") * F("stage__probability"),
    output_field=DecimalField(max_digits=32, decimal_places=8),
)


def is_additive(target: Target) -> bool:
    """A value that splits between a team's members (a share of the team's number)."""
    if target.kind in (TargetKind.NUMBER, TargetKind.MONEY):
        return True
    return target.kind == TargetKind.KPI and target.kpi_key in ACCUMULATING_KPIS


def previous_period(goal: Goal) -> Period:
    if goal.grain in ("month", "quarter", "year"):
        previous = period_for(goal.grain, goal.start_date).previous()
        return custom_period(previous.start_date, previous.end_date)
    length = goal.end_date - goal.start_date
    last = goal.start_date - timedelta(days=1)
    return custom_period(last - length, last)


class KPICache:
    """KPI values asked for in one pass, so twenty goals on the same numbers query once. A
    value is read as the KPI page reads it (metrics.numbers: live, cached until a record
    changes), so a goal stores and shows the number its KPI link opens on."""

    def __init__(self, reader: Reader | None = None):
        self.values: dict[tuple, Decimal | None] = {}
        self.reader = reader or Reader()

    def value(self, key: str, period: Period, segment: Segment) -> Decimal | None:
        cache_key = (key, period.start, period.end, segment.field, segment.value)
        if cache_key not in self.values:
            self.values[cache_key] = self.reader.result(get_kpi(key), period, segment).value
        return self.values[cache_key]

    def prefetch(self, wanted: list[tuple[str, Period, Segment]]) -> None:
        """Many people's (or teams') goals on one KPI and period: one breakdown query by the
        segment instead of one query each. The breakdown is the same aggregate grouped by the
        segment, so each value is the one `value()` gives; a value with no records gets the
        KPI over no records, asked once."""
        groups: dict[tuple, set[str]] = {}
        for key, period, segment in wanted:
            if not segment.is_all and get_kpi(key).compute is None:
                groups.setdefault((key, period, segment.field), set()).add(segment.value)
        for (key, period, field_name), values in groups.items():
            if len(values) < 2:
                continue
            breakdown = get_kpi(key).breakdown(period, field_name)
            empty = None
            for value in values:
                if value in breakdown:
                    result = breakdown[value].value
                else:
                    if empty is None:
                        empty = self._empty(key, period, field_name)
                    result = empty
                self.values[(key, period.start, period.end, field_name, value)] = result

    @staticmethod
    def _empty(key: str, period: Period, field_name: str) -> Decimal | None:
        # A segment value no record has: the aggregate over zero rows, computed by the database.
        return get_kpi(key).value(period, Segment(field_name, "-1")).value


def kpi_period(target: Target, as_of: date) -> Period:
    """Today and later read the whole period, exactly as `manage.py kpi --from --to` does; an
    earlier day (the history of a backfill) reads the period up to that day."""
    goal = target.goal
    if as_of >= timezone.localdate():
        return goal.period
    return custom_period(goal.start_date, min(goal.end_date, max(as_of, goal.start_date)))


def task_shares(target_ids: list[int], day: date) -> dict[int, Decimal]:
    """Per target: the percentage of its linked tasks done by the end of `day` (cancelled ones
    do not count)."""
    through = Target.tasks.through
    done = Q(
        task__status=TaskStatus.DONE,
        task__completed_at__lt=local_midnight(day + timedelta(days=1)),
    )
    rows = (
        through.objects.filter(target_id__in=target_ids)
        .exclude(task__status=TaskStatus.CANCELLED)
        .values("target_id")
        .annotate(total=Count("id"), done=Count("id", filter=done))
    )
    return {
        row["target_id"]: one_place(Decimal(row["done"]) * HUNDRED / row["total"])
        for row in rows
        if row["total"]
    }


def weighted_pipeline(goal: Goal, segment: Segment, day: date) -> Decimal:
    """Open new-business deals expected to close from `day` to the period's end, each amount
    times its stage's probability: what the pipeline should still add to revenue won."""
    deals = Deal.objects.open().filter(
        kind=DealKind.NEW_BUSINESS,
        expected_close_date__gte=day,
        expected_close_date__lte=goal.end_date,
    )
    if not segment.is_all:
        deals = deals.filter(**{f"{segment.field}_id": segment.value})
    total = deals.aggregate(total=Sum(WEIGHTED_AMOUNT))["total"]
    return (Decimal(total) / HUNDRED).quantize(Decimal("0.01")) if total else Decimal(0)


@dataclass
class TargetNumbers:
    current: Decimal | None
    progress: Decimal | None
    forecast_value: Decimal | None = None
    forecast_progress: Decimal | None = None
    pipeline_progress: Decimal | None = None


def current_value(
    target: Target, *, as_of: date, kpis: KPICache, shares: dict[int, Decimal]
) -> Decimal | None:
    if target.kind == TargetKind.KPI:
        return kpis.value(target.kpi_key, kpi_period(target, as_of), target.segment)
    if target.kind == TargetKind.MILESTONE:
        return Decimal(1) if target.done_at and target.done_at.date() <= as_of else Decimal(0)
    if target.kind == TargetKind.TASKS:
        return shares.get(target.pk, Decimal(0))
    return target.current_value


def bounds(target: Target) -> tuple[Decimal | None, Decimal | None]:
    if target.kind == TargetKind.MILESTONE:
        return Decimal(0), Decimal(1)
    if target.kind == TargetKind.TASKS:
        return Decimal(0), HUNDRED
    return target.start_value, target.target_value


def progress_of(target: Target, value: Decimal | None, *, upper=HUNDRED) -> Decimal | None:
    start, goal_value = bounds(target)
    direction = Direction.INCREASE if target.kind in ("milestone", "tasks") else target.direction
    return target_progress(
        current=value,
        start=start,
        target=goal_value,
        direction=direction,
        band=(target.band_low, target.band_high),
        upper=upper,
    )


def target_numbers(
    target: Target,
    *,
    day: date,
    kpis: KPICache,
    shares: dict[int, Decimal],
    history: list[tuple[date, Decimal]],
) -> TargetNumbers:
    value = current_value(target, as_of=day, kpis=kpis, shares=shares)
    numbers = TargetNumbers(current=value, progress=progress_of(target, value))
    if value is None:
        return numbers
    goal = target.goal
    if target.kind == TargetKind.MILESTONE:
        numbers.forecast_value = value
    else:
        points = [(d, v) for d, v in history if d < day] + [(day, value)]
        if len(points) == 1:
            # No history yet: the straight line from the period's start to today.
            points.insert(0, (goal.start_date - timedelta(days=1), bounds(target)[0] or 0))
        numbers.forecast_value = run_rate_forecast(points, goal.end_date)
    numbers.forecast_progress = capped(progress_of(target, numbers.forecast_value, upper=999))
    if target.kind == TargetKind.KPI and target.kpi_key in REVENUE_KPIS:
        start, goal_value = bounds(target)
        if start is not None and goal_value and goal_value != start and day <= goal.end_date:
            added = weighted_pipeline(goal, target.segment, day)
            numbers.pipeline_progress = capped(added / (goal_value - start) * HUNDRED)
    return numbers


def histories(target_ids: list[int], day: date) -> dict[int, list[tuple[date, Decimal]]]:
    """The daily values of the last weeks per target, for the run-rate (one query)."""
    rows = TargetProgress.objects.filter(
        target_id__in=target_ids, day__gte=day - timedelta(days=RUN_RATE_DAYS), day__lt=day
    ).values_list("target_id", "day", "value")
    found: dict[int, list[tuple[date, Decimal]]] = {}
    for target_id, row_day, value in rows.order_by("day"):
        if value is not None:
            found.setdefault(target_id, []).append((row_day, value))
    return found


# Roll-up ---------------------------------------------------------------------------------


@dataclass
class Node:
    id: int
    parent_id: int | None
    weight: Decimal
    status: str
    start_date: date
    end_date: date
    # (weight, progress, forecast, pipeline) of each target.
    targets: list[tuple] = field(default_factory=list)
    children: list["Node"] = field(default_factory=list)
    progress: Decimal | None = None
    forecast: Decimal | None = None
    pipeline: Decimal | None = None


def rollup(nodes: dict[int, Node]) -> None:
    """Goal progress = weighted mean of its targets and its child goals, bottom-up."""
    for node in nodes.values():
        parent = nodes.get(node.parent_id)
        if parent is not None:
            parent.children.append(node)
    done: set[int] = set()
    for node in nodes.values():
        _roll(node, done)


def _roll(node: Node, done: set[int]) -> None:
    if node.id in done:
        return
    done.add(node.id)
    for child in node.children:
        _roll(child, done)
    children = [c for c in node.children if c.status != "draft"]
    parts = [(t[0], t[1], t[2], t[3]) for t in node.targets] + [
        (c.weight, c.progress, c.forecast, c.pipeline) for c in children
    ]
    node.progress = weighted_mean((w, p) for w, p, _f, _pl in parts)
    node.forecast = weighted_mean((w, f) for w, _p, f, _pl in parts)
    with_forecast = [(w, pl or 0) for w, _p, f, pl in parts if f is not None]
    pipeline = weighted_mean(with_forecast)
    node.pipeline = pipeline if pipeline else None


def health(node: Node, day: date) -> str:
    if node.forecast is None:
        return ""
    expected = node.forecast + (node.pipeline or 0)
    return health_for(expected, (min(day, node.end_date) - node.start_date).days + 1)


def explanation(*, forecast: Decimal | None, pipeline: Decimal | None, end: date) -> str:
    """The status in one sentence, e.g. "At the current pace 84 % of target by 31 Dec;
    weighted pipeline adds 9 %."."""
    if forecast is None:
        return _("Not enough history for a forecast yet.")
    sentence = _("At the current pace %(share)s %% of target by %(end)s") % {
        "share": f"{forecast:.0f}",
        "end": date_format(end, "SHORT_DATE_FORMAT"),
    }
    if pipeline:
        sentence += _("; weighted pipeline adds %(share)s %%") % {"share": f"{pipeline:.0f}"}
    return sentence + "."
