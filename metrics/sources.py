"""Which kinds of records a KPI's number is made of, so that its live value stays cached until
one of those changes, not until anything at all changes: logging a call does not recompute
the pipeline, moving a deal does not recompute the NPS (issue 19).

A KPI's kinds are read off the SQL of its records and aggregates (the tables they name) and
the paths of its segments, once per process: a definition changed in code is followed
without a list kept by hand. Each table is the kind of its model, as events name it
(crm.services.events: `record_type` is the model name); rows written with another record's
events count as that record (a deal's stage changes, a ticket's messages). The kinds of
STRUCTURE (people, teams, stages, custom fields, settings) reshape every number and version
every KPI. A KPI computed from other KPIs (`compute`) is made of theirs (`made_of`, checked by
a test against the SQL it runs); one that names none, or one made of the events themselves,
has no kinds of its own: every change versions it.

A deal's move between two open stages, the board's drag and the most frequent change of all,
is a kind of its own (OPEN_MOVE): it versions only the KPIs that read a deal's stage or its
stage history (the weighted pipeline, the velocity), not the win rate or the pipeline's value.
"""

from datetime import date
from functools import cache

from django.apps import apps
from django.db.models import Model, Q

from crm.models.events import (
    ACTIVITY_EDIT,
    COMPANY_MERGE,
    COMPANY_REGROUP,
    DEAL_CHANGE,
    DEAL_OPEN_MOVE,
)

from .periods import period_for
from .registry import KPI, get_kpi

# Written in the same transaction as an event of another record.
WRITTEN_WITH = {"dealstagechange": "deal", "ticketmessage": "ticket"}
OPEN_MOVE = "dealmove"
# What a move between open stages changes: SQL naming one of these reads it.
MOVED = ('"crm_deal"."stage_id"', '"crm_deal"."stage_entered_at"', '"crm_dealstagechange"')
# An activity edited or deleted (not one logged), and a company merged into another, which
# moves the rows naming it without their events: what the engaged customers of the days
# before today are kept under (numerator_id_kinds).
ACTIVITY_EDITED = "activityedit"
MERGE = "companymerge"
# A company made, deleted, merged or handed to another owner or team: what moves it between the
# groups of a sum by owner and team, all the stored health's whole and parts read of it.
REGROUP = "companyregroup"
# The events of a kind, where they are not simply those of its record type.
EVENTS_OF = {
    "deal": DEAL_CHANGE,
    OPEN_MOVE: DEAL_OPEN_MOVE,
    ACTIVITY_EDITED: ACTIVITY_EDIT,
    MERGE: COMPANY_MERGE,
    REGROUP: COMPANY_REGROUP,
}
# Rare changes that can move any number: who owns what, teams, stages, fields, settings.
STRUCTURE = frozenset(
    {
        "user",
        "team",
        "pipeline",
        "stage",
        "customfield",
        "supportsettings",
        "slapolicy",
    }
)
# What a KPI read from rows the nightly run stored (health) is made of: those rows, versioned by
# their time (metrics.numbers.Reader.stored_part), and the companies they are grouped by.
STORED_KINDS = STRUCTURE | {"company"}
# Its whole and parts by owner and team read only which group each company is in: a churn or
# an edit leaves them (a subscription cancelled recomputed 116 ms of health on the large seed).
STORED_WHOLE_KINDS = STRUCTURE | {REGROUP}
# Tables versioned otherwise: logins by their own rows, stored health by its computed time.
NOT_EVENTS = frozenset({"loginevent", "companyhealth"})


def _kinds_by_table() -> dict[str, str]:
    return {model._meta.db_table: model._meta.model_name for model in apps.get_models()}


# The segments a running whole is summed from (metrics.numbers): a record has one owner and
# one team, so every value reads their paths.
PART_SEGMENTS = ("owner", "team")


@cache
def record_kinds(kpi_key: str, field: str | None = None) -> frozenset[str] | None:
    """The record kinds (model names) the KPI reads, with STRUCTURE; None for every kind.

    With `field`, those of its values of that segment alone ("" for the whole): the whole and
    its parts by owner and team are not made of what only another segment's path walks
    through, so editing a company leaves the win rate cached and recomputes its breakdown by
    industry. Without, of any segment: what a page deriving more from the records reads."""
    kpi = get_kpi(kpi_key)
    if kpi.compute is not None and not kpi.made_of:
        return None
    kinds = set(STRUCTURE)
    for part in kpi.made_of:
        part_kinds = record_kinds(part, field)
        if part_kinds is None:
            return None
        kinds.update(part_kinds)
    by_table = _kinds_by_table()
    sql = _sql_of(kpi)
    kinds.update(kind for table, kind in by_table.items() if f'"{table}"' in sql)
    if "event" in kinds:
        return None  # made of the events themselves (active users): every change counts
    paths = _segment_paths(kpi, field)
    if paths is None:
        return record_kinds(kpi_key)
    for path in paths:
        kinds.update(_kinds_on_path(kpi.records(_ANY_PERIOD).model, path))
    if any(name in sql for name in MOVED):
        kinds.add(OPEN_MOVE)
    return frozenset(WRITTEN_WITH.get(kind, kind) for kind in kinds)


@cache
def numerator_id_kinds(kpi_key: str, *, settled: bool = False) -> frozenset[str]:
    """What the ids behind a KPI's numerator (KPI.numerator_ids, of companies) are cached
    under: the kinds their query reads, and STRUCTURE. Not the companies: a company edited or
    churned moves no activity or answer to another.

    With `settled`, those of the rows dated before today (KPI.settled_count): an activity
    logged does not change them, one edited or deleted does (ACTIVITY_EDITED), and one logged
    back-dated changes their count; a company merged moves the removed company's rows to the
    survivor without their events (MERGE)."""
    sql = str(get_kpi(kpi_key).numerator_ids(_ANY_PERIOD).query)
    kinds = {kind for table, kind in _kinds_by_table().items() if f'"{table}"' in sql}
    if settled:
        kinds = (kinds - {"activity"}) | {ACTIVITY_EDITED, MERGE}
    return frozenset(WRITTEN_WITH.get(kind, kind) for kind in STRUCTURE | kinds)


def stored_kinds(field: str | None) -> frozenset[str]:
    """What a value read from rows the nightly run stored is made of: with `field` "" (the
    whole), owner or team, the companies' groups alone; otherwise the companies."""
    return STORED_WHOLE_KINDS if field in ("", *PART_SEGMENTS) else STORED_KINDS


def _segment_paths(kpi: KPI, field: str | None) -> list[str] | None:
    """The paths of the segments a value of `field` reads (every segment's when None); None
    for a field the KPI cannot be segmented by."""
    if field is None:
        return list(kpi.segments.values())
    paths = [kpi.segments[name] for name in PART_SEGMENTS if name in kpi.segments]
    if field:
        try:
            paths.append(kpi.segment_path(field))
        except KeyError:
            return None
    return paths


_ANY_PERIOD = period_for("month", date(2000, 1, 1))


def _sql_of(kpi: KPI) -> str:
    records = kpi.records(_ANY_PERIOD)
    grouped = records.order_by().values("pk").annotate(**kpi.aggregates(_ANY_PERIOD))
    return str(grouped.query)


def _kinds_on_path(model: type[Model], path: str) -> set[str]:
    """The models a lookup path walks through, e.g. company__industry: {"company"}."""
    kinds = set()
    for name in path.split("__"):
        try:
            field = model._meta.get_field(name)
        except Exception:  # noqa: BLE001 - a JSON key (custom__region) ends the walk
            break
        if not field.is_relation or field.related_model is None:
            break
        model = field.related_model
        kinds.add(model._meta.model_name)
    return kinds


# The record kinds of the charts aggregated from the records (metrics.charts.BUILDERS), with
# the kinds their segments join; a test checks them against the SQL each chart runs.
CHART_KINDS = {
    "survey_bands": frozenset({"surveyanswer", "company", "contact", "ticket"}),
    "pipeline_by_stage": frozenset({"deal", OPEN_MOVE, "company", "lead"}),
    "time_in_stage": frozenset({"deal", OPEN_MOVE, "company", "lead"}),
    "mrr_movement": frozenset({"subscription", "company"}),
}


# The deal charts' whole and their parts by owner and team read no company or lead: those are
# on the paths of the other segments (record_kinds, by segment).
CHART_WHOLE_KINDS = {
    "pipeline_by_stage": frozenset({"deal", OPEN_MOVE}),
    "time_in_stage": frozenset({"deal", OPEN_MOVE}),
}


# The survey and MRR charts of everyone read their own rows alone: a ticket reply or a company
# churned re-versioned the survey bands (28 ms on the large seed) for a join only their
# segments make (by owner or team, through the customer or the ticket).
CHART_EVERYONE_KINDS = {
    "survey_bands": frozenset({"surveyanswer"}),
    "mrr_movement": frozenset({"subscription"}),
}


def chart_kinds(key: str, field: str | None = None) -> frozenset[str] | None:
    """The kinds chart `key` is made of; with `field`, its chart of that segment alone ("" the
    whole)."""
    kinds = CHART_KINDS.get(key)
    if field == "" and key in CHART_EVERYONE_KINDS:
        kinds = CHART_EVERYONE_KINDS[key]
    elif field is not None and field in ("", *PART_SEGMENTS):
        kinds = CHART_WHOLE_KINDS.get(key, kinds)
    return None if kinds is None else STRUCTURE | kinds


def versioned_kinds() -> list[str]:
    """Every event kind some KPI or chart is made of: the versions asked for per request."""
    from .registry import all_kpis

    kinds = set().union(*CHART_KINDS.values(), STORED_KINDS, STORED_WHOLE_KINDS)
    for kpi in all_kpis():
        kinds.update(record_kinds(kpi.key) or ())
        if kpi.numerator_ids is not None:
            kinds.update(numerator_id_kinds(kpi.key))
            kinds.update(numerator_id_kinds(kpi.key, settled=True))
    return event_kinds(frozenset(kinds))


def event_kinds(kinds: frozenset[str]) -> list[str]:
    """The kinds whose changes are events (sorted, for one query and a stable key)."""
    return sorted(kinds - NOT_EVENTS)


def events_of(kind: str) -> Q:
    """The events that change records of this kind: a partial or (record_type, id) index
    finds the newest."""
    return EVENTS_OF.get(kind, Q(record_type=kind))
