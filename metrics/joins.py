"""Per-company aggregates joined to a queryset of companies: `LEFT JOIN (SELECT company_id,
COUNT(…) … GROUP BY company_id) ON company_id = company.id`.

A correlated subquery per company runs once per customer (a hundred thousand index reads per
subquery on the large seed); an aggregate grouped by company reads its table once and is
joined by a hash join. Django has no public API for joining a subquery, so `join_grouped` adds
the FROM entry itself: `GroupedJoin` is an alias_map entry as Django's own Join (it renders,
relabels, promotes and demotes), and `JoinedColumn` reads one of its columns. The result is an
ordinary queryset: filters, counts, breakdowns (`values().annotate()`), `pk__in` subqueries,
pagination and select_related keep working on it.
"""

from django.db.models import Expression, QuerySet
from django.db.models.sql.constants import INNER, LOUTER


class GroupedJoin:
    """`LEFT OUTER JOIN (<grouped>) alias ON alias.<key> = parent.<pk column>`."""

    filtered_relation = None
    nullable = True

    def __init__(self, grouped, key, parent_column, name, parent_alias, table_alias=None):
        self.grouped = grouped
        self.key = key
        self.parent_column = parent_column
        # A name of its own, so Django gives each joined aggregate a distinct alias.
        self.table_name = name
        self.parent_alias = parent_alias
        self.table_alias = table_alias
        self.join_type = LOUTER

    def as_sql(self, compiler, connection):
        sql, params = self.grouped.query.get_compiler(connection=connection).as_sql()
        quote = compiler.quote_name_unless_alias
        condition = (
            f"{quote(self.table_alias)}.{connection.ops.quote_name(self.key)} = "
            f"{quote(self.parent_alias)}.{connection.ops.quote_name(self.parent_column)}"
        )
        return f"{self.join_type} ({sql}) {quote(self.table_alias)} ON ({condition})", params

    def relabeled_clone(self, change_map):
        clone = self.__class__(
            self.grouped,
            self.key,
            self.parent_column,
            self.table_name,
            change_map.get(self.parent_alias, self.parent_alias),
            change_map.get(self.table_alias, self.table_alias),
        )
        clone.join_type = self.join_type
        return clone

    @property
    def identity(self):
        return self.__class__, self.table_name, self.parent_alias, self.table_alias

    def __eq__(self, other):
        if not isinstance(other, GroupedJoin):
            return NotImplemented
        return self.identity == other.identity

    def __hash__(self):
        return hash(self.identity)

    def demote(self):
        # An inner join would drop the companies without rows: it stays a left join.
        return self.relabeled_clone({})

    def promote(self):
        new = self.relabeled_clone({})
        new.join_type = LOUTER
        return new


class JoinedColumn(Expression):
    """A column of a GroupedJoin, NULL for a company without rows."""

    def __init__(self, alias: str, column: str, output_field):
        super().__init__(output_field=output_field)
        self.alias, self.column = alias, column

    def __repr__(self):
        return f"{self.__class__.__name__}({self.alias}, {self.column})"

    def as_sql(self, compiler, connection):
        alias = compiler.quote_name_unless_alias(self.alias)
        return f"{alias}.{connection.ops.quote_name(self.column)}", []

    def relabeled_clone(self, change_map):
        return self.__class__(
            change_map.get(self.alias, self.alias), self.column, self.output_field
        )

    def get_group_by_cols(self):
        return [self]

    @property
    def identity(self):
        return self.__class__, self.alias, self.column

    def __eq__(self, other):
        return isinstance(other, JoinedColumn) and self.identity == other.identity

    def __hash__(self):
        return hash(self.identity)


def join_grouped(
    queryset: QuerySet, grouped: QuerySet, *, key: str, name: str
) -> tuple[QuerySet, str]:
    """`queryset` (of the model whose primary key `key` names) left-joined to `grouped`, a
    `values(key).annotate(...)` queryset; returns it and the join's alias for JoinedColumn."""
    queryset = queryset.all()
    query = queryset.query
    pk_column = queryset.model._meta.pk.column
    join = GroupedJoin(grouped.order_by(), key, pk_column, name, query.get_initial_alias())
    alias = query.join(join)
    assert query.alias_map[alias].join_type != INNER
    return queryset, alias
