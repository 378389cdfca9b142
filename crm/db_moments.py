"""Moments go to PostgreSQL in UTC.

Python reads offsets up to ±23:59 (a form or API input such as `2030-01-01T10:00+21:27`) and
PostgreSQL refuses any past ±15:59, so a moment written with such an offset made every query
or save that carried it a server error. The text dumper (Django binds parameters on the
client, as text) now writes aware datetimes in UTC: the same moment, always in range.
"""

from datetime import UTC, datetime


def send_moments_in_utc() -> None:
    try:
        import psycopg
        from psycopg.types.datetime import DatetimeDumper
    except ImportError:  # SQLite only: nothing to adapt
        return

    class UtcDatetimeDumper(DatetimeDumper):
        def dump(self, obj: datetime):
            if obj.tzinfo is not None:
                try:
                    obj = obj.astimezone(UTC)
                except OverflowError:
                    pass  # before the year 1 in UTC: PostgreSQL answers for it
            return super().dump(obj)

    psycopg.adapters.register_dumper(datetime, UtcDatetimeDumper)
