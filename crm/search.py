"""The header search: one `search(queryset, term)` for leads, contacts, companies and deals.

On PostgreSQL a term matches through indexes made in migration 0012_search:
- full-text search over the record's words (`websearch` syntax, plus a prefix query so that
  "acm" finds "Acme"), one GIN index on the same `to_tsvector` expression per table;
- trigram indexes for the parts words do not reach: infix of an email or domain, and phone
  numbers compared on their digits only, so "555-1234" finds "+1 555 1234".
On SQLite (local runs) the same fields are matched with `icontains`.

On a big table, the first CANDIDATES matches of a term that matches few of its rows (by the
planner's estimate) are read from the GIN index, with table scans off for that one query: see
INDEX_SHARE.

The expressions below are written to be *identical* to the indexed ones: change both together.
"""

import json
import re
import time
from dataclasses import dataclass

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVectorField
from django.db import connection, connections, transaction
from django.db.models import F, Func, Q, QuerySet, Value
from django.db.models.functions import Lower, Replace

from crm.models import Company, Contact, Deal, Lead

# Rows whose match is ranked; the rest of a very common term's matches are not looked at, so
# a search costs the same on a million deals as on a hundred.
CANDIDATES = 200
# On a table this big, a term matching under INDEX_SHARE of its rows (by PostgreSQL's own
# estimate) has its candidates read from the GIN index. PostgreSQL reads the table in order
# instead, stopping at the 200th match: right for a broad word ("plan", 45 % of the deals:
# 4 ms, against 205 ms from the index), wrong for a company's name ("Maple", 2 %: 37k rows
# read, each row's to_tsvector computed, 65-95 ms, against 15 ms), as it underrates what
# computing to_tsvector costs.
INDEX_MIN_ROWS = 50_000
INDEX_SHARE = 0.05
ROW_COUNTS_FOR = 300  # seconds a table's row count (pg_class.reltuples) is reused
MIN_PHONE_DIGITS = 3
PHONE_CHARS = re.compile(r"^[\d\s+().\-/]+$")


@dataclass(frozen=True)
class Fields:
    words: tuple[str, ...]  # in the full-text document
    identifiers: tuple[str, ...] = ()  # emails, domains: trigram on lower(field)
    phones: tuple[str, ...] = ()  # trigram on the digits


SEARCH_FIELDS: dict[type, Fields] = {
    Lead: Fields(
        words=("name", "email", "company_name"), identifiers=("email",), phones=("phone",)
    ),
    Contact: Fields(
        words=("first_name", "last_name", "email"), identifiers=("email",), phones=("phone",)
    ),
    Company: Fields(words=("name", "domain"), identifiers=("domain",)),
    Deal: Fields(words=("name",)),
}


class Document(Func):
    """to_tsvector('simple', COALESCE(a, '') || ' ' || COALESCE(b, '') ...), as indexed."""

    template = "to_tsvector('simple'::regconfig, %(expressions)s)"
    arg_joiner = " || ' ' || "
    output_field = SearchVectorField()

    def __init__(self, *fields: str):
        parts = [Func(F(name), template="COALESCE(%(expressions)s, '')") for name in fields]
        super().__init__(*parts)


class Digits(Func):
    """The digits of a phone number (PostgreSQL), as indexed."""

    template = "regexp_replace(%(expressions)s, '[^0-9]', '', 'g')"


def document_sql(model) -> str:
    """The indexed full-text expression for a model, for the migration."""
    columns = [
        f"COALESCE({model._meta.get_field(name).column}, '')" for name in SEARCH_FIELDS[model].words
    ]
    return "to_tsvector('simple'::regconfig, " + " || ' ' || ".join(columns) + ")"


def search(queryset: QuerySet, term: str) -> QuerySet:
    """Rows of `queryset` matching `term`, best first (the caller slices and adds joins)."""
    term = " ".join((term or "").split())[:100]
    fields = SEARCH_FIELDS[queryset.model]
    if not term:
        return queryset.none()
    if connection.vendor == "postgresql":
        return _search_postgresql(queryset, term, fields)
    return _search_fallback(queryset, term, fields)


def _search_postgresql(queryset: QuerySet, term: str, fields: Fields) -> QuerySet:
    query = SearchQuery(term, config="simple", search_type="websearch")
    # An email-like term is matched whole (and by trigram below), not word by word.
    prefix = None if "@" in term else _prefix_query(term)
    if prefix is not None:
        query = query | prefix
    matches = Q(document=query)
    queryset = queryset.annotate(document=Document(*fields.words))
    lowered = term.lower()
    if len(lowered) >= 3 and ("@" in lowered or "." in lowered):
        for name in fields.identifiers:
            alias = f"lower_{name}"
            queryset = queryset.annotate(**{alias: Lower(name)})
            matches |= Q(**{f"{alias}__contains": lowered})
    digits = _phone_digits(term)
    if digits:
        for name in fields.phones:
            alias = f"digits_{name}"
            queryset = queryset.annotate(**{alias: Digits(F(name))})
            matches |= Q(**{f"{alias}__contains": digits})
    # No ordering here: the first matches the indexes yield are the candidates.
    candidates = queryset.filter(matches).order_by().values("pk")[:CANDIDATES]
    model = queryset.model
    if _words_are_selective(model, fields, query, queryset.db):
        candidates = _ids_read_from_index(candidates, queryset.db)
    rank = SearchRank(Document(*fields.words), query)
    return (
        model._default_manager.filter(pk__in=candidates)
        .annotate(rank=rank)
        .order_by("-rank", "-pk")
    )


def _words_are_selective(model, fields: Fields, query: SearchQuery, using: str) -> bool:
    """Whether the words match under INDEX_SHARE of a big table's rows, by the planner's
    estimate (an EXPLAIN, planned and not run: 1-4 ms)."""
    rows = _row_count(model, using)
    if rows < INDEX_MIN_ROWS:
        return False
    matching = model._default_manager.using(using).annotate(document=Document(*fields.words))
    plan = json.loads(matching.filter(document=query).explain(format="json"))
    return plan[0]["Plan"]["Plan Rows"] < INDEX_SHARE * rows


_row_counts: dict[tuple[str, str], tuple[float, float]] = {}


def _row_count(model, using: str) -> float:
    """The table's row count as PostgreSQL last estimated it, reused for ROW_COUNTS_FOR."""
    key = (using, model._meta.db_table)
    counted_at, rows = _row_counts.get(key, (0.0, 0.0))
    if time.monotonic() - counted_at > ROW_COUNTS_FOR:
        with connections[using].cursor() as cursor:
            cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [key[1]])
            found = cursor.fetchone()
        rows = max(float(found[0]), 0.0) if found else 0.0
        _row_counts[key] = (time.monotonic(), rows)
    return rows


# Left on: bitmap scans, the one way to read a GIN index. Off, a plain scan of another index
# (the names' sort index) is a table scan in disguise: 536k rows read for "Maple", 2.2 s.
TABLE_SCANS = ("enable_seqscan", "enable_indexscan", "enable_indexonlyscan")


def _ids_read_from_index(candidates: QuerySet, using: str) -> list[int]:
    """The candidates' ids, read from the GIN index: every other way of reading the table is
    off for this one query (one statement to set, inside a transaction that ends the setting).
    An outer transaction would keep it: it is put back after the query. If the query fails,
    rolling back to the savepoint undoes SET LOCAL, and the error is the query's own."""
    connection = connections[using]
    outer = connection.in_atomic_block
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute("; ".join(f"SET LOCAL {name} = off" for name in TABLE_SCANS))
        ids = [row["pk"] for row in candidates]
        if outer:
            cursor.execute("; ".join(f"SET LOCAL {name} = DEFAULT" for name in TABLE_SCANS))
    return ids


def _prefix_query(term: str) -> SearchQuery | None:
    """'acm corp' → acm:* & corp:* (every word a prefix), from letters and digits only."""
    words = re.findall(r"\w+", term)
    if not words:
        return None
    raw = " & ".join(f"{word}:*" for word in words[:8])
    return SearchQuery(raw, config="simple", search_type="raw")


def _phone_digits(term: str) -> str:
    if not PHONE_CHARS.match(term):
        return ""
    digits = re.sub(r"\D", "", term)
    return digits if len(digits) >= MIN_PHONE_DIGITS else ""


def _search_fallback(queryset: QuerySet, term: str, fields: Fields) -> QuerySet:
    """Every word in some field (SQLite and other databases: no index, small data)."""
    matches = Q()
    for word in term.split():
        matches &= Q(*(Q(**{f"{name}__icontains": word}) for name in fields.words), _connector="OR")
    digits = _phone_digits(term)
    if digits:
        for name in fields.phones:
            alias = f"digits_{name}"
            queryset = queryset.annotate(**{alias: _strip_phone(name)})
            matches |= Q(**{f"{alias}__contains": digits})
    return queryset.filter(matches).order_by("-pk")


def _strip_phone(name: str):
    expression = F(name)
    for char in (" ", "-", "(", ")", ".", "+", "/"):
        expression = Replace(expression, Value(char), Value(""))
    return expression
