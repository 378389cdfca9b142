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

from django.db import IntegrityError, connection, transaction
from django.db.models import Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import Event
from crm.services.events import event_context

from .actions import ActionContext, ActionError, run_action
from .conditions import matches
from .models import Rule, RuleRun, RunStatus
from .records import custom_definitions, load_records, model_for
from .schema import MAX_DEPTH, TIME_TRIGGERS
from .triggers import event_fits

logger = logging.getLogger(__name__)

BATCH_SIZE = 500


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

    PostgreSQL: the rows are locked (skipping those another worker holds) before the UPDATE.
    SQLite: the conditional UPDATE is the transaction's first statement, so it takes the write
    lock before reading; the stamp tells our rows from those claimed by others.
    """
    pending = Event.objects.filter(dispatched_at__isnull=True).order_by("id")
    stamp = timezone.now()
    if connection.features.has_select_for_update_skip_locked:
        ids = list(pending.select_for_update(skip_locked=True).values_list("id", flat=True)[:limit])
        if not ids:
            return []
        Event.objects.filter(id__in=ids, dispatched_at__isnull=True).update(dispatched_at=stamp)
        return list(Event.objects.filter(id__in=ids, dispatched_at=stamp).order_by("id"))
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
    pairs = [
        (event, rule)
        for event in events
        for rule in rules.get(event.record_type, ())
        if event_fits(rule.trigger, event)
    ]
    if not pairs:
        return
    records = _records_for(event for event, _rule in pairs)
    definitions = custom_definitions()
    quiet_runs = []
    for event, rule in pairs:
        record = records.get((event.record_type, event.record_id)) or _deleted_record(event)
        run = evaluate(rule, event, record, definitions=definitions)
        if run is not None:
            quiet_runs.append(run)
    # Runs without actions (not matched, skipped) are written together: most evaluations.
    RuleRun.objects.bulk_create(quiet_runs, ignore_conflicts=True)


def _records_for(events) -> dict:
    ids_by_type = defaultdict(set)
    for event in events:
        ids_by_type[event.record_type].add(event.record_id)
    records = {}
    for record_type, ids in ids_by_type.items():
        for pk, record in load_records(record_type, ids).items():
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


def evaluate(rule: Rule, event, record, *, definitions: dict) -> RuleRun | None:
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
        return RuleRun(**base, status=RunStatus.SKIPPED, error=reason)
    try:
        matched = matches(rule.conditions, record, changes=event.changes, definitions=definitions)
    except (ValueError, TypeError, ArithmeticError) as error:
        return RuleRun(**base, status=RunStatus.ERROR, error=str(error)[:2000])
    if not matched:
        return RuleRun(**base, status=RunStatus.NOT_MATCHED, duration_ms=_ms(started))
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
