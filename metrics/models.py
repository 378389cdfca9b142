from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class KPISnapshot(models.Model):
    """A KPI's value for one period and segment, as computed by the nightly fill.

    Re-computing the same (kpi, grain, period, segment) replaces the row.
    """

    kpi = models.CharField(_("KPI"), max_length=50)
    grain = models.CharField(_("grain"), max_length=10)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"), help_text=_("The last day of the period."))
    segment_field = models.CharField(_("segment"), max_length=60, blank=True, default="")
    segment_value = models.CharField(_("segment value"), max_length=200, blank=True, default="")
    value = models.DecimalField(_("value"), max_digits=20, decimal_places=4, null=True)
    numerator = models.DecimalField(_("numerator"), max_digits=20, decimal_places=4, null=True)
    denominator = models.DecimalField(_("denominator"), max_digits=20, decimal_places=4, null=True)
    computed_at = models.DateTimeField(_("computed"), default=timezone.now)

    class Meta:
        verbose_name = _("KPI snapshot")
        verbose_name_plural = _("KPI snapshots")
        ordering = ["kpi", "grain", "period_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["kpi", "grain", "period_start", "segment_field", "segment_value"],
                name="kpi_snapshot_unique",
            )
        ]
        indexes = [models.Index(fields=["kpi", "grain", "segment_field", "period_start"])]

    def __str__(self):
        segment = f" [{self.segment_field}={self.segment_value}]" if self.segment_field else ""
        return f"{self.kpi} {self.grain} {self.period_start}{segment}: {self.value}"
