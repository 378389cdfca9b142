"""Rules for tests: written straight to the table (the services have their own tests)."""

from django.utils import timezone

from automations.models import Rule, RuleVersion
from automations.triggers import record_type_of

NO_CONDITIONS = {"match": "all", "rows": []}


def make_rule(*, trigger: dict, actions=None, conditions=None, enabled=True, **extra) -> Rule:
    now = timezone.now()
    rule = Rule.objects.create(
        name=extra.pop("name", f"Rule {Rule.objects.count() + 1}"),
        enabled=enabled,
        trigger=trigger,
        conditions=conditions or NO_CONDITIONS,
        actions=actions or [],
        record_type=record_type_of(trigger),
        created_at=now,
        updated_at=now,
        **extra,
    )
    RuleVersion.objects.create(
        rule=rule,
        version=1,
        name=rule.name,
        trigger=rule.trigger,
        conditions=rule.conditions,
        actions=rule.actions,
    )
    return rule


def ready_made(key: str, *, enabled=True) -> Rule:
    rule = Rule.objects.get(template_key=key)
    rule.enabled = enabled
    rule.save(update_fields=["enabled"])
    return rule
