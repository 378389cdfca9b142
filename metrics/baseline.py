"""What is normal for a KPI: a robust range over its own comparable past periods.

The median and the median absolute deviation (MAD) of the last comparable periods, so one odd
period in the history does not widen the range the way a standard deviation would. A value
outside median ± MAD_MULTIPLE × spread is unusual. Read from the stored snapshots only.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from statistics import median

from .models import KPISnapshot
from .periods import period_for
from .registry import Result

# How many comparable earlier periods make the baseline.
BASELINE_PERIODS = 8
# Fewer known values than this: no range, so no alert and no "unusual".
MIN_POINTS = 6
MAD_MULTIPLE = Decimal(3)
# The MAD of a normal distribution is 0.6745 of its standard deviation: scaled by 1/0.6745,
# the spread reads like a standard deviation.
MAD_TO_SIGMA = Decimal("1.4826")
# A perfectly steady history (MAD 0) would make any change unusual: the spread is at least
# this share of the median, and at least a floor in the KPI's own unit: one point of a
# percentage or a score, one record, one hour or day, a tenth of a ratio (a churn rate of 0 %
# eight weeks running does not make 1.9 % unusual).
RELATIVE_FLOOR = Decimal("0.05")
SPREAD_FLOOR = Decimal("0.01")
UNIT_FLOORS = {
    "percent": Decimal(1),
    "score": Decimal(1),
    "count": Decimal(1),
    "money": Decimal(1),
    "hours": Decimal("0.5"),
    "days": Decimal("0.5"),
    "ratio": Decimal("0.1"),
}
# A value made of fewer records than this never alarms: small numbers swing by chance.
MIN_RECORDS = 20


@dataclass(frozen=True)
class ExpectedRange:
    median: Decimal
    low: Decimal
    high: Decimal
    points: int

    def contains(self, value: Decimal | None) -> bool:
        return value is None or self.low <= value <= self.high

    def side(self, value: Decimal | None) -> str | None:
        """ "above" or "below" the range, None inside it (or without a value)."""
        if value is None or self.contains(value):
            return None
        return "above" if value > self.high else "below"


def expected_range(
    values: Sequence[Decimal | int | float | None],
    *,
    multiple: Decimal = MAD_MULTIPLE,
    unit: str | None = None,
) -> ExpectedRange | None:
    """median ± multiple × spread of the known values (`unit`, the KPI's, sets the spread's
    floor); None with fewer than MIN_POINTS."""
    known = [_decimal(value) for value in values if value is not None]
    if len(known) < MIN_POINTS:
        return None
    middle = median(known)
    mad = median([abs(value - middle) for value in known])
    floor = UNIT_FLOORS.get(unit, SPREAD_FLOOR)
    spread = max(mad * MAD_TO_SIGMA, abs(middle) * RELATIVE_FLOOR, floor)
    return ExpectedRange(
        median=middle,
        low=middle - multiple * spread,
        high=middle + multiple * spread,
        points=len(known),
    )


def enough_records(result: Result, *, minimum: int = MIN_RECORDS) -> bool:
    """Whether a value stands on enough records to alarm anyone: its denominator for a
    ratio or an average, the value itself for a count."""
    size = result.denominator if result.denominator is not None else result.value
    return size is not None and abs(size) >= minimum


def comparable_starts(grain: str, period_start: date, count: int = BASELINE_PERIODS) -> list[date]:
    """The starts of the `count` periods a period is compared with, oldest first: for a day,
    the same weekday of the weeks before (a Monday is not a Sunday); else the periods before."""
    if grain == "day":
        return [period_start - timedelta(weeks=n) for n in range(count, 0, -1)]
    starts, day = [], period_start
    for _ in range(count):
        day = period_for(grain, day - timedelta(days=1)).start_date
        starts.append(day)
    return starts[::-1]


def stored_history(
    kpi_key: str,
    grain: str,
    period_start: date,
    segment_field: str = "",
    *,
    count: int = BASELINE_PERIODS,
) -> dict[str, list[Decimal | None]]:
    """{segment value ("" overall): the stored values of the comparable periods, oldest first,
    None where no snapshot holds one}, in one query."""
    starts = comparable_starts(grain, period_start, count)
    rows = KPISnapshot.objects.filter(
        kpi=kpi_key, grain=grain, segment_field=segment_field, period_start__in=starts
    ).values_list("segment_value", "period_start", "value")
    found: dict[str, dict[date, Decimal | None]] = {}
    for segment_value, start, value in rows:
        found.setdefault(segment_value, {})[start] = value
    return {
        segment_value: [values.get(start) for start in starts]
        for segment_value, values in found.items()
    }


def _decimal(value) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))
