"""Tasks go to queues by kind (settings.CELERY_TASK_ROUTES), so each kind scales on workers of
its own; the worker `make run` starts consumes every queue, so no task waits for nobody."""

import re
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from crm.celery import app
from tests.services import celery_worker, worker_env

ROOT = Path(__file__).resolve().parents[2]
RUN_SH = ROOT / "scripts" / "run.sh"

EXPECTED_KINDS = {
    "automations.dispatch_events": "automations",
    "automations.run_time_rule": "automations",
    "automations.check_kpi_rule": "automations",
    "metrics.snapshot_kpis": "snapshots",
    "metrics.refresh_open_periods": "snapshots",
    "metrics.store_company_health": "snapshots",
    "goals.update_all_progress": "snapshots",
    "crm.send_ticket_reply_email": "email",
    "crm.send_resolution_surveys": "email",
    "crm.send_invitation_email": "email",
    "automations.send_survey_invitation": "email",
    "webhooks.deliver": "webhooks",
    "webhooks.dispatch": "webhooks",
    "automations.call_webhook": "webhooks",
    "crm.mark_sla_breaches": "celery",
    "crm.ping": "celery",
}


def project_tasks() -> list[str]:
    app.loader.import_default_modules()
    return sorted(name for name in app.tasks if not name.startswith("celery."))


def queue_of(task_name: str) -> str:
    return app.amqp.router.route({}, task_name)["queue"].name


def run_sh_worker_queues() -> set[str]:
    """The queues the worker of scripts/run.sh consumes: its -Q list, or every declared one."""
    line = next(line for line in RUN_SH.read_text().splitlines() if " worker " in line)
    named = re.search(r"(?:-Q|--queues)[ =](\S+)", line)
    return set(named.group(1).split(",")) if named else set(app.amqp.queues)


def test_every_task_goes_to_a_queue_the_run_worker_consumes():
    consumed = run_sh_worker_queues()

    stranded = {name: queue_of(name) for name in project_tasks() if queue_of(name) not in consumed}

    assert stranded == {}
    assert consumed == set(settings.CRM_TASK_QUEUES)


def test_tasks_are_routed_by_kind():
    assert set(EXPECTED_KINDS) <= set(project_tasks())
    assert {name: queue_of(name) for name in EXPECTED_KINDS} == EXPECTED_KINDS


def test_every_scheduled_task_exists_and_is_consumed():
    tasks, consumed = set(project_tasks()), run_sh_worker_queues()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in tasks
        assert queue_of(entry["task"]) in consumed


# Sends a ping to every declared queue and prints the answers, in the order sent.
PING_EVERY_QUEUE = """
import sys, django
django.setup()
from django.conf import settings
from crm.tasks import ping
sent = [ping.apply_async(args=[queue], queue=queue) for queue in settings.CRM_TASK_QUEUES]
print(",".join(result.get(timeout=60).removeprefix("pong: ") for result in sent))
"""


def test_a_worker_started_without_queues_answers_on_every_queue(tmp_path):
    """As `make run` starts it (no -Q), on the embedded broker: nothing needs Redis here."""
    env = worker_env(CELERY_DATA_DIR=str(tmp_path / "celery"))
    with celery_worker(env):
        sent = subprocess.run(
            [sys.executable, "-c", PING_EVERY_QUEUE],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.strip().splitlines()[-1] == ",".join(settings.CRM_TASK_QUEUES)
