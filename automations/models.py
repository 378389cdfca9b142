"""Automation rules (trigger → conditions → actions), their saved versions, and the run log.

The shapes of `trigger`, `conditions` and `actions` are documented in automations/schema.py;
the builder writes them from menus, nobody types JSON.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Rule(models.Model):
    name = models.CharField(_("name"), max_length=150)
    description = models.TextField(_("description"), blank=True)
    enabled = models.BooleanField(_("enabled"), default=False)
    trigger = models.JSONField(_("trigger"), default=dict)
    conditions = models.JSONField(_("conditions"), default=dict, blank=True)
    actions = models.JSONField(_("actions"), default=list)
    # The record type the rule is about (deal, lead, ...), from its trigger; "" for schedules
    # and KPI thresholds. Indexed: the dispatcher loads only rules for an event's record type.
    record_type = models.CharField(_("record type"), max_length=30, blank=True, db_index=True)
    version = models.PositiveIntegerField(_("version"), default=1)
    # Ready-made rules are created once by this key (idempotent seeding, never duplicated).
    template_key = models.CharField(_("ready-made key"), max_length=60, blank=True)
    # Time-based triggers: when the rule is next due (cron), and its state between ticks (e.g.
    # whether a KPI was above its threshold at the last check, to fire on the crossing only).
    next_run_at = models.DateTimeField(_("next run"), null=True, blank=True)
    state = models.JSONField(_("state"), default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("automation rule")
        verbose_name_plural = _("automation rules")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["template_key"],
                condition=~Q(template_key=""),
                name="rule_template_once",
            )
        ]

    def __str__(self):
        return self.name


class RuleVersion(models.Model):
    """The rule as it was at each version, so runs of earlier versions stay readable."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField(_("version"))
    name = models.CharField(_("name"), max_length=150)
    trigger = models.JSONField(_("trigger"), default=dict)
    conditions = models.JSONField(_("conditions"), default=dict, blank=True)
    actions = models.JSONField(_("actions"), default=list)
    saved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("saved by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    saved_at = models.DateTimeField(_("saved"), default=timezone.now)

    class Meta:
        verbose_name = _("rule version")
        verbose_name_plural = _("rule versions")
        ordering = ["rule", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "version"], name="rule_version_unique")
        ]

    def __str__(self):
        return f"{self.name} v{self.version}"


class RunStatus(models.TextChoices):
    MATCHED = "matched", _("Matched, actions done")
    NOT_MATCHED = "not_matched", _("Conditions not met")
    ERROR = "error", _("Error")
    SKIPPED = "skipped", _("Skipped (loop guard)")


class RuleRun(models.Model):
    """One evaluation of one rule: for an event, or for a time tick on a record."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="runs")
    rule_version = models.PositiveIntegerField(_("rule version"))
    event = models.ForeignKey(
        "crm.Event", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Time-based runs: what fired them, e.g. "schedule:2026-11-26T09:00" or
    # "date:2026-11-23" or "idle:2026-11-26"; unique per rule and record, so a tick
    # delivered twice runs once.
    tick = models.CharField(_("tick"), max_length=80, blank=True)
    record_type = models.CharField(_("record type"), max_length=30, blank=True)
    record_id = models.BigIntegerField(_("record id"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=RunStatus.choices)
    # One entry per action: {"type": ..., "ok": bool, "detail": "...", "pending": bool}
    actions = models.JSONField(_("actions"), default=list, blank=True)
    error = models.TextField(_("error"), blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    # The chain of rule ids whose actions led to this run (the loop guard).
    depth = models.PositiveSmallIntegerField(_("depth"), default=0)
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("rule run")
        verbose_name_plural = _("rule runs")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "event"],
                condition=Q(event__isnull=False),
                name="rule_run_once_per_event",
            ),
            models.UniqueConstraint(
                fields=["rule", "tick", "record_type", "record_id"],
                condition=~Q(tick=""),
                name="rule_run_once_per_tick",
            ),
        ]
        indexes = [
            models.Index(fields=["rule", "created_at"]),
            models.Index(fields=["record_type", "record_id", "created_at"]),
        ]

    def __str__(self):
        return f"{self.rule} · {self.get_status_display()}"


class WebhookAttempt(models.Model):
    """One call of a webhook action: what was sent, what came back (every try is logged)."""

    run = models.ForeignKey(RuleRun, on_delete=models.CASCADE, related_name="webhook_attempts")
    action_index = models.PositiveSmallIntegerField(_("action"))
    attempt = models.PositiveSmallIntegerField(_("attempt"))
    url = models.URLField(_("URL"), max_length=500)
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    response_excerpt = models.TextField(_("response"), blank=True)
    error = models.TextField(_("error"), blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")
        ordering = ["run", "action_index", "attempt"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "action_index", "attempt"], name="webhook_attempt_unique"
            )
        ]

    def __str__(self):
        return f"{self.url} #{self.attempt}"
