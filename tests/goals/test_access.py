"""Who sees and changes which goal: a rep gets 404 for another team's goal on every goal URL,
reads their team's, updates their own hand-kept targets, and cannot set goals."""

from decimal import Decimal as D

import pytest
from django.urls import resolve, reverse

from crm.access import route_refusal, visible
from goals.models import Goal, Scope, Target, TargetKind, TargetUpdate

from .factories import make_goal, make_target, reload


@pytest.fixture
def other_goal(admin_user, outsider, other_team):
    goal = make_goal(owner=admin_user, scope=Scope.TEAM, team=other_team, name="Enterprise Q")
    make_target(goal, start_value=0, target_value=10, name="Number")
    make_target(goal, kind=TargetKind.MILESTONE, name="Milestone")
    return goal


def goal_urls(goal: Goal) -> list[tuple[str, str]]:
    number = goal.targets.get(name="Number")
    milestone = goal.targets.get(name="Milestone")
    return [
        ("get", reverse("goal", args=[goal.pk])),
        ("get", reverse("goal-edit", args=[goal.pk])),
        ("post", reverse("goal-edit", args=[goal.pk])),
        ("post", reverse("goal-delete", args=[goal.pk])),
        ("get", reverse("goal-split", args=[goal.pk])),
        ("post", reverse("goal-split", args=[goal.pk])),
        ("post", reverse("goal-recompute", args=[goal.pk])),
        ("get", reverse("target-new", args=[goal.pk])),
        ("post", reverse("target-new", args=[goal.pk])),
        ("get", reverse("goal-kpi-preview", args=[goal.pk]) + "?kpi_key=win_rate"),
        ("get", reverse("target-edit", args=[number.pk])),
        ("post", reverse("target-edit", args=[number.pk])),
        ("post", reverse("target-delete", args=[number.pk])),
        ("post", reverse("target-value", args=[number.pk])),
        ("post", reverse("target-done", args=[milestone.pk])),
        ("get", reverse("goal-new") + f"?parent={goal.pk}"),
    ]


def test_a_rep_gets_404_for_another_teams_goal_on_every_goal_url(
    client, rep, sales_team, other_goal
):
    client.force_login(rep)
    before = (Goal.objects.count(), Target.objects.count(), TargetUpdate.objects.count())
    for method, url in goal_urls(other_goal):
        response = getattr(client, method)(url, {"value": "5", "done": "1", "name": "x"})
        # A page for managers only (setting, splitting, deleting goals) refuses the rep with
        # 403 before any goal is looked up, the same answer for every goal: nothing leaks.
        floor = route_refusal(rep, resolve(url.split("?")[0]).url_name, method.upper())
        expected = (403,) if floor == 403 else (404,)
        assert response.status_code in expected, (method, url, response.status_code)
    assert (Goal.objects.count(), Target.objects.count(), TargetUpdate.objects.count()) == before
    assert reload(other_goal).name == "Enterprise Q"
    assert not other_goal.targets.get(name="Milestone").done


def test_a_manager_of_another_team_gets_404_too(client, manager, sales_team, other_goal):
    client.force_login(manager)
    for method, url in goal_urls(other_goal):
        if url.startswith(reverse("goal-new")):
            continue
        response = getattr(client, method)(url)
        assert response.status_code == 404, (method, url)


def test_the_tree_leaves_out_other_teams_goals(client, rep, sales_team, other_goal, manager):
    mine = make_goal(owner=manager, scope=Scope.TEAM, team=sales_team, name="Sales Q")
    client.force_login(rep)
    page = client.get(reverse("goals")).content.decode()
    assert "Sales Q" in page and "Enterprise Q" not in page
    assert list(visible(Goal, rep)) == [mine]


def test_company_goals_are_for_managers_and_admins(manager, rep, admin_user, sales_team):
    company = make_goal(owner=admin_user, name="Company")
    assert company in visible(Goal, manager)
    assert company in visible(Goal, admin_user)
    assert company not in visible(Goal, rep)


def test_a_rep_updates_their_own_hand_kept_target(client, manager, rep, sales_team):
    goal = make_goal(owner=manager, scope=Scope.PERSON, person=rep)
    target = make_target(goal, start_value=0, target_value=10)
    client.force_login(rep)
    response = client.post(reverse("target-value", args=[target.pk]), {"value": "4"})
    assert response.status_code == 302
    assert reload(target).current_value == 4
    assert reload(target).updates.get().by == rep


def test_a_rep_reads_a_team_goal_but_cannot_change_it(client, manager, rep, sales_team):
    goal = make_goal(owner=manager, scope=Scope.TEAM, team=sales_team, name="Sales Q")
    target = make_target(goal, start_value=0, target_value=10, name="Calls")
    client.force_login(rep)
    assert client.get(reverse("goal", args=[goal.pk])).status_code == 200
    assert client.post(reverse("goal-edit", args=[goal.pk]), {"name": "Mine"}).status_code == 403
    response = client.post(reverse("target-edit", args=[target.pk]), {"name": "Mine"})
    assert response.status_code == 403
    assert client.post(reverse("goal-delete", args=[goal.pk])).status_code == 403
    assert client.get(reverse("goal-new")).status_code == 403
    assert reload(goal).name == "Sales Q" and reload(target).name == "Calls"


def test_an_agent_cannot_keep_a_sales_reps_target(client, manager, rep, agent, sales_team):
    goal = make_goal(owner=manager, scope=Scope.PERSON, person=rep)
    target = make_target(goal, start_value=0, target_value=10)
    client.force_login(agent)
    response = client.post(reverse("target-value", args=[target.pk]), {"value": D(3)})
    assert response.status_code == 404
    assert reload(target).current_value == 0


def test_a_parent_the_rep_cannot_open_is_named_not_linked(
    client, admin_user, manager, rep, sales_team
):
    company = make_goal(owner=admin_user, name="Company")
    team = make_goal(owner=manager, scope=Scope.TEAM, team=sales_team, parent=company)
    client.force_login(rep)
    page = client.get(reverse("goal", args=[team.pk])).content.decode()
    assert "Company" in page
    assert reverse("goal", args=[company.pk]) + '"' not in page
    client.force_login(manager)
    page = client.get(reverse("goal", args=[team.pk])).content.decode()
    assert reverse("goal", args=[company.pk]) + '"' in page
