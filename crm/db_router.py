"""The read-replica router, installed when DATABASE_REPLICA_URL is set (crm/settings.py).

Reads go to the replica only inside a read-only request (crm/read_scope.py: dashboards, KPI
pages and their drill-down and CSV, the KPI API) and only outside a transaction on the
primary. Everything else goes to the primary: every write, every read of any other request,
every read of a Celery task or a command, and every read in a transaction (it may be about to
write what it read). The rows that coordinate processes (sessions, the database cache's rate
limits, the login lockout, API tokens, beat's schedule, the fill lock) are always read on the
primary, where they were just written; so are a user's own dashboards and their cards, which
they open right after editing them.

A replica that lags shows its lag on those pages as staleness: an open period computed live
from the replica counts what the replica holds. Keep it synchronous (or its lag to a second)
when the numbers must agree at once with what a rep just saved.
"""

from django.db import DEFAULT_DB_ALIAS, connections

from crm.read_scope import in_read_only_scope

REPLICA_DB_ALIAS = "replica"

# App labels ("django_cache" is the database cache's table) and "app_label.model" names.
PRIMARY_ONLY = frozenset(
    {
        "sessions",
        "django_cache",
        "axes",
        "api",
        "django_celery_beat",
        "metrics.filllock",
        "metrics.dashboard",
        "metrics.dashboardcard",
    }
)


def _primary_only(model) -> bool:
    meta = model._meta  # the database cache's stand-in has no label_lower
    return meta.app_label in PRIMARY_ONLY or getattr(meta, "label_lower", "") in PRIMARY_ONLY


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        if (
            in_read_only_scope()
            and not _primary_only(model)
            and not connections[DEFAULT_DB_ALIAS].in_atomic_block
        ):
            return REPLICA_DB_ALIAS
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        # The replica holds the primary's rows: a record read on one may point at one read
        # on the other.
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == DEFAULT_DB_ALIAS
