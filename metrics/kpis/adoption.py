"""Team adoption KPIs (KPIS.md): active users and logins."""

from django.db.models import Count, Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from crm.models import Event, LoginEvent, User

from ..periods import Period
from ..registry import KPI, Result, register, to_decimal


def active_users(period: Period):
    """Users who logged in or changed a record (an event they are the actor of) in the period."""
    logged_in = LoginEvent.objects.filter(
        user=OuterRef("pk"), at__gte=period.start, at__lt=period.end
    )
    changed = Event.objects.filter(
        actor=OuterRef("pk"), occurred_at__gte=period.start, occurred_at__lt=period.end
    )
    return User.objects.filter(Q(Exists(logged_in)) | Q(Exists(changed)))


def _count(row: dict) -> Result:
    # A count over no records is a real 0; numerator and denominator are the records counted.
    count = to_decimal(row["count"])
    return Result(count, count, count)


register(
    KPI(
        key="active_users",
        label=_("Active users"),
        description=_("Distinct users who logged in or changed a record in the period."),
        unit="count",
        higher_is_better=True,
        records=active_users,
        # Distinct: a user in two teams is one active user overall.
        aggregates=lambda period: {"count": Count("pk", distinct=True)},
        combine=_count,
        segments={"team": "teams", "role": "groups__name"},
        group="adoption",
    )
)

register(
    KPI(
        key="logins",
        label=_("Logins"),
        description=_("Count of successful logins in the period."),
        unit="count",
        higher_is_better=True,
        records=lambda period: LoginEvent.objects.filter(at__gte=period.start, at__lt=period.end),
        aggregates=lambda period: {"count": Count("pk")},
        combine=_count,
        segments={"owner": "user", "team": "user__teams"},
        group="adoption",
    )
)
