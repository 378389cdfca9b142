"""The nightly task writes one row per goal per day however often it runs; the two-minute task
recomputes only when the CRM's records changed since its last pass."""

from datetime import timedelta
from decimal import Decimal as D

from django.utils import timezone

from crm.models import Event
from goals import tasks
from goals.models import GoalProgress, Scope, Target, TargetProgress
from tests.crm.factories import TaskFactory

from .factories import make_goal, make_target, reload


def test_the_nightly_update_is_idempotent_per_day(eager_tasks, manager, rep, sales_team):
    goal = make_goal(owner=manager, scope=Scope.PERSON, person=rep)
    make_target(goal, start_value=0, target_value=10)
    draft = make_goal(owner=manager, scope=Scope.PERSON, person=rep, status="draft")
    today = timezone.localdate().isoformat()
    tasks.update_all_progress.delay(today)
    tasks.update_all_progress.delay(today)
    assert GoalProgress.objects.filter(goal=goal).count() == 1
    assert TargetProgress.objects.count() == 1
    assert not GoalProgress.objects.filter(goal=draft).exists()
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    tasks.update_all_progress.delay(tomorrow)
    assert GoalProgress.objects.filter(goal=goal).count() == 2


def test_refresh_recomputes_only_after_records_changed(eager_tasks, manager, rep, sales_team):
    goal = make_goal(owner=manager, scope=Scope.PERSON, person=rep)
    task = TaskFactory(assignee=rep)
    target = make_target(goal, kind="tasks", tasks=[task])
    tasks.refresh_if_changed.delay()  # the first pass sets the mark, whatever came before
    assert tasks.refresh_if_changed.delay().get() is False
    assert reload(target).progress == 0

    # A task completed through the CRM's services writes an event: the next pass picks it up.
    from crm import services as crm_services

    crm_services.task_complete(task=task, actor=rep)
    assert Event.objects.exists()
    assert tasks.refresh_if_changed.delay().get() is True
    assert reload(target).progress == 100
    assert reload(goal).progress == 100
    assert tasks.refresh_if_changed.delay().get() is False


def test_a_closed_goal_keeps_its_last_numbers(manager, rep, sales_team):
    from goals import services

    goal = make_goal(owner=manager, scope=Scope.PERSON, person=rep)
    target = make_target(goal, start_value=0, target_value=10)
    services.target_record_value(actor=rep, target=target, value=D(5))
    services.goal_update(actor=manager, goal=goal, data={"status": "closed"})
    Target.objects.filter(pk=target.pk).update(current_value=9)
    services.goals_recompute()
    assert reload(goal).progress == 50


def test_a_failed_refresh_leaves_the_changes_for_the_next_pass(
    manager, rep, sales_team, monkeypatch
):
    from goals.services import recompute

    goal = make_goal(owner=manager, scope=Scope.PERSON, person=rep)
    task = TaskFactory(assignee=rep)
    target = make_target(goal, kind="tasks", tasks=[task])
    recompute.goals_refresh_if_changed()
    from crm import services as crm_services

    crm_services.task_complete(task=task, actor=rep)

    def broken(**kwargs):
        raise RuntimeError("worker lost")

    monkeypatch.setattr(recompute, "goals_recompute", broken)
    try:
        recompute.goals_refresh_if_changed()
    except RuntimeError:
        pass
    monkeypatch.undo()
    assert recompute.goals_refresh_if_changed() is True
    assert reload(target).progress == 100
