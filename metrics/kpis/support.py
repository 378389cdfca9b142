"""Support KPIs (KPIS.md): response and resolution times, first contact resolution, SLA."""

from decimal import Decimal

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from crm.models import Ticket

from ..periods import Period
from ..registry import KPI, Bands, Result, duration_seconds, ratio, register, rounded

TICKET_SEGMENTS = {
    "ticket_channel": "channel",
    "ticket_priority": "priority",
    "owner": "assignee",
    "team": "team",
    "industry": "company__industry",
    "company_size": "company__size_band",
    "custom": "custom",
}


def created_in(period: Period):
    return Ticket.objects.filter(created_at__gte=period.start, created_at__lt=period.end)


def resolved_in(period: Period):
    return Ticket.objects.filter(resolved_at__gte=period.start, resolved_at__lt=period.end)


def elapsed(until: str):
    """Time from the ticket's creation to `until`; summed in SQL on both databases."""
    return ExpressionWrapper(F(until) - F("created_at"), output_field=DurationField())


def hours(value) -> Decimal:
    """Hours in a summed duration (none summed is zero hours)."""
    seconds = duration_seconds(value)
    return Decimal(0) if seconds is None else seconds / 3600


def _mean_hours(row: dict) -> Result:
    """Total hours ÷ tickets; the numerator is the total hours (rounded for storage)."""
    result = ratio(hours(row["total"]), row["tickets"])
    return Result(result.value, rounded(result.numerator), result.denominator)


register(
    KPI(
        key="first_response_hours",
        label=_("Average response time"),
        description=_(
            "Mean hours from ticket creation to the first agent reply, over tickets created "
            "in the period that have been answered."
        ),
        unit="hours",
        higher_is_better=False,
        records=lambda period: created_in(period).filter(first_response_at__isnull=False),
        aggregates=lambda period: {
            "total": Sum(elapsed("first_response_at")),
            "tickets": Count("pk"),
        },
        combine=_mean_hours,
        segments=TICKET_SEGMENTS,
        group="support",
    )
)

register(
    KPI(
        key="resolution_hours",
        label=_("Average resolution time"),
        description=_(
            "Total hours from creation to resolution ÷ tickets resolved in the period "
            "(e.g. 500 h over 100 tickets → 5 h)."
        ),
        unit="hours",
        higher_is_better=False,
        records=resolved_in,
        aggregates=lambda period: {"total": Sum(elapsed("resolved_at")), "tickets": Count("pk")},
        combine=_mean_hours,
        segments=TICKET_SEGMENTS,
        bands=Bands(typical=(4, 8), good=(2, 4), exceptional=(None, 2)),
        group="support",
    )
)

FIRST_CONTACT = Q(agent_reply_count=1, reopen_count=0)

register(
    KPI(
        key="fcr_rate",
        label=_("First contact resolution"),
        description=_(
            "Tickets resolved in the period with exactly one agent reply and never reopened "
            "÷ tickets resolved in the period × 100."
        ),
        unit="percent",
        higher_is_better=True,
        records=resolved_in,
        aggregates=lambda period: {
            "first_contact": Count("pk", filter=FIRST_CONTACT),
            "resolved": Count("pk"),
        },
        combine=lambda row: ratio(row["first_contact"], row["resolved"], scale=100),
        segments=TICKET_SEGMENTS,
        numerator_filter=FIRST_CONTACT,
        group="support",
    )
)

# A breach is known once a due time passed without the response or resolution, or the
# response/resolution came after it, or the SLA job stamped the ticket. "Now" rather than the
# period end: a ticket opened late in the period that misses its SLA after the period ends
# still breached, and one not yet due in a running period has not.
SLA_BREACHED = (
    Q(sla_breached_at__isnull=False)
    | Q(first_response_at__gt=F("first_response_due_at"))
    | Q(resolved_at__gt=F("resolution_due_at"))
    | Q(first_response_at__isnull=True, first_response_due_at__lt=Now())
    | Q(resolved_at__isnull=True, resolution_due_at__lt=Now())
)

register(
    KPI(
        key="sla_breach_rate",
        label=_("SLA breaches"),
        description=_(
            "Tickets created in the period whose first response or resolution exceeded the "
            "SLA due time of their priority (or is still missing past it) ÷ tickets created "
            "in the period × 100."
        ),
        unit="percent",
        higher_is_better=False,
        records=created_in,
        aggregates=lambda period: {
            "breached": Count("pk", filter=SLA_BREACHED),
            "tickets": Count("pk"),
        },
        combine=lambda row: ratio(row["breached"], row["tickets"], scale=100),
        segments=TICKET_SEGMENTS,
        numerator_filter=SLA_BREACHED,
        group="support",
    )
)
