"""Progress maths, pure functions: a target's share of the way from start to target, and the
weighted mean that rolls targets and child goals up into a goal."""

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

HUNDRED = Decimal(100)


def target_progress(
    *,
    current: Decimal | None,
    start: Decimal | None,
    target: Decimal | None,
    direction: str = "increase",
    band: tuple[Decimal | None, Decimal | None] = (None, None),
    upper: Decimal = HUNDRED,
) -> Decimal | None:
    """(current − start) ÷ (target − start) as 0–100; lower is progress when the target is
    below the start. Inside a band is 100 %, outside it 0 %. None when there is no value.
    Forecasts pass a higher `upper`: ahead of plan shows as more than 100 %."""
    if current is None:
        return None
    if direction == "band":
        low, high = band
        inside = (low is None or current >= low) and (high is None or current <= high)
        return HUNDRED if inside else Decimal(0)
    if start is None or target is None or target == start:
        return None
    share = (Decimal(current) - Decimal(start)) / (Decimal(target) - Decimal(start)) * HUNDRED
    return one_place(min(upper, max(Decimal(0), share)))


def weighted_mean(parts: Iterable[tuple[Decimal, Decimal | None]]) -> Decimal | None:
    """Mean of (weight, value) pairs; parts without a value are left out. Not rounded: a
    roll-up rounds once, when it stores the result."""
    total_weight = total = Decimal(0)
    for weight, value in parts:
        if value is None or not weight:
            continue
        total_weight += Decimal(weight)
        total += Decimal(weight) * Decimal(value)
    if not total_weight:
        return None
    return total / total_weight


def one_place(value: Decimal | None) -> Decimal | None:
    if value is None:
        return None
    return Decimal(value).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
