"""The KPI alerts pages: the list a reader may see, the dashboards' card, "mark expected"."""

from datetime import date

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.access import get_for_user, visible
from crm.lists import CappedPaginator
from crm.models import Team, User

from . import alerts
from .alert_models import AlertStatus, KPIAlert
from .dashboards import parse_segment, segment_field_label
from .registry import Segment

# Fifty a page: rendering an alert's words, numbers and band is the page's cost (200 at once
# took 160 ms as the admin on the large seed).
PER_PAGE = 50
CARD_LIMIT = 5
# A dashboard has a dozen cards; a longer list is not one of ours.
MAX_KPIS = 50


def alert_list(request):
    status = request.GET.get("status", AlertStatus.OPEN)
    if status not in (*AlertStatus.values, "all"):
        status = AlertStatus.OPEN
    rows = visible(KPIAlert, request.user).select_related("marked_by")
    if status != "all":
        rows = rows.filter(status=status)
    rows = rows.order_by("-period_start", "grain", "kpi", "segment_field", "pk")
    paginator = CappedPaginator(rows, PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    return render(
        request,
        "metrics/alerts/list.html",
        {
            "section": "dashboards",
            "status": status,
            "statuses": [
                (AlertStatus.OPEN, _("Open")),
                (AlertStatus.EXPECTED, _("Expected")),
                ("all", _("All")),
            ],
            "items": describe(request.user, list(page.object_list)),
            "page_obj": page,
            "paginator": paginator,
        },
    )


def alert_card(request):
    """The dashboards' strip: the reader's open alerts of periods overlapping the one shown."""
    first, last = _day(request.GET.get("start")), _day(request.GET.get("end"))
    rows = visible(KPIAlert, request.user).filter(status=AlertStatus.OPEN)
    if first and last:
        rows = rows.filter(period_start__lte=last, period_end__gte=first)
    keys = [key for key in request.GET.get("kpis", "").split(",")[:MAX_KPIS] if key]
    if keys:
        rows = rows.filter(kpi__in=keys)
    segment = _segment(request.GET.get("segment"))
    if segment is not None:
        rows = rows.filter(segment_field=segment.field, segment_value=segment.value)
    rows = list(rows.order_by("-period_start", "grain", "kpi")[:CARD_LIMIT])
    return render(request, "metrics/alerts/_card.html", {"items": describe(request.user, rows)})


@require_POST
def alert_mark_expected(request, pk: int):
    alert = get_for_user(KPIAlert, request.user, pk)
    if not alerts.may_mark(request.user, alert):
        raise PermissionDenied
    alerts.alert_mark_expected(alert=alert, user=request.user)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = ""
    return redirect(target or "kpi-alerts")


def describe(user, rows: list[KPIAlert]) -> list[dict]:
    """What the templates show of each alert: labels resolved in two queries at most."""
    scopes = scope_labels(rows)
    return [
        {
            "alert": alert,
            "kpi": alerts.kpi_label(alert),
            "title": alerts.alert_title(alert),
            "period": alerts.alert_period(alert),
            "unit": alerts.kpi_unit(alert),
            "scope": scopes.get((alert.segment_field, alert.segment_value), _("Company")),
            "driver": alert.driver_label if alerts.shows_driver(user, alert) else "",
            "driver_field": segment_field_label(alert.driver_field),
            "url": alerts.alert_url(alert),
            "may_mark": alert.status == AlertStatus.OPEN and alerts.may_mark(user, alert),
        }
        for alert in rows
    ]


def scope_labels(rows: list[KPIAlert]) -> dict[tuple[str, str], str]:
    owners = {a.segment_value for a in rows if a.segment_field == "owner"}
    teams = {a.segment_value for a in rows if a.segment_field == "team"}
    labels = {}
    for person in User.objects.filter(pk__in=_ids(owners)):
        labels[("owner", str(person.pk))] = str(person)
    for team in Team.objects.filter(Q(pk__in=_ids(teams))):
        labels[("team", str(team.pk))] = team.name
    return labels


def _ids(values) -> list[int]:
    return [int(value) for value in values if value.isdigit()]


def _segment(text: str | None) -> Segment | None:
    """The dashboard's segment, to show its alerts only; none (or nonsense) shows them all."""
    try:
        segment = parse_segment(text)
    except ValueError:
        return None
    return None if segment.is_all else segment


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text or "")
    except ValueError:
        return None
