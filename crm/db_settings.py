"""Session settings for long analytical work on PostgreSQL: the KPI backfill after a seed and
the nightly snapshot fill run thousands of distinct aggregate queries once each.

With the default 4 MB of work_mem, grouping a hundred thousand companies spills to disk (one
health score of a closed month went from seconds to minutes). JIT is off for every connection
already (crm/settings.py). The pages set the same per transaction
(metrics.numbers.aggregate_settings).
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

ANALYTICAL_WORK_MEM = "64MB"


@contextmanager
def analytical_session() -> Iterator[None]:
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET work_mem = %s", [ANALYTICAL_WORK_MEM])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET work_mem")
