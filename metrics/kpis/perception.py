"""Customer perception and engagement KPIs (KPIS.md): NPS, CSAT, CES, engagement rate."""

import operator
from datetime import datetime
from decimal import Decimal
from functools import reduce

from django.db.models import Count, OuterRef, Q, Subquery, Sum
from django.db.models.lookups import IsNull
from django.utils.translation import gettext_lazy as _

from crm.expressions import InIdList
from crm.models import ENGAGEMENT_KINDS, Activity, SurveyAnswer, SurveyKind

from ..periods import Period
from ..registry import ALL, KPI, Bands, Result, Segment, get_kpi, ratio, register, to_decimal
from .revenue import COMPANY_SEGMENTS, company_in, customers_active, flag

ANSWER_SEGMENTS = {
    "owner": "company__owner",
    "team": "company__team",
    "industry": "company__industry",
    "company_size": "company__size_band",
    "ticket_channel": "ticket__channel",
    "ticket_priority": "ticket__priority",
    "custom": "company__custom",
}

# A CSAT answer rates how one ticket was handled: its owner and team are the ticket's agent and
# team (an agent's own CSAT), not the sales owner of the customer as for NPS.
TICKET_ANSWER_SEGMENTS = {
    **ANSWER_SEGMENTS,
    "owner": "ticket__assignee",
    "team": "ticket__team",
}

PROMOTER = Q(score__gte=9)
DETRACTOR = Q(score__lte=6)
SATISFIED = Q(score__gte=4)


def answers(kind: str, period: Period):
    return SurveyAnswer.objects.filter(
        kind=kind, answered_at__gte=period.start, answered_at__lt=period.end
    )


def _nps_combine(row: dict) -> Result:
    # Numerator: promoters − detractors; × 100 ÷ answers is % promoters − % detractors.
    return ratio(row["promoters"] - row["detractors"], row["answers"], scale=100)


register(
    KPI(
        key="nps",
        label=_("Net Promoter Score"),
        description=_(
            "% promoters (9–10) − % detractors (0–6) of NPS answers in the period, −100 to 100 "
            "(e.g. 200 promoters, 150 passives, 150 detractors → 40 − 30 = 10)."
        ),
        unit="score",
        higher_is_better=True,
        records=lambda period: answers(SurveyKind.NPS, period),
        aggregates=lambda period: {
            "promoters": Count("pk", filter=PROMOTER),
            "detractors": Count("pk", filter=DETRACTOR),
            "answers": Count("pk"),
        },
        combine=_nps_combine,
        segments=ANSWER_SEGMENTS,
        bands=Bands(typical=(30, 40), good=(40, 50), exceptional=(50, None)),
        group="perception",
    )
)

register(
    KPI(
        key="csat",
        label=_("Customer satisfaction"),
        description=_("CSAT answers of 4 or 5 (1–5 scale) ÷ all CSAT answers in the period × 100."),
        unit="percent",
        higher_is_better=True,
        records=lambda period: answers(SurveyKind.CSAT, period),
        aggregates=lambda period: {
            "satisfied": Count("pk", filter=SATISFIED),
            "answers": Count("pk"),
        },
        combine=lambda row: ratio(row["satisfied"], row["answers"], scale=100),
        segments=TICKET_ANSWER_SEGMENTS,
        numerator_filter=SATISFIED,
        group="perception",
    )
)


def _mean_score(row: dict) -> Result:
    return ratio(to_decimal(row["points"]) or Decimal(0), row["answers"])


def _score_aggregates(period: Period) -> dict:
    return {"points": Sum("score"), "answers": Count("pk")}


def csat_average(period: Period, segment: Segment = ALL) -> Result:
    """The average CSAT score (1–5) shown beside `csat`: total score ÷ answers."""
    row = get_kpi("csat").segmented_records(period, segment).aggregate(**_score_aggregates(period))
    return _mean_score(row)


register(
    KPI(
        key="ces",
        label=_("Customer effort score"),
        description=_("Mean of CES answers (1–7 scale) in the period; lower is better."),
        unit="score",
        higher_is_better=False,
        records=lambda period: answers(SurveyKind.CES, period),
        aggregates=_score_aggregates,
        combine=_mean_score,
        segments=ANSWER_SEGMENTS,
        group="perception",
    )
)


def _engagements(period: Period):
    """The period's engagement activities and survey answers."""
    activity = Activity.objects.filter(
        kind__in=ENGAGEMENT_KINDS, occurred_at__gte=period.start, occurred_at__lt=period.end
    )
    answer = SurveyAnswer.objects.filter(answered_at__gte=period.start, answered_at__lt=period.end)
    return activity, answer


def _engaged(period: Period):
    """Any engagement activity or survey answer in the period, by the company or its people."""
    activity, answer = _engagements(period)
    return flag(company_in(activity) | company_in(answer))


def _engaged_ids(period: Period, since: datetime | None = None, until: datetime | None = None):
    """The ids of the companies `_engaged` tells, in one query (a UNION of its four sets); of
    the rows dated from `since` and before `until` only, when given."""
    activity, answer = _engagements(period)
    activity, answer = (
        _dated(activity, "occurred_at", since, until),
        _dated(answer, "answered_at", since, until),
    )
    sets = [
        rows.filter(**{f"{path}__isnull": False}).order_by().values_list(path, flat=True)
        for rows in (activity, answer)
        for path in ("company", "contact__company")
    ]
    return sets[0].union(*sets[1:])


def _dated(rows, field: str, since: datetime | None, until: datetime | None):
    if since is not None:
        rows = rows.filter(**{f"{field}__gte": since})
    if until is not None:
        rows = rows.filter(**{f"{field}__lt": until})
    return rows


def _engagement_activities_before(period: Period, until: datetime) -> int:
    """How many of the period's engagement activities are dated before `until`: a call logged
    back-dated adds one (the answers are kept by their own changes, every one)."""
    activity, _answer = _engagements(period)
    return activity.filter(occurred_at__lt=until).count()


def _engagement_records(period: Period, engaged_ids: list[int] | None = None):
    """The period's active customers, each flagged `engaged` (by `_engaged`, or as one of the
    ids `_engaged_ids` returned)."""
    engaged = _engaged(period) if engaged_ids is None else flag(Q(InIdList("pk", engaged_ids)))
    return customers_active(period).annotate(engaged=engaged)


def _engaged_per_row(period: Period) -> Q:
    """`_engaged` as up to four index probes per customer: for a page of engaged customers,
    which stops after its rows where the sets of `_engaged` read the month first (a scalar
    subquery is tested row by row; PostgreSQL turns an IN or EXISTS into a hashed set)."""
    activity, answer = _engagements(period)
    rows = [
        activity.filter(company=OuterRef("pk")),
        activity.filter(contact__company=OuterRef("pk")),
        answer.filter(company=OuterRef("pk")),
        answer.filter(contact__company=OuterRef("pk")),
    ]
    tests = [Q(IsNull(Subquery(row.values("pk")[:1]), False)) for row in rows]
    return reduce(operator.or_, tests)


register(
    KPI(
        key="engagement_rate",
        label=_("Customer engagement rate"),
        description=_(
            "Customers active in the period with at least one engagement activity (email "
            "opened or received, meeting, call, site visit) or survey answer in the period "
            "÷ customers active in the period × 100."
        ),
        unit="percent",
        higher_is_better=True,
        records=_engagement_records,
        aggregates=lambda period: {
            "engaged_count": Count("pk", filter=Q(engaged=True)),
            "customers": Count("pk"),
        },
        combine=lambda row: ratio(row["engaged_count"], row["customers"], scale=100),
        segments=COMPANY_SEGMENTS,
        numerator_filter=Q(engaged=True),
        numerator_per_row=_engaged_per_row,
        numerator_ids=_engaged_ids,
        records_given=_engagement_records,
        settled_count=_engagement_activities_before,
        counts_records=True,
        group="perception",
    )
)
