"""Reaching the real services: skip outside CI when one is down, fail under CI=true."""

import os
import socket
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

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


ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def celery_worker(env: dict, queue: str):
    """A real Celery worker of this project, in its own process, consuming only `queue`."""
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "crm",
            "worker",
            "--pool=solo",
            "-Q",
            queue,
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=warning",
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
