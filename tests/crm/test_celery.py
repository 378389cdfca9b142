"""A task goes through a real broker to a real worker started here, and its result comes back."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

from tests.services import celery_worker, require_redis

ROOT = Path(__file__).resolve().parents[2]

SEND_PING = (
    "import sys, django; django.setup(); from crm.tasks import ping; "
    "print(ping.apply_async(args=[sys.argv[2]], queue=sys.argv[1]).get(timeout=60))"
)


def broker_env(**overrides) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(DJANGO_SETTINGS_MODULE="crm.settings", CRM_TESTING="true", **overrides)
    return env


def round_trip(env: dict) -> str:
    queue = f"test-{uuid.uuid4().hex}"
    with celery_worker(env, queue):
        token = uuid.uuid4().hex
        sent = subprocess.run(
            [sys.executable, "-c", SEND_PING, queue, token],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=90,
        )
        assert sent.returncode == 0, sent.stderr
        return sent.stdout.strip(), token


def test_task_round_trip_through_redis_and_a_real_worker():
    redis_url = require_redis()

    answer, token = round_trip(broker_env(REDIS_URL=redis_url))

    assert answer == f"pong: {token}"


def test_task_round_trip_through_the_embedded_broker(tmp_path):
    answer, token = round_trip(broker_env(CELERY_DATA_DIR=str(tmp_path / "celery")))

    assert answer == f"pong: {token}"
