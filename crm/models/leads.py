from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .common import Owned, Timestamped, WithCustomFields, owner_team_indexes


class LeadSource(models.TextChoices):
    WEB = "web", _("Web form")
    REFERRAL = "referral", _("Referral")
    ORGANIC_SEARCH = "organic_search", _("Organic search")
    EMAIL_CAMPAIGN = "email_campaign", _("Email campaign")
    EVENT = "event", _("Event")
    OUTBOUND = "outbound", _("Outbound")
    OTHER = "other", _("Other")


class LeadStatus(models.TextChoices):
    NEW = "new", _("New")
    CONTACTED = "contacted", _("Contacted")
    QUALIFIED = "qualified", _("Qualified")
    UNQUALIFIED = "unqualified", _("Unqualified")
    CONVERTED = "converted", _("Converted")


class Lead(Timestamped, Owned, WithCustomFields):
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("email"), blank=True, db_index=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True, db_index=True)
    company_name = models.CharField(_("company name"), max_length=200, blank=True)
    source = models.CharField(
        _("source"), max_length=20, choices=LeadSource, default=LeadSource.OTHER, db_index=True
    )
    status = models.CharField(
        _("status"), max_length=12, choices=LeadStatus, default=LeadStatus.NEW, db_index=True
    )
    score = models.PositiveSmallIntegerField(
        _("score"), default=0, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    first_response_at = models.DateTimeField(_("first response"), null=True, blank=True)
    qualified_at = models.DateTimeField(_("qualified"), null=True, blank=True)
    disqualified_reason = models.CharField(_("disqualified because"), max_length=200, blank=True)
    converted_at = models.DateTimeField(_("converted"), null=True, blank=True)
    converted_contact = models.ForeignKey(
        "crm.Contact",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("converted to contact"),
    )
    converted_company = models.ForeignKey(
        "crm.Company",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("converted to company"),
    )
    converted_deal = models.ForeignKey(
        "crm.Deal",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("converted to deal"),
    )

    class Meta:
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        ordering = ["-created_at"]
        indexes = [
            *owner_team_indexes("lead"),
            # The lead KPIs' parts (leads created in a period, per owner and team or source,
            # converted, qualified or answered) read from this index alone, not from 12k
            # scattered pages for a month's 18k leads on the large seed (120 ms against 36 ms;
            # the response time's, without its first response here, 105-180 ms).
            models.Index(
                fields=["created_at"],
                include=[
                    "owner",
                    "team",
                    "source",
                    "converted_deal",
                    "qualified_at",
                    "first_response_at",
                    "id",
                ],
                name="lead_created_counts",
            ),
            # The leads list sorted by one of its own columns reads the rows in order and
            # stops at a page, where it sorted every lead the user sees (170-225 ms for the
            # manager on 600k leads); each is read backwards for the other direction.
            models.Index(fields=["name", "id"], name="lead_sort_name"),
            models.Index(fields=["company_name", "id"], name="lead_sort_company"),
            models.Index(fields=["status", "id"], name="lead_sort_status"),
            models.Index(fields=["source", "id"], name="lead_sort_source"),
            models.Index(fields=["score", "id"], name="lead_sort_score"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(score__gte=0, score__lte=100),
                name="lead_score_0_100",
                violation_error_message=_("The score goes from 0 to 100."),
            ),
            models.CheckConstraint(
                condition=~Q(status="converted") | Q(converted_at__isnull=False),
                name="lead_converted_has_time",
                violation_error_message=_("A converted lead needs its conversion time."),
            ),
            models.CheckConstraint(
                condition=Q(first_response_at__isnull=True)
                | Q(first_response_at__gte=models.F("created_at")),
                name="lead_response_after_created",
                violation_error_message=_("A lead cannot be answered before it was created."),
            ),
            models.CheckConstraint(
                condition=Q(qualified_at__isnull=True)
                | Q(qualified_at__gte=models.F("created_at")),
                name="lead_qualified_after_created",
                violation_error_message=_("A lead cannot be qualified before it was created."),
            ),
        ]

    def __str__(self):
        return self.name
