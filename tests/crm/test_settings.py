"""Settings come from the environment; each check runs Django in a fresh process."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "a-long-random-production-secret-" + "x" * 40,
    "ALLOWED_HOSTS": "crm.example.com",
    "DATABASE_URL": "sqlite:////tmp/crm-deploy-check.sqlite3",
}

SHOW_SETTINGS = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "db = s.DATABASES['default']; "
    "print(json.dumps({'db': db['ENGINE'], 'name': db['NAME'], 'host': db.get('HOST'), "
    "'cache': s.CACHES['default']['BACKEND'], 'shared_cache': s.CACHES['shared']['BACKEND'], "
    "'broker': s.CELERY_BROKER_URL, 'tz': s.TIME_ZONE}))"
)


def run_django(code_or_args, env_overrides, *, python_code=True):
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG", "CRM_TESTING"}
        | {"DJANGO_ALLOW_ASYNC_UNSAFE"}  # set while browser tests run; never in deployment
    }
    env.update({"DJANGO_SETTINGS_MODULE": "crm.settings", **env_overrides})
    args = (
        [sys.executable, "-c", code_or_args]
        if python_code
        else [sys.executable, "manage.py", *code_or_args]
    )
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_missing_secret_key_with_debug_off_fails_with_a_clear_message():
    result = run_django(SHOW_SETTINGS, {"DEBUG": "false"})

    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_debug_on_runs_without_a_secret_key():
    result = run_django(SHOW_SETTINGS, {"DEBUG": "true"})
    assert result.returncode == 0, result.stderr


def test_defaults_are_sqlite_local_memory_and_the_embedded_broker():
    result = run_django(SHOW_SETTINGS, {"DEBUG": "true"})
    shown = json.loads(result.stdout)

    assert shown["db"] == "django.db.backends.sqlite3"
    assert shown["name"].endswith("var/crm.sqlite3")
    assert shown["cache"].endswith("LocMemCache")
    # Rate limits count where every process sees the same number.
    assert shown["shared_cache"] == "crm.cache.DatabaseCache"
    assert shown["broker"] == "filesystem://"


def test_a_trusted_proxy_that_is_not_an_address_fails_with_a_clear_message():
    result = run_django(
        SHOW_SETTINGS, {"DEBUG": "true", "CRM_TRUSTED_PROXIES": "10.0.0.0/8,proxy.internal"}
    )

    assert result.returncode != 0
    assert "CRM_TRUSTED_PROXIES: 'proxy.internal' is not an IP address" in result.stderr


def test_database_url_and_redis_url_are_honoured():
    result = run_django(
        SHOW_SETTINGS,
        {
            "DEBUG": "true",
            "DATABASE_URL": "postgres://crm:pw@db.internal:5432/crmdb",
            "REDIS_URL": "redis://cache.internal:6379/2",
            "TIME_ZONE": "Europe/Lisbon",
        },
    )
    shown = json.loads(result.stdout)

    assert shown["db"] == "django.db.backends.postgresql"
    assert (shown["name"], shown["host"]) == ("crmdb", "db.internal")
    assert shown["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert shown["shared_cache"] == "django.core.cache.backends.redis.RedisCache"
    assert shown["broker"] == "redis://cache.internal:6379/2"
    assert shown["tz"] == "Europe/Lisbon"


def test_check_deploy_passes_with_production_settings():
    result = run_django(
        ["check", "--deploy", "--fail-level", "WARNING"], PRODUCTION_ENV, python_code=False
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_suite_runs_on_the_database_it_was_given(db):
    from django.db import connection

    url = os.environ.get("DATABASE_URL", "")
    assert connection.vendor == ("postgresql" if url.startswith("postgres") else "sqlite")
