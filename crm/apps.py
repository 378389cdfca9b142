from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = _("CRM")

    def ready(self):
        from .celery import ensure_embedded_broker_folders

        ensure_embedded_broker_folders()
