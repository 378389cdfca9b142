"""The page benchmarks read a database seeded beforehand, as it is (no test database):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm .venv/bin/python manage.py \\
        seed_demo --scale large          # once: ~10 min of records, then the KPI snapshots
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm make bench
"""

import os

import environ
import pytest
from django.db import connections

MIN_DEALS = int(os.environ.get("BENCH_MIN_DEALS", "100000"))


@pytest.fixture(scope="session")
def seeded_database(django_db_blocker):
    """Point the connection at the seeded database, even if another bench made a test one;
    skip unless it is PostgreSQL with at least BENCH_MIN_DEALS deals (0 to try a small seed)."""
    from crm.models import Deal

    connection = connections["default"]
    original = connection.settings_dict["NAME"]
    url = os.environ.get("DATABASE_URL")
    name = environ.Env.db_url_config(url)["NAME"] if url else original
    with django_db_blocker.unblock():
        connection.close()
        connection.settings_dict["NAME"] = name
        try:
            if connection.vendor != "postgresql":
                pytest.skip("the benchmarks are for PostgreSQL (set DATABASE_URL)")
            deals = Deal.objects.count()
            if deals < MIN_DEALS:
                pytest.skip(
                    f"{name} holds {deals:,} deals, fewer than {MIN_DEALS:,}: seed it with "
                    "`seed_demo --scale large` first (or set BENCH_MIN_DEALS)"
                )
            yield connection
        finally:
            connection.close()
            connection.settings_dict["NAME"] = original
