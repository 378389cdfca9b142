"""Shared personas: a rep, a teammate, an outsider, a manager, an agent and an admin."""

import pytest

from crm.models.users import Role
from tests.factories import TeamFactory, UserFactory


@pytest.fixture(autouse=True)
def empty_cache():
    """Each test starts with an empty cache (chart data, rate limits)."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def eager_tasks():
    """Run Celery tasks in-process, as a worker would, when their transaction commits."""
    from crm.celery import app as celery_app

    before = (celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates)
    celery_app.conf.task_always_eager = celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = before


@pytest.fixture
def manager(db):
    return UserFactory(username="carla", role=Role.MANAGER)


@pytest.fixture
def rep(db):
    return UserFactory(username="ana", role=Role.SALES_REP)


@pytest.fixture
def teammate(db):
    return UserFactory(username="marco", role=Role.SALES_REP)


@pytest.fixture
def outsider(db):
    return UserFactory(username="olga", role=Role.SALES_REP)


@pytest.fixture
def agent(db):
    return UserFactory(username="bruno", role=Role.SUPPORT_AGENT)


@pytest.fixture
def admin_user(db):
    return UserFactory(username="diego", role=Role.ADMIN, is_staff=True, is_superuser=True)


@pytest.fixture
def sales_team(db, manager, rep, teammate):
    return TeamFactory(name="Sales", manager=manager, members=[rep, teammate, manager])


@pytest.fixture
def other_team(db, outsider):
    return TeamFactory(name="Enterprise", members=[outsider])
