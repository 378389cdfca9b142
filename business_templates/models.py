"""What each business template added, item by item, so applying it again can tell an item it
already added (even renamed since) from one to add, and never adds twice."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ItemKind(models.TextChoices):
    PIPELINE = "pipeline", _("Pipeline")
    FIELD = "field", _("Custom field")
    SLA = "sla", _("SLA policy")
    DASHBOARD = "dashboard", _("Dashboard")
    RULE = "rule", _("Automation rule (disabled)")
    GOAL = "goal", _("Goal (draft)")


class AppliedItem(models.Model):
    """One item a template created: its kind, its key in the template file and the row."""

    template = models.SlugField(_("template"), max_length=50)
    kind = models.CharField(_("kind"), max_length=10, choices=ItemKind)
    key = models.CharField(_("key"), max_length=100)
    object_id = models.PositiveBigIntegerField(_("object"))
    label = models.CharField(_("name when added"), max_length=200)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("applied by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    applied_at = models.DateTimeField(_("applied"), default=timezone.now)

    class Meta:
        verbose_name = _("item added by a template")
        verbose_name_plural = _("items added by templates")
        ordering = ["-applied_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["template", "kind", "key"], name="template_item_added_once"
            )
        ]

    def __str__(self):
        return f"{self.template}: {self.get_kind_display()} {self.label}"
