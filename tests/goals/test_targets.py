"""Each kind of target, the directions, a relative target, and the KPI value being exactly the
number `manage.py kpi` prints for the same period and segment."""

import json
from datetime import date, datetime, timedelta
from decimal import Decimal as D
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from crm.models import DealStatus, LoginEvent, TaskStatus
from goals import services
from goals.models import Grain, Scope, TargetKind
from tests.crm.factories import DealFactory, TaskFactory, stage_named

from .factories import make_goal, make_target, reload

Q1 = (date(2026, 1, 1), date(2026, 3, 31))
Q2 = (date(2026, 4, 1), date(2026, 6, 30))


def at(day: date, hour: int = 12) -> datetime:
    return timezone.make_aware(datetime(day.year, day.month, day.day, hour))


def won(owner, closed: date, *, team=None, amount="1000", created_days_before=10):
    return DealFactory(
        owner=owner,
        team=team,
        stage=stage_named("Won"),
        status=DealStatus.WON,
        closed_at=at(closed),
        created_at=at(closed) - timedelta(days=created_days_before),
        amount=D(amount),
    )


def lost(owner, closed: date, *, team=None):
    return DealFactory(
        owner=owner,
        team=team,
        stage=stage_named("Lost"),
        status=DealStatus.LOST,
        closed_at=at(closed),
        lost_reason="Too expensive",
    )


def kpi_command(key, first, last, segment=None) -> D | None:
    args = [key, "--from", first.isoformat(), "--to", last.isoformat(), "--json"]
    if segment:
        args += ["--segment", segment]
    out = StringIO()
    call_command("kpi", *args, stdout=out)
    value = json.loads(out.getvalue())["value"]
    return None if value is None else D(str(value))


@pytest.fixture
def person_goal(manager, rep, sales_team):
    return make_goal(owner=manager, scope=Scope.PERSON, person=rep, dates=Q1, grain=Grain.QUARTER)


def test_a_kpi_target_reads_the_person_as_owner(person_goal, rep, teammate):
    for day in (date(2026, 1, 5), date(2026, 2, 10), date(2026, 3, 30), date(2026, 3, 31)):
        won(rep, day)
    won(teammate, date(2026, 2, 1))  # someone else's
    won(rep, date(2026, 4, 1))  # next quarter
    target = make_target(
        person_goal, kind=TargetKind.KPI, kpi_key="deals_won_count", target_value=10
    )
    target = reload(target)
    assert target.start_value == 0  # a count starts each quarter at zero
    assert target.current_value == 4
    assert target.progress == D("40.0")
    assert reload(person_goal).progress == D("40.0")


@pytest.mark.parametrize("scope", ["person", "team", "company"])
def test_a_kpi_value_equals_the_kpi_command_for_the_same_period_and_segment(
    scope, manager, rep, teammate, sales_team, outsider, other_team
):
    for day, owner in [(date(2026, 1, 5), rep), (date(2026, 2, 3), teammate)]:
        won(owner, day, team=sales_team)
    lost(rep, date(2026, 3, 3), team=sales_team)
    lost(rep, date(2026, 3, 9), team=sales_team)
    lost(outsider, date(2026, 2, 9), team=other_team)
    subject = {
        "person": {"person": rep},
        "team": {"team": sales_team},
        "company": {},
    }[scope]
    goal = make_goal(owner=manager, scope=scope, dates=Q1, grain=Grain.QUARTER, **subject)
    target = make_target(
        goal, kind=TargetKind.KPI, kpi_key="win_rate", start_value=10, target_value=90
    )
    segment = {"person": f"owner={rep.pk}", "team": f"team={sales_team.pk}", "company": None}
    expected = kpi_command("win_rate", *Q1, segment[scope])
    assert expected is not None
    assert reload(target).current_value == expected


def test_a_chosen_segment_replaces_the_scope(manager, rep, sales_team):
    goal = make_goal(owner=manager, scope=Scope.TEAM, team=sales_team, dates=Q1)
    won(rep, date(2026, 2, 2))
    target = make_target(
        goal,
        kind=TargetKind.KPI,
        kpi_key="deals_won_count",
        segment_field="owner",
        segment_value=str(rep.pk),
        target_value=4,
    )
    assert reload(target).current_value == kpi_command("deals_won_count", *Q1, f"owner={rep.pk}")
    assert reload(target).progress == D("25.0")


def test_a_decreasing_kpi_counts_a_shorter_cycle_as_progress(person_goal, rep):
    won(rep, date(2026, 2, 2), created_days_before=10)
    target = make_target(
        person_goal,
        kind=TargetKind.KPI,
        kpi_key="sales_cycle_days",
        direction="decrease",
        start_value=20,
        target_value=5,
    )
    target = reload(target)
    assert target.current_value == kpi_command("sales_cycle_days", *Q1, f"owner={rep.pk}")
    # From 20 days down to 5: at 10 days, (10 − 20) ÷ (5 − 20) = 66.7 %.
    assert target.current_value == 10
    assert target.progress == D("66.7")


def test_a_relative_target_raises_the_previous_quarter_by_20_percent(manager, rep, sales_team):
    for index in range(10):
        LoginEvent.objects.create(user=rep, at=at(date(2026, 2, 1)) + timedelta(hours=index))
    for index in range(9):
        LoginEvent.objects.create(user=rep, at=at(date(2026, 5, 1)) + timedelta(hours=index))
    goal = make_goal(owner=manager, scope=Scope.PERSON, person=rep, dates=Q2, grain=Grain.QUARTER)
    target = make_target(goal, kind=TargetKind.KPI, kpi_key="logins", relative_percent=20)
    target = reload(target)
    # Q1 had 10 logins: the target is 10 × 1.2 = 12; Q2 has 9 so far, from zero: 75 %.
    assert target.previous_value == 10
    assert target.target_value == 12
    assert target.start_value == 0
    assert target.current_value == 9 == kpi_command("logins", *Q2, f"owner={rep.pk}")
    assert target.progress == D("75.0")


def test_a_relative_rate_starts_from_last_periods_value(manager, rep, sales_team):
    won(rep, date(2026, 2, 1))
    lost(rep, date(2026, 2, 2))  # Q1 win rate: 50 %
    won(rep, date(2026, 5, 1))
    won(rep, date(2026, 5, 2))
    lost(rep, date(2026, 5, 3))  # Q2 so far: 66.67 %
    goal = make_goal(owner=manager, scope=Scope.PERSON, person=rep, dates=Q2, grain=Grain.QUARTER)
    target = reload(make_target(goal, kind=TargetKind.KPI, kpi_key="win_rate", relative_percent=40))
    # From 50 to 70: at 66.67, (66.67 − 50) ÷ 20 = 83.3 %.
    assert (target.start_value, target.target_value) == (50, 70)
    assert target.progress == D("83.3")


def test_a_hand_kept_number_keeps_every_update_with_who_and_when(person_goal, rep):
    target = make_target(person_goal, kind=TargetKind.NUMBER, start_value=0, target_value=8)
    services.target_record_value(actor=rep, target=target, value=D(2), note="first two")
    services.target_record_value(actor=rep, target=target, value=D(6))
    target = reload(target)
    assert target.current_value == 6
    assert target.progress == D("75.0")
    history = list(target.updates.values_list("value", "by", "note"))
    assert history == [(D(6), rep.pk, ""), (D(2), rep.pk, "first two")]


def test_a_hand_kept_money_target_decreasing(person_goal, rep):
    target = make_target(
        person_goal,
        kind=TargetKind.MONEY,
        direction="decrease",
        start_value=20000,
        target_value=5000,
    )
    services.target_record_value(actor=rep, target=target, value=D(11000))
    # (11,000 − 20,000) ÷ (5,000 − 20,000) = 60 %.
    assert reload(target).progress == D("60.0")


def test_a_milestone_is_all_or_nothing(person_goal, rep):
    target = make_target(person_goal, kind=TargetKind.MILESTONE, name="Training held")
    assert reload(target).progress == 0
    services.target_set_done(actor=rep, target=target, done=True)
    assert reload(target).progress == 100
    services.target_set_done(actor=rep, target=reload(target), done=False)
    assert reload(target).progress == 0


def test_a_tasks_target_is_the_share_of_linked_tasks_done(person_goal, rep):
    tasks = [TaskFactory(assignee=rep) for _ in range(5)]
    tasks[0].status, tasks[0].completed_at = TaskStatus.DONE, timezone.now()
    tasks[0].save()
    tasks[1].status = TaskStatus.CANCELLED  # does not count either way
    tasks[1].save()
    target = make_target(person_goal, kind=TargetKind.TASKS, tasks=tasks)
    # One done of four that count.
    assert reload(target).progress == D("25.0")


def test_a_band_target_is_met_inside_the_band(person_goal, rep):
    target = make_target(
        person_goal, kind=TargetKind.NUMBER, direction="band", band_low=2, band_high=4
    )
    services.target_record_value(actor=rep, target=target, value=D(3))
    assert reload(target).progress == 100
    services.target_record_value(actor=rep, target=reload(target), value=D(7))
    assert reload(target).progress == 0


def test_the_kpi_link_opens_the_kpi_page_on_the_goals_period_and_segment(person_goal, rep):
    target = make_target(
        person_goal, kind=TargetKind.KPI, kpi_key="deals_won_count", target_value=3
    )
    url = reload(target).kpi_url
    assert url.startswith("/dashboards/kpi/deals_won_count/?")
    assert "start=2026-01-01" in url and "end=2026-03-31" in url
    assert f"segment=owner%3D{rep.pk}" in url


@pytest.mark.parametrize("key", ["deals_won_count", "win_rate", "net_new_revenue", "logins"])
def test_many_peoples_goals_read_one_breakdown_with_the_same_numbers(
    key, manager, rep, teammate, outsider, sales_team
):
    for day in (date(2026, 1, 5), date(2026, 2, 10)):
        won(rep, day, amount="1500")
    lost(teammate, date(2026, 3, 1))
    LoginEvent.objects.create(user=rep, at=at(date(2026, 2, 1)))
    team = make_goal(owner=manager, scope=Scope.TEAM, team=sales_team, dates=Q1)
    make_target(team, kind=TargetKind.KPI, kpi_key=key, start_value=0, target_value=50)
    people = services.goal_split(
        actor=manager, goal=team, shares={rep: D(1), teammate: D(1), outsider: D(1)}
    )
    services.goals_recompute()  # one pass over every goal: the breakdown path
    for child in people:
        target = child.targets.get()
        expected = kpi_command(key, *Q1, f"owner={child.person_id}")
        assert reload(target).current_value == expected, child.person


def test_a_tasks_targets_history_counts_each_task_from_the_day_it_was_done(manager, rep):
    goal = make_goal(owner=manager, scope=Scope.PERSON, person=rep)
    tasks = [TaskFactory(assignee=rep) for _ in range(2)]
    tasks[0].status = TaskStatus.DONE
    tasks[0].completed_at = timezone.now() - timedelta(days=3)
    tasks[0].save()
    target = make_target(goal, kind=TargetKind.TASKS, tasks=tasks)
    today = timezone.localdate()
    services.goals_backfill(goal_ids=[goal.pk], first=today - timedelta(days=5), last=today)
    history = dict(target.daily.values_list("day", "value"))
    assert history[today - timedelta(days=5)] == 0
    assert history[today - timedelta(days=3)] == 50
    assert history[today] == 50
