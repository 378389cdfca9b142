from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .common import Timestamped, default_currency


class SubscriptionStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired")


class Subscription(Timestamped):
    """A contract: recurring revenue from `start_date` until `end_date` (exclusive) if any.

    `term_end` is the renewal date: the first day after the contract's current term, where a
    renewal would start. It stays when the subscription is cancelled, so a cancellation
    before it (`end_date` < `term_end`) is told apart from a term that ran out. Empty for a
    month-to-month (evergreen) subscription, which never comes up for renewal.
    """

    company = models.ForeignKey(
        "crm.Company",
        verbose_name=_("company"),
        on_delete=models.PROTECT,
        related_name="subscriptions",
    )
    plan_name = models.CharField(_("plan"), max_length=100)
    monthly_value = models.DecimalField(
        _("monthly value"), max_digits=14, decimal_places=2, validators=[MinValueValidator(0)]
    )
    currency = models.CharField(_("currency"), max_length=3, default=default_currency)
    start_date = models.DateField(_("start"))
    end_date = models.DateField(_("end"), null=True, blank=True)
    term_end = models.DateField(
        _("term end (renewal date)"),
        null=True,
        blank=True,
        help_text=_(
            "The first day after the contract term, when a renewal would start. Leave empty "
            "for a month-to-month subscription."
        ),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=SubscriptionStatus, default=SubscriptionStatus.ACTIVE
    )
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    renewal_of = models.OneToOneField(
        "self",
        verbose_name=_("renewal of"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="renewal",
    )

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        ordering = ["-start_date"]
        indexes = [
            models.Index(fields=["start_date", "end_date"]),
            models.Index(fields=["term_end"], name="crm_subscription_term_end"),
            # The admin's plan and currency filters list their values by skipping through
            # these (crm.admin.IndexedValuesFilter), not by sorting every subscription.
            models.Index(fields=["plan_name"], name="subscription_plan_name"),
            models.Index(fields=["currency"], name="subscription_currency"),
            # The MRR movement chart: the month's endings, and whether a customer had an
            # earlier subscription, are index reads instead of scans of every subscription.
            models.Index(
                fields=["end_date"], include=["monthly_value"], name="subscription_end_value"
            ),
            models.Index(fields=["company", "start_date"], name="subscription_company_start"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(monthly_value__gte=0),
                name="subscription_value_not_negative",
                violation_error_message=_("The monthly value cannot be negative."),
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gt=models.F("start_date")),
                name="subscription_ends_after_start",
                violation_error_message=_("The end date must come after the start date."),
            ),
            models.CheckConstraint(
                condition=Q(term_end__isnull=True) | Q(term_end__gt=models.F("start_date")),
                name="subscription_term_ends_after_start",
                violation_error_message=_("The term end must come after the start date."),
            ),
            models.CheckConstraint(
                condition=~Q(status="cancelled")
                | Q(cancelled_at__isnull=False, end_date__isnull=False),
                name="subscription_cancelled_has_dates",
                violation_error_message=_(
                    "A cancelled subscription needs its end and cancel dates."
                ),
            ),
            models.CheckConstraint(
                condition=~Q(status="expired") | Q(end_date__isnull=False),
                name="subscription_expired_has_end",
                violation_error_message=_("An expired subscription needs its end date."),
            ),
        ]

    def __str__(self):
        return f"{self.company} · {self.plan_name}"
