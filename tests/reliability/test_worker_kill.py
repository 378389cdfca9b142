"""A worker killed (SIGKILL) in the middle of a periodic task loses nothing and does nothing
twice.

On Redis, a real worker takes `metrics.snapshot_kpis` and is killed inside the transaction of
its second period. The message was not acknowledged (acks_late), so Redis hands it to the next
worker once the visibility timeout has passed (2 s here, an hour in production): the periods
the killed run finished stay done, the one it was writing is redone whole, and every snapshot
row is there once. The worker and the test share a database (the test database on PostgreSQL,
a migrated file on SQLite); Redis is db 6.

The other periodic tasks are then delivered twice in-process, as a redelivery after a worker
died between the commit and the acknowledgement would do: their effects happen once.
"""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from tests.services import postgres_url, require_redis, worker_env

from .snapshot_checks import tally

ROOT = Path(__file__).resolve().parents[2]
REDIS_DB = 6

# A worker with a short visibility timeout and lease; with STUCK_MARKER set, it stops (for
# good) inside the transaction of the second period it writes, after the period's rows (the
# health scores the nightly run stores before the periods are not counted).
WORKER = """
import os, sys, time, django
django.setup()
from metrics import fill
fill.LEASE_SECONDS = 2  # 15 minutes in production: a killed run's lease is over quickly here
if os.environ.get("STUCK_MARKER"):
    written, calls = fill.mark_written, []
    def stuck(**kwargs):
        written(**kwargs)
        if kwargs["grain"] == "health":
            return  # yesterday's health scores, stored first: not a period of the count
        calls.append(kwargs)
        if len(calls) == 2:
            open(os.environ["STUCK_MARKER"], "w").write(str(os.getpid()))
            time.sleep(600)
    fill.mark_written = stuck
from crm.celery import app
app.conf.broker_transport_options = {
    "visibility_timeout": 2, "unacked_restore_interval": 1, "unacked_restore_throttle": 1,
}
app.worker_main(["worker", "--pool=solo", "-Q", sys.argv[1], "--without-heartbeat",
                 "--without-gossip", "--without-mingle", "--loglevel=warning"])
"""

# Deals won three and two days ago and the last good night (its row only) four nights ago;
# then the nightly task is sent, as beat sends it.
PREPARE_AND_SEND = """
import sys, time, django
django.setup()
from datetime import timedelta
from django.utils import timezone
from crm import services
from crm.models import Pipeline, StageOutcome, User
from metrics.models import FillStatus, SnapshotFill
owner = User.objects.create(username=f"rep-{time.time_ns()}")
won = Pipeline.objects.get(is_default=True).stages.get(outcome=StageOutcome.WON)
for back in (3, 2):
    at = timezone.now() - timedelta(days=back)
    data = {"name": "D", "created_at": at - timedelta(days=5)}
    deal = services.deal_create(actor=owner, data=data)
    services.deal_move_stage(deal=deal, stage=won, actor=owner, at=at)
SnapshotFill.objects.create(grain="day", period_start=timezone.localdate() - timedelta(days=4),
                            status=FillStatus.DONE, run_id="last-good-night")
from metrics.tasks import snapshot_kpis
snapshot_kpis.apply_async(queue=sys.argv[1])
"""

# The fill state (waiting, with "wait", until no closed period is left to do and the lease is
# free; with "expired", until the killed run's lease has run out), the duplicated rows and the
# rows a clean computation gives that are missing.
STATE = """
import json, sys, time, django
django.setup()
from datetime import timedelta
from django.utils import timezone
from metrics import fill
from metrics.models import FillLock, SnapshotFill
from metrics.periods import period_for
from tests.reliability.snapshot_checks import duplicated_rows, missing_rows
yesterday = timezone.localdate() - timedelta(days=1)
def state():
    due = [f"{grain} {period.start_date}" for grain in fill.SNAPSHOT_GRAINS
           for period in fill.due_periods(grain, yesterday)]
    lock = FillLock.objects.filter(name=fill.NIGHTLY_LOCK).values_list("run_id", flat=True)
    return due, lock.first()
deadline = time.monotonic() + 60
while sys.argv[1] == "expired" and time.monotonic() < deadline and FillLock.objects.filter(
        name=fill.NIGHTLY_LOCK, expires_at__gt=timezone.now()).exists():
    time.sleep(0.2)
due, lock = state()
while sys.argv[1] == "wait" and (due or lock) and time.monotonic() < deadline:
    time.sleep(0.2)
    due, lock = state()
fills = SnapshotFill.objects.exclude(grain="health").order_by("grain", "period_start")
written = fills.exclude(run_id="last-good-night")
print(json.dumps({
    "due": due,
    "lock": lock,
    "fills": [[f.grain, str(f.period_start), f.status, f.run_id] for f in fills],
    "doubled": duplicated_rows(),
    "missing": missing_rows([period_for(f.grain, f.period_start) for f in written]),
}))
"""


def redis_db_url() -> str:
    return urlparse(require_redis())._replace(path=f"/{REDIS_DB}").geturl()


def run(env: dict, *args, timeout=150) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def last_json(completed: subprocess.CompletedProcess) -> dict:
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


def start_worker(env: dict, queue: str, log: Path, **extra) -> subprocess.Popen:
    with log.open("w") as output:
        return subprocess.Popen(
            [sys.executable, "-c", WORKER, queue],
            cwd=ROOT,
            env={**env, **extra},
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def stop(worker: subprocess.Popen, sig=signal.SIGTERM) -> None:
    if worker.poll() is None:
        os.kill(worker.pid, sig)
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait(timeout=20)


@pytest.fixture
def env(request, tmp_path):
    """Worker and driver environment: Redis db 6 (emptied) and the shared database."""
    import redis

    url = redis_db_url()
    redis.Redis.from_url(url).flushdb()
    if connection.vendor == "postgresql":
        request.getfixturevalue("transactional_db")
        database = postgres_url(connection.settings_dict)
    else:
        database = f"sqlite:///{tmp_path / 'worker.sqlite3'}"
    env = worker_env(REDIS_URL=url, DATABASE_URL=database)
    if connection.vendor != "postgresql":
        migrated = run(env, "manage.py", "migrate", "--verbosity=0")
        assert migrated.returncode == 0, migrated.stderr
    yield env
    redis.Redis.from_url(url).flushdb()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_snapshot_task_whose_worker_is_killed_is_redelivered_and_fills_once(
    env, tmp_path, figures
):
    queue = f"test-fill-{uuid.uuid4().hex}"
    marker = tmp_path / "stuck"
    stuck = start_worker(env, queue, tmp_path / "stuck.log", STUCK_MARKER=str(marker))
    try:
        sent = run(env, "-c", PREPARE_AND_SEND, queue)
        assert sent.returncode == 0, sent.stderr
        deadline = time.monotonic() + 60
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), (tmp_path / "stuck.log").read_text()
    finally:
        stop(stuck, signal.SIGKILL)

    # A redelivery that came while the lease still ran would rightly be skipped (one run at a
    # time); in production the lease (15 min) ends long before the visibility timeout (1 h).
    killed = last_json(run(env, "-c", STATE, "expired"))
    # One period done by the killed run, the next one started: its rows rolled back with it.
    days = [f for f in killed["fills"] if f[0] == "day"]
    assert [f[2] for f in days] == ["done", "done", "started"], killed
    killed_run = days[1][3]
    assert days[2][3] == killed_run and killed["lock"] == killed_run

    worker = start_worker(env, queue, tmp_path / "worker.log")
    try:
        after = last_json(run(env, "-c", STATE, "wait"))
    finally:
        stop(worker)

    lost = after["missing"] + [f"{period}: never filled" for period in after["due"]]
    tally(figures, "snapshot_kpis after a kill", lost=lost, doubled=after["doubled"])
    fills = {(f[0], f[1]): f for f in after["fills"]}
    # Redelivered: the killed run's finished period kept, everything else by the new run.
    assert fills[tuple(days[1][:2])][3] == killed_run
    finished_by = {f[3] for f in after["fills"]} - {killed_run, "last-good-night"}
    assert len(finished_by) == 1 and all(f[2] in ("done", "open") for f in after["fills"])
    assert after["lock"] == "", after


# Every task of the project and the Redis transport options, with Redis configured.
TIME_LIMITS = """
import json, django
django.setup()
from django.conf import settings
from crm.celery import app
app.loader.import_default_modules()
limits = {name: task.time_limit or app.conf.task_time_limit
          for name, task in app.tasks.items() if not name.startswith("celery.")}
print(json.dumps({"options": settings.CELERY_BROKER_TRANSPORT_OPTIONS, "limits": limits,
                  "acks_late": settings.CELERY_TASK_ACKS_LATE,
                  "reject_on_worker_lost": settings.CELERY_TASK_REJECT_ON_WORKER_LOST}))
"""


def test_redis_hands_a_message_out_again_only_after_the_longest_task_could_have_ended():
    shown = last_json(run(worker_env(REDIS_URL="redis://127.0.0.1:6379/6"), "-c", TIME_LIMITS))

    longest = max(shown["limits"].values())
    assert shown["limits"]["metrics.snapshot_kpis"] and longest >= 2000
    # Shorter, and a task still running would be started again on a second worker.
    assert shown["options"]["visibility_timeout"] > longest
    assert shown["acks_late"] and shown["reject_on_worker_lost"]


# Redelivered periodic tasks: each runs twice, its effects counted after each run. -----------


def delivered_twice(figures, task, effects, **kwargs) -> dict:
    """Run `task` as two deliveries of one message; every effect that grew on the second is a
    duplicate. Returns the effects of the first delivery."""
    task.apply(kwargs=kwargs).get()
    first = effects()
    task.apply(kwargs=kwargs).get()
    for name, count in effects().items():
        if count != first[name]:
            figures.add(
                "duplicate_side_effects",
                f"{task.name} delivered twice: {name} {first[name]} then {count}",
                count=abs(count - first[name]),
            )
    return first


@pytest.mark.django_db
def test_sla_breaches_are_stamped_once_when_the_task_is_redelivered(figures, agent):
    from crm import services
    from crm.models import Event, Ticket
    from crm.tasks import mark_sla_breaches
    from tests.crm.factories import ContactFactory

    services.ticket_create(
        actor=None,
        data={
            "subject": "Late",
            "contact": ContactFactory(),
            "created_at": timezone.now() - timedelta(hours=9),  # normal: answer within 8 h
        },
    )

    first = delivered_twice(
        figures,
        mark_sla_breaches,
        lambda: {
            "stamped tickets": Ticket.objects.filter(sla_breached_at__isnull=False).count(),
            "breach events": Event.objects.filter(type="ticket.sla_breached").count(),
        },
    )

    assert first == {"stamped tickets": 1, "breach events": 1}


@pytest.mark.django_db
def test_nps_surveys_go_out_once_when_the_weekly_task_is_redelivered(figures, eager_tasks):
    from crm.models import Lifecycle, SurveyInvitation, SurveyKind
    from crm.tasks import send_scheduled_nps_surveys
    from tests.crm.factories import CompanyFactory, ContactFactory

    customer = CompanyFactory(
        lifecycle=Lifecycle.CUSTOMER, customer_since=timezone.now() - timedelta(days=400)
    )
    ContactFactory(email="pat@customer.example", company=customer)

    first = delivered_twice(
        figures,
        send_scheduled_nps_surveys,
        lambda: {
            "invitations": SurveyInvitation.objects.filter(kind=SurveyKind.NPS).count(),
            "emails": len(mail.outbox),
        },
    )

    assert first == {"invitations": 1, "emails": 1}


@pytest.mark.django_db
def test_goal_progress_is_one_row_a_day_when_the_nightly_update_is_redelivered(
    figures, manager, rep, sales_team
):
    from crm.models import Notification
    from goals.models import GoalProgress, Scope
    from goals.tasks import update_all_progress
    from tests.goals.factories import make_goal, make_target

    goal = make_goal(owner=manager, scope=Scope.PERSON, person=rep)
    make_target(goal, start_value=0, target_value=10, current_value=6)

    first = delivered_twice(
        figures,
        update_all_progress,
        lambda: {
            "progress rows": GoalProgress.objects.count(),
            "notifications": Notification.objects.count(),
        },
    )

    assert first["progress rows"] == 1 and first["notifications"] >= 1  # the 50 % milestone


@pytest.mark.django_db
def test_goals_refresh_once_when_the_refresh_is_redelivered(figures, manager, rep, sales_team):
    from crm import services
    from crm.models import Notification
    from goals.models import GoalProgress, Scope
    from goals.tasks import refresh_if_changed
    from tests.crm.factories import TaskFactory
    from tests.goals.factories import make_goal, make_target

    goal = make_goal(owner=manager, scope=Scope.PERSON, person=rep)
    task = TaskFactory(assignee=rep)
    make_target(goal, kind="tasks", tasks=[task])
    services.task_complete(task=task, actor=rep)

    first = delivered_twice(
        figures,
        refresh_if_changed,
        lambda: {
            "progress rows": GoalProgress.objects.count(),
            "notifications": Notification.objects.count(),
        },
    )

    assert first["progress rows"] == 1 and first["notifications"] >= 1  # 100 %


@pytest.mark.django_db
def test_rules_act_once_on_an_event_when_the_dispatch_is_redelivered(figures, rep, sales_team):
    from automations.models import RuleRun
    from automations.tasks import dispatch_events
    from crm import services
    from crm.models import Task
    from tests.automations.factories import make_rule

    make_rule(
        trigger={"type": "record.created", "record_type": "deal"},
        actions=[{"type": "create_task", "title": "Call {{ record.name }}", "assignee": "owner"}],
    )
    services.deal_create(actor=rep, data={"name": "Initech"})

    first = delivered_twice(
        figures,
        dispatch_events,
        lambda: {"runs": RuleRun.objects.count(), "tasks": Task.objects.count()},
    )

    assert first == {"runs": 1, "tasks": 1}


@pytest.mark.django_db
def test_a_date_rule_acts_once_when_the_minute_task_is_redelivered(
    figures, eager_tasks, rep, sales_team
):
    from automations.models import RuleRun
    from automations.tasks import run_time_rules
    from crm.models import Task
    from tests.automations.factories import make_rule
    from tests.crm.factories import DealFactory

    DealFactory(owner=rep, team=sales_team, expected_close_date=timezone.localdate())
    make_rule(
        trigger={"type": "date.reached", "record_type": "deal", "field": "expected_close_date"},
        actions=[{"type": "create_task", "title": "Close {{ record.name }}", "assignee": "owner"}],
    )

    first = delivered_twice(
        figures,
        run_time_rules,
        lambda: {"runs": RuleRun.objects.count(), "tasks": Task.objects.count()},
    )

    assert first == {"runs": 1, "tasks": 1}


@pytest.mark.django_db
def test_a_kpi_threshold_fires_once_when_the_hourly_check_is_redelivered(
    figures, eager_tasks, monkeypatch, rep
):
    from decimal import Decimal

    from automations import timed
    from automations.models import RuleRun, RunStatus
    from automations.tasks import check_kpi_thresholds
    from crm.models import Notification
    from tests.automations.factories import make_rule

    monkeypatch.setattr(timed, "kpi_value", lambda trigger, today: Decimal(10))
    make_rule(
        trigger={"type": "kpi.threshold", "kpi": "engagement_rate", "op": "below", "value": 30},
        actions=[{"type": "notify", "to": f"user:{rep.pk}", "title": "Engagement dropped"}],
        state={"beyond": False},  # above the threshold at the last check
    )

    first = delivered_twice(
        figures,
        check_kpi_thresholds,
        lambda: {
            "notifications": Notification.objects.count(),
            "matched runs": RuleRun.objects.filter(status=RunStatus.MATCHED).count(),
        },
    )

    assert first == {"notifications": 1, "matched runs": 1}


@pytest.mark.django_db
def test_health_scores_and_open_periods_are_stored_once_when_redelivered(figures, rep):
    from crm.models import Lifecycle
    from metrics.models import CompanyHealth, KPISnapshot
    from metrics.tasks import refresh_open_periods, store_company_health
    from tests.crm.factories import CompanyFactory

    from .snapshot_checks import duplicated_rows

    CompanyFactory(
        lifecycle=Lifecycle.CUSTOMER, customer_since=timezone.now() - timedelta(days=400)
    )

    def effects():
        return {
            "health rows": CompanyHealth.objects.count(),
            "snapshot rows": KPISnapshot.objects.count(),
            "duplicated snapshot rows": len(duplicated_rows()),
        }

    health = delivered_twice(figures, store_company_health, effects)
    refreshed = delivered_twice(figures, refresh_open_periods, effects)

    # (The nightly snapshot delivered twice: tests/metrics/test_snapshot_fill.py.)
    assert health["health rows"] == 1 and refreshed["snapshot rows"] > 0
