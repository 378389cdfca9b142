"""Reaching the real services: skip outside CI when one is down, fail under CI=true."""

import os
import socket
import subprocess
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, urlparse

import pytest

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname, parsed.port or 6379), timeout=1):
            return True
    except OSError:
        return False


def require_redis() -> str:
    url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    if not reachable(url):
        message = f"Redis is not reachable at {url}"
        if in_ci():
            pytest.fail(message + " (CI=true: services are required)")
        pytest.skip(message)
    return url


CHROMIUM = "/usr/bin/chromium"


def require_chromium() -> str:
    if not os.path.exists(CHROMIUM):
        message = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if in_ci():
            pytest.fail(message + " (CI=true: `make test` installs it)")
        pytest.skip(message)
    return CHROMIUM


def csp_violations(page) -> list[str]:
    """The Content Security Policy refusals a Playwright page reports, as they come."""
    messages = []
    page.on(
        "console",
        lambda message: (
            messages.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return messages


ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def celery_worker(env: dict, queue: str | None = None):
    """A real Celery worker of this project, in its own process, consuming only `queue` (every
    queue of the settings, as `make run` starts it, without one)."""
    queues = ["-Q", queue] if queue else []
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "crm",
            "worker",
            "--pool=solo",
            *queues,
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=warning",
            f"--hostname=test-{uuid.uuid4().hex}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield worker
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()


def worker_env(**overrides) -> dict:
    """The environment of a worker or driver process: this project's settings in test mode,
    with the database and broker the caller names (never the ones this process inherited)."""
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL"}}
    env.update(DJANGO_SETTINGS_MODULE="crm.settings", CRM_TESTING="true", **overrides)
    return env


def postgres_url(settings_dict) -> str:
    """A DATABASE_URL for the database Django is connected to (the test database)."""
    user = quote(settings_dict["USER"] or "")
    password = f":{quote(settings_dict['PASSWORD'])}" if settings_dict.get("PASSWORD") else ""
    host = settings_dict["HOST"] or "127.0.0.1"
    port = settings_dict["PORT"] or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings_dict['NAME']}"
