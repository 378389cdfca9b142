"""`make run` stops within seconds however it is told to: a TERM to its process group (a closing
terminal, a CI runner), a TERM to the script alone (a supervisor) or Ctrl-C, even while the
worker holds a task (issue 16, item 10: the worker used to stay in "warm shutdown" for 30 min).

Each case starts the real script (web server, Celery worker and beat on the embedded broker and
a throw-away SQLite database), puts a task in flight, signals, and waits for every process the
script started to be gone."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.services import ROOT

# The script's grace period is 5 s, then a cold shutdown (2 s), then KILL.
STOPPED_WITHIN_SECONDS = 12
STARTED_WITHIN_SECONDS = 60


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def run_env(tmp_path) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "CRM_TESTING", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        DEBUG="true",
        DATABASE_URL=f"sqlite:///{tmp_path / 'crm.sqlite3'}",
        CELERY_DATA_DIR=str(tmp_path / "celery"),
        PORT=str(_free_port()),
        PYTHONUNBUFFERED="1",
    )
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    return env


def _start(env: dict, log: Path) -> subprocess.Popen:
    process = subprocess.Popen(
        ["bash", "scripts/run.sh"],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + STARTED_WITHIN_SECONDS
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        if "ready." in text and "beat: Starting" in text and _serving(env["PORT"]):
            return process
        if process.poll() is not None:
            break
        time.sleep(0.3)
    _kill_group(process.pid)
    pytest.fail(f"make run did not start:\n{log.read_text(errors='replace')[-3000:]}")


def _serving(port: str) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", int(port)), timeout=0.5):
            return True
    except OSError:
        return False


def _hold_the_worker(env: dict, log: Path) -> None:
    send = (
        "import django; django.setup(); from crm.tasks import ping; "
        "ping.delay('stop-test', 8); ping.delay('stop-test', 8)"
    )
    subprocess.run(
        [sys.executable, "-c", send],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "crm.settings"},
        check=True,
        capture_output=True,
    )
    deadline = time.monotonic() + 20
    while "crm.ping" not in log.read_text(errors="replace").split("beat: Starting")[-1]:
        assert time.monotonic() < deadline, "the worker never received the task"
        time.sleep(0.2)


def _group_alive(pgid: int) -> list[str]:
    listing = subprocess.run(
        ["ps", "-eo", "pgid=,stat=,args="], capture_output=True, text=True
    ).stdout
    return [
        line
        for line in listing.splitlines()
        if line.split()[0] == str(pgid) and not line.split()[1].startswith("Z")
    ]


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _seconds_to_stop(pgid: int) -> float:
    started = time.monotonic()
    while _group_alive(pgid) and time.monotonic() - started < 60:
        time.sleep(0.2)
    return time.monotonic() - started


@pytest.mark.parametrize(
    "how",
    ["TERM to the process group", "TERM to the script", "Ctrl-C"],
)
def test_make_run_stops_within_seconds_with_a_task_in_flight(run_env, tmp_path, how):
    log = tmp_path / "run.log"
    process = _start(run_env, log)
    pgid = process.pid
    try:
        _hold_the_worker(run_env, log)
        if how == "TERM to the process group":
            os.killpg(pgid, signal.SIGTERM)
        elif how == "TERM to the script":
            os.kill(process.pid, signal.SIGTERM)
        else:
            os.killpg(pgid, signal.SIGINT)
        seconds = _seconds_to_stop(pgid)
        left = _group_alive(pgid)
    finally:
        _kill_group(pgid)
    assert not left, f"still running after {seconds:.1f} s: {left}"
    assert seconds < STOPPED_WITHIN_SECONDS, f"took {seconds:.1f} s to stop"
