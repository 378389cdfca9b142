"""Where a KPI's number for a period comes from, the same for every page that shows it (cards,
the KPI page, trends, goals), so they agree at every moment.

- A period that is over reads its snapshot (metrics.fill), once its fill is done.
- A period still running is the live value: computed from the records and cached until a
  record changes. Every change a service makes writes an outbox event in its own transaction
  (crm.services.events) and a login writes a login row, so the newest of those ids is the
  records' version: cache keys carry it, and the first read after a change computes afresh,
  as the board's column sums do with the deals' latest change. A write that bypasses the
  services (a bulk import, the seed) shows within LIVE_CACHE_SECONDS.
- A period over but not yet filled (the same days of last month, yesterday before the
  nightly fill) is computed from the records once a day (Reader.closed_version).
"""

import functools
import hashlib
from collections.abc import Sequence
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.cache import cache
from django.db import connections, router, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from crm.access import owner_team_fields, sees_owner_or_team
from crm.db_settings import ANALYTICAL_WORK_MEM
from crm.models import Event, LoginEvent

from .fill import MONTH_TO_DATE, SNAPSHOT_GRAINS, SNAPSHOT_SEGMENTS, is_month_to_date
from .models import FillStatus, HealthSettings, KPISnapshot, SnapshotFill
from .periods import Period, local_midnight
from .registry import (
    KPI,
    Result,
    Segment,
    get_kpi,
    remember_value,
    summed_rows,
    values_remembered,
)
from .sources import PART_SEGMENTS

LIVE_CACHE_SECONDS = 5 * 60
# The (owner, team) of a part, carried in its row while parts are added up.
PAIR = " pair"
# What a running period's whole, kept apart by day, is cached as (Reader._whole_row).
WHOLE = "whole"
# A period that is over and has no snapshot yet (the same days of last month, yesterday
# before the nightly fill): computed once a day (Reader.closed_version).
CLOSED_CACHE_SECONDS = 6 * 60 * 60


@dataclass(frozen=True)
class Reading:
    result: Result
    # Computed from the records because the period is still running.
    live: bool = False
    # When the stored snapshot was computed (None when computed from the records).
    computed_at: datetime | None = None


def is_open(period: Period, now: datetime | None = None) -> bool:
    """The period has not ended yet: its numbers still move."""
    return period.end > (now or timezone.now())


def snapshotted(period: Period, segment: Segment) -> bool:
    """The nightly fill stores this period and segment: read them, don't recompute."""
    return period.grain in SNAPSHOT_GRAINS and snapshotted_segment(segment)


def snapshotted_segment(segment: Segment) -> bool:
    return segment.is_all or segment.field in SNAPSHOT_SEGMENTS


def snapshot_source(kpi: KPI, period: Period, segment: Segment) -> tuple[str, date] | None:
    """(grain, start) of the snapshot that holds the KPI for this period that is over, or
    None: the period's own, or, for a KPI measured at the period's end (as_of_end), the day
    it ends with: 1-25 October's pipeline is the pipeline at the end of 25 October. The same
    days of the month before, which a running month is compared with, are stored each night
    (MONTH_TO_DATE), known by their last day."""
    if snapshotted(period, segment):
        return period.grain, period.start_date
    if not kpi.as_of_end and is_month_to_date(period) and snapshotted_segment(segment):
        return MONTH_TO_DATE, period.end_date
    day = Period(period.end - timedelta(days=1), period.end, "day")
    if kpi.as_of_end and ends_at_midnight(period) and snapshotted(day, segment):
        return "day", period.end_date
    return None


def ends_at_midnight(period: Period) -> bool:
    return timezone.localtime(period.end).time() == time(0)


def records_version() -> str:
    """The newest event, login and health settings change, in one query (three index reads),
    read where the numbers are (a replica on a read-only page), so it versions what they see."""
    return version_parts()["*"]


def version_parts() -> dict[str, str]:
    """In one query: "*", the version of everything (records_version); "login" and "health",
    the newest login and health settings change; and per record kind that some KPI reads
    (metrics.sources), its newest event: an index read each (crm 0028, 0035)."""
    alias = router.db_for_read(Event)
    kinds, sql, params = _versions_statement(alias)
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        events, login, health, *per_kind = (str(value) for value in cursor.fetchone())
    return {
        "*": f"{events}:{login}:{health}",
        "login": login,
        "health": health,
        **dict(zip(kinds, per_kind, strict=True)),
    }


@functools.cache
def _versions_statement(alias: str) -> tuple[list[str], str, tuple]:
    """version_parts' kinds and its one SELECT, the same for every request: compiling its 25
    subqueries through the ORM cost each page that shows a number 6–10 ms of Python."""
    database = connections[alias]
    quote = database.ops.quote_name
    event_table, event_id = quote(Event._meta.db_table), quote("id")
    from .sources import events_of, versioned_kinds

    kinds = versioned_kinds()
    newest = [_newest_event(events_of(kind), alias) for kind in kinds]
    columns = [
        f"(SELECT MAX({event_id}) FROM {event_table})",
        f"(SELECT MAX({quote('id')}) FROM {quote(LoginEvent._meta.db_table)})",
        f"(SELECT MAX({quote('updated_at')}) FROM {quote(HealthSettings._meta.db_table)})",
    ] + [f"({sql})" for sql, _params in newest]
    params = tuple(p for _sql, ps in newest for p in ps)
    return kinds, "SELECT " + ", ".join(columns), params


def _newest_event(where, alias: str) -> tuple[str, tuple]:
    """The SQL of the newest event's id among `where`, read backwards off an index."""
    newest = Event.objects.using(alias).filter(where).order_by("-id").values("id")[:1]
    return newest.query.sql_with_params()


def unfinished_fill() -> Exists:
    """On snapshot rows: their period's fill is not done. Such a period was written while it
    ran, or is being rewritten: its live value is read instead. Rows of a period with no fill
    state (written before fill states existed) are final."""
    return Exists(
        SnapshotFill.objects.filter(
            grain=OuterRef("grain"), period_start=OuterRef("period_start")
        ).exclude(status=FillStatus.DONE)
    )


def readable_snapshots(rows):
    return rows.filter(~unfinished_fill())


@contextmanager
def aggregate_settings():
    """On PostgreSQL, for the queries inside (one transaction on the database the numbers are
    read from, the replica on a read-only page): no JIT, and memory enough to group a hundred
    thousand companies without spilling to disk. Measured at a million deals: compiling the
    health score's plan took 0.33 s of its 3.1 s and the engagement rate's 0.08-0.16 s of
    0.9-1.2 s, saving nothing; with 4 MB the grouping went to disk.

    Inside another, it changes nothing: the settings hold until the outer one ends, and a
    savepoint and the settings again cost three queries per value."""
    alias = router.db_for_read(KPISnapshot)
    if connections[alias].vendor != "postgresql" or _AGGREGATING.get():
        yield
        return
    with transaction.atomic(using=alias):
        with connections[alias].cursor() as cursor:
            # set_config(..., true) is SET LOCAL: both in one statement.
            cursor.execute(
                "SELECT set_config('jit', 'off', true), set_config('work_mem', %s, true)",
                [ANALYTICAL_WORK_MEM],
            )
        token = _AGGREGATING.set(True)
        try:
            yield
        finally:
            _AGGREGATING.reset(token)


# Inside aggregate_settings.
_AGGREGATING: ContextVar[bool] = ContextVar("aggregating", default=False)


def _digest(parts: Sequence[str]) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


# The segments a running value may be summed from: a record has one owner and one team.
PART_FIELDS = PART_SEGMENTS
# The KPIs whose parts by owner and team summed floats (which added in another order may
# differ in the last digit): their breakdowns are grouped by the field itself.
_FLOAT_PARTS: set[str] = set()


def _summed_by(paired: list[tuple[str, str, dict]], index: int) -> dict[str, dict] | None:
    """The parts by owner or team (`index` in PART_FIELDS) summed from the parts by both: COUNTs and
    SUMs add up; None when a part summed floats."""
    summed: dict[str, dict] = {}
    for pair in paired:
        row = pair[2]
        into = summed.setdefault(pair[index], {})
        for name, amount in row.items():
            if isinstance(amount, float):
                return None
            if into.get(name) is None:
                into[name] = amount
            elif amount is not None:
                into[name] += amount
    return summed


def _whole_cheaper(kpi: KPI) -> bool:
    """Whether a running period's whole is cheaper computed directly than summed from its parts
    by owner and team, which join each record to its owner and team (a month's 136k stage exits
    to their deals: 25 against 330 ms on the large seed; the MRR's subscriptions to their
    companies: 43 against 125 ms). Not for a KPI whose records are read apart (the pipeline's
    open deals, whose parts read an index each): its parts are the cheaper."""
    return kpi.records_apart is None


def _id_or_none(value: str) -> int | None:
    return int(value) if value else None


def _id_text(value: str) -> str | None:
    """An id as the parts are keyed ("12"), or None for what is not one ("012", "x")."""
    return str(int(value)) if value.isdigit() else None


class Reader:
    """Reads numbers for one request; the records' version is asked once, when first needed."""

    def __init__(self, now: datetime | None = None):
        self.now = now or timezone.now()
        self._parts: dict[str, str] | None = None
        self._stored_times: dict[tuple, datetime | None] = {}
        self._settled_counts: dict[tuple, int] = {}

    @property
    def version(self) -> str:
        """The version of all the records: any change moves it."""
        return self.versions["*"]

    @property
    def versions(self) -> dict[str, str]:
        if self._parts is None:
            self._parts = version_parts()
        return self._parts

    def version_of(self, kpi: KPI, period: Period | None = None, field: str | None = None) -> str:
        """The version of what `kpi` is made of (metrics.sources): a change to other kinds
        of records leaves its cached values in place; with `field`, what its values of that
        segment are made of ("" the whole and its parts by owner and team). Read in `period`
        from rows the nightly run stored (health), it is made of those rows, whose time the
        keys carry (stored_part), and of the companies they are grouped by (for the whole and its
        parts, only of which owner and team each is in: sources.stored_kinds): not of every
        activity."""
        from .sources import record_kinds, stored_kinds

        if period is not None and self.stored_at(kpi, period) is not None:
            return self.version_of_kinds(stored_kinds(field))
        return self.version_of_kinds(record_kinds(kpi.key, field))

    def stored_at(self, kpi: KPI, period: Period) -> datetime | None:
        """When the stored rows `kpi` reads for `period` were computed (KPI.stored_at), asked
        once per request; None when it reads the records."""
        if kpi.stored_at is None:
            return None
        key = (kpi.key, period.start, period.end)
        if key not in self._stored_times:
            self._stored_times[key] = kpi.stored_at(period)
        return self._stored_times[key]

    def stored_part(self, kpi: KPI, period: Period) -> str:
        """For a cache key: when the stored rows the KPI reads were written (health's,
        rewritten by the nightly run, which writes no event); empty for the others."""
        return str(self.stored_at(kpi, period)) if kpi.stored_at else ""

    def version_of_kinds(self, kinds: frozenset[str] | None) -> str:
        """The version of these record kinds (None: of everything)."""
        from .sources import event_kinds

        if kinds is None:
            return self.version
        parts = self.versions
        versions = [f"{kind}={parts[kind]}" for kind in event_kinds(kinds)]
        if "loginevent" in kinds:
            versions.append(f"login={parts['login']}")
        return ";".join([*versions, f"health={parts['health']}"])

    @property
    def closed_version(self) -> str:
        """What a value of a period that is over is cached under: today and the health
        settings, not every change of a record. A change today rarely reaches into a period
        already over; when it does, the period shows it once the nightly fill stores its
        snapshot, as a snapshot shows what the records were when it was written."""
        health_changed = self.versions["health"]
        return f"closed:{timezone.localdate().isoformat()}:{health_changed}"

    def read(self, wanted: Sequence[tuple[KPI, Period, Segment]]) -> list[Reading]:
        """A Reading per (kpi, period, segment): snapshots in one query per grain and
        segment, live values from the cache in one call, the rest computed and cached."""
        readings: list[Reading | None] = [None] * len(wanted)
        sources = {
            index: source
            for index, (kpi, period, segment) in enumerate(wanted)
            if not is_open(period, self.now)
            and (source := snapshot_source(kpi, period, segment)) is not None
        }
        stored = self._stored(
            [(wanted[index][0], *source, wanted[index][2]) for index, source in sources.items()]
        )
        live = []
        for index, (kpi, _period, segment) in enumerate(wanted):
            source = sources.get(index)
            row = stored.get((kpi.key, *source, segment)) if source else None
            if row is not None:
                result = Result(row.value, row.numerator, row.denominator)
                readings[index] = Reading(result, computed_at=row.computed_at)
            else:
                live.append(index)
        if live:
            keys = {index: self._cache_key(*wanted[index]) for index in live}
            cached = cache.get_many(list(keys.values()))
            fresh = {}
            missing = [index for index in live if cached.get(keys[index]) is None]
            if missing:
                with aggregate_settings(), values_remembered():
                    for index in live:
                        remember_value(
                            wanted[index][0].key, *wanted[index][1:], cached.get(keys[index])
                        )
                    for index in missing:
                        fresh[keys[index]] = self._live_value(*wanted[index])
                        remember_value(wanted[index][0].key, *wanted[index][1:], fresh[keys[index]])
            for index in live:
                kpi, period, _segment = wanted[index]
                result = cached.get(keys[index], fresh.get(keys[index]))
                stored_at = self.stored_at(kpi, period)
                if stored_at is not None:
                    readings[index] = Reading(result, computed_at=stored_at)
                else:
                    readings[index] = Reading(result, live=is_open(period, self.now))
            self._store_values(fresh, {keys[i] for i in missing if self._running(wanted[i][1])})
        return readings

    def _live_value(self, kpi: KPI, period: Period, segment: Segment) -> Result:
        """A value not cached: a running period's whole (or one owner's or team's) is the sum
        of the parts of its breakdown by owner (or team) when they add up and are cached (the
        KPI page computes them first, for its breakdown, its "Other" row and its counts), so
        every reader of any part shares them. A whole whose parts are not cached is computed
        directly (`_whole_cheaper`), as a dashboard's card needs no parts."""
        if is_open(period, self.now):
            field = "owner" if segment.is_all else segment.field
            if field in PART_FIELDS and kpi.adds_up(period, field):
                compute = segment.is_all and not _whole_cheaper(kpi)
                parts = self._breakdown_parts(kpi, period, field, compute=compute)
                if parts is not None:
                    chosen = parts.values() if segment.is_all else [parts.get(segment.value, {})]
                    result = kpi.combine_parts(period, list(chosen))
                    if result is not None:
                        return result
                if segment.is_all:
                    result = self._whole(kpi, period)
                    if result is not None:
                        return result
        return kpi.value(period, segment)

    def _whole(self, kpi: KPI, period: Period) -> Result | None:
        """A running period's whole from its aggregated row (`_whole_row`); a KPI whose parts
        are read from another's (KPI.parts_within) reads its row from the other's too: the
        MRR and its growth group the month's subscriptions once. None when the row summed
        floats."""
        if kpi.parts_within is not None:
            row = self._whole_row(get_kpi(kpi.parts_within), period)
            row = {name: row[name] for name in kpi.aggregates(period)}
        else:
            row = self._whole_row(kpi, period)
        return kpi.combine_parts(period, [row])

    def _whole_row(self, kpi: KPI, period: Period) -> dict:
        """The aggregated row of a running period's records, before `combine`, cached as the
        whole is. The records of a KPI whose records settle are kept apart by day as its
        parts' are (`_apart_by_day`): a drag recounts today's stage exits alone; those of a
        KPI told its numerator's ids are told them as its parts are (`_numerator_ids`); the
        rows the nightly run stored are read alone (KPI.stored_rows: health's scores)."""
        aggregates = kpi.aggregates(period)

        def rows_of(records):
            if records is None and kpi.numerator_ids is not None:
                records = kpi.records_given(period, self._numerator_ids(kpi, period))
            elif records is None and kpi.stored_rows and self.stored_at(kpi, period):
                records = kpi.stored_rows()
            elif records is None:
                records = kpi.records(period)
            return [(WHOLE, records.aggregate(**aggregates))]

        return self.cached(
            ["whole", kpi.key, *self._period_parts(period), self.stored_part(kpi, period)],
            lambda: self._apart_by_day(kpi, period, "", rows_of, kept_as=WHOLE)[0][1],
            kpi=kpi,
            period=period,
            field="",
        )

    def _breakdown_parts(self, kpi: KPI, period: Period, field: str, *, compute: bool = True):
        """The running period's breakdown of `kpi` by `field` before `combine` (KPI.
        breakdown_parts), cached per version; without `compute`, only if cached already.
        Summed from the parts by owner and team when the KPI has them: one query for both
        breakdowns and the counts of what each reader sees (`seen_total`)."""
        paired = self._paired_parts(kpi, period, compute=compute) if field in PART_FIELDS else None
        if paired is not None:
            summed = _summed_by(paired, PART_FIELDS.index(field))
            if summed is not None:
                return summed
            _FLOAT_PARTS.add(kpi.key)
        parts = [
            "parts",
            kpi.key,
            *self._period_parts(period),
            field,
            self.stored_part(kpi, period),
        ]
        if compute:
            return self.cached(
                parts,
                lambda: self._breakdown_computed(kpi, period, field),
                kpi=kpi,
                period=period,
                field=field,
            )
        return self.peek(parts, kpi=kpi, period=period, field=field)

    def _breakdown_computed(self, kpi: KPI, period: Period, field: str) -> dict[str, dict]:
        if not kpi.adds_up(period, field):
            return kpi.breakdown_parts(period, field)
        parts = self._apart_by_day(
            kpi,
            period,
            field,
            lambda records: [
                (value, row) for value, row in kpi.breakdown_parts(period, field, records).items()
            ],
        )
        return dict(parts)

    def breakdown_parts(self, kpi: KPI, period: Period, field: str) -> dict[str, dict]:
        """A running period's breakdown of `kpi` by `field` before `combine`: what a chart of
        its parts reads (the time in each stage), the numbers of the KPI page's breakdown."""
        return self._breakdown_parts(kpi, period, field)

    def _paired_parts(self, kpi: KPI, period: Period, *, compute: bool = True):
        """The running period's parts of `kpi` by (owner, team) (KPI.parts_by_owner_and_team),
        cached per version; None when the KPI has no such parts, or they summed floats."""
        if kpi.key in _FLOAT_PARTS or kpi.owner_team_paths(period) is None:
            return None
        if kpi.parts_within is not None:
            wider = self._paired_parts(get_kpi(kpi.parts_within), period, compute=compute)
            return None if wider is None else kpi.parts_taken_from(period, wider)
        parts = ["paired", kpi.key, *self._period_parts(period), self.stored_part(kpi, period)]
        if compute:
            return self.cached(
                parts, lambda: self._pairs_computed(kpi, period), kpi=kpi, period=period, field=""
            )
        return self.peek(parts, kpi=kpi, period=period, field="")

    def _pairs_computed(self, kpi: KPI, period: Period) -> list[tuple[str, str, dict]]:
        """The parts by owner and team from the records (those dated before today kept apart
        for a KPI whose records settle, `_apart_by_day`; told the numerator's ids, kept apart,
        for a KPI that names them, `_numerator_ids`)."""
        if kpi.numerator_ids is not None:
            records = kpi.records_given(period, self._numerator_ids(kpi, period))
            return kpi.parts_by_owner_and_team(period, records)
        pairs = self._apart_by_day(
            kpi,
            period,
            "",
            lambda records: [
                ((owner, team), row)
                for owner, team, row in kpi.parts_by_owner_and_team(period, records)
            ],
        )
        return [(*pair, row) for pair, row in pairs]

    def _today_within(self, period: Period) -> datetime | None:
        """Today's start, when `period` runs on both sides of it: the moment before which a
        running period's records are kept apart (`_apart_by_day`, `_numerator_ids`)."""
        today = local_midnight(timezone.localdate(self.now))
        return today if period.start < today < period.end else None

    def _numerator_ids(self, kpi: KPI, period: Period) -> list[int]:
        """The ids behind the numerator of `kpi` (KPI.numerator_ids) in the running `period`.
        Those of the rows dated before today are cached under the kinds their query reads
        (`numerator_id_kinds(settled=True)`) and their count (KPI.settled_count); today's are
        read afresh. A customer churned or a call logged today counts the month's customers
        against them, not the month's engagement activities and answers joined to their
        contacts again (250-360 ms on the large seed)."""
        from .sources import numerator_id_kinds

        today = self._today_within(period)
        if kpi.settled_count is None or today is None:
            return self.cached(
                ["ids", kpi.key, *self._period_parts(period)],
                lambda: sorted(set(kpi.numerator_ids(period))),
                kinds=numerator_id_kinds(kpi.key),
            )
        settled = self.cached(
            [
                "settled-ids",
                kpi.key,
                *self._period_parts(period),
                today.isoformat(),
                str(kpi.settled_count(period, today)),
            ],
            lambda: sorted(set(kpi.numerator_ids(period, until=today))),
            kinds=numerator_id_kinds(kpi.key, settled=True),
        )
        return sorted(set(settled).union(kpi.numerator_ids(period, since=today)))

    def _apart_by_day(
        self, kpi: KPI, period: Period, field: str, parts_of, *, kept_as: str | None = None
    ) -> list[tuple]:
        """(key, aggregated row) of each part `parts_of(records)` groups the running period's
        records into (`parts_of(None)`: all of them). For a KPI whose records settle
        (KPI.settles_by), those dated before today are kept apart, under the version of the
        other kinds they are made of and their own count (a row written back-dated adds one),
        so a new row of today recounts today alone: a drag recounted the month's 130k stage
        exits joined to their deals (130 ms on the large seed) and grouped by stage for the
        time-in-stage chart (50-70 ms). `kept_as`: what the records before today are cached
        as, when not the parts by `field` (the whole)."""
        from .sources import OPEN_MOVE, record_kinds

        today = self._today_within(period)
        kinds = record_kinds(kpi.key, field)
        if kpi.settles_by is None or kinds is None or today is None:
            return parts_of(None)
        records = kpi.records(period)
        settled = records.filter(**{f"{kpi.settles_by}__lt": today})
        count_key = (kpi.key, period.start, period.end, today)
        if count_key not in self._settled_counts:
            self._settled_counts[count_key] = settled.count()
        before = self.cached(
            [
                "settled",
                kpi.key,
                field if kept_as is None else kept_as,
                *self._period_parts(period),
                today.isoformat(),
                str(self._settled_counts[count_key]),
            ],
            lambda: parts_of(settled),
            kinds=kinds - {OPEN_MOVE},
        )
        since = parts_of(records.filter(**{f"{kpi.settles_by}__gte": today}))
        rows = [{**row, PAIR: key} for key, row in before + since]
        summed = summed_rows(rows, lambda row: row[PAIR], kpi.aggregates(period))
        return [(row.pop(PAIR), row) for row in summed]

    def prepare_breakdown(self, kpi: KPI, period: Period, field: str) -> None:
        """Read (or compute) a running period's parts by owner and team before a page's value
        and counts when the page shows a breakdown by `field` made from them anyway: a rep's
        own value and counts are then summed from them, not three more scans."""
        if field in PART_FIELDS and is_open(period, self.now):
            self._paired_parts(kpi, period)

    def prepare_counts(self, kpi: KPI, period: Period) -> None:
        """Read (or compute) a running period's parts by owner before the whole on a page that
        counts the records behind it (the KPI page): the whole, how many records are behind it
        and how many of them the reader sees are then summed from one query (`record_total`,
        `seen_total`), where a card alone computes the whole directly (`_live_value`)."""
        if is_open(period, self.now) and kpi.adds_up(period, "owner"):
            self._breakdown_parts(kpi, period, "owner")

    def seen_total(
        self, kpi: KPI, period: Period, segment: Segment, user, *, numerator_only: bool
    ) -> int | None:
        """How many of the records behind a running period's value (the whole, or an owner's
        or team's) `user` reads: the drill-down's count, from the cached parts by owner and
        team when the user's rule for those records is on their owner and team alone
        (crm.access.owner_team_fields), not a second scan of the records. None otherwise."""
        if not is_open(period, self.now):
            return None
        if segment.is_all:
            index = None
        elif segment.field in PART_FIELDS and segment.value == _id_text(segment.value):
            index = PART_FIELDS.index(segment.field)
        else:
            return None
        paths = kpi.owner_team_paths(period)
        counter = kpi.record_counter(period, numerator_only=numerator_only)
        if paths is None or counter is None:
            return None
        if owner_team_fields(kpi.record_model(period), user) != paths:
            return None
        paired = self._paired_parts(kpi, period, compute=False)
        if paired is None:
            return None
        return sum(
            row.get(counter) or 0
            for owner, team, row in paired
            if (index is None or (owner, team)[index] == segment.value)
            and sees_owner_or_team(user, _id_or_none(owner), _id_or_none(team))
        )

    def record_total(
        self, kpi: KPI, period: Period, segment: Segment, *, numerator_only: bool = False
    ) -> int | None:
        """How many records are behind a running period's value (or its numerator), read
        from the cached parts of its breakdown by owner (or by the segment's owner or team)
        when they add up and count those records (KPI.record_counter): not counted again.
        None otherwise."""
        if not is_open(period, self.now):
            return None
        field = "owner" if segment.is_all else segment.field
        counter = kpi.record_counter(period, numerator_only=numerator_only)
        if counter is None or field not in PART_FIELDS or not kpi.adds_up(period, field):
            return None
        parts = self._breakdown_parts(kpi, period, field, compute=False)
        if parts is None:
            return None
        chosen = parts.values() if segment.is_all else [parts.get(segment.value, {})]
        return sum(part.get(counter) or 0 for part in chosen)

    def among(self, kpi: KPI, period: Period, field: str, values: list[str]) -> Result:
        """The KPI over the records whose `field` is one of `values` (a breakdown's "Other"
        row): the sum of those parts when they add up, else one query, cached."""
        if is_open(period, self.now) and kpi.adds_up(period, field):
            parts = self._breakdown_parts(kpi, period, field)
            result = kpi.combine_parts(period, [parts[v] for v in values if v in parts])
            if result is not None:
                return result
        return self.cached(
            ["among", kpi.key, *self._period_parts(period), field, *values],
            lambda: kpi.value_among(period, field, values),
            kpi=kpi,
            period=period,
            field=field,
        )

    @staticmethod
    def _store_values(fresh: dict, running: set) -> None:
        """Running periods' values for LIVE_CACHE_SECONDS, those of periods over for
        CLOSED_CACHE_SECONDS."""
        for seconds, values in (
            (LIVE_CACHE_SECONDS, {k: v for k, v in fresh.items() if k in running}),
            (CLOSED_CACHE_SECONDS, {k: v for k, v in fresh.items() if k not in running}),
        ):
            if values:
                cache.set_many(values, seconds)

    def _running(self, period: Period) -> bool:
        return is_open(period, self.now)

    def result(self, kpi: KPI, period: Period, segment: Segment) -> Result:
        return self.read([(kpi, period, segment)])[0].result

    def breakdown(self, kpi: KPI, period: Period, field: str) -> dict[str, Result]:
        """The KPI per value of `field`: a period that is over reads its snapshot rows (the fill
        stores every named owner and team with the period), anything else is computed and
        cached as the live values are."""
        if not is_open(period, self.now) and snapshotted(period, Segment(field, "?")):
            stored = self._stored_breakdown(kpi, period, field)
            if stored is not None:
                return stored
        if is_open(period, self.now):
            parts = self._breakdown_parts(kpi, period, field)
            return {value: kpi.combine(dict(row)) for value, row in parts.items()}
        return self.cached(
            [
                "breakdown",
                kpi.key,
                *self._period_parts(period),
                field,
                self.stored_part(kpi, period),
            ],
            lambda: kpi.breakdown(period, field),
            kpi=kpi,
            period=period,
        )

    def cached(
        self,
        parts: Sequence[str],
        compute,
        *,
        kpi: KPI | None = None,
        period: Period | None = None,
        kinds: frozenset[str] | None = None,
        field: str | None = None,
        aggregates: bool = True,
    ):
        """`compute()` once per version of the records (of those `kpi` is made of, its values
        of the segment `field` when given, or of `kinds`): what a page derives from the
        records besides the values (breakdowns, record counts), read again from the cache.

        `aggregates=False` for a query that reads a page of rows, not all of them: it runs
        with the session's own memory, not aggregate_settings'. With 64 MB PostgreSQL hashes
        a subquery over its whole table, which a LIMIT does not stop (the renewals' first
        page: 0.3 s against 7 ms on the large seed)."""
        key = self._page_key(parts, kpi, period, kinds, field)
        value = cache.get(key)
        if value is None:
            with aggregate_settings() if aggregates else nullcontext():
                value = compute()
            cache.set(key, value, LIVE_CACHE_SECONDS)
        return value

    def peek(
        self,
        parts: Sequence[str],
        *,
        kpi: KPI | None = None,
        period: Period | None = None,
        field: str | None = None,
    ):
        """What `cached` holds for `parts` at this version, or None."""
        return cache.get(self._page_key(parts, kpi, period, field=field))

    def store(
        self, parts: Sequence[str], value, *, kpi: KPI | None = None, period: Period | None = None
    ) -> None:
        cache.set(self._page_key(parts, kpi, period), value, LIVE_CACHE_SECONDS)

    def _page_key(
        self,
        parts: Sequence[str],
        kpi: KPI | None,
        period: Period | None,
        kinds: frozenset[str] | None = None,
        field: str | None = None,
    ) -> str:
        if kpi is not None:
            version = self.version_of(kpi, period, field)
        elif kinds is not None:
            version = self.version_of_kinds(kinds)
        else:
            version = self.version
        return "kpi-page:" + _digest([*parts, version])

    @staticmethod
    def _period_parts(period: Period) -> list[str]:
        return [period.start.isoformat(), period.end.isoformat()]

    @staticmethod
    def _stored_breakdown(kpi: KPI, period: Period, field: str) -> dict[str, Result] | None:
        """The snapshot's rows of `field`, or None when the period's overall row is not
        readable (not written, or its fill not done): then nothing of it is."""
        rows = readable_snapshots(
            KPISnapshot.objects.filter(
                kpi=kpi.key,
                grain=period.grain,
                period_start=period.start_date,
                segment_field__in=["", field],
            )
        )
        found, whole = {}, False
        for row in rows:
            if not row.segment_field:
                whole = True
            elif row.segment_value:
                found[row.segment_value] = Result(row.value, row.numerator, row.denominator)
        return found if whole else None

    def _cache_key(self, kpi: KPI, period: Period, segment: Segment) -> str:
        parts = [
            kpi.key,
            period.start.isoformat(),
            period.end.isoformat(),
            segment.field,
            segment.value,
            (
                self.version_of(kpi, period, segment.field)
                if self._running(period)
                else self.closed_version
            ),
            self.stored_part(kpi, period),
        ]
        return "kpi-live:" + _digest(parts)

    @staticmethod
    def _stored(wanted) -> dict:
        """{(kpi key, grain, day, segment): snapshot row} for (kpi, grain, day, segment) items,
        in one query per grain and segment. The day is the period's first, or for a month to
        date its last."""
        groups: dict[tuple, tuple[set, set]] = {}
        for kpi, grain, day, segment in wanted:
            keys, days = groups.setdefault((grain, segment), (set(), set()))
            keys.add(kpi.key)
            days.add(day)
        found = {}
        for (grain, segment), (keys, days) in groups.items():
            rows = KPISnapshot.objects.filter(
                kpi__in=sorted(keys),
                grain=grain,
                segment_field=segment.field,
                segment_value=segment.value,
            )
            if grain == MONTH_TO_DATE:
                starts = {day.replace(day=1) for day in days}
                rows = rows.filter(period_start__in=sorted(starts), period_end__in=sorted(days))
            else:
                rows = rows.filter(period_start__in=sorted(days))
            for row in readable_snapshots(rows):
                day = row.period_end if grain == MONTH_TO_DATE else row.period_start
                found[(row.kpi, grain, day, segment)] = row
        return found
