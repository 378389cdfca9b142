from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GoalsConfig(AppConfig):
    name = "goals"
    verbose_name = _("Goals")

    def ready(self):
        from crm.access import register_rule

        from .access import goal_rule, target_rule
        from .models import Goal, Target

        register_rule(Goal, goal_rule)
        register_rule(Target, target_rule)
