"""The load test (issue 19): gunicorn with 4 workers on the seeded PostgreSQL database and
Redis, on loopback, under 20 reps, 5 agents and 3 managers (tests/bench/locustfile.py) for
LOAD_SECONDS (240); prints requests/s and p50/p95/p99 per page against the 300 ms target,
and fails if any request failed (an HTTP error, a refused write, a lost login).

The server runs as production does: DEBUG off, a random SECRET_KEY, static files collected
into a temporary folder and served by whitenoise, the cache and the Celery broker in Redis
(LOAD_REDIS_URL, db 11, emptied before and after). By default no worker runs, so the tasks
the writes enqueue wait there and are dropped, and nothing is warmed: every number page after
a change is computed on the spot. LOAD_WORKER=1 runs production's set-up instead, a Celery
worker (2 processes, every queue) and beat beside gunicorn: the writes' automations run, and
the dashboards are warmed in the background. Only HTTPS redirects and secure cookies are off: the
test speaks plain HTTP on 127.0.0.1. Everything started is stopped at the end, failed or not.

The writes (board moves, activities, ticket replies) stay in the seeded database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_large .venv/bin/pytest \\
        tests/bench/test_load.py -s -p no:cacheprovider --override-ini addopts=
"""

import csv
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from crm.demo import DEMO_PASSWORD
from tests.bench.load_plan import build_plan

LOAD_SECONDS = int(os.environ.get("LOAD_SECONDS", "240"))
# Each person's pause between two actions, "min,max" seconds (tests/bench/locustfile.py).
LOAD_WAIT = os.environ.get("LOAD_WAIT", "1,3")
REDIS_URL = os.environ.get("LOAD_REDIS_URL", "redis://127.0.0.1:6379/11")
WITH_WORKER = os.environ.get("LOAD_WORKER", "") == "1"
WORKERS = 4
PEOPLE = {"rep": 20, "agent": 5, "manager": 3}
SPAWN_RATE = 7
TARGET_P95_MS = 300
BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_environment(port: int, static_root: Path) -> dict:
    environment = {
        key: value
        for key, value in os.environ.items()
        # pytest's: the server must read the settings as production does.
        if key not in ("CRM_TESTING", "DJANGO_SETTINGS_MODULE") and not key.startswith("PYTEST")
    }
    environment.update(
        DJANGO_SETTINGS_MODULE="tests.bench.load_settings",
        LOAD_STATIC_ROOT=str(static_root),
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        REDIS_URL=REDIS_URL,
        CONN_MAX_AGE="60",
        # Plain HTTP on loopback: no redirect to HTTPS, cookies sent without TLS.
        SECURE_SSL_REDIRECT="false",
        SESSION_COOKIE_SECURE="false",
        CSRF_COOKIE_SECURE="false",
        SECURE_HSTS_SECONDS="0",
        EMAIL_URL="dummymail://",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    return environment


def empty_redis() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


def stop(process: subprocess.Popen, grace: float = 10) -> None:
    """Stop the process and everything it started (its own session), however it is doing."""
    if process.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


@contextmanager
def started(command: list[str], environment: dict, log: Path):
    with open(log, "wb") as output:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            stop(process)


@contextmanager
def celery_beside(environment: dict, folder: Path):
    """With LOAD_WORKER=1, a Celery worker with beat (`-B`) as `make run` starts them; else
    nothing (None)."""
    if not WITH_WORKER:
        yield None
        return
    command = [str(BIN / "celery"), "-A", "crm", "worker", "-B", "--concurrency=2", "-l", "warning"]
    with started(command, environment, folder / "celery.log") as worker:
        yield worker


def tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def wait_until_serving(process: subprocess.Popen, port: int, log: Path, timeout: float = 90):
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{port}/accounts/login/"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn stopped ({process.returncode}):\n{tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    pytest.fail(f"gunicorn did not answer {url} within {timeout:.0f} s:\n{tail(log)}")


def read_rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path, newline="") as stats:
        return list(csv.DictReader(stats))


def _number(row: dict, column: str) -> float:
    value = row.get(column) or "0"
    return float(value) if value != "N/A" else 0.0


def print_stats(rows: list[dict]) -> None:
    print(
        f"\n{'page':<44} {'requests':>8} {'failed':>6} {'req/s':>6} "
        f"{'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7}"
    )
    for row in rows:
        if not _number(row, "Request Count"):
            continue  # only asked before the statistics started over (the login page)
        p95 = _number(row, "95%")
        over = "  OVER" if p95 > TARGET_P95_MS and row["Name"] != "Aggregated" else ""
        print(
            f"{(row['Type'] + ' ' + row['Name']).strip()[:44]:<44} "
            f"{int(_number(row, 'Request Count')):>8} {int(_number(row, 'Failure Count')):>6} "
            f"{_number(row, 'Requests/s'):>6.1f} {_number(row, '50%'):>7.0f} {p95:>7.0f} "
            f"{_number(row, '99%'):>7.0f} {_number(row, 'Max Response Time'):>7.0f}{over}"
        )


def run_locust(port: int, plan: Path, prefix: Path, log: Path) -> None:
    environment = {
        **os.environ,
        "LOAD_PLAN": str(plan),
        "LOAD_SUMMARY": str(prefix.with_name("summary.json")),
        "LOAD_WAIT": LOAD_WAIT,
    }
    command = [
        str(BIN / "locust"),
        "-f",
        str(ROOT / "tests" / "bench" / "locustfile.py"),
        "--headless",
        "--users",
        str(sum(PEOPLE.values())),
        "--spawn-rate",
        str(SPAWN_RATE),
        "--run-time",
        f"{LOAD_SECONDS}s",
        "--stop-timeout",
        "10",
        "--host",
        f"http://127.0.0.1:{port}",
        "--csv",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    with started(command, environment, log) as locust:
        try:
            locust.wait(LOAD_SECONDS + 120)
        except subprocess.TimeoutExpired:
            pytest.fail(f"locust ran past its {LOAD_SECONDS} s:\n{tail(log)}")


@pytest.mark.postgres
def test_load_of_reps_agents_and_managers(seeded_database, tmp_path):
    try:
        plan = build_plan(
            reps=PEOPLE["rep"],
            agents=PEOPLE["agent"],
            managers=PEOPLE["manager"],
            password=DEMO_PASSWORD,
        )
    except LookupError as missing:
        pytest.skip(str(missing))
    plan_path = tmp_path / "plan.json"
    plan_path.write_text(json.dumps(plan))
    accounts = {role: len({slot["username"] for slot in plan[role]}) for role in PEOPLE}

    port = free_port()
    environment = server_environment(port, tmp_path / "static")
    started_at = time.monotonic()
    subprocess.run(
        [str(BIN / "python"), "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=environment,
        check=True,
    )
    print(f"\ncollectstatic: {time.monotonic() - started_at:.0f} s")
    empty_redis()
    server_log = tmp_path / "gunicorn.log"
    command = [
        str(BIN / "gunicorn"),
        "crm.wsgi:application",
        f"--workers={WORKERS}",
        f"--bind=127.0.0.1:{port}",
        # A slow page is measured as slow, not cut off as an error.
        "--timeout=120",
        "--graceful-timeout=5",
    ]
    load_before = os.getloadavg()
    try:
        with (
            started(command, environment, server_log) as server,
            celery_beside(environment, tmp_path) as worker,
        ):
            wait_until_serving(server, port, server_log)
            run_locust(port, plan_path, tmp_path / "load", tmp_path / "locust.log")
            assert server.poll() is None, f"gunicorn stopped during the run:\n{tail(server_log)}"
            assert worker is None or worker.poll() is None, "the Celery worker stopped"
    finally:
        empty_redis()
    summary_path = tmp_path / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    rows = read_rows(tmp_path / "load_stats.csv")
    failures = read_rows(tmp_path / "load_failures.csv")
    exceptions = read_rows(tmp_path / "load_exceptions.csv")
    print(
        f"\n{LOAD_SECONDS} s, {sum(PEOPLE.values())} people ({PEOPLE['rep']} reps on "
        f"{accounts['rep']} accounts, {PEOPLE['agent']} agents on {accounts['agent']}, "
        f"{PEOPLE['manager']} managers on {accounts['manager']}), each pausing {LOAD_WAIT} s "
        f"between actions, gunicorn {WORKERS} workers"
        f"{', a Celery worker and beat' if WITH_WORKER else ', no Celery worker'}; "
        f"load average before {load_before[0]:.1f}, after {os.getloadavg()[0]:.1f}; "
        f"target p95 {TARGET_P95_MS} ms"
    )
    login_ms = sorted(summary.get("login_ms", [])) or [0]
    print(
        f"logins (all at the start, left out of the table): {len(summary.get('login_ms', []))}"
        f", median {login_ms[len(login_ms) // 2]:.0f} ms, max {login_ms[-1]:.0f} ms; "
        f"failed requests in the whole run: {summary.get('failures')}"
    )
    print_stats(rows)
    for failure in failures[:20]:
        print(f"failed {failure['Occurrences']}×: {failure['Method']} {failure['Name']}: ", end="")
        print(failure["Error"][:300])
    for exception in exceptions[:10]:
        print(f"exception {exception['Count']}×: {exception['Message'][:300]}")
    assert rows, f"locust wrote no statistics:\n{tail(tmp_path / 'locust.log')}"
    failed = sum(int(_number(row, "Failure Count")) for row in rows if row["Name"] != "Aggregated")
    assert summary, f"locust wrote no summary:\n{tail(tmp_path / 'locust.log')}"
    assert not summary["failures"], "failed requests:\n" + "\n".join(summary["failure_samples"])
    assert not failed and not exceptions, (
        f"{failed} failed requests, {len(exceptions)} exceptions; gunicorn's log:\n"
        f"{tail(server_log)}"
    )
