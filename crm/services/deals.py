from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.custom_fields import missing_required, stage_needs_required_values
from crm.models import Deal, DealStageChange, Pipeline, RecordType, Stage, StageOutcome, User

from .errors import InvalidTransition
from .events import event_record
from .records import record_create


def deal_create(
    *, actor: User | None, data: dict, pipeline: Pipeline | None = None, stage: Stage | None = None
) -> Deal:
    """A new deal, in the first open stage of its pipeline unless a stage is given."""
    pipeline = pipeline or (stage.pipeline if stage else Pipeline.objects.get(is_default=True))
    stage = stage or pipeline.first_stage()
    if stage is None or stage.pipeline_id != pipeline.pk:
        raise InvalidTransition({"stage": _("Choose a stage of the pipeline %s.") % pipeline})
    entered_at = data.get("created_at") or timezone.now()
    state = {
        "pipeline": pipeline,
        "stage": stage,
        "stage_entered_at": entered_at,
        "status": stage.outcome,
        "closed_at": entered_at if stage.outcome != StageOutcome.OPEN else None,
    }
    if "created_at" not in data:
        state["created_at"] = entered_at
    with transaction.atomic():
        deal = record_create(Deal, actor=actor, data=data, state=state)
        DealStageChange.objects.create(
            deal=deal, from_stage=None, to_stage=stage, changed_at=entered_at, changed_by=actor
        )
    return deal


def deal_move_stage(
    *, deal: Deal, stage: Stage, actor: User | None, lost_reason: str = "", at=None
) -> Deal:
    """Move a deal to another stage of its pipeline, recording history, status and closing."""
    at = at or timezone.now()
    with transaction.atomic():
        deal = Deal.objects.select_for_update().get(pk=deal.pk)
        _check_move(deal, stage, lost_reason, at)
        from_stage, entered_at = deal.stage, deal.stage_entered_at
        DealStageChange.objects.create(
            deal=deal,
            from_stage=from_stage,
            to_stage=stage,
            from_stage_entered_at=entered_at,
            seconds_in_from_stage=int((at - entered_at).total_seconds()),
            changed_at=at,
            changed_by=actor,
        )
        before = {"stage": from_stage.pk, "status": deal.status, "closed_at": deal.closed_at}
        deal.stage = stage
        deal.stage_entered_at = at
        deal.status = stage.outcome
        deal.closed_at = at if stage.outcome != StageOutcome.OPEN else None
        deal.lost_reason = lost_reason.strip() if stage.outcome == StageOutcome.LOST else ""
        deal.save(
            update_fields=[
                "stage",
                "stage_entered_at",
                "status",
                "closed_at",
                "lost_reason",
                "updated_at",
            ]
        )
        after = {"stage": stage.pk, "status": deal.status, "closed_at": deal.closed_at}
        changes = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
        if deal.lost_reason:
            changes["lost_reason"] = ["", deal.lost_reason]
        event_record(type="deal.stage_changed", instance=deal, actor=actor, changes=changes)
    return deal


def _check_move(deal: Deal, stage: Stage, lost_reason: str, at) -> None:
    if stage.pipeline_id != deal.pipeline_id:
        raise InvalidTransition(
            {
                "stage": _("“%(stage)s” is not a stage of the pipeline %(pipeline)s.")
                % {"stage": stage.name, "pipeline": deal.pipeline}
            }
        )
    if stage.pk == deal.stage_id:
        raise InvalidTransition({"stage": _("The deal is already in “%s”.") % stage.name})
    if stage.outcome == StageOutcome.LOST and not lost_reason.strip():
        raise InvalidTransition({"lost_reason": _("Say why the deal was lost.")})
    if at < deal.stage_entered_at:
        raise InvalidTransition(
            {"stage": _("A move cannot happen before the deal entered its stage.")}
        )
    missing = missing_required(RecordType.DEAL, deal.custom)
    if missing and stage_needs_required_values(stage):
        raise InvalidTransition(
            {
                "stage": _("Fill in %(fields)s before moving the deal to “%(stage)s”.")
                % {"fields": ", ".join(field.label for field in missing), "stage": stage.name}
            }
        )
