from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class KPISnapshot(models.Model):
    """A KPI's value for one period and segment, as computed by the nightly fill.

    Re-computing the same (kpi, grain, period, segment) replaces the row. A grain's period is
    known by its start, but for a month to date (metrics.fill.MONTH_TO_DATE), whose rows of one
    month differ by their last day.
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
                fields=[
                    "kpi",
                    "grain",
                    "period_start",
                    "period_end",
                    "segment_field",
                    "segment_value",
                ],
                name="kpi_snapshot_unique_period",
            )
        ]
        indexes = [models.Index(fields=["kpi", "grain", "segment_field", "period_start"])]

    def __str__(self):
        segment = f" [{self.segment_field}={self.segment_value}]" if self.segment_field else ""
        return f"{self.kpi} {self.grain} {self.period_start}{segment}: {self.value}"


class FillStatus(models.TextChoices):
    STARTED = "started", _("Started")
    OPEN = "open", _("Written, not final")
    DONE = "done", _("Done")


class SnapshotFill(models.Model):
    """Where the snapshots of one period stand: one row per (grain, period start), plus the
    grain "health" for the stored health scores (one row per day scored).

    A run marks the period started (committed), computes, then writes the period's rows and
    marks it done in one transaction. A period left started was interrupted (a killed worker):
    its rows are still the old ones and the next nightly run redoes it. A period still running
    (today, this month) or written for some KPIs only is open: the nightly run fills it once it
    is over.
    """

    grain = models.CharField(_("grain"), max_length=10)
    period_start = models.DateField(_("period start"))
    status = models.CharField(
        _("status"), max_length=10, choices=FillStatus, default=FillStatus.STARTED
    )
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    rows_written = models.PositiveIntegerField(_("rows written"), default=0)
    run_id = models.CharField(_("run"), max_length=40, blank=True, default="")

    class Meta:
        verbose_name = _("snapshot fill")
        verbose_name_plural = _("snapshot fills")
        ordering = ["grain", "period_start"]
        constraints = [
            models.UniqueConstraint(fields=["grain", "period_start"], name="snapshot_fill_unique")
        ]

    def __str__(self):
        return f"{self.grain} {self.period_start}: {self.status}"


class FillLock(models.Model):
    """A lease that lets one nightly fill run at a time. The run renews it before each period;
    a killed run's lease simply expires, so the next run is never blocked for long."""

    name = models.CharField(_("name"), max_length=40, unique=True)
    run_id = models.CharField(_("run"), max_length=40, blank=True, default="")
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)

    class Meta:
        verbose_name = _("fill lock")
        verbose_name_plural = _("fill locks")

    def __str__(self):
        return self.name


class KPIBandOverrideQuerySet(models.QuerySet):
    def bands_by_key(self, keys=None) -> dict:
        """{kpi key: Bands} for the overridden KPIs among `keys` (all when None), one query."""
        rows = self if keys is None else self.filter(kpi__in=list(keys))
        return {row.kpi: row.as_bands() for row in rows}


class KPIBandOverride(models.Model):
    """This installation's reference bands for one KPI, replacing the ones in the code.

    Each band is a [low, high) range; an empty end is open. Leave a whole band empty to drop it.
    """

    kpi = models.CharField(_("KPI"), max_length=50, unique=True)
    typical_low = models.DecimalField(
        _("typical from"), max_digits=20, decimal_places=4, null=True, blank=True
    )
    typical_high = models.DecimalField(
        _("typical below"), max_digits=20, decimal_places=4, null=True, blank=True
    )
    good_low = models.DecimalField(
        _("good from"), max_digits=20, decimal_places=4, null=True, blank=True
    )
    good_high = models.DecimalField(
        _("good below"), max_digits=20, decimal_places=4, null=True, blank=True
    )
    exceptional_low = models.DecimalField(
        _("exceptional from"), max_digits=20, decimal_places=4, null=True, blank=True
    )
    exceptional_high = models.DecimalField(
        _("exceptional below"), max_digits=20, decimal_places=4, null=True, blank=True
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = KPIBandOverrideQuerySet.as_manager()

    class Meta:
        verbose_name = _("KPI band override")
        verbose_name_plural = _("KPI band overrides")
        ordering = ["kpi"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(typical_low__isnull=True)
                | models.Q(typical_high__isnull=True)
                | models.Q(typical_low__lt=models.F("typical_high")),
                name="kpi_band_typical_ordered",
                violation_error_message=_("A band's lower end must be below its upper end."),
            ),
            models.CheckConstraint(
                condition=models.Q(good_low__isnull=True)
                | models.Q(good_high__isnull=True)
                | models.Q(good_low__lt=models.F("good_high")),
                name="kpi_band_good_ordered",
                violation_error_message=_("A band's lower end must be below its upper end."),
            ),
            models.CheckConstraint(
                condition=models.Q(exceptional_low__isnull=True)
                | models.Q(exceptional_high__isnull=True)
                | models.Q(exceptional_low__lt=models.F("exceptional_high")),
                name="kpi_band_exceptional_ordered",
                violation_error_message=_("A band's lower end must be below its upper end."),
            ),
        ]

    def __str__(self):
        return self.kpi

    def as_bands(self):
        from .registry import Bands

        def band(name):
            low, high = getattr(self, f"{name}_low"), getattr(self, f"{name}_high")
            return None if low is None and high is None else (low, high)

        return Bands(typical=band("typical"), good=band("good"), exceptional=band("exceptional"))


class HealthSettings(models.Model):
    """The installation's customer health weights and risk threshold (one row; the first wins).

    Without a row, the CRM_HEALTH_WEIGHTS / CRM_HEALTH_RISK_THRESHOLD settings or the code
    defaults apply (see metrics.kpis.revenue).
    """

    engagement = models.FloatField(
        _("engagement weight"), default=0.3, validators=[MinValueValidator(0)]
    )
    surveys = models.FloatField(
        _("surveys weight"), default=0.25, validators=[MinValueValidator(0)]
    )
    tickets = models.FloatField(
        _("tickets weight"), default=0.15, validators=[MinValueValidator(0)]
    )
    purchase_recency = models.FloatField(
        _("purchase recency weight"), default=0.15, validators=[MinValueValidator(0)]
    )
    renewal = models.FloatField(
        _("renewal weight"), default=0.15, validators=[MinValueValidator(0)]
    )
    risk_threshold = models.FloatField(
        _("risk threshold"),
        default=40,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text=_("Customers scoring below this are at risk."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    WEIGHT_FIELDS = ["engagement", "surveys", "tickets", "purchase_recency", "renewal"]

    class Meta:
        verbose_name = _("health score settings")
        verbose_name_plural = _("health score settings")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(engagement__gte=0)
                & models.Q(surveys__gte=0)
                & models.Q(tickets__gte=0)
                & models.Q(purchase_recency__gte=0)
                & models.Q(renewal__gte=0)
                & (
                    models.Q(engagement__gt=0)
                    | models.Q(surveys__gt=0)
                    | models.Q(tickets__gt=0)
                    | models.Q(purchase_recency__gt=0)
                    | models.Q(renewal__gt=0)
                ),
                name="health_weights_positive",
                violation_error_message=_("Weights cannot be negative and one must be above 0."),
            ),
        ]

    def __str__(self):
        return str(_("Health score settings"))

    @property
    def weights(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in self.WEIGHT_FIELDS}


class CompanyHealth(models.Model):
    """A customer's latest health score, stored by the nightly task (one row per company)."""

    company = models.OneToOneField(
        "crm.Company", verbose_name=_("company"), on_delete=models.CASCADE, related_name="health"
    )
    score = models.FloatField(_("score"))
    engagement = models.FloatField(_("engagement"))
    surveys = models.FloatField(_("surveys"))
    tickets = models.FloatField(_("tickets"))
    purchase_recency = models.FloatField(_("purchase recency"))
    renewal = models.FloatField(_("renewal"))
    at_risk = models.BooleanField(_("at risk"), default=False)
    as_of = models.DateField(_("as of"))
    computed_at = models.DateTimeField(_("computed"), default=timezone.now)

    COMPONENTS = ["engagement", "surveys", "tickets", "purchase_recency", "renewal"]

    class Meta:
        verbose_name = _("company health")
        verbose_name_plural = _("company health scores")
        ordering = ["score"]
        indexes = [
            models.Index(fields=["at_risk", "score"]),
            # The health KPI's drill-down of customers at risk, newest first: a few hundred
            # among a hundred thousand scores, where the page walked every score.
            models.Index(
                fields=["company"], condition=models.Q(at_risk=True), name="health_at_risk"
            ),
        ]

    def __str__(self):
        return f"{self.company_id}: {self.score:.0f}"


class DashboardGrain(models.TextChoices):
    MONTH = "month", _("Month")
    QUARTER = "quarter", _("Quarter")
    YEAR = "year", _("Year")


class Dashboard(models.Model):
    """A dashboard a user built: cards in order, a period grain and a segment; the owner edits
    it, and members of the team it is shared with may view it."""

    # Users are deactivated, never deleted: their dashboards move to whoever takes over.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="dashboards",
    )
    name = models.CharField(_("name"), max_length=100)
    grain = models.CharField(
        _("period"), max_length=10, choices=DashboardGrain, default=DashboardGrain.MONTH
    )
    segment_field = models.CharField(_("segment"), max_length=60, blank=True, default="")
    segment_value = models.CharField(_("segment value"), max_length=200, blank=True, default="")
    shared_with = models.ForeignKey(
        "crm.Team",
        verbose_name=_("shared with team"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("dashboard")
        verbose_name_plural = _("dashboards")
        ordering = ["name", "id"]

    def __str__(self):
        return self.name


class CardKind(models.TextChoices):
    KPI = "kpi", _("KPI card")
    CHART = "chart", _("Chart")


class DashboardCard(models.Model):
    """One card of a user's dashboard: a KPI (value and delta) or a chart, at `order`.

    An empty grain or segment follows the dashboard's.
    """

    dashboard = models.ForeignKey(
        Dashboard, verbose_name=_("dashboard"), on_delete=models.CASCADE, related_name="cards"
    )
    kind = models.CharField(_("kind"), max_length=5, choices=CardKind)
    key = models.CharField(
        _("KPI or chart"), max_length=60, help_text=_("A KPI key, or a chart key.")
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    grain = models.CharField(_("period"), max_length=10, choices=DashboardGrain, blank=True)
    segment_field = models.CharField(_("segment"), max_length=60, blank=True, default="")
    segment_value = models.CharField(_("segment value"), max_length=200, blank=True, default="")

    class Meta:
        verbose_name = _("dashboard card")
        verbose_name_plural = _("dashboard cards")
        ordering = ["dashboard", "order", "id"]

    def __str__(self):
        return f"{self.dashboard}: {self.key}"


# Issue 17's models live beside these, one module per feature; imported so Django sees them.
from .alert_models import *  # noqa: E402, F401, F403
from .review_models import *  # noqa: E402, F401, F403
