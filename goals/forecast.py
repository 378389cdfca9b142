"""The value expected at the period's end from the run-rate of the daily rows, and the status
it gives the goal."""

from datetime import date
from decimal import Decimal

from .progress import one_place

# Forecast share of the target reached by the period's end: on track from here...
ON_TRACK_FROM = Decimal(100)
# ...at risk from here, off track below.
AT_RISK_FROM = Decimal(80)
# Too early to tell before this many days of history.
MIN_DAYS = 7


def run_rate_forecast(points: list[tuple[date, Decimal]], end: date) -> Decimal | None:
    """Least-squares line through (day, value) points, read at `end` (the last day)."""
    points = [(day, Decimal(value)) for day, value in points if value is not None]
    if not points:
        return None
    if len(points) == 1:
        return points[0][1]
    origin = points[0][0]
    xs = [Decimal((day - origin).days) for day, _ in points]
    ys = [value for _, value in points]
    count = Decimal(len(points))
    mean_x, mean_y = sum(xs) / count, sum(ys) / count
    spread = sum((x - mean_x) ** 2 for x in xs)
    if not spread:
        return ys[-1]
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
    last_x, last_y = xs[-1], ys[-1]
    # Continue from the latest value at the fitted pace, so today's number is the origin.
    return (last_y + slope * (Decimal((end - origin).days) - last_x)).quantize(Decimal("0.0001"))


def health_for(forecast_progress: Decimal | None, days_elapsed: int) -> str:
    if forecast_progress is None or days_elapsed < MIN_DAYS:
        return ""
    if forecast_progress >= ON_TRACK_FROM:
        return "on_track"
    if forecast_progress >= AT_RISK_FROM:
        return "at_risk"
    return "off_track"


def capped(value: Decimal | None) -> Decimal | None:
    """Forecast shares may pass 100 % (ahead of plan) but are kept readable."""
    if value is None:
        return None
    return one_place(min(Decimal(999), max(Decimal(0), value)))
