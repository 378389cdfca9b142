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
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="survey_answers",
        verbose_name=_("contact"),
    )
    company = models.ForeignKey(
        "crm.Company",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="survey_answers",
        verbose_name=_("company"),
    )
    ticket = models.ForeignKey(
        "crm.Ticket",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="survey_answers",
        verbose_name=_("ticket"),
    )
    answered_at = models.DateTimeField(_("answered"), default=timezone.now)

    class Meta:
        verbose_name = _("survey answer")
        verbose_name_plural = _("survey answers")
        ordering = ["-answered_at"]
        indexes = [
            models.Index(fields=["kind", "answered_at"]),
            # Any answer in a period, by company or contact: the engagement rate's other set.
            models.Index(
                fields=["answered_at"], include=["company", "contact"], name="answer_when_covering"
            ),
        ]
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


class SurveyInvitation(models.Model):
    """One emailed survey link: its token is the customer's only key to one answer.

    The token is 256 random bits (see crm.services.surveys); it is spent once `answered_at`
    is set, and refused after `expires_at`.
    """

    token = models.CharField(_("token"), max_length=64, unique=True)
    kind = models.CharField(_("survey"), max_length=4, choices=SurveyKind)
    contact = models.ForeignKey(
        "crm.Contact",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="survey_invitations",
        verbose_name=_("contact"),
    )
    company = models.ForeignKey(
        "crm.Company",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="survey_invitations",
        verbose_name=_("company"),
    )
    ticket = models.ForeignKey(
        "crm.Ticket",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="survey_invitations",
        verbose_name=_("ticket"),
    )
    email = models.EmailField(_("sent to"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    expires_at = models.DateTimeField(_("expires"))
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    answer = models.OneToOneField(
        SurveyAnswer,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="invitation",
        verbose_name=_("answer"),
    )

    class Meta:
        verbose_name = _("survey invitation")
        verbose_name_plural = _("survey invitations")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=SurveyKind.values),
                name="survey_invitation_kind_known",
                violation_error_message=_("Unknown survey."),
            ),
            # A resolved ticket gets at most one invitation of each kind, however often the
            # resolution task runs.
            models.UniqueConstraint(
                fields=["ticket", "kind"],
                condition=Q(ticket__isnull=False),
                name="survey_invitation_once_per_ticket",
            ),
            models.CheckConstraint(
                condition=Q(answered_at__isnull=True) | Q(answer__isnull=False),
                name="survey_invitation_answered_has_answer",
                violation_error_message=_("An answered invitation points to its answer."),
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} → {self.email or self.contact_id}"

    def is_expired(self, now=None) -> bool:
        return (now or timezone.now()) >= self.expires_at
