"""The shared cache when Redis is not configured: Django's database cache, with a counter that
every web process can trust.

Rate limits count with `add` then `incr`. Django's database cache increments by reading the
value and writing it back, so two processes posting at once both write n + 1, and the write
resets the entry's expiry to the default timeout: a one-hour limit forgot its count five
minutes after the last post. Here `incr` locks the row, adds and keeps the expiry.
"""

import base64
import pickle

from django.core.cache.backends.db import DatabaseCache as DjangoDatabaseCache
from django.db import connections, models, router, transaction
from django.utils.timezone import now


class DatabaseCache(DjangoDatabaseCache):
    def incr(self, key, delta=1, version=None):
        key = self.make_and_validate_key(key, version=version)
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        quote_name = connection.ops.quote_name
        table = quote_name(self._table)
        # PostgreSQL locks the row; SQLite takes the database's write lock when the
        # transaction begins (transaction_mode IMMEDIATE in settings).
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        with transaction.atomic(using=db), connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {quote_name('value')}, {quote_name('expires')} FROM {table} "
                f"WHERE {quote_name('cache_key')} = %s{lock}",
                [key],
            )
            row = cursor.fetchone()
            if row is None or _as_datetime(row[1], connection) < now():
                raise ValueError(f"Key '{key}' not found")
            value = pickle.loads(base64.b64decode(connection.ops.process_clob(row[0]).encode()))
            value += delta
            encoded = base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1")
            cursor.execute(
                f"UPDATE {table} SET {quote_name('value')} = %s "
                f"WHERE {quote_name('cache_key')} = %s",
                [encoded, key],
            )
        return value

    def decr(self, key, delta=1, version=None):
        return self.incr(key, -delta, version=version)


def _as_datetime(value, connection):
    """The `expires` column as an aware datetime, converted as Django's own cache does."""
    expression = models.Expression(output_field=models.DateTimeField())
    for converter in connection.ops.get_db_converters(expression) + expression.get_db_converters(
        connection
    ):
        value = converter(value, expression, connection)
    return value
