"""KPI alerts: after the nightly snapshots, a KPI that left its expected range raises an alert.

For each period the fill closed, each KPI and each scope the snapshots hold (the company, each
team, each owner), the stored value is compared with the robust range of its own comparable
past periods (metrics.baseline). Values on too few records never alarm. An alert names the
segment that drove the move most (metrics.drivers, overall alerts only: a team's or a person's
alert is already about one segment).

Everything is read from stored snapshots and breakdowns. One row per (kpi, grain, period,
segment), enforced by the database: a re-run updates the open row, leaves an "expected" one
alone, and notifies and emits the automation event only when the row is first created.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.access import is_manager, member_ids, team_ids
from crm.models import Role, User
from crm.services.events import event_record
from crm.services.notifications import notify

from .baseline import (
    ExpectedRange,
    comparable_starts,
    enough_records,
    expected_range,
    stored_history,
)
from .dashboards import can_view_segment, kpi_url, sees_everything
from .drivers import drivers
from .models import AlertStatus, FillStatus, KPIAlert, KPISnapshot, SnapshotFill
from .numbers import Reader
from .periods import Period, custom_period, period_for, period_name
from .registry import KPI, REGISTRY, Result, Segment, all_kpis
from .templatetags.metrics_tags import kpi_format

ALERT_GRAINS = ("day", "week", "month", "quarter")
# The scopes of an alert: the company ("") and the segments the nightly fill stores.
ALERT_SCOPES = ("", "team", "owner")
ALERT_EVENT = "kpi.alert_raised"
# Enough to find one driver in the alert's direction (see top_driver).
DRIVERS_LOOKED_AT = 10


@dataclass(frozen=True)
class Finding:
    kpi: KPI
    period: Period
    segment_field: str
    segment_value: str
    result: Result
    expected: ExpectedRange
    direction: str


# Finding the unusual values ----------------------------------------------------------------


def unusual_values(period: Period, *, kpis: list[KPI] | None = None) -> list[Finding]:
    """Every stored value of `period` outside its expected range, on enough records."""
    kpis = {kpi.key: kpi for kpi in (kpis or all_kpis())}
    current = _stored_results(period, list(kpis))
    findings = []
    for (key, segment_field), values in current.items():
        history = stored_history(key, period.grain, period.start_date, segment_field)
        for segment_value, result in values.items():
            finding = _judge(kpis[key], period, segment_field, segment_value, result, history)
            if finding is not None:
                findings.append(finding)
    return findings


def _stored_results(period: Period, keys: list[str]) -> dict[tuple[str, str], dict[str, Result]]:
    """{(kpi key, segment field): {segment value: result}} of the period's snapshots."""
    rows = KPISnapshot.objects.filter(
        grain=period.grain,
        period_start=period.start_date,
        kpi__in=keys,
        segment_field__in=ALERT_SCOPES,
    ).values_list("kpi", "segment_field", "segment_value", "value", "numerator", "denominator")
    found: dict[tuple[str, str], dict[str, Result]] = {}
    for key, field, value_of, value, numerator, denominator in rows:
        if field and not value_of:
            continue  # records with no owner or team: nobody to tell
        found.setdefault((key, field), {})[value_of] = Result(value, numerator, denominator)
    return found


def _judge(kpi, period, segment_field, segment_value, result, history) -> Finding | None:
    if result.value is None or not enough_records(result):
        return None
    expected = expected_range(history.get(segment_value, []), unit=kpi.unit)
    if expected is None:
        return None
    direction = expected.side(result.value)
    if direction is None:
        return None
    return Finding(kpi, period, segment_field, segment_value, result, expected, direction)


# Raising them ------------------------------------------------------------------------------


def check_period(period: Period, *, kpis: list[KPI] | None = None) -> list[KPIAlert]:
    """Raise or refresh the alerts of one closed period; returns the alerts first raised now.
    An open alert whose value is back in range (the period was recomputed) is withdrawn."""
    findings = unusual_values(period, kpis=kpis)
    reader = Reader()  # one for the period: the drivers of its alerts share breakdowns
    raised = [alert for alert in (_save(f, reader) for f in findings) if alert is not None]
    _withdraw_stale(period, findings, kpis)
    if raised:
        readers = managers()
        for alert in raised:
            _announce(alert, readers)
    return raised


def check_closed_periods(*, since: datetime) -> int:
    """After a nightly fill: check each period it closed (marked done since `since`)."""
    closed = SnapshotFill.objects.filter(
        grain__in=ALERT_GRAINS, status=FillStatus.DONE, finished_at__gte=since
    ).values_list("grain", "period_start")
    raised = 0
    for grain, start in closed.order_by("period_start", "grain"):
        raised += len(check_period(period_for(grain, start)))
    return raised


def check_recent(*, today: date, days: int) -> int:
    """Check every closed period ending in the last `days` days before `today` (the demo, or a
    manual catch-up)."""
    raised = 0
    for grain in ALERT_GRAINS:
        for period in _periods_ending_between(grain, today - timedelta(days=days), today):
            raised += len(check_period(period))
    return raised


def _periods_ending_between(grain: str, first: date, today: date) -> list[Period]:
    periods, day = [], today - timedelta(days=1)
    while day >= first:
        period = period_for(grain, day)
        if period.end_date < today:
            periods.append(period)
        day = period.start_date - timedelta(days=1)
    return periods[::-1]


def _save(finding: Finding, reader: Reader) -> KPIAlert | None:
    """The finding's row: created (returned, to announce) or refreshed if still open."""
    fields = _alert_fields(finding, reader)
    with transaction.atomic():
        alert, created = KPIAlert.objects.get_or_create(
            kpi=finding.kpi.key,
            grain=finding.period.grain,
            period_start=finding.period.start_date,
            segment_field=finding.segment_field,
            segment_value=finding.segment_value,
            defaults=fields,
        )
        if created:
            return alert
        if alert.status == AlertStatus.OPEN:
            KPIAlert.objects.filter(pk=alert.pk).update(**fields)
    return None


def _alert_fields(finding: Finding, reader: Reader) -> dict:
    fields = {
        "period_end": finding.period.end_date,
        "value": finding.result.value,
        "expected_low": finding.expected.low,
        "expected_high": finding.expected.high,
        "expected_median": finding.expected.median,
        "direction": finding.direction,
    }
    driver = top_driver(finding, reader) if not finding.segment_field else None
    if driver is not None:
        fields.update(
            driver_field=driver.field,
            driver_value=str(driver.value)[:200],
            driver_label=str(driver.label)[:200],
            driver_contribution=driver.contribution,
        )
    return fields


def top_driver(finding: Finding, reader: Reader):
    """The segment value that explains the move most, against the comparable periods' span, in
    the alert's direction (drivers() passes over a value holding every record)."""
    starts = comparable_starts(finding.period.grain, finding.period.start_date)
    before = custom_period(starts[0], finding.period.start_date - timedelta(days=1))
    found = drivers(finding.kpi, finding.period, before, reader=reader, limit=DRIVERS_LOOKED_AT)
    # The span's total can move the other way than the value left its range (the range is
    # around the median of the periods, not their total): such drivers explain nothing here.
    sign = 1 if finding.direction == "above" else -1
    return next(
        (driver for driver in found if driver.contribution * sign > 0),
        None,
    )


def _withdraw_stale(period: Period, findings: list[Finding], kpis: list[KPI] | None) -> None:
    still = {(f.kpi.key, f.segment_field, f.segment_value) for f in findings}
    open_rows = KPIAlert.objects.filter(
        grain=period.grain, period_start=period.start_date, status=AlertStatus.OPEN
    )
    if kpis is not None:
        open_rows = open_rows.filter(kpi__in=[kpi.key for kpi in kpis])
    stale = [
        pk
        for pk, key, field, value in open_rows.values_list(
            "pk", "kpi", "segment_field", "segment_value"
        )
        if (key, field, value) not in still
    ]
    if stale:
        KPIAlert.objects.filter(pk__in=stale).delete()


# Telling people ----------------------------------------------------------------------------


def _announce(alert: KPIAlert, readers: list[User]) -> None:
    """Once per alert (only a new row gets here): the managers who may read its segment, and
    the automation rules listening for "KPI alert raised"."""
    with transaction.atomic():
        notify(
            recipients=alert_recipients(alert, readers),
            title=alert_title(alert),
            body=alert_summary(alert),
            url=alert_url(alert),
            kind="kpi_alert",
            key=f"kpi-alert:{alert.pk}",
        )
        event_record(
            type=ALERT_EVENT,
            instance=alert,
            actor=None,
            changes={
                "kpi": [None, alert.kpi],
                "grain": [None, alert.grain],
                "direction": [None, alert.direction],
                "segment_field": [None, alert.segment_field],
                "segment_value": [None, alert.segment_value],
            },
        )


def alert_segment(alert: KPIAlert) -> Segment:
    return Segment(alert.segment_field, alert.segment_value)


def managers() -> list[User]:
    """The active managers, their roles loaded (one query for all of a run's alerts)."""
    rows = User.objects.filter(is_active=True, groups__name=Role.MANAGER).distinct()
    return list(rows.prefetch_related("groups").order_by("pk"))


def alert_recipients(alert: KPIAlert, readers: list[User]) -> list[User]:
    """The managers among `readers` who may read the alert's segment."""
    segment = alert_segment(alert)
    return [user for user in readers if can_view_segment(user, segment)]


def alert_rule(user) -> Q:
    """Who reads an alert (registered in crm.access): whoever may read its segment, as
    metrics.dashboards.can_view_segment decides it for the dashboards (admins: all, given by
    crm.access.visible). A person's or a team's alert: the user, their teammates, their teams;
    the company's and any other slice: managers."""
    people = [str(pk) for pk in member_ids(user)]
    teams = [str(pk) for pk in team_ids(user)]
    rule = Q(segment_field="owner", segment_value__in=people)
    rule |= Q(segment_field="team", segment_value__in=teams)
    if is_manager(user):
        rule |= ~Q(segment_field__in=["owner", "team"])
    return rule


def may_mark(user, alert: KPIAlert) -> bool:
    """Managers (and admins) say an alert they read was expected. `alert` comes through
    crm.access (get_for_user, visible), which decided that the user reads it: asking again
    cost one query per alert on the list."""
    return sees_everything(user)


@transaction.atomic
def alert_mark_expected(*, alert: KPIAlert, user: User) -> bool:
    """Mark an open alert expected: it stays, and a re-run of the check leaves it so. Returns
    whether it changed (a second click, or two managers at once, change it once)."""
    return bool(
        KPIAlert.objects.filter(pk=alert.pk, status=AlertStatus.OPEN).update(
            status=AlertStatus.EXPECTED, marked_by=user, marked_at=timezone.now()
        )
    )


def shows_driver(user, alert: KPIAlert) -> bool:
    """A driver that is a person or a team is named only to those who may read that segment."""
    if not alert.driver_field:
        return False
    return can_view_segment(user, Segment(alert.driver_field, alert.driver_value))


def alert_period(alert: KPIAlert) -> Period:
    return period_for(alert.grain, alert.period_start)


def alert_url(alert: KPIAlert) -> str:
    return kpi_url(alert.kpi, alert_period(alert), alert_segment(alert))


def kpi_label(alert: KPIAlert) -> str:
    kpi = REGISTRY.get(alert.kpi)
    return str(kpi.label) if kpi else alert.kpi


def kpi_unit(alert: KPIAlert) -> str:
    kpi = REGISTRY.get(alert.kpi)
    return kpi.unit if kpi else ""


def alert_title(alert: KPIAlert) -> str:
    if alert.direction == "above":
        return _("%(kpi)s is unusually high") % {"kpi": kpi_label(alert)}
    return _("%(kpi)s is unusually low") % {"kpi": kpi_label(alert)}


def alert_summary(alert: KPIAlert) -> str:
    unit = kpi_unit(alert)
    return _("%(value)s in %(period)s; expected %(low)s to %(high)s.") % {
        "value": kpi_format(alert.value, unit),
        "period": period_name(alert_period(alert)),
        "low": kpi_format(alert.expected_low, unit),
        "high": kpi_format(alert.expected_high, unit),
    }
