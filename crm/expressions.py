"""SQL forms Django's ORM does not write on its own."""

from django.db.models import BooleanField, F, Func, Subquery


class InIdsOf(Func):
    """`column IN (subquery)`, written on PostgreSQL as `column = ANY(ARRAY(subquery))`: the
    subquery runs once, before the outer query, and its ids are probed on the column's index.

    Inside an OR, PostgreSQL cannot turn `IN (subquery)` into a join: it tests every row of
    the outer table against the subquery's hashed rows. When few rows match, an ORDER BY id
    with a LIMIT then reads the whole table backwards to fill its page (1 s on 1.19M
    activities). The ARRAY form lets each branch of the OR be an index probe, merged (a
    bitmap OR) and sorted: fast when the subquery returns few ids, slow when it returns
    hundreds of thousands (each probed), so callers choose it where the ids are few."""

    output_field = BooleanField()

    def __init__(self, column: str, ids_query):
        super().__init__(F(column), Subquery(ids_query))

    def as_sql(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection, template="%(expressions)s", arg_joiner=" IN ")

    def as_postgresql(self, compiler, connection, **extra):
        column, ids = self.get_source_expressions()
        column_sql, column_params = compiler.compile(column)
        ids_sql, ids_params = compiler.compile(ids)
        return f"{column_sql} = ANY(ARRAY{ids_sql})", (*column_params, *ids_params)
