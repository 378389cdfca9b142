"""Issue 19: where the KPI page reads its numbers from. A period that is over and snapshotted
shows its snapshot, breakdown included, never a recount of the raw rows; a page viewed again
reads what its first view computed instead of the raw rows; the health score is computed with
one aggregate per source table, not a subquery per customer."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm import models as m
from metrics.fill import write_period
from metrics.kpis.revenue import company_health_scores
from metrics.periods import period_for
from metrics.registry import get_kpi
from tests.crm.factories import TicketFactory
from tests.metrics.test_dashboard_pages import at, won_deal
from tests.metrics.test_health import customer

pytestmark = pytest.mark.django_db

MARCH = "grain=month&date=2026-03-15"
RAW_TABLES = ["crm_deal", "crm_activity", "crm_ticket", "crm_subscription", "crm_surveyanswer"]


def kpi_url(key, query=MARCH):
    return f"{reverse('kpi', args=[key])}?{query}"


def breakdown(response) -> dict:
    return {str(row["label"]): row["result"].value for row in response.context["breakdown"]}


def test_a_closed_periods_value_and_breakdown_come_from_its_snapshot(
    client, admin_user, rep, teammate, sales_team
):
    won_deal(rep, sales_team, at(2026, 3, 10))
    won_deal(teammate, sales_team, at(2026, 3, 12))
    write_period(period=period_for("month", date(2026, 3, 1)), complete=True)
    # A raw row changed behind the snapshot's back (an import, a fix in the database).
    won_deal(rep, sales_team, at(2026, 3, 20))

    client.force_login(admin_user)
    response = client.get(kpi_url("deals_won_count", MARCH + "&by=owner"))

    assert response.context["result"].value == 2
    assert breakdown(response) == {str(rep): 1, str(teammate): 1}


def test_a_period_still_being_filled_is_broken_down_live(client, admin_user, rep, sales_team):
    won_deal(rep, sales_team, at(2026, 3, 10))
    # Written for one KPI only: the period's fill is not done, so nothing of it is read.
    write_period(period=period_for("month", date(2026, 3, 1)), kpis=[get_kpi("deals_won_count")])
    won_deal(rep, sales_team, at(2026, 3, 20))

    client.force_login(admin_user)
    response = client.get(kpi_url("deals_won_count", MARCH + "&by=owner"))

    assert response.context["result"].value == 2
    assert breakdown(response) == {str(rep): 2}


@pytest.mark.parametrize("key", ["health_score", "engagement_rate", "deals_won_count"])
def test_a_kpi_page_viewed_again_reads_no_raw_rows(client, manager, rep, sales_team, key):
    company = customer(name="Acme", owner=rep, team=sales_team)
    m.Activity.objects.create(
        company=company, kind=m.ActivityKind.MEETING, occurred_at=at(2026, 3, 5)
    )
    TicketFactory(company=company, created_at=at(2026, 3, 6))
    won_deal(rep, sales_team, at(2026, 3, 10), company=company)
    client.force_login(manager)
    first = client.get(kpi_url(key, MARCH + "&records=all"))

    with CaptureQueriesContext(connection) as again:
        second = client.get(kpi_url(key, MARCH + "&records=all"))

    # Only the page's rows are read again, by primary key.
    raw = [
        query["sql"]
        for query in again.captured_queries
        if any(f'"{table}"' in query["sql"] for table in RAW_TABLES)
        and '"id" IN (' not in query["sql"]
    ]
    assert raw == []
    assert second.context["result"] == first.context["result"]
    assert second.context["rows"] == first.context["rows"]
    assert second.context["page"].paginator.count == first.context["page"].paginator.count


def test_the_health_score_has_no_subquery_per_customer(march):
    sql = str(company_health_scores(march).query)
    assert "LEFT OUTER JOIN (SELECT" in sql
    # A correlated subquery names the outer company inside it; the joined aggregates do not.
    assert '= ("crm_company"."id")' not in sql
    assert "EXISTS" not in sql
