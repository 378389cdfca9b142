"""Rate limits count per client, once for the whole site: the count lives in the shared cache
(Redis, or the database), and the client is the address a trusted proxy vouches for, never
what a client writes in X-Forwarded-For."""

import json
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from crm.client_ip import UNKNOWN, client_ip
from tests.services import ROOT, in_ci, postgres_url, reachable, worker_env

CONTACT = reverse("support-contact")
REDIS_DB5 = "redis://127.0.0.1:6379/5"


def address(remote_addr, forwarded=None, proxies=(), settings=None):
    settings.CRM_TRUSTED_PROXIES = list(proxies)
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return client_ip(RequestFactory().get("/", REMOTE_ADDR=remote_addr, **headers))


# Which address counts


def test_forwarded_for_is_ignored_without_a_trusted_proxy(settings):
    assert address("203.0.113.7", "192.0.2.1", settings=settings) == "203.0.113.7"
    assert address("203.0.113.7", "192.0.2.1", ["10.0.0.0/8"], settings) == "203.0.113.7"


def test_from_a_trusted_proxy_the_right_most_untrusted_address_counts(settings):
    proxies = ["10.0.0.0/8", "172.16.0.5"]
    # What the client wrote, then what each proxy appended.
    chain = "1.1.1.1, 198.51.100.4, 172.16.0.5"
    assert address("10.0.0.2", chain, proxies, settings) == "198.51.100.4"
    assert address("10.0.0.2", "198.51.100.4", proxies, settings) == "198.51.100.4"
    assert address("10.0.0.2", "[2001:db8::1]:443", proxies, settings) == "2001:db8::1"
    assert address("10.0.0.2", "198.51.100.4:51234", proxies, settings) == "198.51.100.4"


def test_a_proxy_request_without_a_usable_header_counts_as_the_last_trusted_hop(settings):
    proxies = ["10.0.0.0/8"]
    assert address("10.0.0.2", None, proxies, settings) == "10.0.0.2"
    assert address("10.0.0.2", "not-an-ip", proxies, settings) == "10.0.0.2"
    assert address("10.0.0.2", "198.51.100.4, junk, 10.0.0.9", proxies, settings) == "10.0.0.9"


def test_a_missing_or_odd_remote_address_is_one_shared_client(settings):
    assert address("", settings=settings) == UNKNOWN
    assert address("unix:/run/gunicorn.sock", settings=settings) == UNKNOWN


@pytest.mark.django_db
def test_a_forged_forwarded_for_does_not_escape_the_limit(client, settings):
    settings.CRM_PUBLIC_FORM_RATE = "3/m"
    statuses = [
        client.post(
            CONTACT, {}, REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}"
        ).status_code
        for n in range(4)
    ]
    assert statuses == [400, 400, 400, 429]


@pytest.mark.django_db
def test_behind_a_trusted_proxy_each_client_has_its_own_limit(client, settings):
    settings.CRM_PUBLIC_FORM_RATE = "3/m"
    settings.CRM_TRUSTED_PROXIES = ["10.0.0.2"]

    def post(client_address):
        return client.post(
            CONTACT, {}, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=client_address
        ).status_code

    assert [post("198.51.100.4") for _ in range(4)] == [400, 400, 400, 429]
    assert post("198.51.100.5") == 400


# Where the count lives


@pytest.fixture
def database_cache(settings):
    """The shared cache used when Redis is not configured, on the database of this run."""
    from django.core.cache import caches
    from django.core.management import call_command

    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "shared": {"BACKEND": "crm.cache.DatabaseCache", "LOCATION": "crm_cache"},
    }
    call_command("createcachetable", verbosity=0)
    return caches["shared"]


@pytest.mark.django_db
def test_a_one_hour_count_keeps_its_expiry_when_it_grows(database_cache):
    """Django's database cache rewrote the entry on each increment with the default five
    minute timeout: an hourly limit forgot its count five minutes after the last post."""
    database_cache.add("hourly-count", 1, 3600)
    assert [database_cache.incr("hourly-count") for _ in range(3)] == [2, 3, 4]

    assert database_cache.get("hourly-count") == 4
    with connection.cursor() as cursor:
        cursor.execute("SELECT expires FROM crm_cache")
        (expires,) = cursor.fetchone()
    if isinstance(expires, str):  # SQLite keeps UTC as text
        expires = datetime.fromisoformat(expires)
    assert expires.replace(tzinfo=UTC) > timezone.now() + timedelta(minutes=55)


@pytest.mark.django_db
def test_an_increment_of_a_missing_or_expired_count_is_refused(database_cache):
    database_cache.add("expired", 1, -1)
    with pytest.raises(ValueError):
        database_cache.incr("never-added")
    with pytest.raises(ValueError):
        database_cache.incr("expired")


# One web process per child: each posts to the contact form as soon as all are ready, as
# three gunicorn workers behind one address would.
WORKER = """
import json, sys, time
from pathlib import Path
import django
django.setup()
from django.core.management import call_command
from django.test import RequestFactory
from crm.views.public import contact_support
work, n = Path(sys.argv[1]), sys.argv[2]
if n == "0":
    call_command("createcachetable", verbosity=0)
(work / f"ready-{n}").touch()
while not (work / "go").exists():
    time.sleep(0.005)
request = lambda: RequestFactory().post("/support/", {}, REMOTE_ADDR="192.0.2.50")
print(json.dumps([contact_support(request()).status_code for _ in range(10)]))
"""


# The shared caches of this run: the database cache always (on the run's database server),
# Redis (its database 5) when the run has Redis.
SHARED_CACHES = ["database"] + (["redis"] if os.environ.get("REDIS_URL") else [])


@contextmanager
def scratch_database(tmp_path):
    """A database of the run's kind for the worker processes alone: their cache rows are
    committed, so they cannot live in this test's rolled-back database."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        yield f"sqlite:///{tmp_path}/db.sqlite3"
        return
    import psycopg
    from django.db import connection

    name = f"crm_ratelimit_{os.getpid()}"
    admin = postgres_url({**connection.settings_dict, "NAME": "postgres"})
    with psycopg.connect(admin, autocommit=True) as server:
        server.execute(f"DROP DATABASE IF EXISTS {name}")
        server.execute(f"CREATE DATABASE {name}")
    try:
        yield postgres_url({**connection.settings_dict, "NAME": name})
    finally:
        with psycopg.connect(admin, autocommit=True) as server:
            server.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def redis_db5() -> str:
    if not reachable(REDIS_DB5):
        message = f"Redis is not reachable at {REDIS_DB5}"
        if in_ci():
            pytest.fail(message + " (CI=true: services are required)")
        pytest.skip(message)
    import redis

    redis.Redis.from_url(REDIS_DB5).flushdb()
    return REDIS_DB5


@pytest.mark.parametrize("shared_cache", SHARED_CACHES)
def test_three_processes_posting_at_once_share_one_limit(shared_cache, tmp_path):
    # A daily window: the three processes never straddle the limit's reset.
    env = worker_env(CRM_PUBLIC_FORM_RATE="10/d")
    if shared_cache == "redis":
        env.update(REDIS_URL=redis_db5(), DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3")
        statuses = run_workers(env, tmp_path)
    else:
        with scratch_database(tmp_path) as database:
            statuses = run_workers({**env, "DATABASE_URL": database}, tmp_path)

    assert len(statuses) == 30
    assert statuses.count(429) == 20  # ten posts in all got through, not ten per process
    assert statuses.count(400) == 10


def run_workers(env, tmp_path) -> list[int]:
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(tmp_path), str(n)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(3)
    ]
    try:
        deadline = time.monotonic() + 60
        while len(list(tmp_path.glob("ready-*"))) < 3:
            assert all(w.poll() is None for w in workers), [w.communicate() for w in workers]
            assert time.monotonic() < deadline, "the worker processes did not start"
            time.sleep(0.02)
        (tmp_path / "go").touch()
        outputs = [w.communicate(timeout=60) for w in workers]
    finally:
        for worker in workers:
            worker.kill()
    assert all(out for out, err in outputs), [err for out, err in outputs]
    return [status for out, err in outputs for status in json.loads(out)]
