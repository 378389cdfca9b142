"""Past one web process, every state that processes share is where all of them see it: with
REDIS_URL, the cache, the rate-limit counts, the sessions (written through to the database)
and the broker are in Redis; the login lockout and the locks (the nightly fill's lease, the
claims of events) are rows of the primary database. Each check runs Django in a fresh process,
as settings are read once, at start."""

import json
import uuid

import pytest
import redis

from tests.crm.test_settings import run_django
from tests.services import require_redis

SHOW_SHARED_STATE = """
import json, os, django
django.setup()
from django.conf import settings as s
from django.core.cache import caches
from axes.conf import settings as axes_settings
def backend(alias):
    return {"backend": s.CACHES[alias]["BACKEND"], "location": s.CACHES[alias].get("LOCATION")}
probe = os.environ.get("SHARED_STATE_PROBE")
if probe:  # count twice under this key, as a rate limit does
    caches[s.RATELIMIT_USE_CACHE].add(probe, 1, 60)
    caches[s.RATELIMIT_USE_CACHE].incr(probe)
print(json.dumps({
    "cache": backend("default"),
    "rate_limits": backend(s.RATELIMIT_USE_CACHE),
    "session_engine": s.SESSION_ENGINE,
    "session_cache": backend(s.SESSION_CACHE_ALIAS),
    "axes_handler": axes_settings.AXES_HANDLER,
    "broker": s.CELERY_BROKER_URL,
    "results": s.CELERY_RESULT_BACKEND,
}))
"""

REDIS_CACHE = "django.core.cache.backends.redis.RedisCache"


def shared_state(env: dict) -> dict:
    result = run_django(SHOW_SHARED_STATE, env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.redis
def test_with_redis_every_shared_state_is_in_redis_or_the_primary():
    url = require_redis()
    probe = f"shared-state-probe-{uuid.uuid4().hex}"

    shown = shared_state({"DEBUG": "true", "REDIS_URL": url, "SHARED_STATE_PROBE": probe})

    redis_cache = {"backend": REDIS_CACHE, "location": url}
    assert shown["cache"] == redis_cache  # chart data, board sums, DRF's API throttles
    assert shown["rate_limits"] == redis_cache  # django-ratelimit (password reset, forms)
    assert shown["session_engine"] == "django.contrib.sessions.backends.cached_db"
    assert shown["session_cache"] == redis_cache
    assert shown["broker"] == url and shown["results"] == url
    # Kept in the database on purpose: listed in the admin, read on the primary (db_router).
    assert shown["axes_handler"] == "axes.handlers.database.AxesDatabaseHandler"
    # The count the other process made is in Redis, where every process reads it.
    client = redis.Redis.from_url(url)
    keys = client.keys(f"*{probe}")
    try:
        assert len(keys) == 1 and int(client.get(keys[0])) == 2
    finally:
        client.delete(*keys)


def test_without_redis_shared_state_is_in_the_database():
    shown = shared_state({"DEBUG": "true"})

    assert shown["rate_limits"]["backend"] == "crm.cache.DatabaseCache"
    assert shown["session_engine"] == "django.contrib.sessions.backends.db"
    assert shown["axes_handler"] == "axes.handlers.database.AxesDatabaseHandler"
