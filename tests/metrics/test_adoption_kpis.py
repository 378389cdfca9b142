"""Team adoption KPIs, on hand-worked logins and changes around March 2026."""

from datetime import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from crm import models as m
from metrics.registry import Segment, get_kpi
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

D = Decimal


def at(year, month, day, hour=0, minute=0):
    return timezone.make_aware(datetime(year, month, day, hour, minute))


def login(user, when):
    return m.LoginEvent.objects.create(user=user, at=when)


def change(user, when):
    return m.Event.objects.create(
        type="deal.updated", record_type="deal", record_id=1, actor=user, occurred_at=when
    )


def value(key, period, segment=None):
    return get_kpi(key).value(period, segment or Segment())


@pytest.fixture
def activity(rep, teammate, outsider, agent, manager, sales_team):
    login(rep, at(2026, 3, 1))
    change(teammate, at(2026, 3, 31, 23, 59))
    login(agent, at(2026, 3, 10))
    change(agent, at(2026, 3, 11))
    login(manager, at(2026, 3, 5))
    login(manager, at(2026, 3, 6))
    # Outside: the minute before, April 1, and an event without an actor.
    login(outsider, at(2026, 2, 28, 23, 59))
    change(outsider, at(2026, 4, 1))
    change(None, at(2026, 3, 15))


def test_active_users_counts_each_user_who_logged_in_or_changed_a_record_once(
    march, activity, rep, teammate, agent, manager
):
    result = value("active_users", march)

    # rep (login), teammate (change), agent (both), manager (two logins)
    assert result.value == 4
    assert set(get_kpi("active_users").counted_records(march)) == {rep, teammate, agent, manager}


def test_active_users_without_activity_is_zero(march, rep):
    login(rep, at(2026, 4, 1))

    assert value("active_users", march).value == 0


def test_active_users_by_team_and_role(march, activity, sales_team):
    # rep, teammate and manager are in the sales team; the agent is in none.
    assert value("active_users", march, Segment("team", str(sales_team.pk))).value == 3
    assert value("active_users", march, Segment("role", "Support agent")).value == 1
    assert get_kpi("active_users").breakdown(march, "team")[str(sales_team.pk)].value == 3


def test_logins_counts_every_login_in_the_period(march, activity, manager, sales_team):
    result = value("logins", march)

    # rep 1 + agent 1 + manager 2
    assert result.value == 4
    assert get_kpi("logins").counted_records(march).count() == 4
    assert value("logins", march, Segment("owner", str(manager.pk))).value == 2
    # rep 1 + manager 2
    assert get_kpi("logins").breakdown(march, "team")[str(sales_team.pk)].value == 3


def test_logins_without_any_is_zero(march):
    login(UserFactory(), at(2026, 4, 1))

    assert value("logins", march).value == 0
