from django.apps import AppConfig
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class AutomationsConfig(AppConfig):
    name = "automations"
    verbose_name = _("Automations")

    def ready(self):
        from crm import access

        from .models import Rule, RuleRun

        access.register_rule(Rule, rules_visible_to)
        access.register_rule(RuleRun, runs_visible_to)


def rules_visible_to(user) -> Q:
    """Managers read every rule; reps and agents read none (they see runs on their records)."""
    from crm import access

    return Q() if access.is_manager(user) else Q(pk__in=[])


def runs_visible_to(user) -> Q:
    """Managers read every run; others the runs on records they can see."""
    from crm import access

    from .records import model_for

    if access.is_manager(user):
        return Q()
    visible = Q(pk__in=[])
    for record_type in ("lead", "contact", "company", "deal", "task", "ticket", "activity"):
        model = model_for(record_type)
        ids = access.visible(model, user).values("pk")
        visible |= Q(record_type=record_type, record_id__in=ids)
    return visible
