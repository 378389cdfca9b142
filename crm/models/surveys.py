from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SurveyKind(models.TextChoices):
    NPS = "nps", _("Net Promoter Score (0–10)")
    CSAT = "csat", _("Customer satisfaction (1–5)")
    CES = "ces", _("Customer effort (1–7)")


SCORE_RANGES = {SurveyKind.NPS: (0, 10), SurveyKind.CSAT: (1, 5), SurveyKind.CES: (1, 7)}


class SurveyAnswer(models.Model):
    kind = models.CharField(_("survey"), max_length=4, choices=SurveyKind)
    score = models.SmallIntegerField(_("score"))
    comment = models.TextField(_("comment"), blank=True)
    contact = models.ForeignKey(
        "crm.Contact",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="survey_answers",
    )
    company = models.ForeignKey(
        "crm.Company",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="survey_answers",
    )
    ticket = models.ForeignKey(
        "crm.Ticket",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="survey_answers",
    )
    answered_at = models.DateTimeField(_("answered"), default=timezone.now)

    class Meta:
        verbose_name = _("survey answer")
        verbose_name_plural = _("survey answers")
        ordering = ["-answered_at"]
        indexes = [models.Index(fields=["kind", "answered_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=SurveyKind.values),
                name="survey_kind_known",
                violation_error_message=_("Unknown survey."),
            ),
            models.CheckConstraint(
                condition=Q(
                    *[
                        ~Q(kind=kind) | Q(score__gte=low, score__lte=high)
                        for kind, (low, high) in SCORE_RANGES.items()
                    ]
                ),
                name="survey_score_in_range_of_kind",
                violation_error_message=_("The score is outside the scale of this survey."),
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.score}"
