"""Users and teams through the API (issue 12): read only, as crm.access.teammates and
visible_teams show them."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.models import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def ids(response):
    assert response.status_code == 200
    return sorted(row["id"] for row in response.json()["results"])


def test_a_rep_sees_their_teammates_and_teams_only(
    client, rep, teammate, manager, outsider, sales_team, other_team
):
    client.force_login(rep)
    assert ids(client.get("/api/users/")) == sorted([rep.pk, teammate.pk, manager.pk])
    assert client.get(f"/api/users/{outsider.pk}/").status_code == 404
    assert client.get(f"/api/users/{rep.pk}/").json()["roles"] == [Role.SALES_REP]
    assert ids(client.get("/api/teams/")) == [sales_team.pk]
    assert client.get(f"/api/teams/{other_team.pk}/").status_code == 404
    # Another team is not a filter choice: the same answer as an unknown id.
    for team in (other_team.pk, 10**9):
        response = client.get(f"/api/users/?teams={team}")
        assert response.status_code == 400 and "teams" in response.json()["errors"]


def test_an_admin_sees_everyone_and_every_team(client, admin_user, rep, outsider, other_team):
    client.force_login(admin_user)
    assert {rep.pk, outsider.pk, admin_user.pk} <= set(ids(client.get("/api/users/")))
    assert other_team.pk in ids(client.get("/api/teams/"))


def test_users_and_teams_are_read_only(client, admin_user, rep):
    client.force_login(admin_user)
    assert client.post("/api/users/", {"username": "x"}).status_code == 405
    assert client.patch(f"/api/users/{rep.pk}/", {}).status_code == 405
    assert client.delete(f"/api/users/{rep.pk}/").status_code == 405
    assert client.post("/api/teams/", {"name": "x"}).status_code == 405


def test_the_user_list_runs_the_same_queries_for_5_and_50_rows(client, admin_user, sales_team):
    client.force_login(admin_user)

    def count(rows):
        for _n in range(rows):
            sales_team.members.add(UserFactory(role=Role.SALES_REP))
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/api/users/?page_size=200")
        return len(queries), len(response.json()["results"])

    small, shown = count(5)
    large, more = count(45)
    assert more == shown + 45
    assert large == small


def test_custom_fields_subscriptions_and_expenses_read_by_role(
    client, rep, manager, outsider, sales_team, other_team
):
    from crm.models import RecordType
    from tests.crm.factories import (
        CompanyFactory,
        CustomFieldFactory,
        ExpenseFactory,
        SubscriptionFactory,
    )

    field = CustomFieldFactory(record_type=RecordType.DEAL, key="region", label="Region")
    mine = SubscriptionFactory(company=CompanyFactory(owner=rep, team=sales_team))
    theirs = SubscriptionFactory(company=CompanyFactory(owner=outsider, team=other_team))
    expense = ExpenseFactory()
    client.force_login(rep)
    fields = client.get("/api/custom-fields/?record_type=deal").json()["results"]
    assert field.pk in [row["id"] for row in fields]
    assert ids(client.get("/api/subscriptions/")) == [mine.pk]
    assert client.get(f"/api/subscriptions/{theirs.pk}/").status_code == 404
    assert client.get("/api/expenses/").status_code == 403
    client.force_login(manager)
    assert ids(client.get("/api/expenses/")) == [expense.pk]
