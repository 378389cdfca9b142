"""Possible duplicates: records of one type that look like the same person or company.

Rules, each answered by one indexed query (crm 0025 and 0027), so a page costs the same on
320k contacts as on ten:
- email: the same address in any case (contacts, leads);
- domain: the same web domain (companies; two contacts sharing a domain are colleagues);
- phone: the same last nine digits, whatever the spaces, dashes or country prefix (numbers
  with fewer digits are not compared: extensions, short codes);
- name: names alike. PostgreSQL compares trigrams (pg_trgm, a GIN index per table); SQLite,
  for a quick local run, the names once trimmed and lower-cased.

Only the records the user may see are compared (crm.access): a duplicate hidden from them is
neither listed nor hinted at.
"""

import re
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import connection, models, transaction
from django.db.models import Count, F, Func, Q, QuerySet, Value, Window
from django.db.models.functions import Length, Lower, RowNumber, Trim, Upper
from django.utils.translation import gettext_lazy as _

from crm import access
from crm.models import Company, Contact, Lead

PAGE_SIZE = 25
# Members shown per group (a switchboard number can be shared by hundreds of contacts).
GROUP_MEMBERS = 10
# The warnings and the merge page's suggestions.
SUGGESTIONS = 5
PHONE_DIGITS = 9
# Trigram similarity from which two names count as alike (1 is the same name).
NAME_SIMILARITY = 0.5
SEPARATORS = (" ", "-", "(", ")", "+", ".", "/")


class Rule(models.TextChoices):
    EMAIL = "email", _("Same email")
    DOMAIN = "domain", _("Same web domain")
    PHONE = "phone", _("Same phone number")
    NAME = "name", _("Names alike")


# The field a group of each rule is titled with.
SHOWN_FIELD = {Rule.EMAIL: "email", Rule.DOMAIN: "domain", Rule.PHONE: "phone", Rule.NAME: "name"}


class FullName(Func):
    """A contact's name as people read it. crm 0027 indexes this very expression."""

    arg_joiner = " || ' ' || "
    template = "(%(expressions)s)"
    output_field = models.CharField()

    def __init__(self, **extra):
        super().__init__(F("first_name"), F("last_name"), **extra)


class PhoneKey(Func):
    """The last PHONE_DIGITS digits of a phone number (crm 0027 indexes it on PostgreSQL)."""

    output_field = models.CharField()

    def as_postgresql(self, compiler, connection, **extra):
        template = f"right(regexp_replace(%(expressions)s, '[^0-9]', '', 'g'), {PHONE_DIGITS})"
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_sql(self, compiler, connection, template=None, **extra):
        if template is None:
            template = f"substr({_sqlite_digits('%(expressions)s')}, -{PHONE_DIGITS})"
        return super().as_sql(compiler, connection, template=template, **extra)


class PhoneDigits(Func):
    output_field = models.CharField()

    def as_postgresql(self, compiler, connection, **extra):
        template = "regexp_replace(%(expressions)s, '[^0-9]', '', 'g')"
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_sql(self, compiler, connection, template=None, **extra):
        template = template or _sqlite_digits("%(expressions)s")
        return super().as_sql(compiler, connection, template=template, **extra)


def _sqlite_digits(sql: str) -> str:
    """SQLite has no regular expressions: the usual separators are dropped instead."""
    for separator in SEPARATORS:
        sql = f"replace({sql}, '{separator}', '')"
    return sql


class TrigramMatch(Func):
    """`a % b`: the names share enough trigrams; the GIN trigram index answers it."""

    arg_joiner = " %% "
    template = "(%(expressions)s)"
    output_field = models.BooleanField()


class Similarity(Func):
    function = "similarity"
    output_field = models.FloatField()


@dataclass(frozen=True)
class Kind:
    """A record type the duplicate pages cover."""

    key: str
    model: type[models.Model]
    rules: tuple[str, ...]
    list_url: str
    detail_url: str

    @property
    def label(self) -> str:
        return self.model._meta.verbose_name

    @property
    def label_plural(self) -> str:
        return self.model._meta.verbose_name_plural


KINDS = {
    "contact": Kind(
        "contact", Contact, (Rule.EMAIL, Rule.PHONE, Rule.NAME), "contacts", "contact-detail"
    ),
    "company": Kind("company", Company, (Rule.DOMAIN, Rule.NAME), "companies", "company-detail"),
    "lead": Kind("lead", Lead, (Rule.EMAIL, Rule.PHONE, Rule.NAME), "leads", "lead-detail"),
}
KIND_OF_MODEL = {kind.model: kind for kind in KINDS.values()}


def uses_trigrams() -> bool:
    return connection.vendor == "postgresql"


@contextmanager
def names_compared():
    """Around name comparisons: on PostgreSQL the trigram index itself keeps only the names
    alike from NAME_SIMILARITY (pg_trgm's default, 0.3, hands thousands of rows to recheck).
    The setting lasts until the transaction ends."""
    if not uses_trigrams():
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('pg_trgm.similarity_threshold', %s, true)", [str(NAME_SIMILARITY)]
        )
        yield


# --- Keys: one value two duplicates share --------------------------------------------------


def name_expression(model) -> Func | F:
    return FullName() if model is Contact else F("name")


def key_expression(model, rule: str):
    if rule == Rule.EMAIL:
        return Upper("email")
    if rule == Rule.DOMAIN:
        return F("domain")
    if rule == Rule.PHONE:
        return PhoneKey("phone")
    return Lower(Trim(name_expression(model)))


def comparable(queryset: QuerySet, rule: str) -> QuerySet:
    """The rows that have something to compare under `rule`."""
    if rule == Rule.EMAIL:
        return queryset.exclude(email="")
    if rule == Rule.DOMAIN:
        return queryset.exclude(domain="")
    if rule == Rule.PHONE:
        return (
            queryset.exclude(phone="")
            .alias(digits=Length(PhoneDigits("phone")))
            .filter(digits__gte=PHONE_DIGITS)
        )
    return queryset


def phone_key(phone: str) -> str:
    digits = re.sub(r"\D", "", phone or "")
    return digits[-PHONE_DIGITS:] if len(digits) >= PHONE_DIGITS else ""


def domain_key(domain: str) -> str:
    domain = (domain or "").strip().lower()
    domain = re.sub(r"^[a-z]+://", "", domain).split("/")[0]
    return domain.removeprefix("www.")


# --- The duplicates page ---------------------------------------------------------------


@dataclass
class Group:
    """Records that share a key (or, for names on PostgreSQL, one record and those alike)."""

    key: str
    records: list
    total: int = 0

    @property
    def more(self) -> int:
        return max(self.total - len(self.records), 0)


@dataclass
class GroupPage:
    rule: str
    number: int
    groups: list[Group] = field(default_factory=list)
    has_next: bool = False
    # Names on PostgreSQL walk the records, PAGE_SIZE a page: how many this page checked.
    checked: int | None = None

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def duplicate_page(kind: Kind, rule: str, user, number: int = 1) -> GroupPage:
    """One page of possible duplicates of `kind` under `rule`, among the rows `user` sees."""
    number = max(number, 1)
    rows = access.visible(kind.model, user).select_related("owner")
    if rule == Rule.NAME and uses_trigrams():
        return _similar_names_page(kind, rows, user, number)
    keyed = comparable(rows, rule).annotate(dupe_key=key_expression(kind.model, rule))
    offset = (number - 1) * PAGE_SIZE
    counts = list(
        keyed.order_by()
        .values("dupe_key")
        .annotate(total=Count("pk"))
        .filter(total__gt=1)
        .order_by("dupe_key")
        .values_list("dupe_key", "total")[offset : offset + PAGE_SIZE + 1]
    )
    page = GroupPage(rule=rule, number=number, has_next=len(counts) > PAGE_SIZE)
    counts = dict(counts[:PAGE_SIZE])
    members = (
        keyed.filter(dupe_key__in=list(counts))
        .annotate(
            position=Window(RowNumber(), partition_by=[F("dupe_key")], order_by=[F("pk").asc()])
        )
        .filter(position__lte=GROUP_MEMBERS)
        .order_by("dupe_key", "pk")
    )
    groups: dict[str, Group] = {}
    for record in members:
        # The key as the first record writes it (an email as typed, not upper-cased).
        shown = getattr(record, SHOWN_FIELD[rule])
        group = groups.setdefault(
            record.dupe_key, Group(key=shown, records=[], total=counts[record.dupe_key])
        )
        group.records.append(record)
    page.groups = list(groups.values())
    return page


def _similar_names_page(kind: Kind, rows: QuerySet, user, number: int) -> GroupPage:
    """Newest records first, PAGE_SIZE a page, each with the names alike (one indexed query
    each): comparing every pair of 320k names at once is out of a page's reach."""
    offset = (number - 1) * PAGE_SIZE
    window = list(rows.order_by("-created_at", "-pk")[offset : offset + PAGE_SIZE + 1])
    page = GroupPage(
        rule=Rule.NAME,
        number=number,
        has_next=len(window) > PAGE_SIZE,
        checked=min(len(window), PAGE_SIZE),
    )
    shown: set[int] = set()
    with names_compared():
        _gather_alike(kind, window[:PAGE_SIZE], user, page, shown)
    for group in page.groups:
        group.total = len(group.records)
    return page


def _gather_alike(kind: Kind, records: list, user, page: GroupPage, shown: set[int]) -> None:
    for record in records:
        if record.pk in shown:
            continue
        alike = list(
            similar_names(kind.model, record.name, user)
            .exclude(pk=record.pk)
            .select_related("owner")[: GROUP_MEMBERS - 1]
        )
        if alike:
            page.groups.append(Group(key=record.name, records=[record, *alike]))
            shown.update(other.pk for other in [record, *alike])


def similar_names(model, name: str, user) -> QuerySet:
    """Visible records whose name is alike `name`, the most alike first."""
    rows = access.visible(model, user)
    name = (name or "").strip()
    if not name:
        return rows.none()
    expression = name_expression(model)
    if uses_trigrams():
        return (
            rows.filter(TrigramMatch(expression, Value(name)))
            .alias(similarity=Similarity(expression, Value(name)))
            .filter(similarity__gte=NAME_SIMILARITY)
            .order_by("-similarity", "pk")
        )
    return (
        rows.alias(normalised=Lower(Trim(expression)))
        .filter(normalised=name.lower())
        .order_by("pk")
    )


# --- One record's likely duplicates: the create forms' warning and the merge page --------


@dataclass
class Match:
    record: models.Model
    reasons: list[str]


def likely_duplicates(
    model, values: dict, user, *, exclude_pk=None, limit: int = SUGGESTIONS
) -> list[Match]:
    """Visible records like the one `values` describe (field name → value), with why."""
    kind = KIND_OF_MODEL.get(model)
    if kind is None:
        return []
    found: dict[int, Match] = {}
    with names_compared():
        for rule in kind.rules:
            queryset = _matching(model, rule, values, user)
            if queryset is None:
                continue
            if exclude_pk is not None:
                queryset = queryset.exclude(pk=exclude_pk)
            for record in queryset.select_related("owner")[:limit]:
                match = found.setdefault(record.pk, Match(record=record, reasons=[]))
                match.reasons.append(Rule(rule).label)
    return list(found.values())[:limit]


def _matching(model, rule: str, values: dict, user) -> QuerySet | None:
    rows = access.visible(model, user)
    if rule == Rule.EMAIL:
        email = (values.get("email") or "").strip()
        return rows.filter(email__iexact=email).order_by("pk") if email else None
    if rule == Rule.DOMAIN:
        domain = domain_key(values.get("domain") or "")
        if not domain:
            return None
        return rows.filter(Q(domain=domain) | Q(domain=f"www.{domain}")).order_by("pk")
    if rule == Rule.PHONE:
        key = phone_key(values.get("phone") or "")
        if not key:
            return None
        return comparable(rows, rule).alias(key=PhoneKey("phone")).filter(key=key).order_by("pk")
    name = values.get("name")
    if model is Contact:
        name = f"{values.get('first_name') or ''} {values.get('last_name') or ''}"
    return similar_names(model, name or "", user)


def values_of(record) -> dict:
    """The values the rules compare, read from a saved record."""
    names = ("email", "phone", "domain", "name", "first_name", "last_name")
    return {name: getattr(record, name, "") for name in names if hasattr(record, name)}
