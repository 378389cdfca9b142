from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Notification(models.Model):
    """A message for one user in the app (the bell), emailed too when they opted in.

    `key` makes a notification that must fire once (a goal's 50 % milestone, one rule run's
    message) unique per recipient in the database, so two workers cannot both send it.
    """

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    kind = models.CharField(_("kind"), max_length=40, blank=True)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"), blank=True)
    url = models.CharField(_("link"), max_length=300, blank=True)
    key = models.CharField(_("key"), max_length=120, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("emailed"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "key"], condition=~Q(key=""), name="notification_once_per_key"
            )
        ]
        indexes = [
            models.Index(
                fields=["recipient", "created_at"],
                condition=Q(read_at__isnull=True),
                name="notification_unread",
            )
        ]

    def __str__(self):
        return self.title

    @property
    def is_read(self) -> bool:
        return self.read_at is not None
