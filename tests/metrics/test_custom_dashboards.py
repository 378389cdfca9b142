"""Dashboards users build: cards added, removed and reordered, a period and segment, shared
with a team (members view, only the owner edits)."""

import pytest
from django.urls import reverse

from metrics.models import Dashboard, DashboardCard
from tests.metrics.test_dashboard_pages import at, chart_payloads, won_deal

pytestmark = pytest.mark.django_db


@pytest.fixture
def board(rep, sales_team):
    board = Dashboard.objects.create(
        owner=rep, name="My board", segment_field="owner", segment_value=str(rep.pk)
    )
    DashboardCard.objects.create(dashboard=board, kind="kpi", key="deals_won_count", order=0)
    DashboardCard.objects.create(dashboard=board, kind="kpi", key="win_rate", order=1)
    DashboardCard.objects.create(dashboard=board, kind="chart", key="deals_won_by_month", order=2)
    return board


def keys(board):
    return list(board.cards.order_by("order").values_list("key", flat=True))


def test_a_user_creates_a_dashboard_and_adds_cards(client, rep, sales_team):
    client.force_login(rep)
    response = client.post(
        reverse("dashboard-create"),
        {"name": "Mine", "grain": "quarter", "segment": f"owner={rep.pk}", "shared_with": ""},
    )
    board = Dashboard.objects.get(owner=rep)
    assert response.status_code == 302 and response.url == reverse(
        "dashboard-edit", args=[board.pk]
    )
    assert (board.grain, board.segment_field, board.segment_value) == (
        "quarter",
        "owner",
        str(rep.pk),
    )

    add = reverse("dashboard-card-add", args=[board.pk])
    client.post(add, {"item": "kpi:win_rate"})
    client.post(add, {"item": "chart:trend:win_rate", "grain": "month"})
    client.post(add, {"item": "chart:pipeline_by_stage"})
    assert keys(board) == ["win_rate", "trend:win_rate", "pipeline_by_stage"]
    assert board.cards.get(key="trend:win_rate").grain == "month"


def test_the_dashboard_shows_its_cards_in_order_with_charts(client, rep, sales_team, board):
    won_deal(rep, sales_team, at(2026, 3, 10))
    client.force_login(rep)
    response = client.get(reverse("custom-dashboard", args=[board.pk]) + "?date=2026-03-15")
    assert response.status_code == 200
    items = response.context["items"]
    assert [item["card"].key for item in items] == keys(board)
    assert items[0]["kpi_card"].result.value == 1
    payloads = chart_payloads(response.content)
    assert any(p["title"] == "Deals won per month" for p in payloads.values())


def test_cards_are_reordered_by_drag_and_drop_and_by_buttons(client, rep, board):
    client.force_login(rep)
    ids = list(board.cards.order_by("order").values_list("pk", flat=True))
    response = client.post(
        reverse("dashboard-cards-reorder", args=[board.pk]), {"card": [ids[2], ids[0], ids[1]]}
    )
    assert response.status_code == 204
    assert keys(board) == ["deals_won_by_month", "deals_won_count", "win_rate"]

    client.post(reverse("dashboard-card-move", args=[board.pk, ids[1]]), {"direction": "up"})
    assert keys(board) == ["deals_won_by_month", "win_rate", "deals_won_count"]


def test_a_bad_reorder_is_refused_and_changes_nothing(client, rep, board):
    client.force_login(rep)
    before = keys(board)
    ids = list(board.cards.values_list("pk", flat=True))
    url = reverse("dashboard-cards-reorder", args=[board.pk])
    assert client.post(url, {"card": ids[:2]}).status_code == 400
    assert client.post(url, {"card": [ids[0], ids[0], ids[1]]}).status_code == 400
    assert client.post(url, {"card": ["x"]}).status_code == 400
    assert keys(board) == before


def test_a_card_is_removed(client, rep, board):
    client.force_login(rep)
    card = board.cards.get(key="win_rate")
    client.post(reverse("dashboard-card-remove", args=[board.pk, card.pk]))
    assert keys(board) == ["deals_won_count", "deals_won_by_month"]


def test_an_unknown_card_is_a_form_error_and_nothing_is_added(client, rep, board):
    client.force_login(rep)
    before = keys(board)
    for item in ("kpi:nope", "chart:nope", "trend:win_rate", ""):
        response = client.post(reverse("dashboard-card-add", args=[board.pk]), {"item": item})
        assert response.status_code == 400
    assert keys(board) == before


def test_settings_are_saved_and_bad_input_is_a_form_error(client, rep, sales_team, board):
    client.force_login(rep)
    url = reverse("dashboard-edit", args=[board.pk])
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "name": "Team view",
            "grain": "year",
            "segment": f"team={sales_team.pk}",
            "shared_with": sales_team.pk,
        },
    )
    assert response.status_code == 302
    board.refresh_from_db()
    assert (board.name, board.grain, board.shared_with) == ("Team view", "year", sales_team)

    response = client.post(url, {"name": "", "grain": "decade", "segment": "x"})
    assert response.status_code == 400
    board.refresh_from_db()
    assert board.name == "Team view"


def test_a_user_cannot_pick_a_segment_they_may_not_read(client, rep, outsider, other_team, board):
    client.force_login(rep)
    for segment in (f"owner={outsider.pk}", f"team={other_team.pk}", ""):
        response = client.post(
            reverse("dashboard-edit", args=[board.pk]),
            {"name": "Spy", "grain": "month", "segment": segment},
        )
        assert response.status_code == 400
        response = client.post(
            reverse("dashboard-card-add", args=[board.pk]),
            {"item": "kpi:win_rate", "segment": segment},
        )
        assert response.status_code == 400 or segment == ""
    board.refresh_from_db()
    assert board.name == "My board"


def test_sharing_with_a_team_lets_members_view_but_not_edit(
    client, rep, teammate, outsider, sales_team, board
):
    board.shared_with = sales_team
    board.save()
    client.force_login(teammate)
    assert client.get(reverse("custom-dashboard", args=[board.pk])).status_code == 200
    index = client.get(reverse("dashboards"))
    assert board in index.context["shared"]
    before = keys(board)
    assert client.get(reverse("dashboard-edit", args=[board.pk])).status_code == 403
    ids = list(board.cards.values_list("pk", flat=True))
    for url, data in [
        (reverse("dashboard-card-add", args=[board.pk]), {"item": "kpi:nps"}),
        (reverse("dashboard-card-remove", args=[board.pk, ids[0]]), {}),
        (reverse("dashboard-cards-reorder", args=[board.pk]), {"card": ids[::-1]}),
        (reverse("dashboard-delete", args=[board.pk]), {}),
    ]:
        assert client.post(url, data).status_code == 403
    assert keys(board) == before and Dashboard.objects.filter(pk=board.pk).exists()

    client.force_login(outsider)
    assert client.get(reverse("custom-dashboard", args=[board.pk])).status_code == 404


def test_an_unshared_dashboard_is_private(client, teammate, board):
    client.force_login(teammate)
    assert client.get(reverse("custom-dashboard", args=[board.pk])).status_code == 404


def test_the_owner_deletes_their_dashboard(client, rep, board):
    client.force_login(rep)
    response = client.post(reverse("dashboard-delete", args=[board.pk]))
    assert response.status_code == 302
    assert not Dashboard.objects.filter(pk=board.pk).exists()
    assert not DashboardCard.objects.filter(dashboard_id=board.pk).exists()


def test_a_custom_dashboard_runs_constant_queries(
    client, rep, sales_team, board, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    won_deal(rep, sales_team, at(2026, 3, 10))
    client.force_login(rep)
    url = reverse("custom-dashboard", args=[board.pk]) + "?date=2026-03-15"
    with CaptureQueriesContext(connection) as small:
        client.get(url)
    for _ in range(15):
        won_deal(rep, sales_team, at(2026, 3, 10))
    with django_assert_max_num_queries(len(small)):
        client.get(url)
