"""The forecast from a synthetic run-rate, the pipeline's share for revenue, and the status."""

from datetime import timedelta
from decimal import Decimal as D

from django.utils import timezone

from crm.models import DealKind, DealStatus
from goals import services
from goals.compute import explanation
from goals.models import Scope, TargetKind, TargetProgress
from tests.crm.factories import DealFactory, stage_named

from .factories import make_goal, make_target, reload, running_period


def test_the_forecast_follows_the_run_rate_of_the_daily_rows(manager, rep, sales_team):
    # 30 days: 10 behind (today the 10th), 20 ahead; 10 a day so far.
    goal = make_goal(owner=manager, scope=Scope.PERSON, person=rep, dates=running_period(10, 20))
    target = make_target(goal, start_value=0, target_value=300)
    TargetProgress.objects.bulk_create(
        TargetProgress(target=target, day=goal.start_date + timedelta(days=i), value=10 * (i + 1))
        for i in range(9)
    )
    services.target_record_value(actor=rep, target=target, value=D(100))

    target, goal = reload(target), reload(goal)
    # 100 today + 10 a day × 20 days = 300: the whole target.
    assert target.forecast_value == 300
    assert target.forecast_progress == 100
    assert goal.forecast == 100
    assert goal.health == "on_track"
    assert goal.progress == D("33.3")


def test_a_slower_pace_puts_the_goal_at_risk_then_off_track(manager, rep, sales_team):
    goal = make_goal(owner=manager, scope=Scope.PERSON, person=rep, dates=running_period(20, 20))
    target = make_target(goal, start_value=0, target_value=100)
    # Without history, the line runs from zero on the day before the start to today's value:
    # 45 in 20 days reaches 90 by the end.
    services.target_record_value(actor=rep, target=target, value=D(45))
    assert reload(goal).forecast == 90
    assert reload(goal).health == "at_risk"


def test_weighted_pipeline_adds_to_a_revenue_target(manager, rep, sales_team):
    goal = make_goal(owner=manager, scope=Scope.PERSON, person=rep, dates=running_period(20, 20))
    today = timezone.localdate()
    DealFactory(
        owner=rep,
        stage=stage_named("Won"),
        status=DealStatus.WON,
        kind=DealKind.NEW_BUSINESS,
        closed_at=timezone.now() - timedelta(hours=1),
        amount=D(2000),
    )
    # Proposal is 50 %: 4,000 expected to close in the period adds 2,000.
    DealFactory(
        owner=rep,
        stage=stage_named("Proposal"),
        kind=DealKind.NEW_BUSINESS,
        amount=D(4000),
        expected_close_date=today + timedelta(days=5),
    )
    DealFactory(  # closes after the period: left out
        owner=rep,
        stage=stage_named("Proposal"),
        kind=DealKind.NEW_BUSINESS,
        amount=D(9000),
        expected_close_date=goal.end_date + timedelta(days=1),
    )
    target = make_target(goal, kind=TargetKind.KPI, kpi_key="net_new_revenue", target_value=20000)
    target, goal = reload(target), reload(goal)
    assert target.current_value == 2000
    assert target.pipeline_progress == 10  # 2,000 of 20,000
    assert goal.pipeline_share == 10
    sentence = explanation(forecast=goal.forecast, pipeline=goal.pipeline_share, end=goal.end_date)
    assert sentence.startswith("At the current pace 20 % of target by")
    assert sentence.endswith("; weighted pipeline adds 10 %.")
