from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from crm import services
from crm.models import Deal, DealStageChange, DealStatus, Event, Pipeline, Stage
from tests.crm.factories import CompanyFactory, stage_named


@pytest.fixture
def deal(rep):
    return services.deal_create(
        actor=rep,
        data={"name": "Acme renewal", "company": CompanyFactory(), "amount": Decimal("5000")},
    )


def events_of(deal):
    return list(
        Event.objects.filter(record_type="deal", record_id=deal.pk).values_list("type", flat=True)
    )


@pytest.mark.django_db
def test_a_new_deal_starts_in_the_first_stage_with_its_history(deal, rep):
    assert deal.stage.name == "Prospecting"
    assert deal.status == DealStatus.OPEN and deal.closed_at is None
    assert deal.owner == rep
    change = deal.stage_changes.get()
    assert (change.from_stage, change.to_stage, change.changed_by) == (None, deal.stage, rep)
    assert events_of(deal) == ["deal.created"]


@pytest.mark.django_db
def test_moving_a_deal_records_history_and_time_in_stage(deal, rep):
    later = deal.stage_entered_at + timedelta(days=3, hours=2)

    moved = services.deal_move_stage(deal=deal, stage=stage_named("Proposal"), actor=rep, at=later)

    change = moved.stage_changes.last()
    assert change.from_stage.name == "Prospecting" and change.to_stage.name == "Proposal"
    assert change.seconds_in_from_stage == (3 * 24 + 2) * 3600
    assert change.from_stage_entered_at == deal.stage_entered_at
    assert moved.stage_entered_at == later
    event = Event.objects.filter(type="deal.stage_changed").get()
    assert event.changes == {"stage": [deal.stage_id, stage_named("Proposal").pk]}
    assert event.actor == rep


@pytest.mark.django_db
def test_winning_a_deal_closes_it(deal, rep):
    won = services.deal_move_stage(deal=deal, stage=stage_named("Won"), actor=rep)

    won.refresh_from_db()
    assert won.status == DealStatus.WON
    assert won.closed_at == won.stage_entered_at
    event = Event.objects.get(type="deal.stage_changed")
    assert event.changes["status"] == ["open", "won"]


@pytest.mark.django_db
def test_losing_a_deal_needs_a_reason_and_writes_nothing_without_one(deal, rep):
    with pytest.raises(services.InvalidTransition) as refused:
        services.deal_move_stage(deal=deal, stage=stage_named("Lost"), actor=rep, lost_reason="  ")

    assert "lost_reason" in refused.value.message_dict
    deal.refresh_from_db()
    assert deal.stage.name == "Prospecting" and deal.status == DealStatus.OPEN
    assert DealStageChange.objects.filter(deal=deal).count() == 1
    assert events_of(deal) == ["deal.created"]

    lost = services.deal_move_stage(
        deal=deal, stage=stage_named("Lost"), actor=rep, lost_reason="Chose a competitor"
    )
    assert (lost.status, lost.lost_reason) == (DealStatus.LOST, "Chose a competitor")
    assert lost.closed_at is not None


@pytest.mark.django_db
def test_reopening_a_closed_deal_clears_its_closing(deal, rep):
    services.deal_move_stage(deal=deal, stage=stage_named("Lost"), actor=rep, lost_reason="Budget")

    reopened = services.deal_move_stage(deal=deal, stage=stage_named("Negotiation"), actor=rep)

    assert reopened.status == DealStatus.OPEN
    assert reopened.closed_at is None and reopened.lost_reason == ""


@pytest.mark.django_db
def test_a_stage_of_another_pipeline_is_refused(deal, rep):
    renewals = Pipeline.objects.create(name="Renewals")
    foreign = Stage.objects.create(pipeline=renewals, name="Due", order=0, probability=50)

    with pytest.raises(services.InvalidTransition):
        services.deal_move_stage(deal=deal, stage=foreign, actor=rep)

    deal.refresh_from_db()
    assert deal.stage.name == "Prospecting"
    assert DealStageChange.objects.count() == 1


@pytest.mark.django_db
def test_moving_to_the_same_stage_is_refused(deal, rep):
    with pytest.raises(services.InvalidTransition):
        services.deal_move_stage(deal=deal, stage=deal.stage, actor=rep)
    assert DealStageChange.objects.count() == 1


@pytest.mark.django_db
def test_a_move_dated_before_the_deal_entered_its_stage_is_refused(deal, rep):
    with pytest.raises(services.InvalidTransition):
        services.deal_move_stage(
            deal=deal,
            stage=stage_named("Proposal"),
            actor=rep,
            at=deal.stage_entered_at - timedelta(hours=1),
        )


@pytest.mark.django_db
def test_history_adds_up_to_the_life_of_the_deal(deal, rep):
    start = deal.stage_entered_at
    steps = [("Qualification", 1), ("Proposal", 3), ("Negotiation", 6), ("Won", 10)]
    for name, day in steps:
        services.deal_move_stage(
            deal=deal, stage=stage_named(name), actor=rep, at=start + timedelta(days=day)
        )

    deal.refresh_from_db()
    seconds = sum(c.seconds_in_from_stage or 0 for c in deal.stage_changes.all())
    assert seconds == (deal.closed_at - deal.created_at).total_seconds() == 10 * 86400
    assert deal.stage_changes.last().changed_at == deal.stage_entered_at


@pytest.mark.django_db
def test_creating_a_deal_with_bad_data_writes_nothing(rep):
    with pytest.raises(Exception) as refused:
        services.deal_create(actor=rep, data={"name": "", "amount": Decimal("-5")})

    assert {"name", "amount"} <= set(refused.value.message_dict)
    assert Deal.objects.count() == 0 and DealStageChange.objects.count() == 0
    assert Event.objects.count() == 0


@pytest.mark.django_db
def test_state_fields_cannot_be_set_through_a_plain_update(deal, rep):
    with pytest.raises(Exception) as refused:
        services.record_update(deal, actor=rep, data={"status": "won", "amount": Decimal("1")})

    assert "status" in refused.value.message_dict
    deal.refresh_from_db()
    assert deal.status == DealStatus.OPEN and deal.amount == Decimal("5000")


@pytest.mark.django_db
def test_a_plain_update_records_only_what_changed(deal, rep):
    services.record_update(deal, actor=rep, data={"amount": Decimal("7500.00"), "name": deal.name})

    event = Event.objects.get(type="deal.updated")
    assert event.changes == {"amount": ["5000.00", "7500.00"]}

    services.record_update(deal, actor=rep, data={"amount": Decimal("7500.00")})
    assert Event.objects.filter(type="deal.updated").count() == 1
    assert timezone.now() >= deal.updated_at
