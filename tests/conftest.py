"""Shared personas: a rep, a teammate, an outsider, a manager, an agent and an admin."""

import pytest

from crm.models.users import Role
from tests.factories import TeamFactory, UserFactory


@pytest.fixture(autouse=True)
def empty_cache(request):
    """Each test starts with empty caches (chart data, board sums, rate limits)."""
    from django.core.cache import caches
    from django.core.cache.backends.db import BaseDatabaseCache

    def in_database(alias):
        return isinstance(caches[alias], BaseDatabaseCache)

    aliases = ["default", "shared"]
    if any(in_database(alias) for alias in aliases):
        if request.node.get_closest_marker("django_db") or "_django_db_helper" in (
            request.fixturenames
        ):
            # A cache in a table is emptied once the test's database is set up.
            request.getfixturevalue("_django_db_helper")
        else:
            # A test without the database cannot reach that cache at all.
            aliases = [alias for alias in aliases if not in_database(alias)]
    for alias in aliases:
        caches[alias].clear()
    yield
    for alias in aliases:
        caches[alias].clear()


@pytest.fixture(autouse=True)
def default_language():
    """Each test starts in the default language: a request through the test client leaves the
    language it answered in active on the thread (LocaleMiddleware never deactivates it)."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


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
