"""The ready-made dashboards, who may read which segment, and the KPI cards they show.

A card reads its number through metrics.numbers, as the KPI page it links to does: a closed
period from its snapshot rows when the period and segment are snapshotted (month, quarter or
day; overall, per owner or per team), so a dashboard costs the same few queries on a thousand
deals or a million; a period still running, and anything not snapshotted, live (cached until a
record changes). Its change compares with the same elapsed part of the previous period.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm.access import is_admin, is_manager, member_ids, team_ids, teammates, visible_teams
from crm.models import (
    CustomField,
    DealKind,
    Industry,
    LeadSource,
    Pipeline,
    SizeBand,
    Stage,
    Team,
    TicketChannel,
    TicketPriority,
    User,
)

from .models import KPIBandOverride, KPISnapshot
from .numbers import Reader, unfinished_fill
from .periods import Comparison, Period, comparison_for
from .registry import ALL, KPI, REGISTRY, Bands, Result, Segment, all_kpis


@dataclass(frozen=True)
class DashboardDef:
    slug: str
    title: str
    description: str
    cards: list[str]
    charts: list[str]
    at_risk: bool = False
    # "My numbers": always the viewer's own owner segment.
    personal: bool = False


READY_MADE: dict[str, DashboardDef] = {
    d.slug: d
    for d in [
        DashboardDef(
            "executive",
            _("Executive"),
            _("Revenue, pipeline, retention and satisfaction at a glance."),
            cards=[
                "mrr",
                "mrr_growth_rate",
                "net_new_revenue",
                "pipeline_value",
                "win_rate",
                "churn_rate",
                "nps",
                "health_score",
            ],
            charts=["trend:mrr", "deals_won_by_month", "mrr_movement", "pipeline_by_stage"],
        ),
        DashboardDef(
            "sales",
            _("Sales"),
            _("Pipeline, win rate, velocity and lead handling."),
            cards=[
                "pipeline_value",
                "weighted_pipeline_value",
                "win_rate",
                "deals_won_count",
                "apv",
                "sales_cycle_days",
                "deal_velocity",
                "lead_conversion_rate",
                "lead_qualification_rate",
                "lead_response_hours",
                "upsell_rate",
                "cross_sell_rate",
            ],
            charts=[
                "deals_won_by_month",
                "pipeline_by_stage",
                "time_in_stage",
                "trend:win_rate",
            ],
        ),
        DashboardDef(
            "support",
            _("Support"),
            _("Response and resolution times, SLA and what customers say."),
            cards=[
                "first_response_hours",
                "resolution_hours",
                "fcr_rate",
                "sla_breach_rate",
                "csat",
                "ces",
                "nps",
            ],
            charts=["survey_bands", "trend:resolution_hours", "trend:first_response_hours"],
        ),
        DashboardDef(
            "retention",
            _("Customer retention"),
            _("Recurring revenue, churn, renewals, costs, lifetime value and customer health."),
            cards=[
                "mrr",
                "mrr_growth_rate",
                "churn_rate",
                "renewal_rate",
                "health_score",
                "engagement_rate",
                "cac",
                "retention_cost",
                "clv",
                "ltv_cac_ratio",
            ],
            charts=["mrr_movement", "trend:churn_rate", "trend:health_score"],
            at_risk=True,
        ),
        DashboardDef(
            "adoption",
            _("Team adoption"),
            _("Who uses the CRM: active users and logins."),
            cards=["active_users", "logins"],
            charts=["trend:active_users", "trend:logins"],
        ),
        DashboardDef(
            "my",
            _("My numbers"),
            _("Your own deals, leads and tickets."),
            cards=[
                "deals_won_count",
                "pipeline_value",
                "win_rate",
                "apv",
                "lead_conversion_rate",
                "lead_response_hours",
                "first_response_hours",
                "resolution_hours",
            ],
            charts=["deals_won_by_month", "pipeline_by_stage", "trend:win_rate"],
            personal=True,
        ),
    ]
}

# The numbers on the home page ("My day").
MY_DAY_CARDS = ["deals_won_count", "pipeline_value", "win_rate", "resolution_hours"]


# Segments --------------------------------------------------------------------------------

SEGMENT_LABELS = {
    "owner": _("Owner"),
    "team": _("Team"),
    "lead_source": _("Lead source"),
    "pipeline": _("Pipeline"),
    "deal_kind": _("Deal kind"),
    "industry": _("Industry"),
    "company_size": _("Company size"),
    "ticket_channel": _("Ticket channel"),
    "ticket_priority": _("Ticket priority"),
    "stage": _("Stage"),
    "plan": _("Plan"),
    "role": _("Role"),
}
CHOICE_SEGMENTS = {
    "lead_source": LeadSource,
    "deal_kind": DealKind,
    "industry": Industry,
    "company_size": SizeBand,
    "ticket_channel": TicketChannel,
    "ticket_priority": TicketPriority,
}


def parse_segment(text: str | None) -> Segment:
    """`field=value` (e.g. `owner=3`, `custom:tier=gold`); empty is every record."""
    if not text:
        return ALL
    field_name, sep, value = text.partition("=")
    if not sep or not field_name or not value:
        raise ValueError(_("Choose a segment from the list."))
    known = field_name in SEGMENT_LABELS or (
        field_name.startswith("custom:") and len(field_name) > len("custom:")
    )
    if not known:
        raise ValueError(_("Unknown segment."))
    if field_name in ("owner", "team", "pipeline") and not value.isdigit():
        raise ValueError(_("Unknown segment."))
    return Segment(field_name, value)


def segment_names(field: str, values: list[str]) -> dict[str, str]:
    """Display names of a segment's values (people, teams, pipelines, stages, choices);
    a custom field's choice is its own name."""
    ids = [int(v) for v in values if v.isdigit()]
    if field == "owner":
        return {str(u.pk): str(u) for u in User.objects.filter(pk__in=ids)}
    if field == "team":
        return {str(t.pk): t.name for t in Team.objects.filter(pk__in=ids)}
    if field == "pipeline":
        return {str(p.pk): p.name for p in Pipeline.objects.filter(pk__in=ids)}
    if field == "stage":
        return {
            str(s.pk): str(s) for s in Stage.objects.filter(pk__in=ids).select_related("pipeline")
        }
    if field in CHOICE_SEGMENTS:
        return {value: str(label) for value, label in CHOICE_SEGMENTS[field].choices}
    return {}


def segment_field_label(field_name: str) -> str:
    """A segment field's name for the screen: "Lead source", or a custom field's label."""
    if field_name in SEGMENT_LABELS:
        return str(SEGMENT_LABELS[field_name])
    if field_name.startswith("custom:"):
        key = field_name.removeprefix("custom:")
        custom = CustomField.objects.filter(key=key).order_by("-is_active", "id").first()
        return custom.label if custom is not None else key
    return field_name


def segment_param(segment: Segment) -> str:
    return "" if segment.is_all else f"{segment.field}={segment.value}"


def sees_everything(user) -> bool:
    """Managers and admins read the whole company's numbers, in any segment."""
    return is_admin(user) or is_manager(user)


def can_view_segment(user, segment: Segment) -> bool:
    """A person or a team is a segment only for those who see them in crm.access (admins: all;
    anyone else: themselves, their teammates, their teams), whatever their role: a manager
    reads the company's numbers and its other slices (pipeline, source, industry...) but not
    another team's or its people's. Reps and agents read no company-wide number."""
    if is_admin(user):
        return True
    if segment.field in ("owner", "team"):
        ids = member_ids(user) if segment.field == "owner" else team_ids(user)
        return segment.value.isdigit() and int(segment.value) in ids
    return is_manager(user)


def default_segment(user) -> Segment:
    return ALL if sees_everything(user) else own_segment(user)


def own_segment(user) -> Segment:
    return Segment("owner", str(user.pk))


def segment_options(user) -> list[tuple[str, list[tuple[str, str]]]]:
    """The segment picker's choices, grouped by field, limited to what the user may read."""
    everything = sees_everything(user)
    people = teammates(user).order_by("first_name", "last_name", "username")
    teams = visible_teams(user).order_by("name")
    groups = []
    if everything:
        groups.append(("", [("", str(_("Everyone")))]))
    groups.append((str(SEGMENT_LABELS["owner"]), [(f"owner={u.pk}", str(u)) for u in people]))
    groups.append((str(SEGMENT_LABELS["team"]), [(f"team={t.pk}", t.name) for t in teams]))
    if not everything:
        return groups
    groups.append(
        (
            str(SEGMENT_LABELS["pipeline"]),
            [(f"pipeline={p.pk}", p.name) for p in Pipeline.objects.all()],
        )
    )
    for key, choices in CHOICE_SEGMENTS.items():
        groups.append(
            (str(SEGMENT_LABELS[key]), [(f"{key}={v}", str(label)) for v, label in choices.choices])
        )
    selects = CustomField.objects.filter(is_active=True, field_type="select").order_by(
        "record_type", "order", "id"
    )
    for custom in selects:
        groups.append(
            (
                f"{custom.get_record_type_display()} · {custom.label}",
                [(f"custom:{custom.key}={choice}", str(choice)) for choice in custom.choices],
            )
        )
    return groups


def segment_label(segment: Segment, options) -> str:
    if segment.is_all:
        return str(_("Everyone"))
    wanted = segment_param(segment)
    for group, choices in options:
        for value, label in choices:
            if value == wanted:
                return f"{group}: {label}"
    return wanted


def supports(kpi: KPI, segment: Segment) -> bool:
    if segment.is_all:
        return True
    if kpi.compute is not None:
        return False
    try:
        kpi.segment_path(segment.field)
    except KeyError:
        return False
    return True


# Periods in URLs -------------------------------------------------------------------------


def period_params(period: Period) -> dict[str, str]:
    if period.grain == "custom":
        return {
            "grain": "custom",
            "start": period.start_date.isoformat(),
            "end": period.end_date.isoformat(),
        }
    return {"grain": period.grain, "date": period.start_date.isoformat()}


def query_string(period: Period, segment: Segment, **extra) -> str:
    params = period_params(period)
    params["segment"] = segment_param(segment)
    params.update({k: v for k, v in extra.items() if v not in (None, "")})
    return urlencode(params)


def kpi_url(key: str, period: Period, segment: Segment, **extra) -> str:
    return f"{reverse('kpi', args=[key])}?{query_string(period, segment, **extra)}"


# Cards -----------------------------------------------------------------------------------


@dataclass
class Card:
    kpi: KPI
    period: Period
    segment: Segment
    available: bool = True
    result: Result = field(default_factory=lambda: Result(None))
    previous: Result = field(default_factory=lambda: Result(None))
    bands: Bands | None = None
    computed_at: object = None
    # The period is still running: the value is live, not a snapshot.
    live: bool = False
    comparison: Comparison | None = None

    @property
    def url(self) -> str:
        return kpi_url(self.kpi.key, self.period, self.segment)

    @property
    def delta(self) -> Decimal | None:
        if self.result.value is None or self.previous.value is None:
            return None
        return self.result.value - self.previous.value

    @property
    def trend(self) -> str:
        """better, worse or flat, from the delta and the KPI's direction."""
        delta = self.delta
        if not delta:
            return "flat"
        return "better" if (delta > 0) == self.kpi.higher_is_better else "worse"

    @property
    def arrow(self) -> str:
        delta = self.delta
        if not delta:
            return "→"
        return "↑" if delta > 0 else "↓"

    @property
    def band(self) -> str | None:
        if self.bands is None:
            return None
        return self.bands.band_for(self.result.value)

    @property
    def band_tone(self) -> str | None:
        return band_tone(self.band, self.kpi.higher_is_better)


def band_tone(band: str | None, higher_is_better: bool) -> str | None:
    """The colour of a band: a band's own, and outside them by the KPI's direction (above
    the bands of a KPI where higher is better is better than exceptional, not an alarm)."""
    if band in ("above", "below"):
        return "better" if (band == "above") == higher_is_better else "worse"
    return band


def effective_bands(keys) -> dict[str, Bands | None]:
    """The installation's bands (KPIBandOverride) over the registry's, in one query."""
    overrides = KPIBandOverride.objects.bands_by_key(keys)
    return {key: overrides.get(key, REGISTRY[key].bands) for key in keys}


def build_cards(
    keys: list[str], period: Period, segment: Segment, *, reader: Reader | None = None
) -> list[Card]:
    """Cards for `keys`: this period and what it compares with (metrics.numbers)."""
    all_kpis()
    reader = reader or Reader()
    keys = [key for key in keys if key in REGISTRY]
    bands = effective_bands(keys)
    cards = [
        Card(
            REGISTRY[key],
            period,
            segment,
            bands=bands[key],
            available=False,
            comparison=comparison_for(period, reader.now, balance=REGISTRY[key].as_of_end),
        )
        for key in keys
    ]
    usable = [card for card in cards if supports(card.kpi, segment)]
    readings = reader.read(
        [(card.kpi, p, segment) for card in usable for p in (period, card.comparison.period)]
    )
    for card, current, before in zip(usable, readings[::2], readings[1::2], strict=True):
        card.available = True
        card.result, card.computed_at, card.live = (
            current.result,
            current.computed_at,
            current.live,
        )
        card.previous = before.result
    return cards


def stored_series(
    keys: list[str], grain: str, first: date, last: date, segment: Segment
) -> tuple[dict[str, dict[date, Decimal | None]], set[tuple[str, date]]]:
    """Snapshot values of `keys` per period start in [first, last], one query; and the
    (key, start) of rows whose fill is not done, to be read live instead (metrics.numbers)."""
    rows = (
        KPISnapshot.objects.filter(
            kpi__in=keys,
            grain=grain,
            period_start__gte=first,
            period_start__lte=last,
            segment_field=segment.field,
            segment_value=segment.value,
        )
        .annotate(unfinished=unfinished_fill())
        .values_list("kpi", "period_start", "value", "unfinished")
    )
    series: dict[str, dict] = {key: {} for key in keys}
    unfinished = set()
    for key, start, value, not_done in rows:
        if not_done:
            unfinished.add((key, start))
        else:
            series[key][start] = value
    return series, unfinished
