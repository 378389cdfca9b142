"""The pipeline board as a rep uses it: drag a card, drop it on Lost and give the reason."""

import pytest

from crm.models import DealStageChange, DealStatus
from tests.crm.factories import DealFactory, default_pipeline, stage_named

# The live server reads committed rows; the rollback restores the rows migrations wrote
# (roles, the default pipeline) that a transactional test flushes.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def card(page, deal):
    return page.locator(f'.deal-card[data-deal-id="{deal.pk}"]')


def cards_of(page, stage):
    return page.locator(f'.board-cards[data-stage-id="{stage.pk}"]')


@pytest.fixture
def board(page_as, rep, sales_team):
    pipeline = default_pipeline()
    deal = DealFactory(
        name="Drag me", owner=rep, team=sales_team, pipeline=pipeline, stage=pipeline.first_stage()
    )
    page = page_as(rep)
    page.goto("/deals/board/")
    card(page, deal).wait_for()
    return page, deal


def test_dragging_a_card_to_the_next_stage_moves_the_deal(board):
    page, deal = board
    target = stage_named("Qualification")

    with page.expect_response(lambda r: "/move/" in r.url) as moved:
        card(page, deal).drag_to(cards_of(page, target))

    assert moved.value.status == 200
    deal.refresh_from_db()
    assert deal.stage == target
    assert DealStageChange.objects.filter(deal=deal, to_stage=target).count() == 1
    column = page.locator(f'.board-column[data-stage-id="{target.pk}"] [data-role="count"]')
    assert column.inner_text() == "1"


def test_dropping_on_lost_asks_for_the_reason(board):
    page, deal = board
    lost = stage_named("Lost")

    card(page, deal).drag_to(cards_of(page, lost))
    page.locator("#lost-reason-input").fill("Chose a competitor")
    with page.expect_response(lambda r: "/move/" in r.url):
        page.locator("#lost-reason-form button[type=submit]").click()

    deal.refresh_from_db()
    assert (deal.status, deal.lost_reason) == (DealStatus.LOST, "Chose a competitor")


def test_cancelling_the_lost_reason_puts_the_card_back(board):
    page, deal = board
    first = deal.stage

    card(page, deal).drag_to(cards_of(page, stage_named("Lost")))
    page.locator("#lost-reason-modal button.btn-outline-secondary").click()

    cards_of(page, first).locator(f'[data-deal-id="{deal.pk}"]').wait_for()
    deal.refresh_from_db()
    assert deal.stage == first
