"""JSON for the charts: built here from snapshot rows and aggregate queries, drawn by
static/js/charts.js. Templates only pass the payload to `json_script`.

A payload is {"type", "title", "labels", "datasets": [{"label", "data"}], "unit", "y"}, plus
"unavailable" when the segment does not apply to the chart's records and "empty" when there
is nothing to draw. "y" sets the value axis: bars, percentages, counts and durations start
at zero (a win rate drawn from 35 % makes 40 look like twice 37). A doughnut names its rings,
outside in, in "rings".
"""

from datetime import date, timedelta
from decimal import Decimal

from babel.dates import format_skeleton
from django.core.cache import cache
from django.db.models import Avg, Count, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from crm.models import Deal, Pipeline, Stage, SurveyAnswer, SurveyKind
from crm.money import active_locale

from . import mrr_movement as mrr_moves
from .baseline import BASELINE_PERIODS, expected_range
from .dashboards import stored_series, supports
from .kpis.sales import REVENUE, deals_open_at_end_apart, stage_exits_in
from .numbers import CLOSED_CACHE_SECONDS, Reader, is_open, snapshotted, snapshotted_segment
from .periods import Period, month_start, period_for, periods_between, quarter_name
from .registry import REGISTRY, Segment, all_kpis
from .sources import chart_kinds

TREND_POINTS = {"day": 30, "week": 12, "month": 12, "quarter": 8}

CHARTS = {
    "deals_won_by_month": gettext_lazy("Deals won per month"),
    "survey_bands": gettext_lazy("Survey answers by score band"),
    "pipeline_by_stage": gettext_lazy("Pipeline value by stage"),
    "time_in_stage": gettext_lazy("Time in stage"),
    "mrr_movement": gettext_lazy("MRR movement by month"),
}


def chart_choices() -> list[tuple[str, str]]:
    """Every chart a user can put on a dashboard: the fixed ones and a trend per KPI."""
    trends = [(f"trend:{kpi.key}", _("Trend: %(kpi)s") % {"kpi": kpi.label}) for kpi in all_kpis()]
    return [(key, str(label)) for key, label in CHARTS.items()] + trends


def is_chart(key: str) -> bool:
    if key.startswith("trend:"):
        all_kpis()
        return key.removeprefix("trend:") in REGISTRY
    return key in CHARTS


# Charts aggregated from the records (not from snapshots) are kept this long: on a million
# deals they cost hundreds of milliseconds. While the period runs, the key also carries the
# version of the records the chart is made of (metrics.sources), so a change shows at once,
# as on the cards.
CHART_CACHE_SECONDS = 10 * 60


def build(key: str, period: Period, segment: Segment, *, reader: Reader | None = None) -> dict:
    reader = reader or Reader()
    if key.startswith("trend:"):
        return trend(key.removeprefix("trend:"), period, segment, reader=reader)
    cache_key = ":".join(
        [
            "chart",
            key,
            period.grain,
            period.start.isoformat(),
            period.end.isoformat(),
            segment.field,
            segment.value,
            reader.version_of_kinds(chart_kinds(key, segment.field))
            if is_open(period, reader.now)
            else "",
            # Titles and labels are in the reader's language.
            get_language() or "",
        ]
    )
    if key in FROM_KPIS:
        return BUILDERS[key](period, segment, reader)  # the KPIs' numbers are cached already
    return cache.get_or_set(
        cache_key, lambda: BUILDERS[key](period, segment, reader), CHART_CACHE_SECONDS
    )


def build_many(
    keys: list[str], period: Period, segment: Segment, *, reader: Reader | None = None
) -> list[dict]:
    """Charts for `keys`; the trends share one snapshot query."""
    all_kpis()
    reader = reader or Reader()
    trend_keys = [k.removeprefix("trend:") for k in keys if k.startswith("trend:")]
    trends = trends_for(trend_keys, period, segment, reader=reader)
    return [
        trends[k.removeprefix("trend:")]
        if k.startswith("trend:")
        else build(k, period, segment, reader=reader)
        for k in keys
    ]


# Trends ----------------------------------------------------------------------------------


def trend_periods(period: Period) -> list[Period]:
    """The points of a trend ending with `period`: days for a day or week, quarters for a
    quarter, months otherwise (the year's months; a custom range's months)."""
    if period.grain in ("day", "week"):
        grain = "day"
        first = period.end_date - timedelta(days=TREND_POINTS["day"] - 1)
    elif period.grain == "quarter":
        grain = "quarter"
        first = _back(period.start_date, months=3 * (TREND_POINTS["quarter"] - 1))
    elif period.grain == "month":
        grain = "month"
        first = _back(period.start_date, months=TREND_POINTS["month"] - 1)
    else:
        grain = "month"
        first = period.start_date
    return periods_between(grain, first, period.end_date)


def trend(key: str, period: Period, segment: Segment, *, reader: Reader | None = None) -> dict:
    return trends_for([key], period, segment, reader=reader)[key]


def trends_for(
    keys: list[str], period: Period, segment: Segment, *, reader: Reader | None = None
) -> dict[str, dict]:
    """A line per KPI over `trend_periods`: snapshot rows in one query when the segment is
    snapshotted, else computed live per point (a bounded number of queries). A point still
    running, or whose snapshot is not final, is its live value (metrics.numbers), so the
    last point is the number on the card and the KPI page."""
    if not keys:
        return {}
    reader = reader or Reader()
    points = trend_periods(period)
    usable = [key for key in keys if supports(REGISTRY[key], segment)]
    values = series_values(usable, points, segment, reader)
    labels = [_point_label(p) for p in points]
    charts = {}
    for key in keys:
        kpi = REGISTRY[key]
        data = [_number(values.get(key, {}).get(p.start_date)) for p in points]
        charts[key] = {
            "type": "line",
            "title": _("Trend: %(kpi)s") % {"kpi": kpi.label},
            "labels": labels,
            "datasets": [{"label": str(kpi.label), "data": data}],
            "unit": kpi.unit,
            "y": y_axis("line", kpi.unit),
            "unavailable": key not in usable,
            "empty": all(value is None for value in data),
            "noise": trend_noise(data, unit=kpi.unit),
        }
    return charts


def series_values(
    keys: list[str], points: list[Period], segment: Segment, reader: Reader
) -> dict[str, dict[date, Decimal | None]]:
    """Each KPI's value at each point (periods of one grain, in order), by the point's start:
    snapshot rows in one query when the segment is snapshotted, the rest (a point still
    running, or whose snapshot is not final) read as the cards read it (metrics.numbers)."""
    values: dict[str, dict] = {key: {} for key in keys}
    if keys and snapshotted(points[0], segment):
        values, unfinished = stored_series(
            keys, points[0].grain, points[0].start_date, points[-1].start_date, segment
        )
        wanted = [
            (REGISTRY[key], p, segment)
            for key in keys
            for p in points
            if is_open(p, reader.now) or (key, p.start_date) in unfinished
        ]
    else:
        wanted = [(REGISTRY[key], p, segment) for key in keys for p in points]
    for (kpi, point, _segment), reading in zip(wanted, reader.read(wanted), strict=True):
        values[kpi.key][point.start_date] = reading.result.value
    return values


# Trend vs noise: each trend carries its moving average and the band of normal variation, so a
# reader sees whether the last move is inside what the KPI usually does.
AVERAGE_POINTS = 4


def trend_noise(data: list, *, unit: str | None = None) -> dict:
    """The muted lines drawn beside a trend: its AVERAGE_POINTS-point moving average, and at
    each point with a value the expected range (metrics.baseline) of the points before it."""
    bands = [
        expected_range(data[max(0, i - BASELINE_PERIODS) : i], unit=unit)
        if data[i] is not None
        else None
        for i in range(len(data))
    ]
    return {
        "average": moving_average(data),
        "average_label": _("%(n)s-period average") % {"n": AVERAGE_POINTS},
        "low": [None if band is None else _number(band.low) for band in bands],
        "high": [None if band is None else _number(band.high) for band in bands],
        "band_label": _("Expected range"),
    }


def moving_average(data: list, size: int = AVERAGE_POINTS) -> list:
    """The mean of each point and the size − 1 before it; None where one of them is unknown."""
    averages = []
    for i in range(len(data)):
        window = data[i - size + 1 : i + 1] if i >= size - 1 else []
        known = len(window) == size and all(value is not None for value in window)
        averages.append(_number(sum(Decimal(str(v)) for v in window) / size) if known else None)
    return averages


# Charts from aggregate queries -------------------------------------------------------------


def deals_won_by_month(period: Period, segment: Segment, reader: Reader) -> dict:
    """The deals won KPI per month: the months over from their snapshots, the running one as
    its card shows it, so each bar is the number of the KPI's page for that month."""
    kpi = REGISTRY["deals_won_count"]
    months = _months_to(period)
    payload = _payload("bar", "deals_won_by_month", [_point_label(m) for m in months], "count")
    if not supports(kpi, segment):
        return {**payload, "unavailable": True}
    won = series_values([kpi.key], months, segment, reader)[kpi.key]
    missing = [m for m in months if m.start_date not in won]
    if missing:
        won.update(_won_per_month(missing, segment, reader))
    data = [int(won.get(m.start_date) or 0) for m in months]
    payload["datasets"] = [{"label": _("Deals won"), "data": data}]
    return {**payload, "empty": not any(data)}


def _won_per_month(months: list[Period], segment: Segment, reader: Reader) -> dict[date, int]:
    """Deals won per month start, counted from the deals in one query, for months over that
    have no snapshot (before the history began): computed once a day, as their cards are."""
    key = ":".join(
        ["won-per-month", *(m.start_date.isoformat() for m in months)]
        + [segment.field, segment.value, reader.closed_version]
    )
    return cache.get_or_set(key, lambda: _count_won(months, segment), CLOSED_CACHE_SECONDS)


def _count_won(months: list[Period], segment: Segment) -> dict[date, int]:
    deals = _segmented(
        Deal.objects.won().filter(closed_at__gte=months[0].start, closed_at__lt=months[-1].end),
        REGISTRY["deals_won_count"],
        segment,
    )
    rows = (
        deals.order_by()
        .annotate(month=TruncMonth("closed_at", tzinfo=timezone.get_current_timezone()))
        .values("month")
        .annotate(won=Count("id"))
    )
    wanted = {m.start_date for m in months}
    counted = {month_start(row["month"]): row["won"] for row in rows}
    return {start: counted.get(start, 0) for start in wanted}


# Short names drawn on the survey doughnut's rings (acronyms: the same in every language).
RING_NAMES = {SurveyKind.NPS: "NPS", SurveyKind.CSAT: "CSAT", SurveyKind.CES: "CES"}
RING_POSITIONS = [
    gettext_lazy("Outer ring"),
    gettext_lazy("Middle ring"),
    gettext_lazy("Inner ring"),
]


def survey_bands(period: Period, segment: Segment, _reader: Reader) -> dict:
    """One ring per survey: positive (NPS 9–10, CSAT 4–5, CES 1–3), neutral, negative."""
    kpi = REGISTRY["nps"]
    labels = [_("Positive"), _("Neutral"), _("Negative")]
    payload = _payload("doughnut", "survey_bands", labels, "count")
    if not supports(kpi, segment):
        return {**payload, "unavailable": True}
    answers = _segmented(
        SurveyAnswer.objects.filter(answered_at__gte=period.start, answered_at__lt=period.end),
        kpi,
        segment,
    )
    bands = {
        SurveyKind.NPS: (Q(score__gte=9), Q(score__in=[7, 8]), Q(score__lte=6)),
        SurveyKind.CSAT: (Q(score__gte=4), Q(score=3), Q(score__lte=2)),
        SurveyKind.CES: (Q(score__lte=3), Q(score=4), Q(score__gte=5)),
    }
    aggregates = {
        f"{kind}_{i}": Count("id", filter=Q(kind=kind) & condition)
        for kind, conditions in bands.items()
        for i, condition in enumerate(conditions)
    }
    row = answers.aggregate(**aggregates)
    payload["datasets"] = [
        {
            "label": str(kind.label),
            "short": RING_NAMES[kind],
            "data": [row[f"{kind}_{i}"] for i in range(3)],
        }
        for kind in bands
    ]
    # Chart.js draws the first dataset as the outer ring.
    payload["rings"] = [
        {"position": str(position), "label": str(kind.label), "short": RING_NAMES[kind]}
        for position, kind in zip(RING_POSITIONS, bands, strict=True)
    ]
    return {**payload, "empty": not any(row.values())}


def pipeline_by_stage(period: Period, segment: Segment, _reader: Reader) -> dict:
    kpi = REGISTRY["pipeline_value"]
    payload = _payload("bar", "pipeline_by_stage", [], "money")
    if not supports(kpi, segment):
        return {**payload, "unavailable": True}
    rows = _stage_totals(
        _segmented(deals, kpi, segment) for deals in deals_open_at_end_apart(period)
    )
    several = len({row["pipeline__name"] for row in rows}) > 1
    payload["labels"] = [
        f"{row['pipeline__name']} · {row['stage__name']}" if several else row["stage__name"]
        for row in rows
    ]
    payload["datasets"] = [
        {"label": _("Pipeline value"), "data": [_number(row["total"], 2) for row in rows]},
    ]
    payload["counts"] = [row["deals"] for row in rows]
    return {**payload, "empty": not rows}


def _stage_totals(querysets) -> list[dict]:
    """Each stage's deals and their value (amount × rate) over disjoint `querysets` of deals,
    in the board's order of pipelines and stages.

    Grouped by the pipeline's and stage's ids, named afterwards: grouping the month's 69k open
    deals by the names joined in hashed their text (127 ms against 40 ms on the large seed)."""
    totals: dict[tuple, dict] = {}
    for queryset in querysets:
        grouped = queryset.order_by().values("pipeline", "stage")
        for row in grouped.annotate(total=Sum(REVENUE), deals=Count("id")):
            key = (row["pipeline"], row["stage"])
            if key in totals:
                totals[key]["total"] = (totals[key]["total"] or 0) + (row["total"] or 0)
                totals[key]["deals"] += row["deals"]
            else:
                totals[key] = row
    pipelines = Pipeline.objects.in_bulk({pipeline for pipeline, _stage in totals})
    stages = Stage.objects.in_bulk({stage for _pipeline, stage in totals})
    rows = [
        {
            "pipeline__name": pipelines[pipeline].name,
            "pipeline__order": pipelines[pipeline].order,
            "stage__name": stages[stage].name,
            "stage__order": stages[stage].order,
            "total": row["total"],
            "deals": row["deals"],
        }
        for (pipeline, stage), row in totals.items()
    ]
    return sorted(
        rows, key=lambda r: (r["pipeline__order"], r["pipeline__name"], r["stage__order"])
    )


def time_in_stage(period: Period, segment: Segment, reader: Reader) -> dict:
    kpi = REGISTRY["deal_velocity"]
    payload = _payload("bar", "time_in_stage", [], "days")
    if not supports(kpi, segment):
        return {**payload, "unavailable": True}
    rows = _time_in_each_stage(kpi, period, segment, reader)
    several = len({row["from_stage__pipeline__name"] for row in rows}) > 1
    payload["labels"] = [
        f"{row['from_stage__pipeline__name']} · {row['from_stage__name']}"
        if several
        else row["from_stage__name"]
        for row in rows
    ]
    days = [_number(Decimal(str(row["seconds"] or 0)) / 86400, 1) for row in rows]
    payload["datasets"] = [{"label": _("Mean days in stage"), "data": days}]
    return {**payload, "empty": not rows}


STAGE_NAMES = (
    "from_stage__pipeline__name",
    "from_stage__pipeline__order",
    "from_stage__name",
    "from_stage__order",
)
STAGE_ORDER = ("from_stage__pipeline__order", "from_stage__pipeline__name", "from_stage__order")


def _time_in_each_stage(kpi, period: Period, segment: Segment, reader: Reader) -> list[dict]:
    """Each stage's mean seconds before a move out of it and its exits, in the board's order.
    The whole running period is the velocity's breakdown by stage (the KPI page's rows), whose
    exits of the days before today are kept apart: a drag counts today's alone."""
    if segment.is_all and is_open(period, reader.now):
        parts = reader.breakdown_parts(kpi, period, "stage")
        stages = Stage.objects.filter(pk__in=[int(pk) for pk in parts if pk])
        rows = [
            {
                "from_stage__pipeline__name": stage.pipeline.name,
                "from_stage__pipeline__order": stage.pipeline.order,
                "from_stage__name": stage.name,
                "from_stage__order": stage.order,
                "seconds": Decimal(part["duration"]) / part["records"],
                "exits": part["records"],
            }
            for stage in stages.select_related("pipeline")
            if (part := parts[str(stage.pk)])["records"]
        ]
        return sorted(rows, key=lambda row: tuple(row[name] for name in STAGE_ORDER))
    return list(
        _segmented(stage_exits_in(period), kpi, segment)
        .order_by()
        .values("from_stage__pipeline__name", "from_stage__pipeline__order")
        .annotate(seconds=Avg("seconds_in_from_stage"), exits=Count("id"))
        .values(*STAGE_NAMES, "seconds", "exits")
        .order_by(*STAGE_ORDER)
    )


def mrr_movement(period: Period, segment: Segment, reader: Reader) -> dict:
    """Per month: new MRR, expansion and churn (negative), metrics.mrr_movement. The months
    over are read from what the nightly run stored; those it has not (a segment it does not
    store, a month before the first run) are counted once a day, as any period over and not
    snapshotted (metrics.numbers); only the running month moves with each change."""
    kpi = REGISTRY["mrr"]
    months = _months_to(period)
    payload = _payload("bar", "mrr_movement", [_point_label(m) for m in months], "money")
    payload["stacked"] = True
    if not supports(kpi, segment):
        return {**payload, "unavailable": True}
    over = [m for m in months if not is_open(m, reader.now)]
    if over and snapshotted_segment(segment):
        moves, stored = mrr_moves.stored(over, segment)
    else:
        moves, stored = mrr_moves.no_moves(), set()
    not_stored = [m for m in over if m.start_date not in stored]
    if not_stored:
        key = ":".join(
            ["mrr-moves", not_stored[0].start_date.isoformat(), not_stored[-1].end_date.isoformat()]
            + [segment.field, segment.value, reader.closed_version]
        )
        closed = cache.get_or_set(
            key,
            lambda: mrr_moves.counted(not_stored[0].start_date, not_stored[-1].end_date, segment),
            CLOSED_CACHE_SECONDS,
        )
        for name in moves:
            moves[name].update(
                (start, value) for start, value in closed[name].items() if start not in stored
            )
    running = [m for m in months if is_open(m, reader.now)]
    if running:
        live = mrr_moves.counted(running[0].start_date, running[-1].end_date, segment)
        for name in moves:
            moves[name].update(live[name])
    starts_of = [m.start_date for m in months]

    def data(name, sign=1):
        return [sign * _number(moves[name].get(d) or 0, 2) for d in starts_of]

    payload["datasets"] = [
        {"label": _("New"), "data": data("new")},
        {"label": _("Expansion"), "data": data("expansion")},
        {"label": _("Churn"), "data": data("churn", -1)},
    ]
    return {**payload, "empty": not any(any(values.values()) for values in moves.values())}


BUILDERS = {
    "deals_won_by_month": deals_won_by_month,
    "survey_bands": survey_bands,
    "pipeline_by_stage": pipeline_by_stage,
    "time_in_stage": time_in_stage,
    "mrr_movement": mrr_movement,
}


# Charts drawn from KPIs' numbers (their snapshots and cached live values): not cached again.
FROM_KPIS = {"deals_won_by_month"}


# Helpers ---------------------------------------------------------------------------------


def _payload(kind: str, key: str, labels: list, unit: str) -> dict:
    return {
        "type": kind,
        "title": str(CHARTS[key]),
        "labels": labels,
        "datasets": [],
        "unit": unit,
        "y": y_axis(kind, unit),
        "unavailable": False,
        "empty": True,
    }


# Lines of these units start at zero too: shares of a whole, and amounts of things or time
# (a 9.5–10.5 h axis makes 10 h look like a crisis). Money, scores and ratios may zoom in.
ZERO_BASED_UNITS = {"percent", "count", "hours", "days"}


def y_axis(kind: str, unit: str) -> dict:
    """The value axis: bars (lengths) and ZERO_BASED_UNITS start at zero. A doughnut has no
    axis."""
    if kind == "doughnut":
        return {}
    return {"begin_at_zero": kind == "bar" or unit in ZERO_BASED_UNITS}


def _segmented(queryset, kpi, segment: Segment):
    if segment.is_all:
        return queryset
    return queryset.filter(**{kpi.segment_path(segment.field): segment.value})


def _months_to(period: Period) -> list[Period]:
    """12 months ending with the period's last month (a year: its own months)."""
    last = period.end_date
    if period.grain == "year":
        return periods_between("month", period.start_date, last)
    return periods_between("month", _back(period_for("month", last).start_date, months=11), last)


def _back(day: date, *, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def _point_label(period: Period) -> str:
    """A point on a trend's axis in the reader's language ("Nov 26", "26 de nov."): a day or a
    week by its first day, a month by month and year."""
    first = period.start_date
    if period.grain in ("day", "week"):
        return format_skeleton("MMMd", first, locale=active_locale())
    if period.grain == "quarter":
        return quarter_name(first)
    return format_skeleton("yMMM", first, locale=active_locale())


def _number(value, places: int = 4):
    if value is None:
        return None
    return round(float(value), places)
