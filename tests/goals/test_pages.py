"""The tree, the goal page and the two lazy panels; constant query counts whatever the number
of goals; the panels are loaded by htmx so My day and the dashboards keep their counts."""

from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from goals import services
from goals.models import Scope, TargetKind

from .factories import make_goal, make_target


def goal_family(manager, rep, sales_team, children: int):
    team = make_goal(owner=manager, scope=Scope.TEAM, team=sales_team, name="Sales Q")
    make_target(team, start_value=0, target_value=10, name="Team calls")
    make_target(team, kind=TargetKind.MILESTONE, name="Kick-off")
    for index in range(children):
        child = make_goal(
            owner=rep, scope=Scope.PERSON, person=rep, parent=team, name=f"Ana {index}"
        )
        target = make_target(child, start_value=0, target_value=10, name=f"Calls {index}")
        services.target_record_value(actor=rep, target=target, value=D(index % 10))
        make_target(child, kind=TargetKind.MILESTONE, name=f"Step {index}")
    return team


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize("page", ["goals", "goal"])
def test_tree_and_goal_page_run_the_same_queries_for_2_or_20_goals(
    client, manager, rep, sales_team, django_assert_num_queries, page
):
    small = goal_family(manager, rep, sales_team, 2)
    client.force_login(manager)
    url = reverse("goals") if page == "goals" else reverse("goal", args=[small.pk])
    client.get(url)  # warm the session and the user's permissions
    expected = count_queries(client, url)
    large = goal_family(manager, rep, sales_team, 20)
    url = reverse("goals") if page == "goals" else reverse("goal", args=[large.pk])
    client.get(url)
    with django_assert_num_queries(expected):
        response = client.get(url)
    assert (
        response.content.decode().count(
            'data-testid="goal-row"' if page == "goals" else 'data-testid="child-row"'
        )
        >= 20
    )


def test_the_goal_page_shows_progress_targets_children_and_the_chart(
    client, manager, rep, sales_team
):
    team = goal_family(manager, rep, sales_team, 2)
    client.force_login(rep)
    page = client.get(reverse("goal", args=[team.pk])).content.decode()
    for text in ("Team calls", "Kick-off", "Ana 0", "Ana 1", "goal-burn-up", "js/goals.js"):
        assert text in page
    assert "<script>" not in page and 'style="' not in page


def test_my_goals_lists_the_reps_active_goals(client, manager, rep, outsider, sales_team):
    goal_family(manager, rep, sales_team, 1)
    client.force_login(rep)
    home = client.get(reverse("home")).content.decode()
    assert f'hx-get="{reverse("goals-mine")}"' in home
    panel = client.get(reverse("goals-mine")).content.decode()
    assert "Sales Q" in panel and "Ana 0" in panel
    client.force_login(outsider)
    assert "Sales Q" not in client.get(reverse("goals-mine")).content.decode()


@pytest.mark.parametrize("slug", ["executive", "sales"])
def test_the_dashboards_load_a_goals_card_for_managers(client, manager, rep, sales_team, slug):
    goal_family(manager, rep, sales_team, 1)
    client.force_login(manager)
    dashboard = client.get(reverse("dashboard", args=[slug])).content.decode()
    assert f'hx-get="{reverse("goals-card")}"' in dashboard
    card = client.get(reverse("goals-card")).content.decode()
    assert 'data-testid="goals-card"' in card and "Sales Q" in card
    assert "Ana 0" not in card  # people's goals are on the goal pages


def test_the_goals_card_is_empty_for_reps(client, manager, rep, sales_team):
    goal_family(manager, rep, sales_team, 1)
    client.force_login(rep)
    assert "Sales Q" not in client.get(reverse("goals-card")).content.decode()


def test_the_tree_shows_goals_running_today_unless_asked_for_every_period(
    client, manager, sales_team
):
    from datetime import date

    make_goal(owner=manager, name="Running now")
    make_goal(owner=manager, name="Last spring", dates=(date(2026, 4, 1), date(2026, 6, 30)))
    client.force_login(manager)
    page = client.get(reverse("goals")).content.decode()
    assert "Running now" in page and "Last spring" not in page
    page = client.get(reverse("goals"), {"period": "all"}).content.decode()
    assert "Running now" in page and "Last spring" in page


def test_a_goal_with_many_sub_goals_lists_the_biggest_contributors_first(
    client, manager, rep, sales_team, monkeypatch
):
    from goals import views

    monkeypatch.setattr(views, "CHILDREN_SHOWN", 3)
    team = goal_family(manager, rep, sales_team, 5)  # progress 0, 10, 20, 30, 40 %
    client.force_login(manager)
    page = client.get(reverse("goal", args=[team.pk])).content.decode()
    assert page.count('data-testid="child-row"') == 3
    assert page.index("Ana 4") < page.index("Ana 3") < page.index("Ana 2")
    assert "Ana 1<" not in page
    assert "and 2 more sub-goals" in page
