"""Models of issue 17 (alert); metrics.models imports them."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

__all__ = ["AlertDirection", "AlertStatus", "KPIAlert"]


class AlertDirection(models.TextChoices):
    ABOVE = "above", _("Above the expected range")
    BELOW = "below", _("Below the expected range")


class AlertStatus(models.TextChoices):
    OPEN = "open", _("Open")
    EXPECTED = "expected", _("Expected")


class KPIAlert(models.Model):
    """A KPI that left its expected range for one closed period and scope.

    One row per (kpi, grain, period, segment), enforced by the database: a re-run of the check
    updates the row instead of raising it again, and a row marked "expected" keeps its status.
    """

    kpi = models.CharField(_("KPI"), max_length=50)
    grain = models.CharField(_("grain"), max_length=10)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    segment_field = models.CharField(_("segment"), max_length=60, blank=True, default="")
    segment_value = models.CharField(_("segment value"), max_length=200, blank=True, default="")
    value = models.DecimalField(_("value"), max_digits=20, decimal_places=4)
    expected_low = models.DecimalField(_("expected from"), max_digits=20, decimal_places=4)
    expected_high = models.DecimalField(_("expected up to"), max_digits=20, decimal_places=4)
    expected_median = models.DecimalField(_("usual value"), max_digits=20, decimal_places=4)
    direction = models.CharField(_("direction"), max_length=5, choices=AlertDirection)
    driver_field = models.CharField(_("top driver segment"), max_length=60, blank=True, default="")
    driver_value = models.CharField(_("top driver value"), max_length=200, blank=True, default="")
    driver_label = models.CharField(_("top driver"), max_length=200, blank=True, default="")
    driver_contribution = models.DecimalField(
        _("top driver contribution"), max_digits=20, decimal_places=4, null=True, blank=True
    )
    status = models.CharField(
        _("status"), max_length=10, choices=AlertStatus, default=AlertStatus.OPEN
    )
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("marked by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    marked_at = models.DateTimeField(_("marked"), null=True, blank=True)
    raised_at = models.DateTimeField(_("raised"), default=timezone.now)

    class Meta:
        verbose_name = _("KPI alert")
        verbose_name_plural = _("KPI alerts")
        ordering = ["-period_start", "kpi", "segment_field", "segment_value"]
        constraints = [
            models.UniqueConstraint(
                fields=["kpi", "grain", "period_start", "segment_field", "segment_value"],
                name="kpi_alert_unique",
            )
        ]
        indexes = [models.Index(fields=["status", "grain", "period_start"])]

    def __str__(self):
        segment = f" [{self.segment_field}={self.segment_value}]" if self.segment_field else ""
        return f"{self.kpi} {self.grain} {self.period_start}{segment}: {self.direction}"
