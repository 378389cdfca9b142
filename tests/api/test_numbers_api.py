"""KPI values and snapshots through the API (issue 12): the KPI page's number for the same
period and segment, at the same moment, under the pages' segment rules."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from metrics import services as metric_services
from tests.metrics.test_dashboard_pages import at, won_deal
from tests.metrics.test_live_numbers import closed_deal, this_month

pytestmark = pytest.mark.django_db


def api_value(client, key, query):
    response = client.get(f"/api/kpis/{key}/?{query}")
    assert response.status_code == 200, response.content
    return response.json()


def page_result(client, key, query):
    response = client.get(reverse("kpi", args=[key]) + "?" + query)
    assert response.status_code == 200
    return response.context["result"], response.context["live"], response.context["band"]


def test_the_registry_lists_every_kpi_with_its_definition(client, rep):
    client.force_login(rep)
    rows = client.get("/api/kpis/").json()["results"]
    win_rate = next(row for row in rows if row["key"] == "win_rate")
    assert win_rate["unit"] == "percent" and win_rate["direction"] == "higher_is_better"
    assert win_rate["name"] and win_rate["definition"]


def test_the_value_of_a_running_period_is_the_kpi_pages(client, manager, rep, sales_team):
    from crm.models import StageOutcome

    closed_deal(rep, sales_team, StageOutcome.WON)
    closed_deal(rep, sales_team, StageOutcome.LOST)
    closed_deal(rep, sales_team, StageOutcome.LOST)
    client.force_login(manager)
    month = this_month()
    query = f"grain=month&date={month.start_date.isoformat()}&segment="
    body = api_value(client, "win_rate", query)
    result, live, band = page_result(client, "win_rate", query)
    assert Decimal(body["value"]) == result.value == Decimal("33.3333")
    assert Decimal(body["denominator"]) == result.denominator == 3
    assert body["source"] == "live" and live
    assert body["period"] == {
        "grain": "month",
        "start": month.start_date.isoformat(),
        "end": month.end_date.isoformat(),
    }
    # The drill-down link is the KPI page of the same query.
    assert body["records_url"].endswith(reverse("kpi", args=["win_rate"]) + "?" + query)
    assert body["band"] == band


def test_the_value_of_a_closed_period_is_its_snapshot_as_on_the_kpi_page(
    client, admin_user, rep, sales_team
):
    won_deal(rep, sales_team, at(2026, 3, 10))
    metric_services.snapshot_day(day=date(2026, 3, 15), grains=["month"])
    won_deal(rep, sales_team, at(2026, 3, 11))  # not through a service, after the fill
    client.force_login(admin_user)
    query = "grain=month&date=2026-03-15&segment="
    body = api_value(client, "deals_won_count", query)
    result, live, _band = page_result(client, "deals_won_count", query)
    assert Decimal(body["value"]) == result.value == 1
    assert body["source"] == "snapshot" and body["computed_at"] and not live
    # A custom range of the same days reads the same records, live: both counted.
    custom = api_value(client, "deals_won_count", "from=2026-03-01&to=2026-03-31&segment=")
    assert Decimal(custom["value"]) == 2 and custom["period"]["grain"] == "custom"
    result, _live, _band = page_result(
        client, "deals_won_count", "grain=custom&start=2026-03-01&end=2026-03-31&segment="
    )
    assert result.value == 2


def test_a_rep_reads_their_own_numbers_but_not_the_companys_nor_another_teams(
    client, rep, outsider, sales_team, other_team
):
    client.force_login(rep)
    own = client.get("/api/kpis/win_rate/")
    assert own.status_code == 200 and own.json()["segment"] == f"owner={rep.pk}"
    assert client.get(f"/api/kpis/win_rate/?segment=team={sales_team.pk}").status_code == 200
    for segment in ("", f"team={other_team.pk}", f"owner={outsider.pk}", "lead_source=web"):
        api = client.get(f"/api/kpis/win_rate/?segment={segment}")
        page = client.get(reverse("kpi", args=["win_rate"]) + f"?segment={segment}")
        assert api.status_code == page.status_code == 404, segment
        assert api.json()["errors"] == {}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-13-01&to=2026-03-31", "from"),
        ("from=2026-03-01", "non_field_errors"),
        ("from=2026-03-31&to=2026-03-01", "non_field_errors"),
        ("grain=fortnight", "grain"),
        ("date=yesterday", "date"),
        ("segment=owner", "segment"),
        ("segment=colour=blue", "segment"),
        ("segment=owner=abc", "segment"),
    ],
)
def test_bad_dates_and_segments_are_400_with_field_errors(client, manager, query, field):
    client.force_login(manager)
    response = client.get(f"/api/kpis/win_rate/?{query}")
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_an_unknown_kpi_is_404_and_an_unsplittable_one_a_400(client, manager):
    client.force_login(manager)
    assert client.get("/api/kpis/no_such_kpi/").status_code == 404
    response = client.get("/api/kpis/clv/?segment=lead_source=web")
    assert response.status_code == 400 and "segment" in response.json()["errors"]


def test_snapshots_list_by_kpi_grain_period_and_segment_under_the_same_rules(
    client, manager, rep, outsider, sales_team, other_team
):
    won_deal(rep, sales_team, at(2026, 3, 10))
    metric_services.snapshot_day(day=date(2026, 3, 15), grains=["month"])
    client.force_login(manager)
    rows = client.get(
        "/api/kpi-snapshots/?kpi=deals_won_count&grain=month&from=2026-03-01&to=2026-03-31"
    ).json()["results"]
    assert [(r["period_start"], r["segment"], Decimal(r["value"])) for r in rows] == [
        ("2026-03-01", "", 1)
    ]
    client.force_login(rep)
    mine = client.get(f"/api/kpi-snapshots/?kpi=deals_won_count&segment=owner={rep.pk}")
    assert [Decimal(r["value"]) for r in mine.json()["results"]] == [1]
    assert client.get("/api/kpi-snapshots/?segment=").status_code == 404
    assert client.get(f"/api/kpi-snapshots/?segment=team={other_team.pk}").status_code == 404
    bad = client.get("/api/kpi-snapshots/?kpi=nope&grain=year&from=x")
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) == {"kpi", "grain", "from"}
