"""Roll-up through three levels, worked out by hand, and splitting a team goal."""

from decimal import Decimal as D

from django.urls import reverse

from goals import services
from goals.models import Goal, Scope, TargetKind

from .factories import make_goal, make_target, reload


def test_a_three_level_roll_up_is_the_weighted_mean_worked_out_by_hand(
    manager, rep, teammate, sales_team
):
    company = make_goal(owner=manager, name="Company")
    team = make_goal(
        owner=manager, scope=Scope.TEAM, team=sales_team, parent=company, weight=3, name="Team"
    )
    ana = make_goal(owner=rep, scope=Scope.PERSON, person=rep, parent=team, name="Ana")
    marco = make_goal(
        owner=teammate, scope=Scope.PERSON, person=teammate, parent=team, name="Marco"
    )
    company_target = make_target(company, start_value=0, target_value=100)
    team_target = make_target(team, start_value=0, target_value=10)
    milestone = make_target(ana, kind=TargetKind.MILESTONE)
    marco_target = make_target(marco, start_value=0, target_value=4)

    services.target_record_value(actor=manager, target=company_target, value=D(40))
    services.target_record_value(actor=manager, target=team_target, value=D(5))
    services.target_set_done(actor=rep, target=milestone, done=True)
    services.target_record_value(actor=teammate, target=marco_target, value=D(1))

    # Ana 100 %, Marco 1/4 = 25 %; the team: its own target 50 % and both people, weight 1
    # each: (50 + 100 + 25) ÷ 3 = 58.33 %; the company: its target 40 % (weight 1) and the
    # team (weight 3): (40 + 3 × 58.33) ÷ 4 = 53.75 %, shown as 53.8 %.
    assert reload(ana).progress == 100
    assert reload(marco).progress == 25
    assert reload(team).progress == D("58.3")
    assert reload(company).progress == D("53.8")


def test_a_draft_sub_goal_does_not_count(manager, rep, sales_team):
    team = make_goal(owner=manager, scope=Scope.TEAM, team=sales_team)
    make_target(team, start_value=0, target_value=10)
    draft = make_goal(owner=rep, scope=Scope.PERSON, person=rep, parent=team, status="draft")
    make_target(draft, kind=TargetKind.MILESTONE)
    assert reload(team).progress == 0


def test_splitting_a_team_goal_makes_one_goal_per_member_with_divided_targets(
    client, manager, rep, teammate, sales_team
):
    team = make_goal(owner=manager, scope=Scope.TEAM, team=sales_team, name="Q plan")
    make_target(team, kind=TargetKind.KPI, kpi_key="deals_won_count", target_value=10, name="Won")
    make_target(
        team, kind=TargetKind.KPI, kpi_key="win_rate", start_value=30, target_value=60, name="Rate"
    )
    make_target(team, kind=TargetKind.MONEY, start_value=0, target_value=50000, name="Money")
    make_target(team, kind=TargetKind.MILESTONE, name="Training held")
    client.force_login(manager)

    response = client.post(
        reverse("goal-split", args=[team.pk]),
        {f"share_{rep.pk}": "60", f"share_{teammate.pk}": "40", f"share_{manager.pk}": "0"},
    )

    assert response.status_code == 302
    children = {g.person: g for g in Goal.objects.filter(parent=team)}
    assert set(children) == {rep, teammate}
    ana, marco = children[rep], children[teammate]
    assert (ana.weight, marco.weight) == (60, 40)
    assert ana.owner == rep and ana.start_date == team.start_date
    ana_targets = {t.name: t for t in ana.targets.all()}
    marco_targets = {t.name: t for t in marco.targets.all()}
    # Counts and money divide by the share; a rate and a milestone are copied.
    assert ana_targets["Won"].target_value == 6
    assert marco_targets["Won"].target_value == 4
    assert ana_targets["Money"].target_value == 30000
    assert marco_targets["Money"].target_value == 20000
    rate = ana_targets["Rate"]
    assert (rate.start_value, rate.target_value) == (30, 60)
    assert rate.segment.field == "owner" and rate.segment.value == str(rep.pk)
    assert "Training held" in ana_targets and "Training held" in marco_targets


def test_a_split_with_no_shares_writes_nothing(client, manager, rep, teammate, sales_team):
    team = make_goal(owner=manager, scope=Scope.TEAM, team=sales_team)
    make_target(team, start_value=0, target_value=10)
    client.force_login(manager)
    response = client.post(
        reverse("goal-split", args=[team.pk]),
        {f"share_{rep.pk}": "0", f"share_{teammate.pk}": "0", f"share_{manager.pk}": "0"},
    )
    assert response.status_code == 400
    assert "add up to zero" in response.content.decode()
    assert not Goal.objects.filter(parent=team).exists()


def test_a_team_goal_is_split_only_once_per_member(manager, rep, teammate, sales_team):
    team = make_goal(owner=manager, scope=Scope.TEAM, team=sales_team)
    make_target(team, start_value=0, target_value=10)
    services.goal_split(actor=manager, goal=team, shares={rep: D(1), teammate: D(1)})
    try:
        services.goal_split(actor=manager, goal=team, shares={rep: D(1)})
    except Exception as error:  # noqa: BLE001
        assert "Already split" in str(error)
    assert Goal.objects.filter(parent=team).count() == 2
