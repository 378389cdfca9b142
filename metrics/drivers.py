"""Which slice of the records moved a KPI: its change split into per-segment contributions.

Computed from the breakdowns (metrics.numbers.Reader, so a closed period's stored rows are read
where they exist), never guessed. For a ratio (won ÷ closed, answers ÷ surveys, sum ÷ count)
the change from `before` to `current` splits exactly:

    r1 − r0 = Σs [(N1s − r0·D1s) / D1 − (N0s − r0·D0s) / D0]

where N and D are the numerator and denominator, r0 = N0 / D0 and s runs over the segment's
values: a segment contributes when its own rate moved and when its share of the records moved
(more Referral leads, which were always lost more). For a sum (a count, an amount) a segment
contributes its own change, the `before` side scaled to the length of `current` (eight weeks
against one) unless the KPI is a balance at the period's end.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from crm.models import CustomField

from .dashboards import segment_names
from .numbers import Reader
from .periods import Period, period_for
from .registry import ALL, KPI, Result

# The segments a move is looked for in, when the KPI can be cut by them.
DRIVER_SEGMENTS = ("owner", "team", "lead_source", "pipeline", "industry")


@dataclass(frozen=True)
class Driver:
    field: str
    value: str
    label: str
    # In the KPI's own unit (points of a percentage, money, days...): the part of the change
    # this segment value accounts for.
    contribution: Decimal
    before: Result | None
    after: Result | None


def driver_fields(kpi: KPI) -> list[str]:
    """The segment fields a move of `kpi` is explained by: the usual ones it supports, and the
    select custom fields of the records it counts."""
    if kpi.compute is not None:
        return []
    fields = [field for field in DRIVER_SEGMENTS if field in kpi.segments]
    record_type = _custom_record_type(kpi)
    if record_type:
        keys = CustomField.objects.filter(
            record_type=record_type, field_type="select", is_active=True
        ).values_list("key", flat=True)
        fields += [f"custom:{key}" for key in keys]
    return fields


def drivers(
    kpi: KPI,
    current: Period,
    before: Period,
    *,
    reader: Reader,
    fields: list[str] | None = None,
    limit: int = 3,
) -> list[Driver]:
    """The segment values that moved `kpi` most from `before` to `current`, in the move's
    direction, largest first (empty when it did not move or cannot be cut). A value holding
    every record of both periods is passed over."""
    after_all, before_all = reader.result(kpi, current, ALL), reader.result(kpi, before, ALL)
    scale = _length_ratio(kpi, current, before)
    move = _move(before_all, after_all, scale)
    if not move:
        return []
    found: list[Driver] = []
    for field in driver_fields(kpi) if fields is None else fields:
        after_rows = reader.breakdown(kpi, current, field)
        before_rows = reader.breakdown(kpi, before, field)
        contributions = split_change(
            kpi, before_all, after_all, before_rows, after_rows, scale=scale
        )
        names = segment_names(field, [value for value in contributions if value])
        for value, contribution in contributions.items():
            if value:
                found.append(
                    Driver(
                        field=field,
                        value=value,
                        label=names.get(value, value),
                        contribution=contribution,
                        before=before_rows.get(value),
                        after=after_rows.get(value),
                    )
                )
    aligned = [
        driver
        for driver in found
        if driver.contribution * move > 0 and not _holds_everything(driver, before_all, after_all)
    ]
    aligned.sort(key=lambda driver: abs(driver.contribution), reverse=True)
    return aligned[:limit]


def split_change(
    kpi: KPI,
    before_all: Result,
    after_all: Result,
    before_rows: dict[str, Result],
    after_rows: dict[str, Result],
    *,
    scale: Decimal = Decimal(1),
) -> dict[str, Decimal]:
    """{segment value: its contribution to after − before}, in the KPI's unit."""
    values = set(before_rows) | set(after_rows)
    if _is_ratio(before_all) and _is_ratio(after_all):
        return _ratio_contributions(kpi, before_all, after_all, before_rows, after_rows, values)
    return {
        value: _number(after_rows.get(value)) - _number(before_rows.get(value)) * scale
        for value in values
    }


def _ratio_contributions(kpi, before_all, after_all, before_rows, after_rows, values):
    n0, d0 = before_all.numerator, before_all.denominator
    d1 = after_all.denominator
    r0 = n0 / d0
    factor = _ratio_scale(kpi, before_all, after_all)

    def share(rows, value, denominator):
        row = rows.get(value)
        if row is None or row.numerator is None or row.denominator is None:
            return Decimal(0)
        return (row.numerator - r0 * row.denominator) / denominator

    return {
        value: factor * (share(after_rows, value, d1) - share(before_rows, value, d0))
        for value in values
    }


def _move(before_all: Result, after_all: Result, scale: Decimal) -> Decimal:
    if after_all.value is None or before_all.value is None:
        return Decimal(0)
    if _is_ratio(before_all) and _is_ratio(after_all):
        return after_all.value - before_all.value
    return after_all.value - before_all.value * scale


def _is_ratio(result: Result) -> bool:
    return (
        result.numerator is not None
        and result.denominator is not None
        and result.denominator != 0
        and result.value is not None
    )


def _ratio_scale(kpi: KPI, *results: Result) -> Decimal:
    """value = scale × numerator ÷ denominator: 100 for a percentage, 1 for an average..."""
    for result in results:
        if result.numerator:
            return (result.value * result.denominator / result.numerator).quantize(Decimal(1))
    return Decimal(100) if kpi.unit == "percent" else Decimal(1)


def _length_ratio(kpi: KPI, current: Period, before: Period) -> Decimal:
    """What a sum over `before` is multiplied by to compare with one over `current`."""
    if kpi.as_of_end or not before.days:
        return Decimal(1)
    return Decimal(str(current.days)) / Decimal(str(before.days))


def _holds_everything(driver: Driver, before_all: Result, after_all: Result) -> bool:
    """The value holds every record of both periods (the one pipeline, everyone's team): it
    takes the whole move, and explains none of it."""
    return _size(driver.before) == _size(before_all) and _size(driver.after) == _size(after_all)


def _size(result: Result | None) -> Decimal | None:
    if result is None:
        return None
    return result.denominator if result.denominator is not None else result.value


def _number(result: Result | None) -> Decimal:
    return Decimal(0) if result is None or result.value is None else result.value


def _custom_record_type(kpi: KPI) -> str | None:
    """The record type whose custom fields segment `kpi` ("deal", "company"...), or None."""
    base = kpi.segments.get("custom")
    if base is None:
        return None
    # Building the queryset runs no query: only its model is wanted.
    model = kpi.records(period_for("day", timezone.localdate())).model
    for name in base.split("__")[:-1]:
        model = model._meta.get_field(name).related_model
    return model._meta.model_name
