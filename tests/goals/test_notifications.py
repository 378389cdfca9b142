"""Each milestone notifies the goal's owner exactly once: 50 %, 90 %, 100 %, at risk, off
track, however often the progress passes them."""

from decimal import Decimal as D

from crm.models import Notification
from goals import services
from goals.models import Scope

from .factories import make_goal, make_target, reload, running_period


def keys(user) -> list[str]:
    return sorted(Notification.objects.filter(recipient=user).values_list("key", flat=True))


def test_each_milestone_notifies_the_owner_exactly_once(manager, rep, sales_team):
    # 40 days, 20 behind: without history the forecast doubles today's value.
    goal = make_goal(owner=rep, scope=Scope.PERSON, person=rep, dates=running_period(20, 20))
    target = make_target(goal, start_value=0, target_value=100)
    prefix = f"goal:{goal.pk}:"

    def record(value):
        services.target_record_value(actor=rep, target=reload(target), value=D(value))

    record(20)  # forecast 40 %: off track
    assert keys(rep) == [prefix + "health:off_track"]
    record(45)  # forecast 90 %: at risk
    assert keys(rep) == [prefix + "health:at_risk", prefix + "health:off_track"]
    record(50)  # 50 % reached, forecast 100 %: on track
    record(92)
    record(100)
    expected = sorted(
        prefix + suffix
        for suffix in (
            "health:off_track",
            "health:at_risk",
            "progress:50",
            "progress:90",
            "progress:100",
        )
    )
    assert keys(rep) == expected
    # Back down and up again, and the nightly pass twice: nothing new.
    record(20)
    record(45)
    record(100)
    services.goals_recompute()
    services.goals_recompute()
    assert keys(rep) == expected
    assert Notification.objects.filter(recipient=rep).count() == 5
    assert all(n.url == goal.get_absolute_url() for n in Notification.objects.all())


def test_only_the_owner_is_notified(manager, rep, sales_team):
    goal = make_goal(owner=manager, scope=Scope.PERSON, person=rep)
    target = make_target(goal, start_value=0, target_value=10)
    services.target_record_value(actor=rep, target=target, value=D(10))
    assert keys(rep) == []
    assert f"goal:{goal.pk}:progress:100" in keys(manager)


def test_an_owner_who_opted_in_gets_the_milestone_by_email_too(
    manager, rep, sales_team, eager_tasks, mailoutbox, django_capture_on_commit_callbacks
):
    from crm import services as crm_services

    crm_services.notifications_set_email(user=rep, enabled=True)
    goal = make_goal(owner=rep, scope=Scope.PERSON, person=rep, name="Calls")
    target = make_target(goal, start_value=0, target_value=10)
    with django_capture_on_commit_callbacks(execute=True):
        services.target_record_value(actor=rep, target=target, value=D(5))
    assert [m.to for m in mailoutbox] == [[rep.email]]
    assert "Calls reached 50" in mailoutbox[0].subject
