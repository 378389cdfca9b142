from django.db import models
from django.utils.translation import gettext_lazy as _


class RecordType(models.TextChoices):
    COMPANY = "company", _("Company")
    CONTACT = "contact", _("Contact")
    LEAD = "lead", _("Lead")
    DEAL = "deal", _("Deal")
    TASK = "task", _("Task")
    TICKET = "ticket", _("Ticket")


class FieldType(models.TextChoices):
    TEXT = "text", _("Text")
    LONG_TEXT = "long_text", _("Long text")
    NUMBER = "number", _("Number")
    MONEY = "money", _("Money")
    DATE = "date", _("Date")
    DATETIME = "datetime", _("Date and time")
    SELECT = "select", _("Single select")
    MULTI_SELECT = "multi_select", _("Multi select")
    CHECKBOX = "checkbox", _("Checkbox")
    URL = "url", _("URL")
    EMAIL = "email", _("Email")
    USER = "user", _("User")


class CustomField(models.Model):
    """An admin-defined field; its values live in the `custom` JSON column of the record."""

    record_type = models.CharField(_("record type"), max_length=10, choices=RecordType)
    key = models.SlugField(
        _("key"), max_length=50, help_text=_("Stable name used in the API, filters and imports.")
    )
    label = models.CharField(_("label"), max_length=100)
    field_type = models.CharField(_("type"), max_length=12, choices=FieldType)
    help_text = models.CharField(_("help text"), max_length=200, blank=True)
    required = models.BooleanField(_("required"), default=False)
    choices = models.JSONField(
        _("choices"), default=list, blank=True, help_text=_("Options of a select field.")
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")
        ordering = ["record_type", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["record_type", "key"], name="custom_field_key_unique"),
        ]

    def __str__(self):
        return f"{self.get_record_type_display()}: {self.label}"

    @property
    def is_select(self) -> bool:
        return self.field_type in (FieldType.SELECT, FieldType.MULTI_SELECT)
