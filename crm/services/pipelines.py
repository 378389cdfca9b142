"""Pipelines and their stages, as admins set them up (the settings pages).

A deal's stage decides its status, so a stage's outcome (open, won, lost) no longer changes
once deals are in it, and a stage with deals or stage history cannot be deleted
(record_delete says what still refers to it). One pipeline is the default: choosing another
one moves the flag, it is never simply cleared.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from crm.models import Pipeline, Stage, StageOutcome, User

from .deletes import record_delete
from .events import event_record
from .reference import reference_save

PIPELINE_FIELDS = ("name", "is_default")
STAGE_FIELDS = ("name", "probability", "outcome")
# The stages a new pipeline gets unless asked not to: where its deals end.
CLOSING_STAGES = (
    (gettext_lazy("Won"), 100, StageOutcome.WON),
    (gettext_lazy("Lost"), 0, StageOutcome.LOST),
)


def pipeline_create(*, actor: User | None, data: dict, closing_stages: bool = True) -> Pipeline:
    """A new pipeline (last in the list), with Won and Lost stages unless `closing_stages` is
    False."""
    data = _only(data, PIPELINE_FIELDS)
    with transaction.atomic():
        if data.get("is_default"):
            _clear_default(actor)
        last = Pipeline.objects.aggregate(last=Max("order"))["last"]
        data["order"] = 0 if last is None else min(last + 1, 32767)
        pipeline = reference_save(Pipeline, actor=actor, data=data)
        if closing_stages:
            for order, (name, probability, outcome) in enumerate(CLOSING_STAGES):
                reference_save(
                    Stage,
                    actor=actor,
                    data={
                        "pipeline": pipeline,
                        "name": str(name),
                        "probability": probability,
                        "outcome": outcome,
                        "order": order,
                    },
                )
    return pipeline


def pipeline_update(*, pipeline: Pipeline, actor: User | None, data: dict) -> Pipeline:
    data = _only(data, PIPELINE_FIELDS)
    with transaction.atomic():
        current = Pipeline.objects.select_for_update().get(pk=pipeline.pk)
        if "is_default" in data and not data["is_default"] and current.is_default:
            raise ValidationError({"is_default": _("Make another pipeline the default instead.")})
        if data.get("is_default") and not current.is_default:
            _clear_default(actor)
        return reference_save(Pipeline, actor=actor, data=data, pk=pipeline.pk)


def _clear_default(actor: User | None) -> None:
    for pk in (
        Pipeline.objects.select_for_update().filter(is_default=True).values_list("pk", flat=True)
    ):
        reference_save(Pipeline, actor=actor, data={"is_default": False}, pk=pk)


def stage_create(*, pipeline: Pipeline, actor: User | None, data: dict) -> Stage:
    """A new stage: an open one goes before the pipeline's closing (won and lost) stages at
    its end, a closing one after them."""
    data = _only(data, STAGE_FIELDS)
    with transaction.atomic():
        stages = list(_locked_stages(pipeline))
        position = len(stages)
        if data.get("outcome", StageOutcome.OPEN) == StageOutcome.OPEN:
            while position and stages[position - 1].outcome != StageOutcome.OPEN:
                position -= 1
        stage = reference_save(
            Stage, actor=actor, data={**data, "pipeline": pipeline, "order": position}
        )
        _renumber(stages[:position] + [stage] + stages[position:], actor)
    return stage


def stage_update(*, stage: Stage, actor: User | None, data: dict) -> Stage:
    data = _only(data, STAGE_FIELDS)
    with transaction.atomic():
        current = Stage.objects.select_for_update().get(pk=stage.pk)
        if "outcome" in data and data["outcome"] != current.outcome:
            deals = current.deals.count()
            if deals:
                raise ValidationError(
                    {
                        "outcome": ngettext(
                            "%(count)d deal is in this stage: its outcome stays as it is. "
                            "Make a new stage instead.",
                            "%(count)d deals are in this stage: its outcome stays as it is. "
                            "Make a new stage instead.",
                            deals,
                        )
                        % {"count": deals}
                    }
                )
        return reference_save(Stage, actor=actor, data=data, pk=stage.pk)


def stages_reorder(*, pipeline: Pipeline, actor: User | None, stage_ids: list[int]) -> None:
    """Put the pipeline's stages in the order of `stage_ids`, which lists each of them once."""
    with transaction.atomic():
        stages = {stage.pk: stage for stage in _locked_stages(pipeline)}
        if len(stage_ids) != len(set(stage_ids)) or set(stage_ids) != set(stages):
            raise ValidationError(_("The new order must list every stage of the pipeline once."))
        _renumber([stages[pk] for pk in stage_ids], actor)


def stage_delete(*, stage: Stage, actor: User | None) -> None:
    """Delete a stage no deal is or was in; RecordInUse (nothing written) otherwise."""
    with transaction.atomic():
        stage = Stage.objects.select_for_update().get(pk=stage.pk)
        record_delete(stage, actor=actor)
        _renumber(list(_locked_stages(stage.pipeline)), actor)


def _locked_stages(pipeline: Pipeline):
    return Stage.objects.select_for_update().filter(pipeline=pipeline).order_by("order", "pk")


def _renumber(stages: list[Stage], actor: User | None) -> None:
    """Number the stages 0, 1, 2… in this order, with an event for each one that moved."""
    for position, stage in enumerate(stages):
        if stage.order != position:
            before, stage.order = stage.order, position
            stage.save(update_fields=["order"])
            event_record(
                type="stage.updated",
                instance=stage,
                actor=actor,
                changes={"order": [before, position]},
            )


def _only(data: dict, allowed: tuple[str, ...]) -> dict:
    extra = sorted(set(data) - set(allowed))
    if extra:
        raise ValidationError({name: _("This field cannot be set here.") for name in extra})
    return dict(data)
