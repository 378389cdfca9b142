"""The Monday review (issue 17): facts computed from the numbers, then sentences from the facts.

`write_reviews` stores, for one week, a review of the company, of each team and of each sales
rep: the KPIs that left their expected range against their own 8 comparable weeks
(metrics.baseline), the segment value that drove each move (metrics.drivers, from the
breakdowns), and the goals on and off track. Only facts are stored (keys and numbers, no
words); `sentences` writes them in the active language when a page or an email is rendered,
so each sentence can be checked against the numbers it was made from.

The numbers come from the stored weekly snapshots (the week, its history, its team and owner
breakdowns); the drivers read the breakdowns of the week and of the 8 weeks before.
"""

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from crm.models import Role, Team, User
from goals.models import Goal, Health, Scope

from .baseline import BASELINE_PERIODS, enough_records, expected_range, stored_history
from .dashboards import (
    CHOICE_SEGMENTS,
    can_view_segment,
    kpi_url,
    sees_everything,
    segment_field_label,
)

# The split's own rules (length scaling, the move's sign), shared rather than repeated.
from .drivers import Driver, _length_ratio, _move, drivers, split_change
from .models import ReviewDelivery, ReviewScope, ReviewSubscription, WeeklyReview
from .numbers import Reader
from .periods import (
    Period,
    comparison_for,
    custom_period,
    local_midnight,
    period_for,
    period_name,
)
from .registry import ALL, KPI, Result, Segment, get_kpi
from .templatetags.metrics_tags import kpi_delta, kpi_format, plain_number

logger = logging.getLogger(__name__)

# The KPIs a manager's review looks at: stored weekly, overall, by team and by owner.
REVIEW_KPIS = [
    "win_rate",
    "deals_won_count",
    "net_new_revenue",
    "apv",
    "pipeline_value",
    "lead_qualification_rate",
    "lead_response_hours",
    "first_response_hours",
    "resolution_hours",
    "sla_breach_rate",
    "csat",
]
# A rep's short version: their own deals and leads.
PERSON_KPIS = ["win_rate", "deals_won_count", "apv", "pipeline_value", "lead_response_hours"]
TOP_MOVES = 4
PERSON_TOP_MOVES = 3
GOAL_HEALTHS = (Health.OFF_TRACK, Health.AT_RISK, Health.ON_TRACK)


def review_week(today: date) -> date:
    """The Monday of the last whole week before `today`."""
    return period_for("week", today - timedelta(days=7)).start_date


def week_period(week_start: date) -> Period:
    return period_for("week", week_start)


def weeks_before(week_start: date) -> Period:
    """The 8 weeks before the reviewed one, as one period: what a move is explained against."""
    return custom_period(week_start - timedelta(weeks=BASELINE_PERIODS), week_start - timedelta(1))


# Facts --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    """Whom a review is about: the company, a team or a person."""

    scope: str
    team: Team | None = None
    person: User | None = None

    @property
    def segment(self) -> Segment:
        if self.scope == ReviewScope.TEAM:
            return Segment("team", str(self.team.pk))
        if self.scope == ReviewScope.PERSON:
            return Segment("owner", str(self.person.pk))
        return ALL

    @property
    def kpi_keys(self) -> list[str]:
        return PERSON_KPIS if self.scope == ReviewScope.PERSON else REVIEW_KPIS

    @property
    def top(self) -> int:
        return PERSON_TOP_MOVES if self.scope == ReviewScope.PERSON else TOP_MOVES


def subjects() -> list[Subject]:
    """The company, every team, and every active sales rep."""
    found = [Subject(ReviewScope.COMPANY)]
    found += [Subject(ReviewScope.TEAM, team=team) for team in Team.objects.order_by("name")]
    reps = User.objects.filter(is_active=True, groups__name=Role.SALES_REP).distinct()
    found += [Subject(ReviewScope.PERSON, person=user) for user in reps.order_by("pk")]
    return found


class WeekNumbers:
    """The week's values and their histories, read per KPI and segment field once for all the
    subjects: {segment value: Result} and {segment value: past values}."""

    def __init__(self, week_start: date, reader: Reader):
        self.week_start = week_start
        self.period = week_period(week_start)
        self.reader = reader
        self._values: dict[tuple, dict[str, Result]] = {}
        self._history: dict[tuple[str, str], dict[str, list]] = {}

    def value(self, kpi: KPI, segment: Segment, period: Period | None = None) -> Result:
        """The KPI in the week (or `period`) for the segment: one overall read, or one
        breakdown for every team (or owner) at once."""
        period = period or self.period
        key = (kpi.key, segment.field, period)
        if key not in self._values:
            if segment.is_all:
                self._values[key] = {"": self.reader.result(kpi, period, ALL)}
            else:
                self._values[key] = self.reader.breakdown(kpi, period, segment.field)
        return self._values[key].get(segment.value, Result(None))

    @property
    def month_so_far(self) -> Period:
        """From the first of the month the week ends in to the week's last day."""
        last = self.period.end_date
        return custom_period(last.replace(day=1), last)

    def month_before(self, kpi: KPI) -> Period:
        """What the month so far compares with: the same days of the month before (a balance,
        with where it stood at the end of that month), as the dashboards compare."""
        month = period_for("month", self.period.end_date)
        end_of_week = local_midnight(self.period.end_date) + timedelta(hours=12)
        return comparison_for(month, end_of_week, balance=kpi.as_of_end).period

    def history(self, kpi: KPI, segment: Segment) -> list:
        key = (kpi.key, segment.field)
        if key not in self._history:
            self._history[key] = stored_history(kpi.key, "week", self.week_start, segment.field)
        return self._history[key].get(segment.value, [])


def review_facts(subject: Subject, numbers: WeekNumbers) -> dict:
    """What the review of `subject` says, as numbers: the top moves with their drivers, and
    the goals running through the week."""
    moves = []
    for key in subject.kpi_keys:
        kpi = get_kpi(key)
        if subject.segment.is_all or _supports(kpi, subject.segment):
            move = kpi_move(
                kpi, numbers.value(kpi, subject.segment), numbers.history(kpi, subject.segment)
            )
            if move is not None:
                moves.append(move)
    moves.sort(key=lambda move: Decimal(move["score"]), reverse=True)
    moves = moves[: subject.top]
    for move in moves:
        driver = move_driver(subject, get_kpi(move["kpi"]), numbers)
        move["driver"] = driver_facts(driver) if driver else None
    return {
        "week_start": numbers.week_start.isoformat(),
        "segment": _segment_text(subject.segment),
        "checked": len(subject.kpi_keys),
        "moves": moves,
        "month": month_facts(subject, numbers),
        "goals": goal_facts(subject, numbers.period),
    }


def month_facts(subject: Subject, numbers: WeekNumbers) -> dict:
    """The month so far against the same days of the month before: the KPIs that changed
    most (relative to where they were), on enough records."""
    changes = []
    for key in subject.kpi_keys:
        kpi = get_kpi(key)
        if not (subject.segment.is_all or _supports(kpi, subject.segment)):
            continue
        now = numbers.value(kpi, subject.segment, numbers.month_so_far)
        before = numbers.value(kpi, subject.segment, numbers.month_before(kpi))
        if now.value is None or before.value is None or not enough_records(now):
            continue
        if before.value == now.value:
            continue
        relative = abs(now.value - before.value) / max(abs(before.value), Decimal("0.01"))
        changes.append((relative, kpi, now, before))
    changes.sort(key=lambda change: change[0], reverse=True)
    return {
        "start": numbers.month_so_far.start_date.isoformat(),
        "end": numbers.month_so_far.end_date.isoformat(),
        "kpis": [
            {"kpi": kpi.key, "now": _result_facts(now), "before": _result_facts(before)}
            for _relative, kpi, now, before in changes[: subject.top]
        ],
    }


def kpi_move(kpi: KPI, result: Result, history: list) -> dict | None:
    """The KPI's move when its week left the expected range and stands on enough records;
    `score` is how far from the median, in half-widths of the range (over 1 outside it)."""
    if result.value is None or not enough_records(result):
        return None
    expected = expected_range(history, unit=kpi.unit)
    if expected is None:
        return None
    side = expected.side(result.value)
    if side is None:
        return None
    half_width = (expected.high - expected.low) / 2
    score = abs(result.value - expected.median) / half_width
    return {
        "kpi": kpi.key,
        "side": side,
        "value": _text(result.value),
        "numerator": _text(result.numerator),
        "denominator": _text(result.denominator),
        "median": _text(expected.median),
        "low": _text(expected.low),
        "high": _text(expected.high),
        "points": expected.points,
        "score": _text(score.quantize(Decimal("0.01"))),
    }


def move_driver(subject: Subject, kpi: KPI, numbers: WeekNumbers) -> Driver | None:
    """The segment value that accounts for most of the move from the 8 weeks before to the
    week: for the company, any segment field; for a team, its own people; none for a person."""
    before = weeks_before(numbers.week_start)
    if subject.scope == ReviewScope.COMPANY:
        found = drivers(kpi, numbers.period, before, reader=numbers.reader, limit=1)
        return found[0] if found else None
    if subject.scope == ReviewScope.TEAM and "owner" in kpi.segments:
        return team_driver(kpi, subject, numbers.period, before, numbers.reader)
    return None


def team_driver(
    kpi: KPI, subject: Subject, current: Period, before: Period, reader: Reader
) -> Driver | None:
    """The team member whose records moved the team's value most, in the move's direction:
    the per-owner rows of the team's people split against the team's own totals."""
    segment = subject.segment
    after_all, before_all = (
        reader.result(kpi, current, segment),
        reader.result(kpi, before, segment),
    )
    scale = _length_ratio(kpi, current, before)
    move = _move(before_all, after_all, scale)
    if not move:
        return None
    members = {str(pk) for pk in subject.team.members.values_list("pk", flat=True)}
    after_rows = _only(reader.breakdown(kpi, current, "owner"), members)
    before_rows = _only(reader.breakdown(kpi, before, "owner"), members)
    contributions = split_change(kpi, before_all, after_all, before_rows, after_rows, scale=scale)
    aligned = [(value, c) for value, c in contributions.items() if value and c * move > 0]
    if not aligned:
        return None
    value, contribution = max(aligned, key=lambda item: abs(item[1]))
    person = User.objects.filter(pk=value).first()
    return Driver(
        field="owner",
        value=value,
        label=str(person) if person else value,
        contribution=contribution,
        before=before_rows.get(value),
        after=after_rows.get(value),
    )


def driver_facts(driver: Driver) -> dict:
    return {
        "field": driver.field,
        "value": driver.value,
        "label": driver.label,
        "contribution": _text(driver.contribution.quantize(Decimal("0.0001"))),
        "after": _result_facts(driver.after),
        "before": _result_facts(driver.before),
    }


def goal_facts(subject: Subject, week: Period) -> list[dict]:
    """The subject's active goals running through the week that can tell on or off track."""
    goals = Goal.objects.active().filter(
        start_date__lte=week.end_date, end_date__gte=week.start_date, health__in=GOAL_HEALTHS
    )
    if subject.scope == ReviewScope.COMPANY:
        goals = goals.filter(scope=Scope.COMPANY)
    elif subject.scope == ReviewScope.TEAM:
        goals = goals.filter(scope=Scope.TEAM, team=subject.team)
    else:
        goals = goals.filter(scope=Scope.PERSON, person=subject.person)
    return [
        {
            "id": goal.pk,
            "name": goal.name,
            "health": goal.health,
            "progress": _text(goal.progress),
            "forecast": _text(goal.forecast),
        }
        for goal in goals.order_by("end_date", "name", "pk")
    ]


def write_reviews(*, week_start: date, reader: Reader | None = None) -> int:
    """Write (or rewrite) the week's reviews of every subject; returns how many."""
    numbers = WeekNumbers(week_start, reader or Reader())
    written = 0
    for subject in subjects():
        WeeklyReview.objects.update_or_create(
            scope=subject.scope,
            team=subject.team,
            person=subject.person,
            week_start=week_start,
            defaults={"facts": review_facts(subject, numbers)},
        )
        written += 1
    return written


# Sentences ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sentence:
    text: str
    url: str = ""
    # "good" or "bad" for the reader, "" when neutral.
    tone: str = ""


def sentences(review: WeeklyReview, user) -> list[Sentence]:
    """The review in words, in the active language, with a link to the records where the
    reader may open them."""
    facts = review.facts or {}
    week = week_period(review.week_start)
    subject_segment = _parse_segment(facts.get("segment", ""))
    said = []
    for move in facts.get("moves", []):
        said += move_sentences(move, week, subject_segment, user)
    if not facts.get("moves"):
        said.append(
            Sentence(
                gettext("No KPI left its usual range in %(week)s.") % {"week": period_name(week)}
            )
        )
    said += month_sentences(facts.get("month") or {}, subject_segment, user)
    said += [goal_sentence(goal) for goal in facts.get("goals", [])]
    return said


def month_sentences(month: dict, segment: Segment, user) -> list[Sentence]:
    """ "Month so far (Nov 1 – Nov 22, 2026): Win rate 38.0% (15 of 40), against 41.0% over
    the same days of the month before." """
    if not month.get("kpis"):
        return []
    period = custom_period(date.fromisoformat(month["start"]), date.fromisoformat(month["end"]))
    said = []
    for item in month["kpis"]:
        kpi = get_kpi(item["kpi"])
        now, before = item["now"], item["before"]
        numbers = {
            "period": period_name(period),
            "kpi": kpi.label,
            "value": value_text(kpi, now["value"], now["numerator"], now["denominator"]),
            "before": kpi_format(before["value"], kpi.unit),
        }
        if kpi.as_of_end:
            text = gettext(
                "Month so far (%(period)s): %(kpi)s %(value)s, against %(before)s at the end of "
                "the month before."
            )
        else:
            text = gettext(
                "Month so far (%(period)s): %(kpi)s %(value)s, against %(before)s over the same "
                "days of the month before."
            )
        better = (Decimal(now["value"]) > Decimal(before["value"])) == kpi.higher_is_better
        said.append(
            Sentence(text % numbers, _link(user, kpi, period, segment), "good" if better else "bad")
        )
    return said


def move_sentences(move: dict, week: Period, segment: Segment, user) -> list[Sentence]:
    kpi = get_kpi(move["kpi"])
    good = (move["side"] == "above") == kpi.higher_is_better
    numbers = {
        "kpi": kpi.label,
        "value": value_text(kpi, move["value"], move.get("numerator"), move.get("denominator")),
        "week": period_name(week),
        "low": kpi_format(move["low"], kpi.unit),
        "high": kpi_format(move["high"], kpi.unit),
        "median": kpi_format(move["median"], kpi.unit),
        "points": move["points"],
    }
    if move["side"] == "above":
        text = gettext(
            "%(kpi)s rose to %(value)s in %(week)s, above its usual range of %(low)s to "
            "%(high)s (median %(median)s over %(points)s weeks)."
        )
    else:
        text = gettext(
            "%(kpi)s fell to %(value)s in %(week)s, below its usual range of %(low)s to "
            "%(high)s (median %(median)s over %(points)s weeks)."
        )
    tone = "good" if good else "bad"
    said = [Sentence(text % numbers, _link(user, kpi, week, segment), tone)]
    driver = move.get("driver")
    if driver:
        said.append(driver_sentence(kpi, driver, move["side"], week, user, tone))
    return said


def driver_sentence(kpi: KPI, driver: dict, side: str, week: Period, user, tone: str) -> Sentence:
    after, before = driver.get("after") or {}, driver.get("before") or {}
    numbers = {
        "segment": segment_words(driver),
        "after": value_text(
            kpi, after.get("value"), after.get("numerator"), after.get("denominator")
        ),
        "before": kpi_format(before.get("value"), kpi.unit),
        "contribution": kpi_delta(Decimal(driver["contribution"]), kpi.unit),
    }
    if side == "above":
        text = gettext(
            "Most of the rise is %(segment)s: %(after)s this week against %(before)s in the 8 "
            "weeks before, %(contribution)s of the change."
        )
    else:
        text = gettext(
            "Most of the drop is %(segment)s: %(after)s this week against %(before)s in the 8 "
            "weeks before, %(contribution)s of the change."
        )
    segment = Segment(driver["field"], driver["value"])
    return Sentence(text % numbers, _link(user, kpi, week, segment), tone)


def goal_sentence(goal: dict) -> Sentence:
    numbers = {
        "goal": goal["name"],
        "progress": kpi_format(goal.get("progress"), "percent"),
        "forecast": kpi_format(goal.get("forecast"), "percent"),
    }
    if goal["health"] == Health.ON_TRACK:
        text, tone = (
            gettext("Goal “%(goal)s” is on track: %(progress)s done, forecast %(forecast)s."),
            "good",
        )
    elif goal["health"] == Health.AT_RISK:
        text, tone = (
            gettext("Goal “%(goal)s” is at risk: %(progress)s done, forecast %(forecast)s."),
            "bad",
        )
    else:
        text, tone = (
            gettext("Goal “%(goal)s” is off track: %(progress)s done, forecast %(forecast)s."),
            "bad",
        )
    return Sentence(text % numbers, reverse("goal", args=[goal["id"]]), tone)


def value_text(kpi: KPI, value, numerator, denominator) -> str:
    """The value in its unit; a percentage with the counts it is made of ("22.2% (2 of 9)")."""
    shown = kpi_format(value, kpi.unit)
    if kpi.unit == "percent" and numerator is not None and denominator is not None:
        return gettext("%(value)s (%(numerator)s of %(denominator)s)") % {
            "value": shown,
            "numerator": plain_number(numerator),
            "denominator": plain_number(denominator),
        }
    return shown


def segment_words(driver: dict) -> str:
    """ "Lead source Referral", "Owner Marco Rossi": the field's name and the value's, the
    value in the reader's language when it is a choice."""
    field, value = driver["field"], driver["value"]
    label = driver.get("label") or value
    if field in CHOICE_SEGMENTS:
        label = str(dict(CHOICE_SEGMENTS[field].choices).get(value, label))
    if not field:
        return label
    field_label = segment_field_label(field)
    return gettext("%(field)s %(value)s") % {"field": field_label, "value": label}


def _link(user, kpi: KPI, week: Period, segment: Segment) -> str:
    """The KPI page for the week and segment: its records, when the reader may see them."""
    allowed = sees_everything(user) if segment.is_all else can_view_segment(user, segment)
    if not allowed:
        return ""
    return kpi_url(kpi.key, week, segment)


# Helpers ------------------------------------------------------------------------------------


def _supports(kpi: KPI, segment: Segment) -> bool:
    return kpi.compute is None and segment.field in kpi.segments


def _only(rows: dict[str, Result], values: set[str]) -> dict[str, Result]:
    return {value: result for value, result in rows.items() if value in values}


def _result_facts(result: Result | None) -> dict | None:
    if result is None:
        return None
    return {
        "value": _text(result.value),
        "numerator": _text(result.numerator),
        "denominator": _text(result.denominator),
    }


def _text(value) -> str | None:
    return None if value is None else str(value)


def _segment_text(segment: Segment) -> str:
    return "" if segment.is_all else f"{segment.field}={segment.value}"


def _parse_segment(text: str) -> Segment:
    field, _sep, value = text.partition("=")
    return Segment(field, value) if value else ALL


def visible_reviews(user):
    """The reviews the user may read (crm.access rules)."""
    from crm.access import visible

    return visible(WeeklyReview.objects.select_related("team", "person"), user)


# Email --------------------------------------------------------------------------------------


def review_email_set(*, user, enabled: bool) -> None:
    """Opt the user in or out of the Monday email (the database keeps one row a user)."""
    if enabled:
        ReviewSubscription.objects.get_or_create(user=user)
    else:
        ReviewSubscription.objects.filter(user=user).delete()


def wants_review_email(user) -> bool:
    return ReviewSubscription.objects.filter(user=user).exists()


def send_review_emails(*, week_start: date) -> int:
    """Email the week's reviews to each opted-in user who may read some, in their language;
    each (user, week) is claimed in the database first, so a re-run sends nobody twice."""
    sent = 0
    recipients = User.objects.filter(
        is_active=True, pk__in=ReviewSubscription.objects.values("user_id")
    ).exclude(email="")
    for user in recipients.order_by("pk"):
        reviews = list(visible_reviews(user).filter(week_start=week_start))
        if reviews and _claim_delivery(user, week_start):
            try:
                send_review_email(user, reviews, week_start)
            except Exception:
                # Not sent: release the claim so the next run tries again.
                ReviewDelivery.objects.filter(user=user, week_start=week_start).delete()
                logger.exception("Weekly review email to user %s failed", user.pk)
                continue
            sent += 1
    return sent


def _claim_delivery(user, week_start: date) -> bool:
    try:
        with transaction.atomic():
            ReviewDelivery.objects.create(user=user, week_start=week_start)
    except IntegrityError:
        return False
    return True


def send_review_email(user, reviews: list[WeeklyReview], week_start: date) -> None:
    with translation.override(user.language or settings.LANGUAGE_CODE):
        context = {
            "user": user,
            "week": week_period(week_start),
            "reviews": [(review, sentences(review, user)) for review in reviews],
            "base_url": settings.CRM_BASE_URL.rstrip("/"),
        }
        subject = render_to_string("metrics/reviews/email_subject.txt", context)
        body = render_to_string("metrics/reviews/email.txt", context)
    send_mail(" ".join(subject.split()), body, None, [user.email])
