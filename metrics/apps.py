from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MetricsConfig(AppConfig):
    name = "metrics"
    verbose_name = _("Metrics")

    def ready(self):
        from crm.access import register_rule

        from .alert_models import KPIAlert
        from .alerts import alert_rule

        register_rule(KPIAlert, alert_rule)

        from crm.access import review_rule

        from .review_models import WeeklyReview

        register_rule(WeeklyReview, review_rule)
