"""Issue 16, item 1: the records behind a KPI are only those crm.access shows the reader.

A manager reads the company's numbers, but the drill-down, its CSV, the breakdown's names and
the segment menu hold only their own teams' records and people; a segment naming another team
or its people is a 404, as a record of another team would be. Reps the same, on their own
numbers. Admins see everything.
"""

import csv
import io

import pytest
from django.urls import reverse

from crm.models import Role
from metrics.health import store_company_health
from metrics.models import Dashboard
from tests.crm.factories import DealFactory
from tests.factories import TeamFactory, UserFactory
from tests.metrics.test_dashboard_pages import at
from tests.metrics.test_health import DAY, customer

pytestmark = pytest.mark.django_db

MARCH = "grain=month&date=2026-03-15"


@pytest.fixture
def east_manager(db):
    return UserFactory(username="eve", first_name="Eve", last_name="Eastwood", role=Role.MANAGER)


@pytest.fixture
def east_rep(db):
    return UserFactory(
        username="erin", first_name="Erin", last_name="Easterly", role=Role.SALES_REP
    )


@pytest.fixture
def east_team(db, east_manager, east_rep):
    return TeamFactory(name="East", manager=east_manager, members=[east_rep])


@pytest.fixture
def pipeline(rep, teammate, sales_team, east_rep, east_team):
    """Open deals at the end of March: two of Sales (1,000), one of East (50)."""
    for owner, team, amount, name in [
        (rep, sales_team, "700.00", "Sales secret A"),
        (teammate, sales_team, "300.00", "Sales secret B"),
        (east_rep, east_team, "50.00", "East deal"),
    ]:
        DealFactory(owner=owner, team=team, created_at=at(2026, 3, 2), amount=amount, name=name)


def url(key="pipeline_value", query="", name="kpi"):
    return f"{reverse(name, args=[key])}?{MARCH}{query}"


def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def page_text(response) -> str:
    return response.content.decode()


# A manager of another team ---------------------------------------------------------------


def test_a_crafted_segment_of_another_team_is_404_on_the_page_and_the_csv(
    client, east_manager, sales_team, pipeline
):
    client.force_login(east_manager)
    for name in ("kpi", "kpi-export"):
        response = client.get(url(query=f"&segment=team%3D{sales_team.pk}&records=all", name=name))
        assert response.status_code == 404, name
        assert b"Sales secret" not in b"".join(
            getattr(response, "streaming_content", [response.content])
        )


def test_a_crafted_owner_segment_of_another_team_is_404(client, east_manager, rep, pipeline):
    client.force_login(east_manager)
    for name in ("kpi", "kpi-export"):
        assert client.get(url(query=f"&segment=owner%3D{rep.pk}", name=name)).status_code == 404


def test_the_company_wide_number_stays_but_the_rows_are_the_managers_teams(
    client, east_manager, pipeline
):
    client.force_login(east_manager)
    response = client.get(url(query="&records=all"))
    assert response.status_code == 200
    # The number is the company's (managers read every number) ...
    assert response.context["result"].value == 1050
    # ... the rows are East's, and the page says how many are not listed.
    assert [row[0]["value"] for row in response.context["rows"]] == ["East deal"]
    assert response.context["hidden_count"] == 2
    html = page_text(response)
    assert "Sales secret" not in html
    assert 'data-testid="drill-hidden"' in html and "2 more records" in html


def test_the_csv_with_every_record_lists_only_the_managers_teams(client, east_manager, pipeline):
    client.force_login(east_manager)
    response = client.get(url(query="&records=all", name="kpi-export"))
    assert response.status_code == 200
    rows = read_csv(response)
    assert [row[0] for row in rows[1:]] == ["East deal"]


def test_the_breakdown_names_only_people_and_teams_the_manager_sees(
    client, east_manager, east_rep, rep, teammate, sales_team, east_team, pipeline
):
    client.force_login(east_manager)
    by_owner = client.get(url(query="&by=owner"))
    labels = [str(row["label"]) for row in by_owner.context["breakdown"]]
    # Sales' two owners are summed into one unlinked "Other" row, last.
    assert labels == [str(east_rep), "Other"]
    other = by_owner.context["breakdown"][-1]
    assert other["result"].value == 1000 and other["url"] == ""
    html = page_text(by_owner)
    assert str(rep) not in html and str(teammate) not in html

    by_team = client.get(url(query="&by=team"))
    rows = {str(row["label"]): row for row in by_team.context["breakdown"]}
    assert set(rows) == {"East", "Other"}
    assert rows["Other"]["result"].value == 1000
    assert f"segment=team%3D{east_team.pk}" in rows["East"]["url"]
    assert f"team={sales_team.pk}" not in page_text(by_team)


def test_the_segment_menu_offers_only_the_managers_teams_and_people(
    client, east_manager, east_rep, rep, sales_team, east_team, pipeline
):
    client.force_login(east_manager)
    response = client.get(url())
    choices = response.context["filter_form"].fields["segment"].widget.choices
    values = set()
    for group, options in choices:
        values |= {value for value, _label in options} if isinstance(options, list) else {group}
    assert f"team={east_team.pk}" in values and f"owner={east_rep.pk}" in values
    assert f"team={sales_team.pk}" not in values and f"owner={rep.pk}" not in values
    # Slices that are not people or teams stay (a manager reads the company's numbers).
    assert "" in values and any(value.startswith("pipeline=") for value in values)


def test_a_dashboard_cannot_be_saved_on_another_teams_segment(client, east_manager, sales_team):
    client.force_login(east_manager)
    response = client.post(
        reverse("dashboard-create"),
        {"name": "Peek", "grain": "month", "segment": f"team={sales_team.pk}"},
    )
    assert response.status_code == 302
    assert not Dashboard.objects.exists()


def test_the_at_risk_list_names_only_the_managers_customers(
    client, east_manager, east_rep, east_team, rep, sales_team
):
    # Customers without activity, answers or subscriptions: both at risk.
    customer(name="Sales secret customer", owner=rep, team=sales_team)
    mine = customer(name="East customer", owner=east_rep, team=east_team)
    store_company_health(day=DAY)
    client.force_login(east_manager)
    response = client.get(reverse("dashboard", args=["retention"]) + "?" + MARCH)
    assert [row.company for row in response.context["at_risk"]] == [mine]
    assert "Sales secret" not in page_text(response)


# A rep -------------------------------------------------------------------------------------


def test_a_rep_cannot_read_another_teams_segments_or_the_company(
    client, rep, east_team, east_rep, pipeline
):
    client.force_login(rep)
    crafted = [f"team%3D{east_team.pk}", f"owner%3D{east_rep.pk}", "", "pipeline%3D1"]
    for segment in crafted:
        for name in ("kpi", "kpi-export"):
            response = client.get(url(query=f"&segment={segment}&records=all", name=name))
            assert response.status_code == 404, (segment, name)


def test_a_rep_reads_their_teams_rows_only(client, rep, sales_team, east_rep, pipeline):
    client.force_login(rep)
    page = client.get(url(query=f"&segment=team%3D{sales_team.pk}&by=owner"))
    assert {row[0]["value"] for row in page.context["rows"]} == {"Sales secret A", "Sales secret B"}
    assert page.context["hidden_count"] == 0
    assert str(east_rep) not in {str(row["label"]) for row in page.context["breakdown"]}
    assert "Other" not in {str(row["label"]) for row in page.context["breakdown"]}
    rows = read_csv(client.get(url(query=f"&segment=team%3D{sales_team.pk}", name="kpi-export")))
    assert {row[0] for row in rows[1:]} == {"Sales secret A", "Sales secret B"}


# An admin ----------------------------------------------------------------------------------


def test_an_admin_reads_every_row_name_and_team(client, admin_user, rep, sales_team, pipeline):
    client.force_login(admin_user)
    response = client.get(url(query="&records=all&by=owner"))
    assert {row[0]["value"] for row in response.context["rows"]} == {
        "Sales secret A",
        "Sales secret B",
        "East deal",
    }
    assert response.context["hidden_count"] == 0
    labels = {str(row["label"]) for row in response.context["breakdown"]}
    assert str(rep) in labels and "Other" not in labels
    crafted = client.get(
        url(query=f"&segment=team%3D{sales_team.pk}&records=all", name="kpi-export")
    )
    assert {row[0] for row in read_csv(crafted)[1:]} == {"Sales secret A", "Sales secret B"}
