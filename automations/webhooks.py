"""Calling a webhook action: a JSON body, signed with HMAC-SHA256 over the raw bytes.

Each try writes a WebhookAttempt row (status, an excerpt of the response, the error) and the
run's action entry says how it ended. Retries are the task's (with backoff); a 2xx is success,
a 4xx other than 408/429 is final (retrying will not help), anything else is retried.
The call itself is the webhooks app's (webhooks.outbound): the same SSRF check (public https
addresses only, resolved at each call) and no redirects; a refused address is final.
"""

import hashlib
import hmac
import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from webhooks import outbound

from .models import RuleRun, WebhookAttempt
from .records import load_records, template_context

TIMEOUT_SECONDS = 10
SIGNATURE_HEADER = "X-CRM-Signature"
RETRYABLE_CLIENT_ERRORS = {408, 429}


class WebhookRetry(Exception):
    """The call failed in a way worth trying again."""


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def payload(run: RuleRun) -> dict:
    record = None
    if run.record_type and run.record_id:
        record = load_records(run.record_type, [run.record_id]).get(run.record_id)
    return {
        "rule": {"id": run.rule_id, "name": run.rule.name, "version": run.rule_version},
        "run": run.pk,
        "event": (
            {"id": run.event_id, "type": run.event.type, "changes": run.event.changes}
            if run.event_id
            else None
        ),
        "tick": run.tick,
        "record": (
            {"type": run.record_type, "id": run.record_id, **template_context(record)}
            if record is not None
            else None
        ),
    }


def call_webhook(*, run_id: int, action_index: int, final: bool = False) -> str:
    """One try; returns "sent", "failed" (final) or raises WebhookRetry."""
    run = RuleRun.objects.select_related("rule", "event").filter(pk=run_id).first()
    if run is None or action_index >= len(run.actions or []):
        return "gone"
    if not (run.actions[action_index] or {}).get("pending"):
        return "done"  # an earlier delivery of this task finished it
    action = _action_of(run, action_index)
    body = json.dumps(payload(run), cls=DjangoJSONEncoder, sort_keys=True).encode()
    attempt = WebhookAttempt.objects.filter(run=run, action_index=action_index).count() + 1
    response = outbound.post_json(
        action["url"],
        body,
        headers={
            "User-Agent": "crm-automations/1",
            SIGNATURE_HEADER: sign(body, action.get("secret") or ""),
        },
        timeout=TIMEOUT_SECONDS,
    )
    status, excerpt, error = response.status, response.excerpt, response.error
    WebhookAttempt.objects.create(
        run=run,
        action_index=action_index,
        attempt=attempt,
        url=action["url"][:500],
        status_code=status,
        response_excerpt=excerpt,
        error=error,
        duration_ms=response.latency_ms,
        at=timezone.now(),
    )
    if status is not None and 200 <= status < 300:
        _finish(run_id, action_index, ok=True, detail=f"HTTP {status} ({attempt})")
        return "sent"
    retryable = status is None or status >= 500 or status in RETRYABLE_CLIENT_ERRORS
    if retryable and not final and not response.refused:
        raise WebhookRetry(error or f"HTTP {status}")
    _finish(run_id, action_index, ok=False, detail=error or f"HTTP {status} ({attempt})")
    return "failed"


def _action_of(run: RuleRun, index: int) -> dict:
    from .models import RuleVersion

    version = RuleVersion.objects.filter(rule_id=run.rule_id, version=run.rule_version).first()
    actions = version.actions if version is not None else run.rule.actions
    return actions[index]


def _finish(run_id: int, action_index: int, *, ok: bool, detail: str) -> None:
    with transaction.atomic():
        run = RuleRun.objects.select_for_update().get(pk=run_id)
        actions = list(run.actions)
        actions[action_index] = {**actions[action_index], "ok": ok, "pending": False}
        actions[action_index]["detail"] = detail
        run.actions = actions
        fields = ["actions"]
        if not ok and not run.error:
            run.error = detail
            fields.append("error")
        run.save(update_fields=fields)
