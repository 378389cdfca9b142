"""The ready-made dashboards: who sees which numbers, what a card shows, constant queries."""

import json
import re
from datetime import date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm import models as m
from metrics import services as metric_services
from metrics.dashboards import READY_MADE
from metrics.models import KPIBandOverride, KPISnapshot
from tests.crm.factories import (
    CompanyFactory,
    DealFactory,
    SubscriptionFactory,
    SurveyAnswerFactory,
    TicketFactory,
    default_pipeline,
)

pytestmark = pytest.mark.django_db

MARCH = {"grain": "month", "date": "2026-03-15"}


def at(year, month, day, hour=12):
    return timezone.make_aware(datetime(year, month, day, hour))


def won_deal(owner, team, closed_at, amount="1000.00", **fields):
    pipeline = default_pipeline()
    return DealFactory(
        owner=owner,
        team=team,
        pipeline=pipeline,
        stage=pipeline.stages.get(outcome=m.StageOutcome.WON),
        status=m.DealStatus.WON,
        closed_at=closed_at,
        created_at=closed_at - timezone.timedelta(days=20),
        amount=Decimal(amount),
        **fields,
    )


def lost_deal(owner, team, closed_at):
    pipeline = default_pipeline()
    return DealFactory(
        owner=owner,
        team=team,
        pipeline=pipeline,
        stage=pipeline.stages.get(outcome=m.StageOutcome.LOST),
        status=m.DealStatus.LOST,
        lost_reason="price",
        closed_at=closed_at,
        created_at=closed_at - timezone.timedelta(days=10),
    )


def open_deal(owner, team, created_at, amount="500.00"):
    return DealFactory(owner=owner, team=team, created_at=created_at, amount=Decimal(amount))


def some_data(users, teams, copies=1):
    """Deals, subscriptions, tickets and answers in March 2026 (and February)."""
    for _ in range(copies):
        for user, team in zip(users, teams, strict=True):
            won_deal(user, team, at(2026, 3, 10))
            won_deal(user, team, at(2026, 2, 10))
            lost_deal(user, team, at(2026, 3, 12))
            open_deal(user, team, at(2026, 3, 1))
            company = CompanyFactory(
                owner=user,
                team=team,
                lifecycle=m.Lifecycle.CUSTOMER,
                customer_since=at(2025, 6, 1),
            )
            SubscriptionFactory(company=company, start_date=date(2025, 6, 1))
            TicketFactory(
                company=company,
                contact__company=company,
                assignee=user,
                team=team,
                created_at=at(2026, 3, 3),
            )
            SurveyAnswerFactory(
                company=company, contact__company=company, score=10, answered_at=at(2026, 3, 4)
            )


def dashboard_url(slug, **params):
    query = "&".join(f"{k}={v}" for k, v in {**MARCH, **params}.items())
    return f"{reverse('dashboard', args=[slug])}?{query}"


def chart_payloads(content: bytes) -> dict:
    html = content.decode()
    return {
        match.group(1): json.loads(match.group(2))
        for match in re.finditer(
            r'<script id="([^"]+)" type="application/json">(.*?)</script>', html, re.S
        )
    }


@pytest.fixture
def data(rep, teammate, outsider, sales_team, other_team):
    some_data([rep, teammate, outsider], [sales_team, sales_team, other_team])


# Visibility ------------------------------------------------------------------------------


@pytest.mark.parametrize("slug", [slug for slug in READY_MADE])
def test_managers_and_admins_open_every_ready_made_dashboard(
    client, manager, admin_user, data, slug
):
    for user in (manager, admin_user):
        client.force_login(user)
        response = client.get(dashboard_url(slug))
        assert response.status_code == 200, slug
        assert str(READY_MADE[slug].title) in response.content.decode()


def test_the_dashboards_index_is_in_the_nav(client, manager):
    client.force_login(manager)
    response = client.get(reverse("dashboards"))
    assert response.status_code == 200
    assert reverse("dashboard", args=["executive"]) in response.content.decode()
    assert response.context["section"] == "dashboards"


def test_a_rep_sees_their_own_numbers_by_default_not_the_company(client, rep, data):
    client.force_login(rep)
    response = client.get(reverse("dashboard", args=["sales"]) + "?grain=month&date=2026-03-15")
    assert response.status_code == 200
    assert response.context["segment"].field == "owner"
    assert response.context["segment"].value == str(rep.pk)
    won = next(c for c in response.context["cards"] if c.kpi.key == "deals_won_count")
    assert won.result.value == 1


def test_a_rep_reads_a_teammate_and_their_team_but_not_another_team(
    client, rep, teammate, outsider, sales_team, other_team, data
):
    client.force_login(rep)
    assert client.get(dashboard_url("sales", segment=f"owner%3D{teammate.pk}")).status_code == 200
    assert client.get(dashboard_url("sales", segment=f"team%3D{sales_team.pk}")).status_code == 200
    for segment in (f"owner%3D{outsider.pk}", f"team%3D{other_team.pk}", "", "lead_source%3Dweb"):
        response = client.get(dashboard_url("sales", segment=segment))
        assert response.status_code == 404, segment


def test_a_rep_cannot_read_another_teams_kpi_page_or_export(client, rep, outsider, data):
    client.force_login(rep)
    for name in ("kpi", "kpi-export"):
        url = reverse(name, args=["win_rate"]) + "?grain=month&date=2026-03-15"
        assert client.get(url + f"&segment=owner%3D{outsider.pk}").status_code == 404
        assert client.get(url + "&segment=").status_code == 404


def test_my_numbers_is_always_the_viewers_own_segment(client, rep, outsider, data):
    client.force_login(rep)
    # A segment parameter cannot widen "My numbers": the page stays on the viewer.
    for segment in ("", f"owner%3D{outsider.pk}"):
        response = client.get(dashboard_url("my", segment=segment))
        assert response.status_code == 200
        assert response.context["segment"].value == str(rep.pk)


def test_an_unknown_dashboard_is_404(client, manager):
    client.force_login(manager)
    assert client.get(reverse("dashboard", args=["nope"])).status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        "grain=fortnight",
        "grain=month&date=2026-13-45",
        "grain=custom&start=2026-03-10",
        "grain=custom&start=2026-03-10&end=2026-03-01",
        "grain=custom&start=2000-01-01&end=2026-03-01",
        "segment=nonsense",
        "segment=owner%3Dabc",
    ],
)
def test_bad_picker_input_is_a_form_error_never_a_500(client, manager, query):
    client.force_login(manager)
    response = client.get(reverse("dashboard", args=["sales"]) + "?" + query)
    assert response.status_code == 400
    assert response.context["filter_form"].errors


# What a card shows -------------------------------------------------------------------------


def test_a_card_shows_value_delta_and_links_to_its_kpi_page(client, manager, data):
    client.force_login(manager)
    response = client.get(dashboard_url("sales"))
    card = next(c for c in response.context["cards"] if c.kpi.key == "deals_won_count")
    assert card.result.value == 3 and card.previous.value == 3
    assert card.arrow == "→"
    html = response.content.decode()
    kpi_link = reverse("kpi", args=["deals_won_count"]) + "?grain=month&amp;date=2026-03-01"
    assert kpi_link in html


def test_the_delta_arrow_is_coloured_by_the_kpis_direction(client, manager, rep, sales_team):
    # Win rate up (better); sales cycle: same deals, compare with a faster February.
    won_deal(rep, sales_team, at(2026, 3, 10))
    lost_deal(rep, sales_team, at(2026, 2, 10))
    client.force_login(manager)
    response = client.get(dashboard_url("sales"))
    win_rate = next(c for c in response.context["cards"] if c.kpi.key == "win_rate")
    assert win_rate.delta == 100 and win_rate.trend == "better" and win_rate.arrow == "↑"
    assert "trend-better" in response.content.decode()


def test_lower_is_better_kpis_count_a_fall_as_better(client, manager, rep, sales_team):
    company = CompanyFactory(lifecycle=m.Lifecycle.CUSTOMER, customer_since=at(2025, 1, 1))
    TicketFactory(
        company=company,
        created_at=at(2026, 2, 1),
        resolved_at=at(2026, 2, 1, 20),
        status="resolved",
    )
    TicketFactory(
        company=company,
        created_at=at(2026, 3, 1),
        resolved_at=at(2026, 3, 1, 14),
        status="resolved",
    )
    client.force_login(manager)
    response = client.get(dashboard_url("support"))
    card = next(c for c in response.context["cards"] if c.kpi.key == "resolution_hours")
    assert card.result.value == 2 and card.previous.value == 8
    assert card.trend == "better" and card.arrow == "↓"


def test_an_empty_ratio_shows_no_data_not_zero(client, manager):
    client.force_login(manager)
    response = client.get(dashboard_url("sales"))
    card = next(c for c in response.context["cards"] if c.kpi.key == "win_rate")
    assert card.result.value is None
    assert "—" in response.content.decode()


def test_cards_are_coloured_by_the_installations_bands(client, manager, rep, sales_team):
    won_deal(rep, sales_team, at(2026, 3, 10))
    lost_deal(rep, sales_team, at(2026, 3, 11))  # win rate 50%
    client.force_login(manager)
    response = client.get(dashboard_url("sales"))
    card = next(c for c in response.context["cards"] if c.kpi.key == "win_rate")
    assert card.band is None  # no bands in the code for win rate

    KPIBandOverride.objects.create(kpi="win_rate", typical_low=20, typical_high=40, good_low=40)
    response = client.get(dashboard_url("sales"))
    card = next(c for c in response.context["cards"] if c.kpi.key == "win_rate")
    assert card.band == "good"
    assert "band-good" in response.content.decode()


def test_cards_read_stored_snapshots_when_there_are_some(client, manager, rep, sales_team):
    won_deal(rep, sales_team, at(2026, 3, 10))
    KPISnapshot.objects.create(
        kpi="deals_won_count",
        grain="month",
        period_start=date(2026, 3, 1),
        period_end=date(2026, 3, 31),
        value=42,
        numerator=42,
    )
    client.force_login(manager)
    response = client.get(dashboard_url("sales"))
    card = next(c for c in response.context["cards"] if c.kpi.key == "deals_won_count")
    assert card.result.value == 42 and card.computed_at is not None


def test_a_kpi_that_cannot_be_split_by_the_segment_says_so(client, manager, rep, data):
    client.force_login(manager)
    response = client.get(dashboard_url("retention", segment=f"owner%3D{rep.pk}"))
    cac = next(c for c in response.context["cards"] if c.kpi.key == "cac")
    assert not cac.available
    assert "Not available for this segment." in response.content.decode()


# Charts --------------------------------------------------------------------------------


def test_charts_are_json_for_chart_js_without_inline_code(client, manager, data):
    metric_services.snapshot_range(first_day=date(2025, 4, 1), last_day=date(2026, 3, 31))
    client.force_login(manager)
    response = client.get(dashboard_url("executive"))
    html = response.content.decode()
    payloads = chart_payloads(response.content)
    assert payloads, "charts are passed with json_script"
    by_title = {p["title"]: p for p in payloads.values()}
    trend = by_title["Trend: Monthly recurring revenue"]
    assert trend["type"] == "line" and len(trend["labels"]) == 12
    assert trend["datasets"][0]["data"][-1] == 300.0  # three 100-a-month subscriptions
    deals = by_title["Deals won per month"]
    assert deals["type"] == "bar" and deals["datasets"][0]["data"][-2:] == [3, 3]
    movement = by_title["MRR movement by month"]
    assert [d["label"] for d in movement["datasets"]] == ["New", "Expansion", "Churn"]
    stages = by_title["Pipeline value by stage"]
    assert stages["datasets"][0]["data"] == [1500.0]
    # Strict CSP: no inline script or style; Chart.js and our initialiser are static files.
    assert "vendor/chartjs/chart.umd.min.js" in html and "js/charts.js" in html
    assert not re.search(r"<script>(?!\s*</script>)", html)
    assert " style=" not in html and "<style" not in html


def test_support_dashboard_has_survey_bands_doughnut(client, manager, data):
    client.force_login(manager)
    response = client.get(dashboard_url("support"))
    payloads = {p["title"]: p for p in chart_payloads(response.content).values()}
    doughnut = payloads["Survey answers by score band"]
    assert doughnut["type"] == "doughnut"
    nps = next(d for d in doughnut["datasets"] if d["label"].startswith("Net Promoter"))
    assert nps["data"] == [3, 0, 0]


def test_sales_dashboard_has_time_in_stage(client, manager, rep, sales_team):
    deal = open_deal(rep, sales_team, at(2026, 3, 1))
    m.DealStageChange.objects.create(
        deal=deal,
        from_stage=deal.stage,
        to_stage=default_pipeline().stages.exclude(pk=deal.stage_id).first(),
        seconds_in_from_stage=3 * 86400,
        changed_at=at(2026, 3, 4),
    )
    client.force_login(manager)
    response = client.get(dashboard_url("sales"))
    payloads = {p["title"]: p for p in chart_payloads(response.content).values()}
    assert payloads["Time in stage"]["datasets"][0]["data"] == [3.0]


# Constant queries ----------------------------------------------------------------------


def count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("slug", [slug for slug in READY_MADE])
def test_dashboards_run_the_same_queries_on_more_data(
    client,
    manager,
    rep,
    teammate,
    outsider,
    sales_team,
    other_team,
    slug,
    django_assert_max_num_queries,
):
    users, teams = [rep, teammate, outsider], [sales_team, sales_team, other_team]
    some_data(users, teams)
    client.force_login(manager)
    small = count_queries(client, dashboard_url(slug))
    some_data(users, teams, copies=4)
    with django_assert_max_num_queries(small):
        client.get(dashboard_url(slug))
    # Live (no snapshots yet): each card computes this period and the previous one.
    assert small < 80


def test_with_snapshots_a_dashboard_reads_stored_rows_not_the_records(
    client, manager, rep, teammate, outsider, sales_team, other_team
):
    some_data([rep, teammate, outsider], [sales_team, sales_team, other_team])
    metric_services.snapshot_day(day=date(2026, 3, 15), grains=["month"])
    metric_services.snapshot_day(day=date(2026, 2, 15), grains=["month"])
    client.force_login(manager)
    # 8 cards and 4 charts: one snapshot query for the cards, one for the trend, the rest
    # are the aggregate charts, the picker and the session.
    assert count_queries(client, dashboard_url("executive")) < 25


def test_the_retention_dashboard_lists_customers_at_risk(client, manager, rep, sales_team):
    from metrics.health import store_company_health

    quiet = CompanyFactory(
        name="Quiet Co",
        owner=rep,
        team=sales_team,
        lifecycle=m.Lifecycle.CUSTOMER,
        customer_since=at(2024, 1, 1),
    )
    store_company_health(day=date(2026, 3, 31))
    client.force_login(manager)
    response = client.get(dashboard_url("retention"))
    assert [row.company for row in response.context["at_risk"]] == [quiet]
    assert "Quiet Co" in response.content.decode()


def test_the_home_page_shows_my_numbers(client, rep, sales_team):
    won_deal(rep, sales_team, timezone.now() - timezone.timedelta(minutes=5))
    client.force_login(rep)
    response = client.get(reverse("home"))
    html = response.content.decode()
    assert 'data-testid="my-numbers"' in html
    assert reverse("kpi", args=["deals_won_count"]) in html
    assert f"segment=owner%3D{rep.pk}" in html


def test_the_hourly_refresh_snapshots_the_open_periods():
    from metrics.tasks import refresh_open_periods

    assert refresh_open_periods.apply().get() > 0
    today = timezone.localdate()
    grains = set(KPISnapshot.objects.filter(period_end__gte=today).values_list("grain", flat=True))
    assert grains == {"day", "week", "month", "quarter"}


def test_charts_aggregated_from_records_are_cached_between_views(client, manager, data):
    client.force_login(manager)
    first = count_queries(client, dashboard_url("sales"))
    second = count_queries(client, dashboard_url("sales"))
    # Deals won per month, pipeline by stage and time in stage come from the cache.
    assert second <= first - 3
