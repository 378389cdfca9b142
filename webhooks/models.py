"""Outbound webhooks: an admin's subscription of a URL to event types, and its deliveries.

One Delivery per (subscription, event), made unique by the database, so an event is sent once
to each subscription however many times the dispatch runs; each try is a DeliveryAttempt row.
"""

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


def new_secret() -> str:
    return secrets.token_hex(32)


class Subscription(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.CASCADE,
        related_name="webhook_subscriptions",
    )
    name = models.CharField(_("name"), max_length=100, blank=True)
    url = models.URLField(_("URL"), max_length=500)
    # Event types such as "deal.stage_changed", "deal.*" for every event of a record type, or
    # ["*"] for all of them.
    event_types = models.JSONField(_("event types"), default=list)
    secret = models.CharField(_("secret"), max_length=64, default=new_secret)
    active = models.BooleanField(_("active"), default=True)
    paused_at = models.DateTimeField(_("paused"), null=True, blank=True)
    # Deliveries that failed in a row (all their tries); a success resets it.
    failure_count = models.PositiveIntegerField(_("failures in a row"), default=0)
    # The last event the dispatch looked at for this subscription: only later events are
    # delivered (a new or resumed subscription does not replay the past).
    last_event_id = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        ordering = ["id"]

    def __str__(self):
        return self.name or self.url

    @property
    def is_sending(self) -> bool:
        return self.active and self.paused_at is None

    def wants(self, event_type: str) -> bool:
        for pattern in self.event_types or []:
            if pattern == "*" or pattern == event_type:
                return True
            if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
                return True
        return False


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    OK = "ok", _("delivered")
    FAILED = "failed", _("failed")


class Delivery(models.Model):
    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    # Null for the admin's "send test event", which has no event row.
    event = models.ForeignKey(
        "crm.Event", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    # The JSON body, fixed when the delivery is made so every retry sends the same bytes.
    body = models.JSONField(_("body"), default=dict)
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_status_code = models.PositiveIntegerField(_("last HTTP status"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    last_latency_ms = models.PositiveIntegerField(_("last latency (ms)"), null=True, blank=True)
    # When the next try is due; while a try is in flight it is a lease (a killed worker's
    # delivery is picked up again once it passes).
    next_attempt_at = models.DateTimeField(_("next try"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "event"], name="webhook_delivery_once_per_event"
            )
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="webhook_delivery_due",
            )
        ]

    def __str__(self):
        return f"{self.subscription} #{self.event_id or 'test'}"


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="tries")
    at = models.DateTimeField(_("at"))
    status_code = models.PositiveIntegerField(_("HTTP status"), null=True, blank=True)
    latency_ms = models.PositiveIntegerField(_("latency (ms)"))
    error = models.CharField(_("error"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("webhook delivery attempt")
        verbose_name_plural = _("webhook delivery attempts")
        ordering = ["id"]

    def __str__(self):
        return f"{self.delivery} {self.status_code or self.error}"
