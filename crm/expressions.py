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


class InIdList(Func):
    """`column IN (ids)` for a long list of ids read from the database before (thousands):
    on PostgreSQL one array parameter (`= ANY(%s)`), which the planner hashes, where Django's
    `__in` writes a placeholder per id (45k of them: 270 ms in psql against 90 ms); elsewhere
    the ids written into the SQL as integers, clear of SQLite's limit on placeholders."""

    output_field = BooleanField()

    def __init__(self, column: str, ids):
        super().__init__(F(column))
        self.ids = [int(pk) for pk in ids]

    def as_sql(self, compiler, connection, **extra):
        column_sql, params = compiler.compile(self.get_source_expressions()[0])
        if not self.ids:
            return "1 = 0", ()
        return f"{column_sql} IN ({', '.join(map(str, self.ids))})", tuple(params)

    def as_postgresql(self, compiler, connection, **extra):
        column = self.get_source_expressions()[0]
        column_sql, params = compiler.compile(column)
        # Cast to the column's type: a list of ints goes as int4[], and bigint = int4 is
        # tested id by id (each customer against every id: 14 s), not hashed. The ids go as
        # one array literal: psycopg quotes a list of ints element by element (42k ids: 65–90
        # ms, against 10 ms for the text), and a literal cast straight to the array type is
        # a constant, parsed once and hashed (through ::text it would be parsed per row).
        array_type = column.output_field.cast_db_type(connection)
        literal = "{" + ",".join(map(str, self.ids)) + "}"
        return f"{column_sql} = ANY(%s::{array_type}[])", (*params, literal)
