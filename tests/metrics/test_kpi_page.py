"""The KPI page: definition, value with numerator and denominator, trend, breakdown, drill-down
(the exact records counted) and its CSV export."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from crm import models as m
from metrics.models import KPIBandOverride
from metrics.views import DRILL_DOWN_PAGE_SIZE, csv_cell
from tests.crm.factories import CompanyFactory, LeadFactory
from tests.metrics.test_dashboard_pages import at, lost_deal, open_deal, won_deal

pytestmark = pytest.mark.django_db

MARCH = "grain=month&date=2026-03-15"


def kpi_url(key, query=MARCH, name="kpi"):
    return f"{reverse(name, args=[key])}?{query}"


@pytest.fixture
def deals(rep, teammate, outsider, sales_team, other_team):
    for _ in range(3):
        won_deal(rep, sales_team, at(2026, 3, 10))
    lost_deal(rep, sales_team, at(2026, 3, 11))
    won_deal(teammate, sales_team, at(2026, 3, 12))
    lost_deal(outsider, other_team, at(2026, 3, 13))
    won_deal(rep, sales_team, at(2026, 2, 1))  # February: the previous period


def test_the_page_explains_the_kpi_and_shows_numerator_and_denominator(client, manager, deals):
    client.force_login(manager)
    response = client.get(kpi_url("win_rate"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Deals won ÷ deals closed" in html and "Higher is better." in html
    result = response.context["result"]
    assert (result.value, result.numerator, result.denominator) == (Decimal("66.6667"), 4, 6)
    assert 'data-testid="kpi-numerator">4<' in html
    assert 'data-testid="kpi-denominator">6<' in html
    assert response.context["previous"].value == 100


def test_the_drill_down_lists_exactly_the_records_of_the_numerator(client, manager, deals):
    client.force_login(manager)
    response = client.get(kpi_url("win_rate"))
    assert response.context["page"].paginator.count == response.context["result"].numerator
    assert {row[0]["value"] for row in response.context["rows"]} == set(
        m.Deal.objects.filter(status="won", closed_at__gte=at(2026, 3, 1)).values_list(
            "name", flat=True
        )
    )
    everything = client.get(kpi_url("win_rate", MARCH + "&records=all"))
    # The outsider's lost deal counts in the manager's company-wide number, but is not listed.
    listed, hidden = everything.context["page"].paginator.count, everything.context["hidden_count"]
    assert (listed, hidden) == (5, 1)
    assert listed + hidden == everything.context["result"].denominator


def test_sums_drill_down_to_the_records_they_add_up(client, manager, rep, sales_team):
    open_deal(rep, sales_team, at(2026, 3, 1), amount="100.00")
    open_deal(rep, sales_team, at(2026, 3, 2), amount="250.00")
    client.force_login(manager)
    response = client.get(kpi_url("pipeline_value"))
    assert response.context["result"].value == 350
    assert response.context["page"].paginator.count == response.context["result"].denominator == 2


def test_drill_down_rows_link_to_the_record_pages(client, manager, deals):
    client.force_login(manager)
    response = client.get(kpi_url("win_rate"))
    first = response.context["rows"][0][0]
    assert first["url"].startswith("/deals/")


def test_the_drill_down_is_paginated(client, manager, rep, sales_team):
    for _ in range(DRILL_DOWN_PAGE_SIZE + 5):
        LeadFactory(owner=rep, team=sales_team, created_at=at(2026, 3, 5))
    client.force_login(manager)
    response = client.get(kpi_url("lead_qualification_rate", MARCH + "&records=all"))
    assert len(response.context["rows"]) == DRILL_DOWN_PAGE_SIZE
    second = client.get(kpi_url("lead_qualification_rate", MARCH + "&records=all&page=2"))
    assert len(second.context["rows"]) == 5
    # A page number out of range shows the last page rather than failing.
    assert client.get(kpi_url("win_rate", MARCH + "&page=999")).status_code == 200


def test_the_breakdown_lists_the_kpi_per_segment_with_links(
    client, manager, rep, teammate, outsider, deals
):
    client.force_login(manager)
    response = client.get(kpi_url("win_rate", MARCH + "&by=owner"))
    rows = {row["label"]: row for row in response.context["breakdown"]}
    assert rows[str(rep)]["result"].value == 75
    # The outsider is in a team the manager does not see: counted under "Other", not named.
    assert str(outsider) not in rows and rows["Other"]["result"].value == 0
    assert f"segment=owner%3D{rep.pk}" in rows[str(rep)]["url"]
    by_kind = client.get(kpi_url("win_rate", MARCH + "&by=deal_kind"))
    assert by_kind.status_code == 200 and by_kind.context["breakdown_field"] == "deal_kind"


def test_a_rep_sees_the_breakdown_of_their_teams_only(client, rep, outsider, teammate, deals):
    client.force_login(rep)
    response = client.get(kpi_url("win_rate", MARCH + "&by=lead_source"))
    assert response.context["segment"].value == str(rep.pk)
    # Reps break down by owner or team only, and only among people and teams they see.
    assert response.context["breakdown_field"] == "owner"
    labels = {row["label"] for row in response.context["breakdown"]}
    assert str(outsider) not in labels
    assert str(rep) in labels


def test_the_kpi_page_uses_the_installations_bands(client, manager, deals):
    KPIBandOverride.objects.create(kpi="win_rate", good_low=60, good_high=70)
    client.force_login(manager)
    response = client.get(kpi_url("win_rate"))
    assert response.context["band"] == "good"


def test_an_unknown_kpi_is_404(client, manager):
    client.force_login(manager)
    assert client.get(reverse("kpi", args=["nope"])).status_code == 404


def test_composite_kpis_show_without_a_breakdown(client, manager):
    client.force_login(manager)
    response = client.get(kpi_url("clv"))
    assert response.status_code == 200 and response.context["breakdown_fields"] == []


def test_the_trend_chart_is_on_the_page(client, manager, deals):
    client.force_login(manager)
    response = client.get(kpi_url("win_rate"))
    payload = response.context["trend_chart"]["payload"]
    assert payload["type"] == "line" and len(payload["labels"]) == 12


# CSV ------------------------------------------------------------------------------------


def read_csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def test_the_csv_export_has_the_drill_down_records(client, manager, deals):
    client.force_login(manager)
    response = client.get(kpi_url("win_rate", MARCH + "&records=numerator", name="kpi-export"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "win_rate-2026-03-01-2026-03-31.csv" in response["Content-Disposition"]
    rows = read_csv(response)
    assert rows[0][:3] == ["Deal", "Company", "Owner"]
    assert len(rows) - 1 == 4


@pytest.mark.parametrize(
    "payload",
    ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tTAB", "\rCR", "\0NUL", '=HYPERLINK("x")'],
)
def test_csv_cells_that_a_spreadsheet_would_run_are_escaped(payload):
    assert csv_cell(payload) == "'" + payload


def test_csv_cells_keep_plain_text_and_numbers():
    assert csv_cell("Acme") == "Acme"
    assert csv_cell(-5) == "-5"
    assert csv_cell(None) == ""


def test_dangerous_record_names_are_escaped_in_the_export(client, manager, rep, sales_team):
    company = CompanyFactory(name="=cmd|' /C calc'!A0")
    won_deal(rep, sales_team, at(2026, 3, 10), name="@SUM(1+1)", company=company)
    client.force_login(manager)
    rows = read_csv(client.get(kpi_url("deals_won_count", name="kpi-export")))
    assert rows[1][0] == "'@SUM(1+1)"
    assert rows[1][1] == "'=cmd|' /C calc'!A0"


def test_a_bad_export_request_is_400(client, manager):
    client.force_login(manager)
    assert client.get(kpi_url("win_rate", "grain=bogus", name="kpi-export")).status_code == 400
    response = client.get(kpi_url("cac", MARCH + "&segment=industry%3Dretail", name="kpi-export"))
    assert response.status_code == 400


def test_a_rep_exports_their_own_records_only(client, rep, deals):
    client.force_login(rep)
    rows = read_csv(client.get(kpi_url("deals_won_count", name="kpi-export")))
    assert len(rows) - 1 == 3
    assert all(row[2] == str(rep) for row in rows[1:])


def test_kpi_page_queries_do_not_grow_with_the_data(
    client, manager, rep, sales_team, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    won_deal(rep, sales_team, at(2026, 3, 10))
    client.force_login(manager)
    with CaptureQueriesContext(connection) as small:
        client.get(kpi_url("win_rate"))
    for _ in range(20):
        won_deal(rep, sales_team, at(2026, 3, 10))
    with django_assert_max_num_queries(len(small)):
        client.get(kpi_url("win_rate"))


def test_custom_periods_work_on_the_kpi_page(client, manager, deals):
    client.force_login(manager)
    response = client.get(kpi_url("win_rate", "grain=custom&start=2026-02-01&end=2026-03-31"))
    assert response.status_code == 200
    assert response.context["period"].start_date == date(2026, 2, 1)
    assert response.context["result"].denominator == 7


def test_a_drill_down_with_no_records_to_show_reads_none(client, admin_user, rep, sales_team):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.metrics.test_live_numbers import earlier_this_month

    LeadFactory(owner=rep, team=sales_team, created_at=earlier_this_month())  # not converted
    client.force_login(admin_user)
    url = reverse("kpi", args=["lead_conversion_rate"])
    with CaptureQueriesContext(connection) as page:
        response = client.get(url)
    assert response.status_code == 200
    assert response.context["result"].value == 0
    assert not response.context["rows"]
    listed = [q["sql"] for q in page.captured_queries if '"crm_lead"."id" AS "pk"' in q["sql"]]
    assert listed == []  # no search through the month's leads for converted ones to list
