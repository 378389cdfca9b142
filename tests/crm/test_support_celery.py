"""Resolving a ticket sends its CSAT survey through a real broker to a real Celery worker.

As in test_celery.py, the worker is a separate process: on Redis (required under CI=true)
and on the embedded broker. Both processes share a database the test can read: the test
database itself on PostgreSQL (committed rows, `transactional_db`), a migrated file on
SQLite (the test database there lives in memory).
"""

import json
import subprocess
import sys
import time
import uuid
from email import message_from_string
from pathlib import Path

import pytest
from django.db import connection

from tests.services import celery_worker, postgres_url, require_redis, worker_env

ROOT = Path(__file__).resolve().parents[2]

# Opens a ticket, answers and resolves it through the services, then waits for the worker
# to have emailed the survey; prints what the database holds.
RESOLVE_AND_WAIT = """
import json, sys, time, django
django.setup()
from crm.celery import app
# Every task to this test's queue, whatever its kind (the settings route by kind).
app.conf.task_default_queue = sys.argv[1]
app.conf.task_routes = {}
from crm import services
from crm.models import Company, Contact, SurveyInvitation, User
agent = User.objects.create(username=f"worker-test-{time.time_ns()}")
company = Company.objects.create(name="Initech")
contact = Contact.objects.create(
    last_name="Lumbergh", email="bill@initech.example", company=company
)
ticket = services.ticket_create(
    actor=agent, data={"subject": "TPS", "contact": contact, "company": company}
)
services.ticket_agent_reply(ticket=ticket, actor=agent, body="Done", status="resolved")
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    sent = list(SurveyInvitation.objects.filter(ticket=ticket, sent_at__isnull=False)
                .values("kind", "token", "email", "company_id", "contact_id"))
    if sent:
        break
    time.sleep(0.5)
print(json.dumps({"sent": sent, "company": company.pk, "contact": contact.pk}))
"""


# Marked (not only requested) as transactional, so pytest-django runs these tests with the other
# transactional ones, after every plain database test; the serialized rollback restores what
# migrations wrote (roles, the default pipeline) for the transactional tests that follow.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def shared_database(request, tmp_path):
    """(DATABASE_URL, whether to migrate it first) for the worker and the driver process."""
    if connection.vendor == "postgresql":
        request.getfixturevalue("transactional_db")
        return postgres_url(connection.settings_dict), "ready"
    return f"sqlite:///{tmp_path / 'worker.sqlite3'}", "migrate"


def resolve_with_a_real_worker(env: dict, database: tuple[str, str], mail_dir: Path) -> dict:
    url, prepare = database
    assert mail_dir.is_absolute()  # filemail:/// + an absolute path, or Django writes in cwd
    env = {**env, "DATABASE_URL": url, "EMAIL_URL": f"filemail:///{mail_dir}"}
    queue = f"test-support-{uuid.uuid4().hex}"
    if prepare == "migrate":
        # Migrate before the worker starts, so it never sees a half-built schema.
        migrated = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--verbosity=0"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert migrated.returncode == 0, migrated.stderr
    with celery_worker(env, queue):
        started = time.monotonic()
        driven = subprocess.run(
            [sys.executable, "-c", RESOLVE_AND_WAIT, queue],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=150,
        )
        assert driven.returncode == 0, driven.stderr
        result = json.loads(driven.stdout.strip().splitlines()[-1])
        result["seconds"] = time.monotonic() - started
        return result


def assert_survey_emailed(result: dict, mail_dir: Path) -> None:
    [invitation] = result["sent"]
    assert invitation["kind"] == "csat"
    assert invitation["email"] == "bill@initech.example"
    assert (invitation["company_id"], invitation["contact_id"]) == (
        result["company"],
        result["contact"],
    )
    messages = [message_from_string(p.read_text()) for p in mail_dir.iterdir()]
    surveys = [m for m in messages if f"/surveys/{invitation['token']}/" in m.get_payload()]
    assert [m["To"] for m in surveys] == ["bill@initech.example"]


def test_resolving_sends_the_survey_through_redis_and_a_real_worker(shared_database, tmp_path):
    redis_url = require_redis()
    mail_dir = tmp_path / "mail"

    result = resolve_with_a_real_worker(worker_env(REDIS_URL=redis_url), shared_database, mail_dir)

    assert_survey_emailed(result, mail_dir)


def test_resolving_sends_the_survey_through_the_embedded_broker(shared_database, tmp_path):
    mail_dir = tmp_path / "mail"

    result = resolve_with_a_real_worker(
        worker_env(CELERY_DATA_DIR=str(tmp_path / "celery")), shared_database, mail_dir
    )

    assert_survey_emailed(result, mail_dir)
