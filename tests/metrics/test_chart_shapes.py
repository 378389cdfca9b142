"""Charts that do not mislead (issue 15, item 3): bars, percentages, counts and durations
start at zero, the survey doughnut names its rings, and a value outside the reference bands
says which side it is on and is coloured by the KPI's direction."""

from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from crm import models as m
from metrics.models import KPIBandOverride
from tests.crm.factories import CompanyFactory, TicketFactory
from tests.metrics.test_dashboard_pages import (
    at,
    chart_payloads,
    dashboard_url,
    lost_deal,
    some_data,
    won_deal,
)

pytestmark = pytest.mark.django_db


def payloads_by_title(client, slug, **params):
    """Every chart's payload, drawn or not (an empty one is not put in the page)."""
    response = client.get(dashboard_url(slug, **params))
    assert response.status_code == 200
    return {item["payload"]["title"]: item["payload"] for item in response.context["charts"]}, (
        response
    )


def card_of(response, key):
    return next(c for c in response.context["cards"] if c.kpi.key == key)


@pytest.fixture
def data(rep, teammate, outsider, sales_team, other_team):
    some_data([rep, teammate, outsider], [sales_team, sales_team, other_team])


def test_bars_and_percentage_lines_start_at_zero(client, manager, data):
    client.force_login(manager)
    sales, _response = payloads_by_title(client, "sales")
    assert sales["Deals won per month"]["y"] == {"begin_at_zero": True}
    assert sales["Pipeline value by stage"]["y"] == {"begin_at_zero": True}
    assert sales["Trend: Win rate"]["y"] == {"begin_at_zero": True}
    support, _response = payloads_by_title(client, "support")
    assert support["Trend: Average resolution time"]["y"] == {"begin_at_zero": True}
    executive, _response = payloads_by_title(client, "executive")
    # A money line may zoom in on its range.
    assert executive["Trend: Monthly recurring revenue"]["y"] == {"begin_at_zero": False}
    # The page script draws what the payload says.
    script = Path(settings.BASE_DIR, "static/js/charts.js").read_text()
    assert "axis.begin_at_zero" in script


def test_the_survey_doughnut_names_its_rings(client, manager, data):
    client.force_login(manager)
    charts, response = payloads_by_title(client, "support")
    doughnut = charts["Survey answers by score band"]
    assert [(r["position"], r["short"]) for r in doughnut["rings"]] == [
        ("Outer ring", "NPS"),
        ("Middle ring", "CSAT"),
        ("Inner ring", "CES"),
    ]
    # In the order Chart.js draws them: the first dataset is the outer ring.
    assert [d["short"] for d in doughnut["datasets"]] == ["NPS", "CSAT", "CES"]
    assert chart_payloads(response.content)  # the doughnut is drawn, with its caption
    html = response.content.decode()
    assert 'data-testid="chart-rings"' in html
    assert "Outer ring: <strong>NPS</strong>, Net Promoter Score" in html


def test_above_the_bands_of_a_kpi_where_higher_is_better_is_green(client, manager, rep, sales_team):
    won_deal(rep, sales_team, at(2026, 3, 10))  # win rate 100 %
    KPIBandOverride.objects.create(kpi="win_rate", typical_low=20, typical_high=40, good_low=40)
    KPIBandOverride.objects.filter(kpi="win_rate").update(good_high=60)
    client.force_login(manager)
    response = client.get(dashboard_url("sales"))
    card = card_of(response, "win_rate")
    assert (card.band, card.band_tone) == ("above", "better")
    html = response.content.decode()
    assert "band-tone-better" in html and "band-tone-worse" not in html
    assert "Above the bands (better)" in html and "Outside the bands" not in html
    page = client.get(reverse("kpi", args=["win_rate"]) + "?grain=month&date=2026-03-15")
    assert page.context["band_tone"] == "better"
    assert "Above the bands (better)" in page.content.decode()


def test_below_the_bands_of_a_kpi_where_higher_is_better_is_red(client, manager, rep, sales_team):
    won_deal(rep, sales_team, at(2026, 3, 10))
    for day in range(11, 20):
        lost_deal(rep, sales_team, at(2026, 3, day))  # win rate 10 %
    KPIBandOverride.objects.create(kpi="win_rate", typical_low=20, typical_high=40)
    client.force_login(manager)
    response = client.get(dashboard_url("sales"))
    card = card_of(response, "win_rate")
    assert (card.band, card.band_tone) == ("below", "worse")
    assert "Below the bands (worse)" in response.content.decode()


def test_outside_the_bands_of_a_kpi_where_lower_is_better_follows_its_direction(client, manager):
    company = CompanyFactory(lifecycle=m.Lifecycle.CUSTOMER, customer_since=at(2025, 1, 1))
    TicketFactory(
        company=company,
        created_at=at(2026, 3, 1),
        resolved_at=at(2026, 3, 1, 22),
        status="resolved",
    )  # 10 hours: above "typical 4–8 h" of a KPI where lower is better
    client.force_login(manager)
    response = client.get(dashboard_url("support"))
    card = card_of(response, "resolution_hours")
    assert (card.band, card.band_tone) == ("above", "worse")
    assert "Above the bands (worse)" in response.content.decode()
