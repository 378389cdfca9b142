"""Automations through a real broker and a real Celery worker (a separate process).

As in tests/crm/test_support_celery.py, the worker and the driver share a database the test can
read: the test database itself on PostgreSQL, a migrated file on SQLite. Redis is required
under CI=true and skipped outside CI when it is down.

The second test kills the worker (SIGKILL) while it is inside a rule's action, after it claimed
the event: the batch's transaction dies with it, the event waits undispatched, and the next
sweep does the work once.
"""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from tests.services import celery_worker, postgres_url, require_redis, worker_env

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

# Enables the ready-made "deal won" rule, moves a new deal to Won as the board does (the
# service), and waits for the company to be a customer; prints what the database holds.
WIN_A_DEAL = """
import json, sys, time, django
django.setup()
from crm.celery import app
# Every task to this test's queue, whatever its kind (the settings route by kind).
app.conf.task_default_queue = sys.argv[1]
app.conf.task_routes = {}
wait = float(sys.argv[2])
from automations.models import Rule
from crm import services
from crm.models import Company, Deal, Pipeline, StageOutcome, User
Rule.objects.filter(template_key="deal_won_onboarding").update(enabled=True)
owner = User.objects.create(username=f"owner-{time.time_ns()}")
company = Company.objects.create(name="Initech", owner=owner)
pipeline = Pipeline.objects.get(is_default=True)
deal = services.deal_create(actor=owner, data={"name": "Initech", "company": company})
won = pipeline.stages.get(outcome=StageOutcome.WON)
started = time.monotonic()
services.deal_move_stage(deal=deal, stage=won, actor=owner)
deadline = started + wait
while time.monotonic() < deadline:
    if Company.objects.get(pk=company.pk).lifecycle == "customer":
        break
    time.sleep(0.05)
print(json.dumps({"company": company.pk, "deal": deal.pk,
                  "seconds": round(time.monotonic() - started, 3)}))
"""

# Sends the periodic sweep (what beat does every 30 s) and waits for the deal's company.
SWEEP_AND_WAIT = """
import sys, time, django
django.setup()
from crm.celery import app
# Every task to this test's queue, whatever its kind (the settings route by kind).
app.conf.task_default_queue = sys.argv[1]
app.conf.task_routes = {}
from automations.tasks import dispatch_events
from crm.models import Company
dispatch_events.delay()
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    if Company.objects.get(pk=int(sys.argv[2])).lifecycle == "customer":
        break
    time.sleep(0.1)
"""

# A worker whose set_lifecycle action stops (forever) once it has started: the test kills it
# there, inside the batch's transaction, between the event's claim and the action's commit.
STUCK_WORKER = """
import os, sys, time, django
django.setup()
from automations import actions
def stuck(action, context, index):
    open(os.environ["STUCK_MARKER"], "w").write(str(os.getpid()))
    time.sleep(600)
actions.HANDLERS["set_lifecycle"] = stuck
from crm.celery import app
app.worker_main(["worker", "--pool=solo", "-Q", sys.argv[1], "--without-heartbeat",
                 "--without-gossip", "--without-mingle", "--loglevel=warning"])
"""


@pytest.fixture
def env(request, tmp_path):
    """The environment of the worker and driver processes: Redis and the shared database."""
    redis_url = require_redis()
    if connection.vendor == "postgresql":
        request.getfixturevalue("transactional_db")
        database = postgres_url(connection.settings_dict)
    else:
        database = f"sqlite:///{tmp_path / 'worker.sqlite3'}"
    env = worker_env(REDIS_URL=redis_url, DATABASE_URL=database)
    if connection.vendor != "postgresql":
        # Migrate before the worker starts, so it never sees a half-built schema.
        migrated = run(env, "manage.py", "migrate", "--verbosity=0")
        assert migrated.returncode == 0, migrated.stderr
    return env


def run(env: dict, *args, timeout=150) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def last_json(completed: subprocess.CompletedProcess) -> dict:
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


def database_state(env: dict, company_id: int, deal_id: int) -> dict:
    script = f"""
import json, django
django.setup()
from automations.models import RuleRun
from crm.models import Company, Event, Task
print(json.dumps({{
    "lifecycle": Company.objects.get(pk={company_id}).lifecycle,
    "runs": list(RuleRun.objects.filter(record_type="deal", record_id={deal_id})
                 .values_list("status", flat=True)),
    "tasks": Task.objects.filter(deal_id={deal_id}).count(),
    "lifecycle_events": Event.objects.filter(type="company.lifecycle_changed",
                                             record_id={company_id}).count(),
    "undispatched": Event.objects.filter(dispatched_at__isnull=True).count(),
}}))
"""
    return last_json(run(env, "-c", script))


def test_a_won_deal_makes_a_customer_through_redis_and_a_real_worker(env):
    queue = f"test-automations-{uuid.uuid4().hex}"
    with celery_worker(env, queue):
        result = last_json(run(env, "-c", WIN_A_DEAL, queue, "30"))
    state = database_state(env, result["company"], result["deal"])
    assert state["lifecycle"] == "customer"
    assert state["runs"] == ["matched"] and state["tasks"] == 1
    assert result["seconds"] < 10, result  # "within seconds" (typically well under one)


def test_a_worker_killed_inside_an_action_loses_nothing_and_does_nothing_twice(env, tmp_path):
    queue = f"test-automations-{uuid.uuid4().hex}"
    marker = tmp_path / "stuck"
    stuck = subprocess.Popen(
        [sys.executable, "-c", STUCK_WORKER, queue],
        cwd=ROOT,
        env={**env, "STUCK_MARKER": str(marker)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        result = last_json(run(env, "-c", WIN_A_DEAL, queue, "0"))
        deadline = time.monotonic() + 60
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), "the worker never reached the action"
        os.kill(stuck.pid, signal.SIGKILL)
        stuck.wait(timeout=20)
    finally:
        if stuck.poll() is None:
            stuck.kill()

    # The worker died inside the batch: its claim and its run rolled back with it.
    killed = database_state(env, result["company"], result["deal"])
    assert killed["lifecycle"] == "prospect" and killed["runs"] == [] and killed["tasks"] == 0
    assert killed["undispatched"] >= 1

    with celery_worker(env, queue):
        swept = run(env, "-c", SWEEP_AND_WAIT, queue, str(result["company"]))
        assert swept.returncode == 0, swept.stderr
        time.sleep(1)  # let a redelivered dispatch (if any) finish too

    after = database_state(env, result["company"], result["deal"])
    assert after["lifecycle"] == "customer"
    assert after["runs"] == ["matched"] and after["tasks"] == 1
    assert after["lifecycle_events"] == 1 and after["undispatched"] == 0
