"""Evaluating rules on events: the dispatcher.

A batch of undispatched events is claimed and evaluated in one transaction: if the worker dies
half-way, the claim rolls back with everything the batch did, and the next delivery (or the
30-second sweep) redoes it from scratch. Within the batch each rule run is its own savepoint:
its actions and its run row commit together or not at all, and a failing rule leaves an error
run without stopping the others. The unique (rule, event) constraint on runs makes a duplicate
delivery a no-op. Outbound actions (webhooks, survey emails) are sent after commit.

Rules are loaded once per batch and grouped by record type; records are loaded in bulk.
"""

import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.db.models import Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import Event
from crm.services.events import event_context

from .actions import ActionContext, ActionError, run_action
from .conditions import condition_paths, matches
from .models import Rule, RuleRun, RunStatus
from .records import RELATIONS, custom_definitions, load_records, model_for
from .schema import MAX_DEPTH, TIME_TRIGGERS
from .triggers import event_fits, event_types_for

logger = logging.getLogger(__name__)

BATCH_SIZE = 1000


class RunFailed(Exception):
    def __init__(self, results: list, action: dict, error: Exception):
        super().__init__(str(error))
        self.results, self.action, self.error = results, action, error


def dispatch_pending_events(*, batch_size: int = BATCH_SIZE, max_batches: int = 1000) -> int:
    """Claim and evaluate undispatched events, batch after batch; returns how many."""
    total = 0
    for _batch in range(max_batches):
        claimed = dispatch_batch(batch_size=batch_size)
        total += claimed
        if claimed == 0:
            break
    return total


def dispatch_batch(*, batch_size: int = BATCH_SIZE) -> int:
    with transaction.atomic():
        events = claim_events(batch_size)
        if not events:
            return 0
        evaluate_events(events)
    return len(events)


def claim_events(limit: int) -> list[Event]:
    """The events this transaction claimed: each row is claimed by exactly one worker.

    PostgreSQL: the rows are locked (skipping those another worker holds) and stamped in one
    UPDATE ... RETURNING.
    SQLite: the conditional UPDATE is the transaction's first statement, so it takes the write
    lock before reading; the stamp tells our rows from those claimed by others.
    """
    pending = Event.objects.filter(dispatched_at__isnull=True).order_by("id")
    stamp = timezone.now()
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(Event._meta.db_table)
        sql = (
            f"UPDATE {table} SET dispatched_at = %s WHERE id IN (SELECT id FROM {table} "
            "WHERE dispatched_at IS NULL ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED) "
            "RETURNING *"
        )
        return sorted(Event.objects.raw(sql, [stamp, limit]), key=lambda event: event.id)
    batch = Subquery(pending.values("id")[:limit])
    Event.objects.filter(id__in=batch, dispatched_at__isnull=True).update(dispatched_at=stamp)
    return list(Event.objects.filter(dispatched_at=stamp).order_by("id")[:limit])


def event_rules() -> dict[str, list[Rule]]:
    """The enabled event-driven rules, by record type (loaded once per batch)."""
    grouped = defaultdict(list)
    for rule in Rule.objects.filter(enabled=True).exclude(record_type="").order_by("id"):
        if rule.trigger.get("type") not in TIME_TRIGGERS:
            grouped[rule.record_type].append(rule)
    return grouped


def evaluate_events(events: Iterable[Event], *, rules: dict | None = None) -> None:
    rules = event_rules() if rules is None else rules
    candidates = {}
    pairs = []
    for event in events:
        key = (event.record_type, event.type)
        if key not in candidates:
            candidates[key] = _rules_for_type(rules.get(event.record_type, ()), event.type)
        pairs.extend((event, rule) for rule in candidates[key] if event_fits(rule.trigger, event))
    if not pairs:
        return
    records = _records_for(
        (event for event, _rule in pairs), needs=_relations_needed(rule for _e, rule in pairs)
    )
    definitions = custom_definitions()
    quiet_runs = []
    for event, rule in pairs:
        record = records.get((event.record_type, event.record_id)) or _deleted_record(event)
        run = evaluate(rule, event, record, definitions=definitions)
        if run is not None:
            quiet_runs.append(run)
    # Runs without actions (not matched, skipped) are written together: most evaluations.
    write_quiet_runs(quiet_runs)


QUIET_RUN_COLUMNS = (
    "rule_id",
    "rule_version",
    "event_id",
    "tick",
    "record_type",
    "record_id",
    "status",
    "actions",
    "error",
    "duration_ms",
    "depth",
    "created_at",
)


QUIET_RUN_TYPES = {
    "rule_id": "bigint",
    "rule_version": "integer",
    "event_id": "bigint",
    "tick": "text",
    "record_type": "text",
    "record_id": "bigint",
    "status": "text",
    "actions": "jsonb",
    "error": "text",
    "duration_ms": "integer",
    "depth": "smallint",
    "created_at": "timestamptz",
}


def write_quiet_runs(runs: list) -> None:
    """Insert runs without actions in one statement, skipping any already written
    (a duplicate delivery). Plain SQL: the ORM's bulk_create spent most of a batch's time
    building these rows, and they are the bulk of all evaluations."""
    if not runs:
        return
    table = connection.ops.quote_name(RuleRun._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(name) for name in QUIET_RUN_COLUMNS)
    placeholders = ", ".join(["%s"] * len(QUIET_RUN_COLUMNS))
    created_at = connection.ops.adapt_datetimefield_value(timezone.now())
    rows = [
        (
            run.rule_id,
            run.rule_version,
            run.event_id,
            run.tick,
            run.record_type,
            run.record_id,
            run.status,
            "[]",
            run.error,
            run.duration_ms,
            run.depth,
            created_at,
        )
        for run in runs
    ]
    if connection.vendor != "postgresql":
        # SQLite runs executemany in-process; few bound variables per statement.
        sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) ON CONFLICT DO NOTHING"
        with connection.cursor() as cursor:
            cursor.executemany(sql, rows)
        return
    import psycopg

    # PostgreSQL: one statement per row is a round trip each. Each column goes as one array
    # instead, bound by the server (binary arrays, no SQL text to build).
    arrays = [list(column) for column in zip(*rows, strict=True)]
    unnest = ", ".join(f"%s::{QUIET_RUN_TYPES[name]}[]" for name in QUIET_RUN_COLUMNS)
    sql = f"INSERT INTO {table} ({columns}) SELECT * FROM unnest({unnest}) ON CONFLICT DO NOTHING"
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as server_bound:
        server_bound.execute(sql, arrays)


def _rules_for_type(rules, event_type: str) -> list[Rule]:
    """The rules an event of this type could fire (before looking at its changes)."""
    fitting = []
    for rule in rules:
        types = event_types_for(rule.trigger)
        if types is None or event_type in types:
            fitting.append(rule)
    return fitting


def _relations_needed(rules) -> set[str]:
    """The relations the rules' conditions read, joined when the records are loaded. Actions
    run on few records; they load what they need themselves."""
    needed = set()
    for rule in {rule.pk: rule for rule in rules}.values():
        needed |= {path.split(".", 1)[0] for path in condition_paths(rule.conditions)}
    return needed & set(RELATIONS)


def _records_for(events, *, needs: set[str]) -> dict:
    ids_by_type = defaultdict(set)
    for event in events:
        ids_by_type[event.record_type].add(event.record_id)
    records = {}
    for record_type, ids in ids_by_type.items():
        for pk, record in load_records(record_type, ids, relations=needs).items():
            records[(record_type, pk)] = record
    return records


def _deleted_record(event: Event):
    """A deleted record rebuilt (unsaved) from the values its deletion event kept."""
    model = model_for(event.record_type)
    if model is None or not event.type.endswith(".deleted"):
        return None
    values = {model._meta.pk.attname: event.record_id}
    for name, pair in (event.changes or {}).items():
        try:
            field = model._meta.get_field(name)
        except Exception:
            continue
        values[field.attname] = pair[0] if isinstance(pair, list) else None
    try:
        return model(**values)
    except (TypeError, ValueError):
        return None


def chain_of(event) -> list[int]:
    return list((getattr(event, "context", None) or {}).get("rule_chain") or [])


@dataclass(slots=True)
class QuietRun:
    """A run without actions, waiting to be written with the others of its batch."""

    rule_id: int
    rule_version: int
    event_id: int | None
    record_type: str
    record_id: int | None
    depth: int
    status: str
    error: str = ""
    duration_ms: int = 0
    tick: str = ""

    @classmethod
    def of(cls, base: dict, **fields) -> "QuietRun":
        event = base["event"]
        return cls(
            rule_id=base["rule"].pk,
            rule_version=base["rule_version"],
            event_id=event.pk if event is not None else None,
            record_type=base["record_type"],
            record_id=base["record_id"],
            depth=base["depth"],
            **fields,
        )


def evaluate(rule: Rule, event, record, *, definitions: dict) -> QuietRun | None:
    """Evaluate one rule on one event. Returns an unsaved run when there is nothing to do (the
    caller writes those in bulk); runs with actions are written here, with their actions."""
    started = time.perf_counter()
    chain = chain_of(event)
    base = {
        "rule": rule,
        "rule_version": rule.version,
        "event": event if getattr(event, "pk", None) else None,
        "record_type": event.record_type,
        "record_id": event.record_id,
        "depth": len(chain),
    }
    if rule.id in chain or len(chain) > MAX_DEPTH:
        reason = (
            _("Loop guard: this rule already acted in this chain of changes.")
            if rule.id in chain
            else _("Loop guard: changes made by rules are followed %s levels deep.") % MAX_DEPTH
        )
        return QuietRun.of(base, status=RunStatus.SKIPPED, error=reason)
    try:
        matched = matches(rule.conditions, record, changes=event.changes, definitions=definitions)
    except (ValueError, TypeError, ArithmeticError) as error:
        return QuietRun.of(base, status=RunStatus.ERROR, error=str(error)[:2000])
    if not matched:
        return QuietRun.of(base, status=RunStatus.NOT_MATCHED, duration_ms=_ms(started))
    run_actions(rule, record, base=base, chain=chain, started=started)
    return None


def run_actions(rule: Rule, record, *, base: dict, chain: list[int], started: float, tick=""):
    """Write the run and do its actions in one savepoint; an error run if an action fails."""
    try:
        with transaction.atomic():
            run = _create_run(**base, tick=tick, status=RunStatus.MATCHED)
            if run is None:
                return None  # this event (or tick) already ran this rule: a duplicate delivery
            context = ActionContext(
                rule=rule,
                run=run,
                record=record,
                record_type=base["record_type"],
                event=base.get("event"),
            )
            results = _do_actions(rule, context, chain)
            run.actions = results
            run.duration_ms = _ms(started)
            run.save(update_fields=["actions", "duration_ms"])
            _send_outbound_on_commit(run, context.outbound)
            return run
    except RunFailed as failed:
        logger.info("Automation rule %s failed: %s", rule.pk, failed.error)
        entry = {
            "type": failed.action.get("type"),
            "ok": False,
            "detail": str(failed.error)[:500],
            "pending": False,
        }
        with transaction.atomic():
            return _create_run(
                **base,
                tick=tick,
                status=RunStatus.ERROR,
                actions=failed.results + [entry],
                error=str(failed.error)[:2000],
                duration_ms=_ms(started),
            )


def _create_run(**fields) -> RuleRun | None:
    try:
        with transaction.atomic():
            return RuleRun.objects.create(**fields)
    except IntegrityError:
        return None


def _do_actions(rule: Rule, context: ActionContext, chain: list[int]) -> list[dict]:
    results = []
    with event_context(rule_chain=chain + [rule.id]):
        for index, action in enumerate(rule.actions or []):
            try:
                results.append(run_action(index, action, context))
            except ActionError as error:
                raise RunFailed(results, action, error) from error
            except Exception as error:  # any failure is this rule's, never the batch's
                logger.exception("Automation rule %s action %s failed", rule.pk, index)
                raise RunFailed(results, action, error) from error
    return results


def _send_outbound_on_commit(run: RuleRun, outbound: list) -> None:
    if not outbound:
        return
    from . import tasks

    def send():
        for kind, ref in outbound:
            if kind == "webhook":
                tasks.call_webhook.delay(run.pk, ref)
            elif kind == "survey":
                tasks.send_survey_invitation.delay(ref)

    transaction.on_commit(send, robust=True)


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
