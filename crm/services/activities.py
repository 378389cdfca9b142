from django.db import transaction
from django.utils import timezone

from crm.limits import check_text_lengths
from crm.models import Activity, ActivityKind, Direction, Lead, LeadStatus, User
from crm.models.events import ACTIVITY_LOGGED

from .events import event_record

LINKS = ("lead", "contact", "company", "deal", "ticket")


def activity_log(
    *,
    actor: User | None,
    kind: str,
    direction: str = Direction.OUTBOUND,
    subject: str = "",
    body: str = "",
    outcome: str = "",
    occurred_at=None,
    **links,
) -> Activity:
    """Log a call, email, meeting, note or visit; the first outbound one answers a lead."""
    unknown = set(links) - set(LINKS)
    if unknown:
        raise TypeError(f"activity_log() got unknown links: {sorted(unknown)}")
    activity = Activity(
        kind=kind,
        direction=direction,
        subject=subject,
        body=body,
        outcome=outcome,
        occurred_at=occurred_at or timezone.now(),
        user=actor,
        **links,
    )
    check_text_lengths(activity)
    activity.full_clean()
    with transaction.atomic():
        activity.save()
        event_record(
            type=ACTIVITY_LOGGED,
            instance=activity,
            actor=actor,
            changes={"kind": [None, kind], "direction": [None, direction]},
        )
        if activity.lead_id and _answers_a_lead(activity):
            _record_lead_response(activity, actor)
    return activity


def _answers_a_lead(activity: Activity) -> bool:
    return activity.direction == Direction.OUTBOUND and activity.kind != ActivityKind.NOTE


def _record_lead_response(activity: Activity, actor: User | None) -> None:
    lead = Lead.objects.select_for_update().get(pk=activity.lead_id)
    if activity.occurred_at < lead.created_at:
        return  # contact before the lead existed answers nothing it asked
    changes = {}
    # An activity logged late but dated earlier is still the first response.
    if lead.first_response_at is None or activity.occurred_at < lead.first_response_at:
        changes["first_response_at"] = [lead.first_response_at, activity.occurred_at]
        lead.first_response_at = activity.occurred_at
    if lead.status == LeadStatus.NEW:
        changes["status"] = [lead.status, LeadStatus.CONTACTED]
        lead.status = LeadStatus.CONTACTED
    if changes:
        lead.save(update_fields=["first_response_at", "status", "updated_at"])
        event_record(type="lead.responded", instance=lead, actor=actor, changes=changes)
