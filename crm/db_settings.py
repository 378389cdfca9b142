"""Session settings for long analytical work on PostgreSQL: the KPI backfill after a seed and
the nightly snapshot fill run thousands of distinct aggregate queries once each.

With the default 4 MB of work_mem, grouping a hundred thousand companies spills to disk (one
health score of a closed month went from seconds to minutes). JIT is off for every connection
already (crm/settings.py). The pages set the same per transaction
(metrics.numbers.aggregate_settings).
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction

ANALYTICAL_WORK_MEM = "64MB"


@contextmanager
def analytical_session() -> Iterator[None]:
    """The connection's work_mem raised for the work inside, then put back as it was, so it
    nests: each snapshot write sets it (metrics.fill), inside a nightly run that does too."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('work_mem')")
        [before] = cursor.fetchone()
        cursor.execute("SELECT set_config('work_mem', %s, false)", [ANALYTICAL_WORK_MEM])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('work_mem', %s, false)", [before])


@contextmanager
def one_process() -> Iterator[None]:
    """On PostgreSQL, run the queries inside (one transaction) without parallel workers and
    with memory to hash a subquery's set. For a scan that tests each row against such a set,
    which each worker builds again: a data-quality tally grouped 600k leads' emails three
    times. In one process it takes a third of the CPU for the same time on a quiet machine,
    and less time on a busy one (0.74-0.83 s against 1.1-1.2 s beside a test run). With the
    default 4 MB the planner does not hash the set of 160k repeated emails, and groups them
    all again for each lead (minutes)."""
    settings = {"max_parallel_workers_per_gather": "0", "work_mem": ANALYTICAL_WORK_MEM}
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            # set_config(..., true) is SET LOCAL, for this transaction alone.
            calls = ", ".join(["set_config(%s, %s, true)"] * len(settings))
            cursor.execute(f"SELECT {calls}", [part for pair in settings.items() for part in pair])
        yield
