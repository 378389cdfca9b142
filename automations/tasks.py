"""Celery tasks of the automations app (thin: ids in, one service call, safe to run twice)."""

from celery import shared_task

WEBHOOK_MAX_RETRIES = 5


@shared_task(name="automations.dispatch_events", soft_time_limit=240, time_limit=280)
def dispatch_events() -> int:
    """Claim undispatched events and evaluate the enabled rules on them."""
    from .engine import dispatch_pending_events

    return dispatch_pending_events()


@shared_task(name="automations.run_time_rules", soft_time_limit=50, time_limit=60)
def run_time_rules() -> int:
    """Every minute: fan out one task per time-based rule that is due."""
    from .timed import due_time_rule_ids

    ids = due_time_rule_ids()
    for rule_id in ids:
        run_time_rule.delay(rule_id)
    return len(ids)


@shared_task(name="automations.run_time_rule", soft_time_limit=240, time_limit=280)
def run_time_rule(rule_id: int) -> int:
    from .timed import run_time_rule as run

    return run(rule_id=rule_id)


@shared_task(name="automations.check_kpi_thresholds", soft_time_limit=50, time_limit=60)
def check_kpi_thresholds() -> int:
    """Hourly: fan out one task per KPI threshold rule."""
    from .timed import kpi_rule_ids

    ids = kpi_rule_ids()
    for rule_id in ids:
        check_kpi_rule.delay(rule_id)
    return len(ids)


@shared_task(name="automations.check_kpi_rule", soft_time_limit=240, time_limit=280)
def check_kpi_rule(rule_id: int) -> int:
    from .timed import check_kpi_rule as check

    return check(rule_id=rule_id)


@shared_task(
    bind=True,
    name="automations.call_webhook",
    max_retries=WEBHOOK_MAX_RETRIES,
    soft_time_limit=30,
    time_limit=45,
)
def call_webhook(self, run_id: int, action_index: int) -> str:
    """One webhook call of a run, retried alone with exponential backoff (10 s, 20 s, ...)."""
    from .webhooks import WebhookRetry
    from .webhooks import call_webhook as call

    final = self.request.retries >= self.max_retries
    try:
        return call(run_id=run_id, action_index=action_index, final=final)
    except WebhookRetry as error:
        raise self.retry(exc=error, countdown=backoff_seconds(self.request.retries)) from error


def backoff_seconds(retries: int) -> int:
    return 10 * 2**retries


@shared_task(
    name="automations.send_survey_invitation",
    autoretry_for=(ConnectionError, TimeoutError, OSError),
    retry_backoff=30,
    max_retries=5,
    soft_time_limit=60,
    time_limit=90,
)
def send_survey_invitation(invitation_id: int) -> bool:
    """Email a survey an automation created (once: a sent invitation is not sent again)."""
    from crm.models import SurveyInvitation
    from crm.services.support import email_survey_invitation

    invitation = SurveyInvitation.objects.filter(pk=invitation_id).first()
    return bool(invitation) and email_survey_invitation(invitation=invitation)
