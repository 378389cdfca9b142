"""Webhook actions: a signed JSON body, each try logged, retried alone with backoff."""

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from automations.models import RuleRun, WebhookAttempt
from automations.tasks import backoff_seconds, call_webhook
from crm import services
from tests.automations.factories import make_rule
from tests.crm.factories import DealFactory

pytestmark = pytest.mark.django_db
SECRET = "shh-its-a-secret"


@pytest.fixture(autouse=True)
def allow_private(settings):
    """The receiver is local (127.0.0.1 over http), refused in production (SSRF)."""
    settings.CRM_WEBHOOKS_ALLOW_PRIVATE = True


class Receiver:
    """A local HTTP endpoint answering with the given status codes, in order."""

    def __init__(self, statuses):
        self.statuses = list(statuses)
        self.requests = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {key.lower(): value for key, value in self.headers.items()}
                receiver.requests.append((headers, body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b'{"ok": true}' if status < 300 else b"try later")

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def run_webhook_rule(rep, sales_team, url, dispatch, capture):
    deal = DealFactory(owner=rep, team=sales_team, name="Initech")
    rule = make_rule(
        trigger={"type": "record.updated", "record_type": "deal"},
        actions=[
            {"type": "add_note", "body": "before the call"},
            {"type": "webhook", "url": url, "secret": SECRET},
        ],
    )
    services.record_update(deal, actor=rep, data={"name": "Initech 2"})
    with capture(execute=False) as callbacks:
        dispatch()
    run = RuleRun.objects.get(rule=rule)
    assert run.actions[1]["pending"] and not WebhookAttempt.objects.exists()
    # After commit, the worker runs the call as its own task (its retries run in-process here).
    assert len(callbacks) == 1
    call_webhook.apply(args=(run.pk, 1))
    return deal, run


def test_the_body_is_json_signed_with_hmac_sha256(
    rep, sales_team, dispatch, django_capture_on_commit_callbacks
):
    with Receiver([200]) as receiver:
        deal, run = run_webhook_rule(
            rep, sales_team, receiver.url, dispatch, django_capture_on_commit_callbacks
        )
    [(headers, body)] = receiver.requests
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["x-crm-signature"] == expected
    assert headers["content-type"] == "application/json"
    payload = json.loads(body)
    assert payload["rule"]["id"] == run.rule_id and payload["run"] == run.pk
    assert payload["event"]["type"] == "deal.updated"
    assert payload["record"]["id"] == deal.pk and payload["record"]["name"] == "Initech 2"
    run.refresh_from_db()
    assert run.actions[1]["ok"] and not run.actions[1]["pending"]
    attempt = WebhookAttempt.objects.get(run=run)
    assert (attempt.attempt, attempt.status_code) == (1, 200)
    assert attempt.response_excerpt == '{"ok": true}'


def test_a_failing_endpoint_is_retried_alone_with_backoff(
    rep, sales_team, dispatch, django_capture_on_commit_callbacks
):
    with Receiver([500, 503, 200]) as receiver:
        deal, run = run_webhook_rule(
            rep, sales_team, receiver.url, dispatch, django_capture_on_commit_callbacks
        )
    attempts = list(WebhookAttempt.objects.filter(run=run).values_list("attempt", "status_code"))
    assert attempts == [(1, 500), (2, 503), (3, 200)]
    assert len(receiver.requests) == 3
    # Only the call was retried: the run's other action happened once.
    assert deal.activities.count() == 1
    run.refresh_from_db()
    assert run.actions[1]["ok"] and run.actions[1]["detail"] == "HTTP 200 (3)"
    assert [backoff_seconds(n) for n in range(4)] == [10, 20, 40, 80]


def test_a_refusing_endpoint_is_not_retried_and_the_run_shows_the_error(
    rep, sales_team, dispatch, django_capture_on_commit_callbacks
):
    with Receiver([404]) as receiver:
        _deal, run = run_webhook_rule(
            rep, sales_team, receiver.url, dispatch, django_capture_on_commit_callbacks
        )
    assert len(receiver.requests) == 1
    run.refresh_from_db()
    assert not run.actions[1]["ok"] and run.error == "HTTP 404 (1)"
    assert WebhookAttempt.objects.get(run=run).response_excerpt == "try later"


def test_an_unreachable_endpoint_gives_up_after_the_last_retry(
    rep, sales_team, dispatch, django_capture_on_commit_callbacks, monkeypatch
):
    from automations import tasks

    monkeypatch.setattr(tasks.call_webhook, "max_retries", 2)
    _deal, run = run_webhook_rule(
        rep, sales_team, "http://127.0.0.1:9/closed", dispatch, django_capture_on_commit_callbacks
    )
    attempts = WebhookAttempt.objects.filter(run=run)
    assert attempts.count() == 3 and all(a.error and a.status_code is None for a in attempts)
    run.refresh_from_db()
    assert not run.actions[1]["ok"] and not run.actions[1]["pending"] and run.error


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9/hook", "https://169.254.169.254/latest/", "https://[::1]/x"]
)
def test_an_internal_address_is_refused_when_calling_and_not_retried(
    rep, sales_team, dispatch, django_capture_on_commit_callbacks, settings, url
):
    """The same SSRF check as the webhook subscriptions (webhooks.outbound), at each call."""
    settings.CRM_WEBHOOKS_ALLOW_PRIVATE = False
    _deal, run = run_webhook_rule(
        rep, sales_team, url, dispatch, django_capture_on_commit_callbacks
    )
    attempt = WebhookAttempt.objects.get(run=run)
    assert attempt.status_code is None and ("https" in attempt.error or "public" in attempt.error)
    run.refresh_from_db()
    assert not run.actions[1]["ok"] and not run.actions[1]["pending"] and run.error


@pytest.mark.parametrize(
    "url", ["https://127.0.0.1/hook", "https://10.0.0.8/hook", "https://localhost/hook"]
)
def test_a_rule_calling_an_internal_address_is_refused_when_saved(url, settings):
    settings.CRM_WEBHOOKS_ALLOW_PRIVATE = False
    from django.core.exceptions import ValidationError

    from automations.catalog import validate_rule

    with pytest.raises(ValidationError) as refused:
        validate_rule(
            trigger={"type": "record.updated", "record_type": "deal"},
            conditions={},
            actions=[{"type": "webhook", "url": url}],
        )
    assert "public addresses" in refused.value.message_dict["actions"][0]
