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
def grouping_in_index_order() -> Iterator[None]:
    """On PostgreSQL, group in the order an index already holds rather than by hashing, for
    the queries inside (one transaction). For a grouping the planner misjudges: the duplicate
    emails of 600k leads, read in order from crm 0037's index, take 0.17 s; hashed, as the
    planner prefers with 64 MB of work_mem, 0.53 s."""
    with _transaction_setting("enable_hashagg", "off"):
        yield


@contextmanager
def one_process() -> Iterator[None]:
    """On PostgreSQL, run the queries inside (one transaction) without parallel workers. For a
    scan that tests each row against a subquery's hashed set, which each worker builds again:
    a data-quality team score grouped 600k leads' emails three times. In one process it takes
    a third of the CPU for the same time on a quiet machine, and less time on a busy one (0.74-
    0.83 s against 1.1-1.2 s beside a test run)."""
    with _transaction_setting("max_parallel_workers_per_gather", "0"):
        yield


@contextmanager
def _transaction_setting(name: str, value: str) -> Iterator[None]:
    """On PostgreSQL, one transaction with `name` set to `value` inside it alone (SET LOCAL)."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config(%s, %s, true)", [name, value])
        yield
