"""The demo goals: every kind of target, a tree company → team → person, daily rows back to
the quarter's start, and a second run that changes nothing."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from goals.demo import DEMO_NAME, seed_demo_goals
from goals.models import Goal, GoalProgress, Scope, Target, TargetKind, TargetUpdate
from metrics.periods import period_for


@pytest.mark.django_db
def test_the_demo_goals_cover_every_kind_and_have_history():
    call_command("seed_demo", "--scale", "small", stdout=StringIO())
    today = timezone.localdate()
    seed_demo_goals(scale="small", today=today)

    company = Goal.objects.get(name=DEMO_NAME)
    quarter = period_for("quarter", today)
    assert (company.start_date, company.end_date) == (quarter.start_date, quarter.end_date)
    assert set(Goal.objects.values_list("scope", flat=True)) == set(Scope.values)
    assert Goal.objects.filter(parent__parent=company, scope=Scope.PERSON).count() == 3
    kinds = set(Target.objects.values_list("kind", flat=True))
    assert kinds == set(TargetKind.values)
    assert Target.objects.filter(kind=TargetKind.KPI, relative_percent__isnull=False).exists()
    assert Target.objects.filter(direction="band").exists()
    assert TargetUpdate.objects.count() > 10
    days = (today - quarter.start_date).days + 1
    assert GoalProgress.objects.filter(goal=company).count() == days
    assert all(goal.progress is not None for goal in Goal.objects.all())

    counts = (Goal.objects.count(), Target.objects.count(), GoalProgress.objects.count())
    seed_demo_goals(scale="small", today=today)
    assert (Goal.objects.count(), Target.objects.count(), GoalProgress.objects.count()) == counts
