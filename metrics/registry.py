"""The KPI registry: one definition per KPI of KPIS.md.

A definition names the records a KPI counts (`records`, also the drill-down) and the SQL
aggregates over them (`aggregates`), and turns the aggregated row into a Result (`combine`).
The value, the per-segment breakdown and the drill-down all come from that one queryset. Where
reading it whole is slow, a definition may say how to read the same records another way
(`records_apart`, `numerator_per_row`, `settles_by`, `numerator_ids`, `stored_rows`); tests
check each against the queryset.
"""

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Count, Q, QuerySet, Sum

from crm.access import visible

from .periods import Period

Number = Decimal | int | float


@dataclass(frozen=True)
class Result:
    """A KPI value; `None` means "no data" (an empty denominator), never zero."""

    value: Decimal | None
    numerator: Decimal | None = None
    denominator: Decimal | None = None

    def as_dict(self) -> dict:
        return {
            "value": _plain(self.value),
            "numerator": _plain(self.numerator),
            "denominator": _plain(self.denominator),
        }


# Each KPI's record model, by KPI key (KPI.record_model).
_RECORD_MODELS: dict[str, type] = {}

# The values computed inside `values_remembered()`, by (KPI key, period, segment).
_REMEMBERED: ContextVar[dict | None] = ContextVar("remembered_kpi_values", default=None)


@contextmanager
def values_remembered() -> Iterator[None]:
    """Inside, each KPI's value for a period and segment is computed once: a KPI computed from
    others (CLV from APV and churn, LTV:CAC from CLV and CAC) reuses what the same batch of
    readings computed already, where the retention dashboard computed churn three times.
    Nested, the outermost batch's memory holds."""
    if _REMEMBERED.get() is not None:
        yield
        return
    token = _REMEMBERED.set({})
    try:
        yield
    finally:
        _REMEMBERED.reset(token)


def remember_value(kpi_key: str, period, segment, result) -> None:
    """Inside `values_remembered`, a value read otherwise (from the cache, or summed from its
    parts) stands for the KPI's value: CLV computed after the churn card reuses its number
    rather than counting the customers again."""
    remembered = _REMEMBERED.get()
    if remembered is not None and result is not None:
        remembered.setdefault((kpi_key, period, segment), result)


@dataclass(frozen=True)
class Segment:
    """A slice of the records: `field` is a segment key of the KPI, e.g. owner or lead_source."""

    field: str = ""
    value: str = ""

    @property
    def is_all(self) -> bool:
        return not self.field


ALL = Segment()


@dataclass(frozen=True)
class Bands:
    """Reference bands from KPIS.md; each a (low, high) range, either end open (None)."""

    typical: tuple[Number | None, Number | None] | None = None
    good: tuple[Number | None, Number | None] | None = None
    exceptional: tuple[Number | None, Number | None] | None = None

    def band_for(self, value: Number | None) -> str | None:
        """exceptional, good or typical; outside them, which side: above (at or over every
        band's top), below (under every band's bottom) or between (in a gap of two bands)."""
        if value is None:
            return None
        ranges = [bounds for bounds in (self.typical, self.good, self.exceptional) if bounds]
        for name in ("exceptional", "good", "typical"):
            bounds = getattr(self, name)
            if bounds and _within(value, bounds):
                return name
        if not ranges:
            return None
        if all(low is not None and value < low for low, _high in ranges):
            return "below"
        if all(high is not None and value >= high for _low, high in ranges):
            return "above"
        return "between"


@dataclass(frozen=True)
class KPI:
    key: str
    label: str
    description: str
    unit: str  # percent, money, count, hours, days, score, ratio
    higher_is_better: bool
    records: Callable[[Period], QuerySet]
    aggregates: Callable[[Period], dict]
    combine: Callable[[dict], Result]
    # Segment key -> lookup path from the records' model (e.g. "owner" -> "owner").
    segments: dict[str, str] = field(default_factory=dict)
    # Which of the records count toward the numerator (for ratios), for the drill-down.
    numerator_filter: Q | None = None
    bands: Bands | None = None
    group: str = "sales"
    # Composite KPIs (clv, ltv_cac_ratio) compute from other KPIs instead of one aggregate.
    compute: Callable[[Period, Segment], Result] | None = None
    # The KPIs `compute` reads: its value changes only with the records they are made of
    # (metrics.sources). Empty: with any change.
    made_of: tuple[str, ...] = ()
    # The numerator counts the numerator's records and the denominator all of them, so a
    # computed value tells how many records are behind it without counting them again.
    counts_records: bool = False
    # Too costly to compute per page view, a running period's value may come from rows the
    # nightly run stored: this tells when they were computed (None when they do not tell it).
    stored_at: Callable[[Period], datetime | None] | None = None
    # Those stored rows themselves, one per record, with the names the aggregates read: a
    # running period's whole reads them alone, not joined to the records they belong to
    # (metrics.numbers.Reader._whole_row).
    stored_rows: Callable[[], QuerySet] | None = None
    # Measured at the period's end (a balance, not a flow): the value of any period ending at
    # midnight is that of the day it ends with, so a day's snapshot answers for it.
    as_of_end: bool = False
    # Disjoint querysets whose union is `records`, for the parts of a breakdown: each is read
    # from its own index, all in one statement (UNION ALL, so one snapshot of the records),
    # where the OR of `records` reads the whole table. Used only when every aggregate adds up.
    records_apart: Callable[[Period], Sequence[QuerySet]] | None = None
    # The numerator's records (`numerator_filter`) told by a test of each record that reads
    # a few index rows, for a page of the drill-down: where the filter builds a set of every
    # record behind the numerator before the first row, this stops after the page's rows.
    numerator_per_row: Callable[[Period], Q] | None = None
    # The records are rows written as things happen, dated by this field (a deal's stage
    # exits by `changed_at`): those of a running period dated before today change only with a
    # change of another kind of record, so their parts are kept while today's are counted
    # afresh after each new row (metrics.numbers.Reader).
    settles_by: str | None = None
    # Another KPI whose aggregates include this one's under the same names, each over the
    # records this one counts (its records a superset): a running period's parts by owner and
    # team are read from that KPI's (`parts_taken_from`), one query for both where the MRR and
    # the MRR growth each grouped the month's running subscriptions by their companies.
    parts_within: str | None = None
    # The ids of the records behind the numerator, as one query of those ids (of the rows
    # dated from `since` and before `until`, when given), and the records told them
    # (`records_given(period, ids)`, flagged as `records` flags them from the query): a
    # running period's parts by owner and team keep the ids of the days before today apart,
    # under the kinds their query reads and `settled_count` (the rows dated before a moment
    # that only a row written back-dated changes), so a customer churned or a call logged
    # today does not read the month's engagement activities and answers again
    # (metrics.numbers.Reader).
    numerator_ids: Callable[..., QuerySet] | None = None
    records_given: Callable[[Period, list[int]], QuerySet] | None = None
    settled_count: Callable[[Period, datetime], int] | None = None

    def segmented_records(self, period: Period, segment: Segment = ALL) -> QuerySet:
        queryset = self.records(period)
        if segment.is_all:
            return queryset
        return queryset.filter(**{self.segment_path(segment.field): segment.value})

    def value(self, period: Period, segment: Segment = ALL) -> Result:
        remembered = _REMEMBERED.get()
        if remembered is None:
            return self._value(period, segment)
        key = (self.key, period, segment)
        if key not in remembered:
            remembered[key] = self._value(period, segment)
        return remembered[key]

    def _value(self, period: Period, segment: Segment) -> Result:
        if self.compute is not None:
            return self.compute(period, segment)
        if self.records_apart is not None and not segment.is_all:
            # One segment's records, read apart as the parts are (a rep's own pipeline).
            path = self.segment_path(segment.field)
            rows = self._grouped(period, path, within={path: segment.value})
            result = self.combine_parts(period, [_without(row, path) for row in rows])
            if result is not None:
                return result
        row = self.segmented_records(period, segment).aggregate(**self.aggregates(period))
        return self.combine(row)

    def breakdown(self, period: Period, segment_field: str) -> dict[str, Result]:
        """The KPI for every value of a segment, in one query."""
        parts = self.breakdown_parts(period, segment_field)
        return {value: self.combine(dict(row)) for value, row in parts.items()}

    def breakdown_parts(
        self, period: Period, segment_field: str, records: QuerySet | None = None
    ) -> dict[str, dict]:
        """The aggregated row of every value of a segment ("" for none), before `combine`.
        `records`: some of the period's records only (those of a day, with `settles_by`)."""
        path = self.segment_path(segment_field)
        if records is None:
            rows = self._grouped(period, path)
        else:
            rows = records.order_by().values(path).annotate(**self.aggregates(period))
        return {_part_value(row.pop(path)): row for row in rows}

    def record_model(self, period: Period):
        """The model of the records behind the KPI, the same for every period, looked up once
        (building health's records asks which scores are stored)."""
        if self.key not in _RECORD_MODELS:
            _RECORD_MODELS[self.key] = self.records(period).model
        return _RECORD_MODELS[self.key]

    def adds_up(self, period: Period, segment_field: str) -> bool:
        """Whether the parts of a breakdown by `segment_field` add up to the whole: each record
        has one value of it, and every aggregate is a plain COUNT or SUM."""
        if self.compute is not None or segment_field not in self.segments:
            return False
        path = self.segment_path(segment_field)
        return _single_valued(self.record_model(period), path) and _additive(
            self.aggregates(period)
        )

    def record_counter(self, period: Period, *, numerator_only: bool = False) -> str | None:
        """The name of an aggregate that counts every record (COUNT of the primary key, no
        filter), or with `numerator_only` those of the numerator (filtered by exactly the
        `numerator_filter`), which the parts of a breakdown tell the drill-down; None
        without one."""
        wanted = self.numerator_filter if numerator_only else None
        if numerator_only and wanted is None:
            return None
        for name, aggregate in self.aggregates(period).items():
            if type(aggregate) is not Count or aggregate.distinct or aggregate.filter != wanted:
                continue
            expressions = aggregate.get_source_expressions()[:-1]  # the last is the filter
            if len(expressions) == 1 and getattr(expressions[0], "name", None) in ("id", "pk"):
                return name
        return None

    def owner_team_paths(self, period: Period) -> tuple[str, str] | None:
        """The paths of each record's owner and team when the parts of a breakdown by either
        add up (`adds_up`): the parts grouped by both then give both breakdowns, and tell
        what a reader whose rule is on those two fields sees (crm.access)."""
        if not (self.adds_up(period, "owner") and self.adds_up(period, "team")):
            return None
        return self.segments["owner"], self.segments["team"]

    def parts_by_owner_and_team(
        self, period: Period, records: QuerySet | None = None
    ) -> list[tuple[str, str, dict]]:
        """(owner, team, aggregated row) of every pair of values ("" for none), before
        `combine`: one GROUP BY for the breakdowns by owner and by team. `records`: some of
        the period's records only (those of a day, with `settles_by`)."""
        owner, team = self.owner_team_paths(period)
        if records is None:
            rows = self._grouped(period, owner, team)
        else:
            rows = records.order_by().values(owner, team).annotate(**self.aggregates(period))
        return [(_part_value(row.pop(owner)), _part_value(row.pop(team)), row) for row in rows]

    def parts_taken_from(
        self, period: Period, wider: list[tuple[str, str, dict]]
    ) -> list[tuple[str, str, dict]]:
        """This KPI's parts by owner and team out of those of `parts_within`: its aggregates of
        each pair, less the pairs with none of its records (which its own grouping would not
        have returned)."""
        names, counter = self.aggregates(period), self.record_counter(period)
        return [
            (owner, team, {name: row[name] for name in names})
            for owner, team, row in wider
            if row[counter]
        ]

    def _grouped(self, period: Period, *paths: str, within: dict | None = None) -> list[dict]:
        """The aggregated row of each combination of `paths`' values (of the records `within`
        those lookups, when given): of `records`, or summed over `records_apart` when there
        are such and every aggregate is a plain COUNT or SUM."""
        aggregates = self.aggregates(period)
        if self.records_apart is None or not _additive(aggregates):
            records = self.records(period).filter(**(within or {}))
            return list(records.order_by().values(*paths).annotate(**aggregates))
        first, *others = [
            records.filter(**(within or {})).order_by().values(*paths).annotate(**aggregates)
            for records in self.records_apart(period)
        ]
        rows = first.union(*others, all=True)
        return summed_rows(rows, lambda row: tuple(row[path] for path in paths), aggregates)

    def combine_parts(self, period: Period, rows: list[dict]) -> Result | None:
        """The Result over the records of several parts of a breakdown (`adds_up`), or None
        when a part summed floats, which added in another order may differ in the last digit."""
        totals = {
            name: 0 if type(aggregate) is Count else None
            for name, aggregate in self.aggregates(period).items()
        }
        for row in rows:
            for name, amount in row.items():
                if isinstance(amount, float):
                    return None
                if amount is not None:
                    totals[name] = amount if totals[name] is None else totals[name] + amount
        return self.combine(totals)

    def value_among(self, period: Period, segment_field: str, values: list[str]) -> Result:
        """The KPI over the records whose segment value is one of `values`, in one query (a
        breakdown's "Other" row). Through a subquery on the primary key, so a record in two of
        the values (a user in two teams) counts once."""
        path = self.segment_path(segment_field)
        records = self.records(period)
        if _single_valued(records.model, path):
            # One value per record: a plain filter, not the records computed twice.
            among = records.filter(**{f"{path}__in": values})
        else:
            among = records.filter(pk__in=records.filter(**{f"{path}__in": values}).values("pk"))
        return self.combine(among.aggregate(**self.aggregates(period)))

    def drill_down(
        self, period: Period, segment: Segment = ALL, *, user, numerator_only=False, page=False
    ) -> QuerySet:
        """The records behind the value that `user` may see (crm.access): a manager reads the
        company's numbers, but only the rows of their own people and teams. `page`: to read
        one page of them, with the numerator tested per record when it can be."""
        records = self.counted_records(period, segment, numerator_only=numerator_only and not page)
        if numerator_only and page:
            per_row = self.numerator_per_row
            records = records.filter(per_row(period) if per_row else self.numerator_filter)
        return visible(records, user)

    def record_count(self, period: Period, segment: Segment = ALL, *, numerator_only=False) -> int:
        """How many records are behind the value, seen or not by the reader: a number, never
        the rows (the page tells how many of them the reader's drill-down leaves out)."""
        return self.counted_records(period, segment, numerator_only=numerator_only).count()

    def counted_records(
        self, period: Period, segment: Segment = ALL, *, numerator_only=False
    ) -> QuerySet:
        """Every record behind the value, whoever reads it: for KPI maths and counts. A page,
        export or list shows `drill_down(user=...)`, never these rows."""
        queryset = self.segmented_records(period, segment)
        if numerator_only and self.numerator_filter is not None:
            queryset = queryset.filter(self.numerator_filter)
        return queryset

    def segment_path(self, segment_field: str) -> str:
        if segment_field.startswith("custom:"):
            base = self.segments.get("custom")
            if base is None:
                raise KeyError(f"{self.key} cannot be segmented by custom fields")
            key = segment_field.removeprefix("custom:")
            return f"{base}__{key}" if base else f"custom__{key}"
        if segment_field not in self.segments:
            raise KeyError(f"{self.key} cannot be segmented by {segment_field}")
        return self.segments[segment_field]


def summed_rows(rows, key_of: Callable[[dict], tuple], aggregates) -> list[dict]:
    """`rows` of disjoint sets of records, those with the same key added up (aggregates that
    are plain COUNTs and SUMs; a None sum is no record)."""
    summed: dict[tuple, dict] = {}
    for row in rows:
        key = key_of(row)
        if key not in summed:
            summed[key] = dict(row)
            continue
        for name in aggregates:
            if row[name] is not None:
                total = summed[key][name]
                summed[key][name] = row[name] if total is None else total + row[name]
    return list(summed.values())


def _without(row: dict, name: str) -> dict:
    return {key: value for key, value in row.items() if key != name}


def _additive(aggregates: dict) -> bool:
    """Every aggregate is a plain COUNT or SUM: over disjoint sets of records, the sum of
    their values is the value over all of them."""
    return all(
        type(aggregate) in (Count, Sum) and not getattr(aggregate, "distinct", False)
        for aggregate in aggregates.values()
    )


def _part_value(value) -> str:
    """A segment value as a breakdown's parts are keyed: a string, "" for none."""
    return "" if value is None else str(value)


def _single_valued(model, path: str) -> bool:
    """`path` names one value per record: it follows only foreign keys (and ends on a field),
    never a many-to-many or reverse relation where a record has several."""
    for name in path.split("__"):
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            return False  # a key inside a JSON field, or a lookup: not followed here
        if field.many_to_many or field.one_to_many:
            return False
        if not field.is_relation:
            return True
        model = field.related_model
    return True


REGISTRY: dict[str, KPI] = {}


def register(kpi: KPI) -> KPI:
    if kpi.key in REGISTRY:
        raise ValueError(f"KPI {kpi.key} is defined twice")
    REGISTRY[kpi.key] = kpi
    return kpi


def get_kpi(key: str) -> KPI:
    from . import kpis  # noqa: F401  (definitions register themselves on import)

    return REGISTRY[key]


def all_kpis() -> list[KPI]:
    from . import kpis  # noqa: F401

    return list(REGISTRY.values())


# Helpers for definitions -------------------------------------------------------------


def ratio(numerator, denominator, *, scale: int = 1) -> Result:
    """numerator ÷ denominator × scale; no data when the denominator is empty or zero."""
    numerator, denominator = to_decimal(numerator) or Decimal(0), to_decimal(denominator)
    if not denominator:
        return Result(None, numerator, denominator)
    return Result(rounded(numerator * scale / denominator), numerator, denominator)


def to_decimal(value) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value))


def duration_seconds(duration) -> Decimal | None:
    """Seconds in a summed or averaged duration.

    PostgreSQL returns an interval (a timedelta); SQLite may return bare microseconds when
    Django's converter does not run on an aggregate.
    """
    if duration is None:
        return None
    if isinstance(duration, timedelta):
        micro = (duration.days * 86400 + duration.seconds) * 1_000_000 + duration.microseconds
        return Decimal(micro) / 1_000_000
    return to_decimal(duration) / 1_000_000


def rounded(value: Decimal | None, places: int = 4) -> Decimal | None:
    if value is None:
        return None
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _within(value: Number, bounds) -> bool:
    low, high = bounds
    return (low is None or value >= low) and (high is None or value < high)


def _plain(value):
    return None if value is None else float(value)
