from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Pipeline(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    is_default = models.BooleanField(_("default"), default=False)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")
        ordering = ["order", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_pipeline"
            )
        ]

    def __str__(self):
        return self.name

    def first_stage(self) -> "Stage":
        return self.stages.filter(outcome=StageOutcome.OPEN).order_by("order").first()


class StageOutcome(models.TextChoices):
    OPEN = "open", _("Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class Stage(models.Model):
    pipeline = models.ForeignKey(
        Pipeline, verbose_name=_("pipeline"), on_delete=models.CASCADE, related_name="stages"
    )
    name = models.CharField(_("name"), max_length=100)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    probability = models.PositiveSmallIntegerField(
        _("win probability (%)"),
        default=0,
        validators=[MaxValueValidator(100)],
        help_text=_("Chance that a deal here is won, 0–100."),
    )
    outcome = models.CharField(
        _("outcome"), max_length=4, choices=StageOutcome, default=StageOutcome.OPEN
    )

    class Meta:
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        ordering = ["pipeline", "order"]
        constraints = [
            models.UniqueConstraint(
                fields=["pipeline", "name"], name="stage_name_unique_in_pipeline"
            ),
            models.CheckConstraint(
                condition=Q(probability__gte=0, probability__lte=100),
                name="stage_probability_0_100",
                violation_error_message=_("The probability goes from 0 to 100."),
            ),
            models.CheckConstraint(
                condition=~Q(outcome="won") | Q(probability=100),
                name="stage_won_is_certain",
                violation_error_message=_("A won stage has a probability of 100."),
            ),
            models.CheckConstraint(
                condition=~Q(outcome="lost") | Q(probability=0),
                name="stage_lost_is_zero",
                violation_error_message=_("A lost stage has a probability of 0."),
            ),
        ]

    def __str__(self):
        return f"{self.pipeline} · {self.name}"
