"""The read-replica router sends the reads of the number pages to the replica, and nothing else.

The test "replica" is a second connection to the test database (what a TEST MIRROR is), added
for these tests only, with the router installed as DATABASE_REPLICA_URL installs it; the
queries each connection runs are captured. Transactional tests: inside the usual test
transaction every read is (rightly) on the primary.
"""

import copy
import json
from decimal import Decimal

import pytest
from django.db import DEFAULT_DB_ALIAS, connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm import models as m
from crm.db_router import REPLICA_DB_ALIAS
from crm.read_scope import read_only_scope
from metrics.models import Dashboard, DashboardCard
from tests.crm.factories import DealFactory
from tests.crm.test_settings import run_django
from tests.metrics.test_dashboard_pages import at, won_deal

# Committed rows, so the second connection sees them; the serialized rollback restores what
# migrations wrote for the transactional tests that follow.
transactional = pytest.mark.django_db(
    transaction=True, serialized_rollback=True, databases=[DEFAULT_DB_ALIAS, REPLICA_DB_ALIAS]
)

MARCH = "grain=month&date=2026-03-15"
# What a read-only request still reads on the primary, before its view runs: its session
# (unless Redis holds it) and its user.
BEFORE_THE_VIEW = ('FROM "django_session"', 'FROM "crm_user" WHERE "crm_user"."id" = ')


@pytest.fixture(scope="module", autouse=True)
def replica_alias(django_db_setup):
    """A second connection to the test database, as DATABASE_REPLICA_URL configures one (a
    test mirror of the primary), registered before any test of this module asks for it."""
    if REPLICA_DB_ALIAS in connections.settings:  # DATABASE_REPLICA_URL is set: it is there
        yield
        return
    settings_dict = copy.deepcopy(connections[DEFAULT_DB_ALIAS].settings_dict)
    settings_dict["TEST"] = {**settings_dict.get("TEST", {}), "MIRROR": DEFAULT_DB_ALIAS}
    connections.settings[REPLICA_DB_ALIAS] = settings_dict
    yield
    # Django keeps an in-memory SQLite database open on close(); this one must really close.
    BaseDatabaseWrapper.close(connections[REPLICA_DB_ALIAS])
    del connections[REPLICA_DB_ALIAS]
    del connections.settings[REPLICA_DB_ALIAS]


@pytest.fixture
def replica(settings):
    settings.DATABASE_ROUTERS = ["crm.db_router.ReplicaRouter"]
    return connections[REPLICA_DB_ALIAS]


class Captured:
    """The SQL each connection ran inside the block."""

    def __init__(self):
        self.contexts = {
            alias: CaptureQueriesContext(connections[alias])
            for alias in (DEFAULT_DB_ALIAS, REPLICA_DB_ALIAS)
        }

    def __enter__(self):
        for context in self.contexts.values():
            context.__enter__()
        return self

    def __exit__(self, *exc):
        for context in self.contexts.values():
            context.__exit__(*exc)

    def sql(self, alias) -> list[str]:
        return [query["sql"] for query in self.contexts[alias].captured_queries]

    def record_reads_on_primary(self) -> list[str]:
        return [
            sql
            for sql in self.sql(DEFAULT_DB_ALIAS)
            if sql.lstrip().upper().startswith("SELECT")
            and not any(read in sql for read in BEFORE_THE_VIEW)
        ]


def is_records_version(sql: str) -> bool:
    return 'MAX("id") FROM "crm_event"' in sql


@pytest.fixture
def won_in_march(rep, sales_team):
    return [won_deal(rep, sales_team, at(2026, 3, day)) for day in (10, 11, 12)]


@transactional
def test_a_dashboard_reads_its_numbers_on_the_replica(client, replica, manager, won_in_march):
    client.force_login(manager)

    with Captured() as captured:
        response = client.get(f"{reverse('dashboard', args=['sales'])}?{MARCH}")

    assert response.status_code == 200
    assert any("crm_deal" in sql for sql in captured.sql(REPLICA_DB_ALIAS))
    assert captured.record_reads_on_primary() == []
    # The user (and the session, unless Redis holds it) read on the primary, before the view.
    assert any('FROM "crm_user"' in sql for sql in captured.sql(DEFAULT_DB_ALIAS))
    assert not any("django_session" in sql for sql in captured.sql(REPLICA_DB_ALIAS))


@transactional
def test_the_kpi_page_and_its_drill_down_read_on_the_replica(
    client, replica, manager, won_in_march
):
    client.force_login(manager)

    with Captured() as captured:
        response = client.get(f"{reverse('kpi', args=['deals_won_count'])}?{MARCH}")

    assert response.status_code == 200
    assert response.context["page"].paginator.count == 3
    assert any("crm_deal" in sql for sql in captured.sql(REPLICA_DB_ALIAS))
    assert captured.record_reads_on_primary() == []


@transactional
def test_the_csv_export_streams_from_the_replica(client, replica, manager, won_in_march):
    client.force_login(manager)

    with Captured() as captured:
        response = client.get(f"{reverse('kpi-export', args=['deals_won_count'])}?{MARCH}")
        body = b"".join(response.streaming_content).decode()

    assert response.status_code == 200
    assert len(body.strip().splitlines()) == 1 + 3
    replica_sql = captured.sql(REPLICA_DB_ALIAS)
    assert any("crm_deal" in sql for sql in replica_sql)
    assert captured.record_reads_on_primary() == []


@transactional
def test_the_kpi_api_reads_where_the_kpi_page_reads(client, replica, manager, won_in_march):
    client.force_login(manager)

    with Captured() as captured:
        response = client.get(f"{reverse('api-kpi-detail', args=['deals_won_count'])}?{MARCH}")

    assert response.status_code == 200, response.content
    assert Decimal(response.json()["value"]) == 3
    assert any("crm_deal" in sql for sql in captured.sql(REPLICA_DB_ALIAS))
    assert captured.record_reads_on_primary() == []


@transactional
def test_a_custom_dashboard_reads_itself_on_the_primary_and_its_numbers_on_the_replica(
    client, replica, rep, won_in_march
):
    board = Dashboard.objects.create(
        owner=rep, name="Mine", segment_field="owner", segment_value=str(rep.pk)
    )
    DashboardCard.objects.create(dashboard=board, kind="kpi", key="deals_won_count", order=0)
    client.force_login(rep)

    with Captured() as captured:
        response = client.get(f"{reverse('custom-dashboard', args=[board.pk])}?{MARCH}")

    assert response.status_code == 200
    # Opened right after it was edited: never missing on a replica that lags.
    assert any('FROM "metrics_dashboard"' in sql for sql in captured.sql(DEFAULT_DB_ALIAS))
    assert not any("metrics_dashboard" in sql for sql in captured.sql(REPLICA_DB_ALIAS))
    assert any("crm_deal" in sql for sql in captured.sql(REPLICA_DB_ALIAS))


@transactional
def test_the_records_version_is_read_where_the_numbers_are(client, replica, manager, won_in_march):
    # The numbers' cache key carries it: read on the primary, a replica that lags would cache
    # its older numbers under the newer version.
    client.force_login(manager)

    with Captured() as captured:
        client.get(f"{reverse('kpi', args=['deals_won_count'])}?{MARCH}")

    assert any(is_records_version(sql) for sql in captured.sql(REPLICA_DB_ALIAS))
    assert not any(is_records_version(sql) for sql in captured.sql(DEFAULT_DB_ALIAS))


@transactional
def test_a_post_reads_and_writes_on_the_primary(client, replica, rep, sales_team):
    client.force_login(rep)

    with Captured() as captured:
        response = client.post(
            reverse("dashboard-create"),
            {"name": "Mine", "grain": "month", "segment": f"owner={rep.pk}", "shared_with": ""},
        )

    assert response.status_code == 302
    assert Dashboard.objects.filter(owner=rep, name="Mine").exists()
    assert captured.sql(REPLICA_DB_ALIAS) == []


@transactional
def test_a_reps_deal_page_reads_on_the_primary(client, replica, rep, sales_team):
    deal = DealFactory(owner=rep, team=sales_team)
    client.force_login(rep)

    with Captured() as captured:
        response = client.get(reverse("deal-detail", args=[deal.pk]))

    assert response.status_code == 200
    assert captured.sql(REPLICA_DB_ALIAS) == []
    assert any("crm_deal" in sql for sql in captured.sql(DEFAULT_DB_ALIAS))


@transactional
def test_inside_the_scope_a_transaction_reads_on_the_primary(replica, rep):
    with Captured() as captured, read_only_scope():
        assert m.Deal.objects.count() == 0  # outside a transaction: the replica
        with transaction.atomic():
            assert m.Deal.objects.count() == 0  # inside: the primary

    assert len(captured.sql(REPLICA_DB_ALIAS)) == 1
    assert len(captured.sql(DEFAULT_DB_ALIAS)) == 3  # savepoint or BEGIN, the count, COMMIT


@transactional
def test_outside_a_read_only_request_everything_is_on_the_primary(replica, rep):
    from goals.tasks import refresh_if_changed

    with Captured() as captured:
        m.Deal.objects.count()
        refresh_if_changed.apply()  # a Celery task, as a worker runs it

    assert captured.sql(REPLICA_DB_ALIAS) == []


def test_the_rows_that_coordinate_processes_are_read_on_the_primary(replica):
    from django.contrib.sessions.models import Session

    from api.models import ApiToken
    from metrics.models import FillLock

    with read_only_scope():
        assert router.db_for_read(m.Deal) == REPLICA_DB_ALIAS
        for model in (Session, ApiToken, FillLock, Dashboard, DashboardCard):
            assert router.db_for_read(model) == DEFAULT_DB_ALIAS
        assert router.db_for_write(m.Deal) == DEFAULT_DB_ALIAS


def test_migrations_never_run_on_the_replica(replica):
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "crm")
    assert not router.allow_migrate(REPLICA_DB_ALIAS, "crm")


SHOW_DATABASES = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'aliases': sorted(s.DATABASES), 'routers': s.DATABASE_ROUTERS, "
    "'replica': s.DATABASES.get('replica', {})}))"
)


def test_without_database_replica_url_there_is_one_database_and_no_router():
    shown = json.loads(
        run_django(SHOW_DATABASES, {"DEBUG": "true", "DATABASE_REPLICA_URL": ""}).stdout
    )

    assert shown["aliases"] == ["default"]
    assert shown["routers"] == []


def test_database_replica_url_adds_the_replica_as_a_test_mirror_and_the_router():
    result = run_django(
        SHOW_DATABASES,
        {
            "DEBUG": "true",
            "DATABASE_URL": "postgres://crm@primary.internal:5432/crm",
            "DATABASE_REPLICA_URL": "postgres://crm@replica.internal:5432/crm",
        },
    )
    shown = json.loads(result.stdout)

    assert shown["aliases"] == ["default", "replica"]
    assert shown["routers"] == ["crm.db_router.ReplicaRouter"]
    assert shown["replica"]["HOST"] == "replica.internal"
    assert shown["replica"]["TEST"]["MIRROR"] == "default"
