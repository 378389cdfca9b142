"""Bad input gets a clear form error and writes nothing; good input goes through the pages."""

from datetime import date

import pytest
from django.urls import reverse

from goals.models import Goal, Scope, Target

from .factories import make_goal, make_target, reload

Q1 = (date(2026, 1, 1), date(2026, 3, 31))


def goal_post(**data) -> dict:
    values = {
        "name": "New goal",
        "scope": "company",
        "grain": "custom",
        "start_date": "2026-01-01",
        "end_date": "2026-03-31",
        "weight": "1",
        "status": "active",
    }
    values.update(data)
    return values


def target_post(**data) -> dict:
    values = {"name": "Target", "kind": "number", "weight": "1", "direction": "increase"}
    values.update(data)
    return values


@pytest.fixture
def signed_in(client, manager, sales_team):
    client.force_login(manager)
    return client


def test_a_manager_creates_a_quarter_goal_from_any_day_in_it(signed_in, manager):
    response = signed_in.post(
        reverse("goal-new"),
        goal_post(
            grain="quarter", anchor="2026-02-14", start_date="", end_date="", owner=manager.pk
        ),
    )
    assert response.status_code == 302
    goal = Goal.objects.get()
    assert (goal.start_date, goal.end_date) == Q1


def test_a_child_period_outside_the_parents_is_refused(signed_in, manager):
    parent = make_goal(owner=manager, dates=Q1)
    response = signed_in.post(
        reverse("goal-new"),
        goal_post(
            parent=parent.pk, start_date="2026-03-01", end_date="2026-04-30", owner=manager.pk
        ),
    )
    assert response.status_code == 400
    assert "must lie within the parent goal" in response.content.decode()
    assert Goal.objects.count() == 1


def test_a_cycle_in_the_tree_is_refused(signed_in, manager, sales_team):
    top = make_goal(owner=manager, dates=Q1, name="Top")
    team = make_goal(
        owner=manager, scope=Scope.TEAM, team=sales_team, dates=Q1, parent=top, name="Team"
    )
    response = signed_in.post(
        reverse("goal-edit", args=[top.pk]),
        goal_post(name="Top", parent=team.pk, owner=manager.pk),
    )
    assert response.status_code == 400
    assert "cannot sit under itself" in response.content.decode()
    assert reload(top).parent is None


def test_a_team_goal_needs_its_team(signed_in, manager):
    response = signed_in.post(reverse("goal-new"), goal_post(scope="team", owner=manager.pk))
    assert response.status_code == 400
    assert "Pick the team" in response.content.decode()
    assert not Goal.objects.exists()


def test_a_target_equal_to_its_start_is_refused(signed_in, manager):
    goal = make_goal(owner=manager)
    response = signed_in.post(
        reverse("target-new", args=[goal.pk]), target_post(start_value="5", target_value="5")
    )
    assert response.status_code == 400
    assert "equals the start value" in response.content.decode()
    assert not Target.objects.exists()


def test_an_increase_below_its_start_is_refused(signed_in, manager):
    goal = make_goal(owner=manager)
    response = signed_in.post(
        reverse("target-new", args=[goal.pk]), target_post(start_value="9", target_value="5")
    )
    assert response.status_code == 400
    assert not Target.objects.exists()


def test_weights_summing_to_zero_are_refused(signed_in, manager):
    goal = make_goal(owner=manager)
    response = signed_in.post(
        reverse("target-new", args=[goal.pk]),
        target_post(weight="0", start_value="0", target_value="5"),
    )
    assert response.status_code == 400
    assert "add up to zero" in response.content.decode()
    assert not Target.objects.exists()


def test_setting_the_only_weight_to_zero_leaves_the_target_as_it_was(signed_in, manager):
    goal = make_goal(owner=manager)
    target = make_target(goal, start_value=0, target_value=5, name="Calls")
    response = signed_in.post(
        reverse("target-edit", args=[target.pk]),
        target_post(name="Renamed", weight="0", start_value="0", target_value="5"),
    )
    assert response.status_code == 400
    target = reload(target)
    assert (target.name, target.weight) == ("Calls", 1)


def test_a_kpi_that_cannot_be_split_by_the_goals_scope_is_refused(signed_in, manager, rep):
    goal = make_goal(owner=manager, scope=Scope.PERSON, person=rep)
    response = signed_in.post(
        reverse("target-new", args=[goal.pk]),
        target_post(
            kind="kpi", kpi_key="cac", target_value="100", start_value="200", direction="decrease"
        ),
    )
    assert response.status_code == 400
    assert "cannot be split by owner" in response.content.decode()
    assert not Target.objects.exists()


def test_a_relative_target_without_a_previous_value_is_refused(signed_in, manager, rep):
    goal = make_goal(owner=manager, scope=Scope.PERSON, person=rep, dates=Q1)
    response = signed_in.post(
        reverse("target-new", args=[goal.pk]),
        target_post(kind="kpi", kpi_key="logins", relative_percent="20"),
    )
    assert response.status_code == 400
    assert "no value to raise from" in response.content.decode()
    assert not Target.objects.exists()


def test_the_kpi_preview_shows_the_current_value_for_the_goal(signed_in, manager, rep):
    goal = make_goal(owner=manager, scope=Scope.PERSON, person=rep, dates=Q1)
    response = signed_in.get(
        reverse("goal-kpi-preview", args=[goal.pk]), {"kpi_key": "deals_won_count"}
    )
    assert "Deals won for this goal" in response.content.decode()
    refused = signed_in.get(reverse("goal-kpi-preview", args=[goal.pk]), {"kpi_key": "cac"})
    assert "cannot be split" in refused.content.decode()


def test_a_target_through_the_form(signed_in, manager, rep):
    goal = make_goal(owner=manager, scope=Scope.PERSON, person=rep, dates=Q1)
    response = signed_in.post(
        reverse("target-new", args=[goal.pk]),
        target_post(kind="kpi", kpi_key="deals_won_count", target_value="12"),
    )
    assert response.status_code == 302
    target = Target.objects.get()
    assert (target.kpi_key, target.start_value, target.target_value) == ("deals_won_count", 0, 12)


def test_a_parent_period_that_would_leave_a_sub_goal_outside_is_refused(signed_in, manager):
    parent = make_goal(owner=manager, dates=Q1, name="Top")
    make_goal(owner=manager, dates=(date(2026, 3, 1), date(2026, 3, 31)), parent=parent)
    response = signed_in.post(
        reverse("goal-edit", args=[parent.pk]),
        goal_post(name="Top", start_date="2026-01-01", end_date="2026-02-28", owner=manager.pk),
    )
    assert response.status_code == 400
    assert "would fall outside" in response.content.decode()
    assert reload(parent).end_date == date(2026, 3, 31)
