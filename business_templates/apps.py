from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BusinessTemplatesConfig(AppConfig):
    name = "business_templates"
    verbose_name = _("Business templates")
    default_auto_field = "django.db.models.BigAutoField"
