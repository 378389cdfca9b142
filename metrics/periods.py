"""Half-open periods [start, end) in the site time zone, by grain."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

GRAINS = {
    "day": _("Day"),
    "week": _("Week"),
    "month": _("Month"),
    "quarter": _("Quarter"),
    "year": _("Year"),
    "custom": _("Custom range"),
}


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime
    grain: str = "custom"

    @property
    def start_date(self) -> date:
        return timezone.localtime(self.start).date()

    @property
    def end_date(self) -> date:
        """The last day inside the period."""
        return timezone.localtime(self.end).date() - timedelta(days=1)

    @property
    def days(self) -> float:
        return (self.end - self.start).total_seconds() / 86400

    def previous(self) -> "Period":
        if self.grain in ("day", "week", "month", "quarter", "year"):
            return period_for(self.grain, self.start_date - timedelta(days=1))
        return Period(self.start - (self.end - self.start), self.start, "custom")

    def __str__(self):
        if self.grain == "day":
            return self.start_date.isoformat()
        return f"{self.start_date.isoformat()} – {self.end_date.isoformat()}"


def local_midnight(day: date) -> datetime:
    # Held in UTC so that differences count real hours across daylight-saving changes.
    return timezone.make_aware(datetime.combine(day, time.min)).astimezone(UTC)


def period_for(grain: str, day: date) -> Period:
    """The period of `grain` that contains `day`."""
    first = _first_day(grain, day)
    return Period(local_midnight(first), local_midnight(_next_first_day(grain, first)), grain)


def custom_period(first_day: date, last_day: date) -> Period:
    """From the start of `first_day` to the end of `last_day`, both included."""
    if last_day < first_day:
        raise ValueError(_("The end date comes before the start date."))
    return Period(local_midnight(first_day), local_midnight(last_day + timedelta(days=1)), "custom")


def periods_between(grain: str, first_day: date, last_day: date) -> list[Period]:
    periods, day = [], first_day
    while day <= last_day:
        period = period_for(grain, day)
        periods.append(period)
        day = period.end_date + timedelta(days=1)
    return periods


def _first_day(grain: str, day: date) -> date:
    if grain == "day":
        return day
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    if grain == "quarter":
        return day.replace(month=3 * ((day.month - 1) // 3) + 1, day=1)
    if grain == "year":
        return day.replace(month=1, day=1)
    raise ValueError(f"Unknown grain: {grain}")


def _next_first_day(grain: str, first: date) -> date:
    if grain == "day":
        return first + timedelta(days=1)
    if grain == "week":
        return first + timedelta(days=7)
    months = {"month": 1, "quarter": 3, "year": 12}[grain]
    month_index = first.month - 1 + months
    return date(first.year + month_index // 12, month_index % 12 + 1, 1)
