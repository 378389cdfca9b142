"""Goals and their targets (key results), the hand-kept values' history and the daily rows.

Progress is stored on the goal and its targets by goals.services (the only write path), so the
tree, the goal page, My day and the dashboards' card all read the same number.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from metrics.periods import custom_period
from metrics.registry import ALL, Segment

MONEY = {"max_digits": 20, "decimal_places": 4}
PERCENT = {"max_digits": 7, "decimal_places": 1}


class Scope(models.TextChoices):
    COMPANY = "company", _("Whole company")
    TEAM = "team", _("Team")
    PERSON = "person", _("One person")


class Grain(models.TextChoices):
    MONTH = "month", _("Month")
    QUARTER = "quarter", _("Quarter")
    YEAR = "year", _("Year")
    CUSTOM = "custom", _("Custom dates")


class GoalStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    CLOSED = "closed", _("Closed")


class Health(models.TextChoices):
    UNKNOWN = "", _("Too early to tell")
    ON_TRACK = "on_track", _("On track")
    AT_RISK = "at_risk", _("At risk")
    OFF_TRACK = "off_track", _("Off track")


class GoalQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status=GoalStatus.ACTIVE)


class Goal(models.Model):
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="owned_goals",
    )
    scope = models.CharField(_("scope"), max_length=10, choices=Scope.choices)
    # A team's or a person's goals are their history: neither goes while goals point at it.
    team = models.ForeignKey(
        "crm.Team",
        verbose_name=_("team"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="goals",
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="goals",
    )
    grain = models.CharField(_("period"), max_length=10, choices=Grain.choices)
    start_date = models.DateField(_("first day"))
    end_date = models.DateField(_("last day"))
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent goal"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="children",
    )
    # The goal's share in its parent's progress.
    weight = models.DecimalField(_("weight in parent"), max_digits=8, decimal_places=2, default=1)
    status = models.CharField(
        _("status"), max_length=10, choices=GoalStatus.choices, default=GoalStatus.ACTIVE
    )
    progress = models.DecimalField(_("progress"), **PERCENT, null=True, blank=True)
    forecast = models.DecimalField(_("forecast"), **PERCENT, null=True, blank=True)
    pipeline_share = models.DecimalField(_("pipeline share"), **PERCENT, null=True, blank=True)
    health = models.CharField(
        _("health"), max_length=10, choices=Health.choices, default="", blank=True
    )
    computed_at = models.DateTimeField(_("computed"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = GoalQuerySet.as_manager()

    class Meta:
        verbose_name = _("goal")
        verbose_name_plural = _("goals")
        ordering = ["start_date", "name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(scope=Scope.COMPANY, team__isnull=True, person__isnull=True)
                    | Q(scope=Scope.TEAM, team__isnull=False, person__isnull=True)
                    | Q(scope=Scope.PERSON, person__isnull=False)
                ),
                name="goal_scope_matches_subject",
            ),
            models.CheckConstraint(
                condition=Q(end_date__gte=models.F("start_date")), name="goal_end_after_start"
            ),
            models.CheckConstraint(condition=Q(weight__gte=0), name="goal_weight_not_negative"),
        ]
        indexes = [models.Index(fields=["status", "end_date"])]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("goal", args=[self.pk])

    @property
    def period(self):
        """The period exactly as `manage.py kpi --from --to` reads it."""
        return custom_period(self.start_date, self.end_date)

    @property
    def segment(self) -> Segment:
        if self.scope == Scope.PERSON:
            return Segment("owner", str(self.person_id))
        if self.scope == Scope.TEAM:
            return Segment("team", str(self.team_id))
        return ALL

    @property
    def subject_name(self) -> str:
        if self.scope == Scope.PERSON and self.person:
            return self.person.get_full_name() or self.person.username
        if self.scope == Scope.TEAM and self.team:
            return self.team.name
        return str(_("Whole company"))


class TargetKind(models.TextChoices):
    KPI = "kpi", _("KPI")
    NUMBER = "number", _("Number updated by hand")
    MONEY = "money", _("Money updated by hand")
    MILESTONE = "milestone", _("Done / not done")
    TASKS = "tasks", _("Share of linked tasks done")


class Direction(models.TextChoices):
    INCREASE = "increase", _("Increase to")
    DECREASE = "decrease", _("Decrease to")
    BAND = "band", _("Stay within a band")


class Target(models.Model):
    goal = models.ForeignKey(
        Goal, verbose_name=_("goal"), on_delete=models.CASCADE, related_name="targets"
    )
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=10, choices=TargetKind.choices)
    weight = models.DecimalField(_("weight"), max_digits=8, decimal_places=2, default=1)
    direction = models.CharField(
        _("direction"), max_length=10, choices=Direction.choices, default=Direction.INCREASE
    )
    kpi_key = models.CharField(_("KPI"), max_length=50, blank=True)
    # Empty: the goal's scope decides (owner = the person, team = the team, or everyone).
    segment_field = models.CharField(_("segment"), max_length=50, blank=True)
    segment_value = models.CharField(_("segment value"), max_length=100, blank=True)
    # "+20 % over the previous period": the target is worked out from the previous value.
    relative_percent = models.DecimalField(
        _("change over the previous period (%)"), **PERCENT, null=True, blank=True
    )
    previous_value = models.DecimalField(_("previous period"), **MONEY, null=True, blank=True)
    start_value = models.DecimalField(_("start"), **MONEY, null=True, blank=True)
    target_value = models.DecimalField(_("target"), **MONEY, null=True, blank=True)
    band_low = models.DecimalField(_("band from"), **MONEY, null=True, blank=True)
    band_high = models.DecimalField(_("band to"), **MONEY, null=True, blank=True)
    current_value = models.DecimalField(_("current"), **MONEY, null=True, blank=True)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    # No database constraint: `seed_demo --reset` deletes tasks with plain DELETEs, and a link
    # to a deleted task simply stops counting (the share reads tasks through a join).
    tasks = models.ManyToManyField(
        "crm.Task",
        verbose_name=_("tasks"),
        blank=True,
        related_name="goal_targets",
        db_constraint=False,
    )
    progress = models.DecimalField(_("progress"), **PERCENT, null=True, blank=True)
    forecast_value = models.DecimalField(_("forecast"), **MONEY, null=True, blank=True)
    forecast_progress = models.DecimalField(_("forecast"), **PERCENT, null=True, blank=True)
    pipeline_progress = models.DecimalField(_("pipeline"), **PERCENT, null=True, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(weight__gte=0), name="target_weight_not_negative"),
        ]

    def __str__(self):
        return self.name

    @property
    def done(self) -> bool:
        return self.done_at is not None

    @property
    def segment(self) -> Segment:
        if self.segment_field:
            return Segment(self.segment_field, self.segment_value)
        return self.goal.segment

    @property
    def kpi(self):
        from metrics.registry import get_kpi

        return get_kpi(self.kpi_key) if self.kind == TargetKind.KPI else None

    @property
    def unit(self) -> str:
        if self.kind == TargetKind.KPI:
            return self.kpi.unit
        return {
            TargetKind.MONEY: "money",
            TargetKind.TASKS: "percent",
        }.get(self.kind, "count")

    @property
    def kpi_url(self) -> str:
        """The KPI page for the goal's period and this target's segment (the drill-down)."""
        if self.kind != TargetKind.KPI:
            return ""
        from metrics.dashboards import kpi_url

        return kpi_url(self.kpi_key, self.goal.period, self.segment)


class TargetUpdate(models.Model):
    """One hand-typed value of a number or money target: who, when, what."""

    target = models.ForeignKey(
        Target, verbose_name=_("target"), on_delete=models.CASCADE, related_name="updates"
    )
    value = models.DecimalField(_("value"), **MONEY)
    note = models.CharField(_("note"), max_length=300, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        verbose_name = _("target update")
        verbose_name_plural = _("target updates")
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.target} = {self.value}"


class GoalProgress(models.Model):
    """A goal's progress on one day: the burn-up chart's points."""

    goal = models.ForeignKey(Goal, on_delete=models.CASCADE, related_name="daily")
    day = models.DateField()
    progress = models.DecimalField(**PERCENT, null=True)
    forecast = models.DecimalField(**PERCENT, null=True)

    class Meta:
        ordering = ["goal", "day"]
        constraints = [
            models.UniqueConstraint(fields=["goal", "day"], name="goal_progress_once_a_day")
        ]

    def __str__(self):
        return f"{self.goal} {self.day}"


class TargetProgress(models.Model):
    """A target's value and progress on one day: the run-rate the forecast reads."""

    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="daily")
    day = models.DateField()
    value = models.DecimalField(**MONEY, null=True)
    progress = models.DecimalField(**PERCENT, null=True)

    class Meta:
        ordering = ["target", "day"]
        constraints = [
            models.UniqueConstraint(fields=["target", "day"], name="target_progress_once_a_day")
        ]

    def __str__(self):
        return f"{self.target} {self.day}"


class Watermark(models.Model):
    """The last crm.Event id the goals were recomputed after (the debounce's memory)."""

    name = models.CharField(max_length=50, unique=True)
    value = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.name} = {self.value}"
