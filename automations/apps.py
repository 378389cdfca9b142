from django.apps import AppConfig
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _


class AutomationsConfig(AppConfig):
    name = "automations"
    verbose_name = _("Automations")

    def ready(self):
        from crm import access
        from crm.services.merge import register_record_reference

        from .models import Rule, RuleRun

        access.register_rule(Rule, rules_visible_to)
        access.register_rule(RuleRun, runs_visible_to)
        # A merged record's runs follow it to the survivor (crm.services.merge).
        register_record_reference(RuleRun)


def rules_visible_to(user) -> Q:
    """Managers read every rule; reps and agents read none (they see runs on their records)."""
    from crm import access

    return Q() if access.is_manager(user) else Q(pk__in=[])


RUN_RECORD_TYPES = ("lead", "contact", "company", "deal", "task", "ticket", "activity")


def runs_visible_to(user) -> Q:
    """Managers read every run; others the runs on records they can see."""
    from crm import access

    if access.is_manager(user):
        return Q()
    return runs_on_visible_records(user, RUN_RECORD_TYPES)


def runs_on_visible_records(user, record_types) -> Q:
    """Runs on records of these types that the user sees: an existence check per run on its
    record's rule. Not `record_id IN (visible ids)`: past work_mem, PostgreSQL scans the
    visible ids again for every run (seconds on a million deals)."""
    from crm import access

    from .records import model_for

    visible = Q(pk__in=[])
    for record_type in record_types:
        records = access.visible(model_for(record_type), user).filter(pk=OuterRef("record_id"))
        visible |= Q(record_type=record_type) & Q(Exists(records))
    return visible
