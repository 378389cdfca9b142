"""Half-open periods [start, end) in the site time zone, by grain."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from math import ceil

from django.utils import timezone
from django.utils.formats import date_format, time_format
from django.utils.translation import gettext
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


@dataclass(frozen=True)
class Comparison:
    """What a period's value is compared with: the previous period, or, while the period is
    still running, the same elapsed part of it (1–25 November against 1–25 October, not the
    whole of October). `label` names it for the screen ("the same days of October 2026")."""

    period: Period
    partial: bool
    label: str


def comparison_for(
    period: Period, now: datetime | None = None, *, balance: bool = False
) -> Comparison:
    """Whole days of the previous period as many as have begun in this one (today counts);
    for a day, yesterday up to the same hour. Whole days and hours keep the compared period
    the same through the day (or hour), so its value can be cached.

    A balance (a KPI measured at the period's end: pipeline, MRR, health) compares with the
    whole previous period, that is with where it stood when that period closed, as MRR
    growth does; the same elapsed days only make sense for what accumulates over a period."""
    previous = period.previous()
    now = now or timezone.now()
    if balance or not period.start <= now < period.end:
        return Comparison(previous, False, period_name(previous))
    if period.grain == "day":
        hours = ceil((now - period.start).total_seconds() / 3600)
        cut = previous.start + timedelta(hours=hours)
        if cut >= previous.end:
            return Comparison(previous, False, period_name(previous))
        label = gettext("%(day)s until %(time)s") % {
            "day": period_name(previous),
            "time": time_format(timezone.localtime(cut)),
        }
        return Comparison(Period(previous.start, cut, "custom"), True, label)
    days = (timezone.localtime(now).date() - period.start_date).days + 1
    last = previous.start_date + timedelta(days=days - 1)
    if last >= previous.end_date:
        # This period has run longer than the whole previous one (31 March against February).
        return Comparison(previous, False, period_name(previous))
    label = gettext("the same days of %(period)s") % {"period": period_name(previous)}
    return Comparison(custom_period(previous.start_date, last), True, label)


def period_name(period: Period) -> str:
    """A period in words, in the reader's language and date form: "Nov 25, 2026",
    "October 2026", "Q3 2026", "2025"..."""
    first = period.start_date
    if period.grain == "day":
        return date_format(first)
    if period.grain == "week":
        return gettext("the week of %(day)s") % {"day": date_format(first)}
    if period.grain == "month":
        return date_format(first, "YEAR_MONTH_FORMAT")
    if period.grain == "quarter":
        return quarter_name(first)
    if period.grain == "year":
        return str(first.year)
    return f"{date_format(first)} – {date_format(period.end_date)}"


def quarter_name(first: date) -> str:
    return gettext("Q%(quarter)s %(year)s") % {
        "quarter": (first.month - 1) // 3 + 1,
        "year": first.year,
    }


def month_start(value) -> date:
    """The first day of the month of a date, or of a datetime in the site's time zone (what a
    TruncMonth grouping gives back)."""
    if hasattr(value, "hour"):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
        return value.date().replace(day=1)
    return value.replace(day=1)


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
