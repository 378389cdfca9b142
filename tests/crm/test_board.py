"""The pipeline board: columns, cards, load more, filters, visibility and drag-to-move."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from crm import services
from crm.models import Deal, DealStageChange, DealStatus, Pipeline, Stage, StageOutcome
from tests.crm.factories import (
    CompanyFactory,
    DealFactory,
    TaskFactory,
    default_pipeline,
    stage_named,
)

pytestmark = pytest.mark.django_db

BOARD = reverse("deal-board")
JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def deal(rep, sales_team):
    return services.deal_create(
        actor=rep,
        data={"name": "Acme renewal", "company": CompanyFactory(name="Acme"), "amount": 5000},
    )


@pytest.fixture
def foreign_deal(outsider, other_team):
    return services.deal_create(actor=outsider, data={"name": "Globex secret", "amount": 10})


def column(response, stage_name):
    return next(c for c in response.context["columns"] if c["stage"].name == stage_name)


def move(client, deal, stage, **extra):
    data = {"stage": stage.pk, **extra}
    return client.post(reverse("deal-move", args=[deal.pk]), data, **JSON)


def many_deals(count, *, owner, team, stage=None, **fields):
    company = CompanyFactory()
    stage = stage or stage_named("Prospecting")
    return DealFactory.create_batch(
        count, owner=owner, team=team, company=company, stage=stage, **fields
    )


# --- the board page ------------------------------------------------------------------------


def test_board_shows_a_column_per_stage_with_count_and_total(client, rep, sales_team, deal):
    DealFactory(
        name="Euro deal",
        owner=rep,
        team=sales_team,
        amount=Decimal("100"),
        currency="EUR",
        exchange_rate=Decimal("1.5"),
    )
    client.force_login(rep)

    response = client.get(BOARD)

    assert response.status_code == 200
    names = [c["stage"].name for c in response.context["columns"]]
    assert names == [s.name for s in Pipeline.objects.get(is_default=True).stages.all()]
    prospecting = column(response, "Prospecting")
    assert prospecting["count"] == 2
    assert prospecting["total"] == "$5,150.00"  # 5000 + 100 × 1.5
    assert column(response, "Proposal")["count"] == 0
    content = response.content.decode()
    assert "Acme renewal" in content and "Acme" in content


def test_cards_show_days_in_stage_owner_and_an_overdue_task_marker(client, rep, sales_team):
    late = many_deals(1, owner=rep, team=sales_team, name="Late one")[0]
    Deal.objects.filter(pk=late.pk).update(stage_entered_at=timezone.now() - timedelta(days=9))
    TaskFactory(deal=late, due_at=timezone.now() - timedelta(hours=2))
    fine = many_deals(1, owner=rep, team=sales_team, name="Fine one")[0]
    TaskFactory(deal=fine, due_at=timezone.now() + timedelta(days=2))
    done = TaskFactory(deal=fine, due_at=timezone.now() - timedelta(days=2))
    services.task_complete(task=done, actor=rep)
    client.force_login(rep)

    response = client.get(BOARD)

    cards = {card.name: card for card in column(response, "Prospecting")["cards"]}
    assert cards["Late one"].has_overdue_task is True
    assert cards["Fine one"].has_overdue_task is False
    assert cards["Late one"].days_in_stage == 9
    html = response.content.decode()
    assert html.count('data-testid="overdue"') == 1
    assert "9 days in stage" in html
    assert str(rep) in html


def test_board_query_count_does_not_grow_with_deals(
    client, rep, sales_team, django_assert_max_num_queries
):
    client.force_login(rep)
    many_deals(2, owner=rep, team=sales_team)
    stages = default_pipeline().stages.count()
    # The page's own queries, the totals, and one limited card query per column.
    with django_assert_max_num_queries(13 + stages) as few:
        assert client.get(BOARD).status_code == 200

    many_deals(120, owner=rep, team=sales_team)
    many_deals(60, owner=rep, team=sales_team, stage=stage_named("Proposal"))
    with django_assert_max_num_queries(len(few)) as many:
        response = client.get(BOARD)
    assert len(many) == len(few)
    assert column(response, "Prospecting")["count"] == 122
    assert len(column(response, "Prospecting")["cards"]) == 50
    assert column(response, "Proposal")["more_url"]


def test_load_more_gives_the_next_cards_of_a_column(
    client, rep, sales_team, django_assert_max_num_queries
):
    deals = many_deals(120, owner=rep, team=sales_team)
    client.force_login(rep)
    first = client.get(BOARD)
    more_url = column(first, "Prospecting")["more_url"]
    assert 'hx-get="' in first.content.decode()

    with django_assert_max_num_queries(8):
        second = client.get(more_url)
    third = client.get(second.context["more_url"])

    assert second.status_code == 200 and len(second.context["cards"]) == 50
    assert len(third.context["cards"]) == 20 and third.context["more_url"] == ""
    shown = [
        *column(first, "Prospecting")["cards"],
        *second.context["cards"],
        *third.context["cards"],
    ]
    assert sorted(d.pk for d in shown) == sorted(d.pk for d in deals)
    assert "Load more" not in third.content.decode()


def test_load_more_keeps_the_board_filters(client, rep, teammate, sales_team):
    many_deals(60, owner=rep, team=sales_team)
    many_deals(60, owner=teammate, team=sales_team)
    client.force_login(rep)

    first = client.get(BOARD, {"owner": rep.pk})
    second = client.get(column(first, "Prospecting")["more_url"])

    assert column(first, "Prospecting")["count"] == 60
    assert len(second.context["cards"]) == 10
    assert {d.owner_id for d in second.context["cards"]} == {rep.pk}


def test_board_filters_by_owner_team_and_expected_close(
    client, rep, teammate, manager, sales_team, other_team
):
    many_deals(1, owner=rep, team=sales_team, name="Ana soon", expected_close_date=date(2030, 1, 5))
    many_deals(1, owner=teammate, team=sales_team, name="Marco soon")
    many_deals(1, owner=rep, team=sales_team, name="Ana late", expected_close_date=date(2031, 1, 1))
    client.force_login(manager)

    def names(**params):
        response = client.get(BOARD, params)
        return sorted(d.name for c in response.context["columns"] for d in c["cards"])

    assert names() == ["Ana late", "Ana soon", "Marco soon"]
    assert names(owner=rep.pk) == ["Ana late", "Ana soon"]
    assert names(team=sales_team.pk) == ["Ana late", "Ana soon", "Marco soon"]
    assert names(close_from="2030-01-01", close_to="2030-12-31") == ["Ana soon"]
    assert names(owner=teammate.pk, close_to="2030-12-31") == []
    # A team the manager does not see is not a valid choice: the filter is refused, shown.
    response = client.get(BOARD, {"team": other_team.pk})
    assert response.status_code == 200 and response.context["filters"].errors


def test_board_chooses_the_pipeline(client, rep, sales_team):
    renewals = Pipeline.objects.create(name="Renewals", order=5)
    first = Stage.objects.create(pipeline=renewals, name="Due", order=0)
    Stage.objects.create(pipeline=renewals, name="Renewed", order=1, outcome="won", probability=100)
    many_deals(1, owner=rep, team=sales_team, name="Renewal deal", pipeline=renewals, stage=first)
    many_deals(1, owner=rep, team=sales_team, name="Sales deal")
    client.force_login(rep)

    default = client.get(BOARD)
    chosen = client.get(BOARD, {"pipeline": renewals.pk})

    assert default.context["pipeline"].is_default
    assert [c["stage"].name for c in chosen.context["columns"]] == ["Due", "Renewed"]
    assert [d.name for d in column(chosen, "Due")["cards"]] == ["Renewal deal"]
    assert client.get(BOARD, {"pipeline": 99999}).status_code == 404


def test_won_and_lost_columns_show_recent_closes_only(client, rep, sales_team, deal):
    old = services.deal_create(actor=rep, data={"name": "Old win"})
    services.deal_move_stage(deal=old, stage=stage_named("Won"), actor=rep)
    Deal.objects.filter(pk=old.pk).update(closed_at=timezone.now() - timedelta(days=90))
    services.deal_move_stage(deal=deal, stage=stage_named("Won"), actor=rep)
    client.force_login(rep)

    response = client.get(BOARD)

    assert [d.name for d in column(response, "Won")["cards"]] == ["Acme renewal"]


# --- visibility ----------------------------------------------------------------------------


def test_a_rep_never_sees_another_teams_card(client, rep, deal, foreign_deal, admin_user):
    client.force_login(rep)
    response = client.get(BOARD)
    content = response.content.decode()
    assert "Acme renewal" in content and "Globex secret" not in content
    assert column(response, "Prospecting")["count"] == 1

    client.force_login(admin_user)
    response = client.get(BOARD)
    assert column(response, "Prospecting")["count"] == 2


def test_load_more_hides_other_teams_deals(client, rep, sales_team, outsider, other_team):
    many_deals(55, owner=outsider, team=other_team)
    client.force_login(rep)
    stage = stage_named("Prospecting")
    response = client.get(reverse("deal-board-cards", args=[stage.pk]))
    assert response.context["cards"] == []


def test_load_more_refuses_a_malformed_cursor(client, rep, sales_team):
    client.force_login(rep)
    url = reverse("deal-board-cards", args=[stage_named("Prospecting").pk])
    for cursor in ("nonsense", "2030-01-01T00:00:00|x", "2030-01-01T00:00:00|1"):
        assert client.get(url, {"after": cursor}).status_code == 400
    assert client.get(reverse("deal-board-cards", args=[999999])).status_code == 404


def test_load_more_is_not_shifted_by_moves(client, rep, sales_team):
    deals = many_deals(60, owner=rep, team=sales_team)
    client.force_login(rep)
    first = client.get(BOARD)
    shown = column(first, "Prospecting")["cards"]
    # Two cards shown on the first page move away before "Load more" is clicked.
    for deal in shown[:2]:
        move(client, deal, stage_named("Proposal"))

    second = client.get(column(first, "Prospecting")["more_url"])

    assert {d.pk for d in second.context["cards"]} == {d.pk for d in deals} - {d.pk for d in shown}


# --- moving a card -------------------------------------------------------------------------


def test_dragging_a_card_moves_the_deal_and_records_history(client, rep, deal):
    client.force_login(rep)
    proposal = stage_named("Proposal")

    response = move(client, deal, proposal)

    assert response.status_code == 200
    data = response.json()
    assert data["ok"] is True and "Proposal" in data["message"]
    deal.refresh_from_db()
    assert deal.stage == proposal
    change = DealStageChange.objects.filter(deal=deal).last()
    assert (change.from_stage.name, change.to_stage.name, change.changed_by) == (
        "Prospecting",
        "Proposal",
        rep,
    )
    # The columns' new counts and totals come back for the board to show.
    assert data["columns"][str(proposal.pk)] == {"count": 1, "total": "$5,000.00"}
    assert str(stage_named("Prospecting").pk) not in data["columns"]
    assert data["empty"]["count"] == 0


def test_column_totals_after_a_move_follow_the_board_filters(client, rep, teammate, deal):
    services.deal_create(actor=teammate, data={"name": "Marco's", "amount": 7})
    client.force_login(rep)
    proposal = stage_named("Proposal")

    data = move(client, deal, proposal, filters=f"owner={teammate.pk}").json()

    assert data["columns"] == {str(stage_named("Prospecting").pk): {"count": 1, "total": "$7.00"}}


def assert_unchanged(deal, before_changes):
    stage_id, status = deal.stage_id, deal.status
    deal.refresh_from_db()
    assert (deal.stage_id, deal.status, deal.lost_reason) == (stage_id, status, "")
    assert DealStageChange.objects.filter(deal=deal).count() == before_changes


def test_moving_to_lost_needs_a_reason(client, rep, deal):
    client.force_login(rep)
    lost = stage_named("Lost")

    refused = move(client, deal, lost)
    blank = move(client, deal, lost, lost_reason="   ")

    for response in (refused, blank):
        assert response.status_code == 400
        assert response.json() == {"ok": False, "errors": ["Say why the deal was lost."]}
    assert_unchanged(deal, 1)

    accepted = move(client, deal, lost, lost_reason="Went with a competitor")
    assert accepted.status_code == 200
    deal.refresh_from_db()
    assert deal.status == DealStatus.LOST and deal.lost_reason == "Went with a competitor"


def test_a_stage_of_another_pipeline_is_refused(client, rep, deal):
    other = Pipeline.objects.create(name="Renewals", order=3)
    foreign_stage = Stage.objects.create(pipeline=other, name="Due", order=0)
    client.force_login(rep)

    response = move(client, deal, foreign_stage)

    assert response.status_code == 400
    assert "is not a stage of the pipeline" in response.json()["errors"][0]
    assert_unchanged(deal, 1)


def test_bad_move_input_is_a_clear_400(client, rep, deal):
    client.force_login(rep)
    url = reverse("deal-move", args=[deal.pk])

    missing = client.post(url, {}, **JSON)
    unknown = client.post(url, {"stage": 999999}, **JSON)
    same = move(client, deal, deal.stage)

    assert missing.status_code == unknown.status_code == same.status_code == 400
    assert missing.json()["ok"] is False and unknown.json()["errors"]
    assert "already in" in same.json()["errors"][0]
    assert_unchanged(deal, 1)


def test_another_teams_deal_cannot_be_moved(client, rep, foreign_deal):
    client.force_login(rep)

    response = move(client, foreign_deal, stage_named("Proposal"))

    assert response.status_code == 404
    assert_unchanged(foreign_deal, 1)


def test_a_user_without_change_permission_cannot_move(client, agent, deal, sales_team):
    sales_team.members.add(agent)
    client.force_login(agent)

    response = move(client, deal, stage_named("Proposal"))

    assert response.status_code == 403
    assert_unchanged(deal, 1)


def test_moving_needs_post(client, rep, deal):
    client.force_login(rep)
    assert client.get(reverse("deal-move", args=[deal.pk])).status_code == 405


def test_manager_and_admin_can_move_a_team_deal(client, manager, admin_user, deal):
    client.force_login(manager)
    assert move(client, deal, stage_named("Qualification")).status_code == 200
    client.force_login(admin_user)
    assert move(client, deal, stage_named("Proposal")).status_code == 200
    assert DealStageChange.objects.filter(deal=deal).count() == 3


def test_board_page_is_csp_clean(client, rep, deal):
    client.force_login(rep)
    html = client.get(BOARD).content.decode()
    assert "style=" not in html
    assert "<script>" not in html and "onclick" not in html
    assert "vendor/sortablejs/Sortable.min.js" in html and "js/board.js" in html
    assert StageOutcome.LOST in html  # the lost column is marked for the reason dialog


def test_cached_column_sums_follow_every_saved_change(client, rep, sales_team, deal):
    client.force_login(rep)
    assert column(client.get(BOARD), "Prospecting")["count"] == 1
    assert column(client.get(BOARD), "Prospecting")["count"] == 1  # from the cache

    services.deal_move_stage(deal=deal, stage=stage_named("Proposal"), actor=rep)
    response = client.get(BOARD)

    assert column(response, "Prospecting")["count"] == 0
    assert column(response, "Proposal")["count"] == 1
