from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .common import LabelsOneChoice


class ActivityKind(models.TextChoices):
    CALL = "call", _("Call")
    EMAIL_SENT = "email_sent", _("Email sent")
    EMAIL_RECEIVED = "email_received", _("Email received")
    EMAIL_OPENED = "email_opened", _("Email opened")
    MEETING = "meeting", _("Meeting")
    NOTE = "note", _("Note")
    SITE_VISIT = "site_visit", _("Site visit")


class Direction(models.TextChoices):
    OUTBOUND = "outbound", _("Outbound")
    INBOUND = "inbound", _("Inbound")
    INTERNAL = "internal", _("Internal")


# What counts as a customer engaging (engagement_rate KPI); survey answers count as well.
ENGAGEMENT_KINDS = [
    ActivityKind.EMAIL_OPENED,
    ActivityKind.EMAIL_RECEIVED,
    ActivityKind.MEETING,
    ActivityKind.CALL,
    ActivityKind.SITE_VISIT,
]


class Activity(LabelsOneChoice, models.Model):
    kind = models.CharField(_("kind"), max_length=16, choices=ActivityKind)
    direction = models.CharField(
        _("direction"), max_length=8, choices=Direction, default=Direction.OUTBOUND
    )
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("details"), blank=True)
    outcome = models.CharField(_("outcome"), max_length=200, blank=True)
    # Indexed by activity_when_covering (Meta), which also carries what engagement reads.
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="activities",
    )
    lead = models.ForeignKey(
        "crm.Lead",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="activities",
        verbose_name=_("lead"),
    )
    contact = models.ForeignKey(
        "crm.Contact",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="activities",
        verbose_name=_("contact"),
    )
    company = models.ForeignKey(
        "crm.Company",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="activities",
        verbose_name=_("company"),
    )
    deal = models.ForeignKey(
        "crm.Deal",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="activities",
        verbose_name=_("deal"),
    )
    ticket = models.ForeignKey(
        "crm.Ticket",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="activities",
        verbose_name=_("ticket"),
    )
    created_at = models.DateTimeField(_("logged"), default=timezone.now)

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        ordering = ["-occurred_at"]
        indexes = [
            # The engagement rate's "any engagement in the period" sets read the activities of
            # a period from this index alone (an index-only scan, half the KPI's time).
            models.Index(
                fields=["occurred_at"],
                include=["kind", "company", "contact"],
                name="activity_when_covering",
            ),
            models.Index(fields=["company", "kind", "occurred_at"]),
            models.Index(fields=["lead", "direction", "occurred_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(lead__isnull=False)
                | models.Q(contact__isnull=False)
                | models.Q(company__isnull=False)
                | models.Q(deal__isnull=False)
                | models.Q(ticket__isnull=False),
                name="activity_is_about_a_record",
                violation_error_message=_("An activity must be linked to at least one record."),
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.subject}"
