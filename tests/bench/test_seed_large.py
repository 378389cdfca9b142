"""How long `seed_demo` takes on PostgreSQL (run with `make bench`, never part of `make test`).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm SEED_SCALE=large make bench

The large scale must finish within 15 minutes on a two-core machine (11.5 min measured for
9 million rows); medium, the default here (~15 s), extrapolates to it: large is 50 times
its rows, a little slower per row as the indexes grow. The time includes the VACUUM (ANALYZE)
of the loaded tables; the command prints each phase's time.
"""

import os
import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from crm.seed import SCALES, SEEDED_MODELS

BUDGET_SECONDS = {"small": 30, "medium": 60, "large": 15 * 60}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_seed_demo_fits_its_time_budget():
    if connection.vendor != "postgresql":
        pytest.skip("the budget is for PostgreSQL")
    scale = os.environ.get("SEED_SCALE", "medium")
    started = time.monotonic()
    out = StringIO()
    call_command("seed_demo", "--scale", scale, stdout=out)
    elapsed = time.monotonic() - started
    phases = out.getvalue().split("Phases:", 1)[-1]

    rows = sum(model.objects.count() for model in SEEDED_MODELS)
    print(
        f"\nseed_demo --scale {scale}: {rows:,} rows in {elapsed:.1f} s ({rows / elapsed:,.0f}/s)"
    )
    print(f"phases (the KPI backfill hooks are off in tests):{phases.rstrip()}")
    if scale != "large":
        factor = SCALES["large"].companies / SCALES[scale].companies
        print(f"large would take about {elapsed * factor / 60:.1f} min at the same rate")
    assert elapsed < BUDGET_SECONDS[scale]
