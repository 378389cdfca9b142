"""Operations on automation rules: the only write path for rules (views, demo, tests call these).

Only admins create, edit, enable or dry-run rules; the services check it themselves, so a view
that forgot to would still refuse.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from crm import access
from crm.limits import check_texts
from crm.models import User

from .models import Rule, RuleRun, RuleVersion
from .schema import TIME_TRIGGERS
from .triggers import next_run_after, record_type_of

RULE_FIELDS = ("name", "description", "enabled", "trigger", "conditions", "actions")
VERSIONED_FIELDS = ("name", "trigger", "conditions", "actions")


def _require_admin(actor: User | None) -> None:
    if actor is None or not access.is_admin(actor):
        raise PermissionDenied(_("Only administrators manage automation rules."))


def _validate(*, trigger, conditions, actions) -> None:
    try:
        from .catalog import validate_rule
    except ImportError:  # the builder's catalog is optional for the engine
        validate_rule = None
    if validate_rule is not None:
        validate_rule(trigger=trigger, conditions=conditions, actions=actions)
    if not isinstance(trigger, dict) or not trigger.get("type"):
        raise ValidationError({"trigger": [_("Choose a trigger.")]})


def _clean_data(data: dict, *, base: dict | None = None) -> dict:
    cleaned = {**(base or {}), **{k: v for k, v in data.items() if k in RULE_FIELDS}}
    cleaned["name"] = (cleaned.get("name") or "").strip()
    if not cleaned["name"]:
        raise ValidationError({"name": [_("Give the rule a name.")]})
    cleaned.setdefault("description", "")
    check_texts(description=cleaned["description"])
    cleaned["conditions"] = cleaned.get("conditions") or {"match": "all", "rows": []}
    cleaned["actions"] = list(cleaned.get("actions") or [])
    cleaned["trigger"] = cleaned.get("trigger") or {}
    _validate(
        trigger=cleaned["trigger"], conditions=cleaned["conditions"], actions=cleaned["actions"]
    )
    return cleaned


def _save_version(rule: Rule, actor: User | None) -> RuleVersion:
    return RuleVersion.objects.create(
        rule=rule,
        version=rule.version,
        name=rule.name,
        trigger=rule.trigger,
        conditions=rule.conditions,
        actions=rule.actions,
        saved_by=actor,
        saved_at=rule.updated_at,
    )


def _schedule_fields(rule: Rule, *, now: datetime) -> None:
    """A cron rule is next due at its next matching minute; other rules have no due time."""
    if rule.trigger.get("type") == "schedule":
        rule.next_run_at = next_run_after(rule.trigger.get("cron", ""), now)
    else:
        rule.next_run_at = None


def rule_create(*, actor: User, data: dict, template_key: str = "") -> Rule:
    _require_admin(actor)
    cleaned = _clean_data(data)
    now = timezone.now()
    rule = Rule(
        **cleaned,
        record_type=record_type_of(cleaned["trigger"]),
        version=1,
        template_key=template_key,
        created_by=actor,
        updated_by=actor,
        created_at=now,
        updated_at=now,
    )
    _schedule_fields(rule, now=now)
    with transaction.atomic():
        rule.save()
        _save_version(rule, actor)
    return rule


def rule_update(*, rule: Rule, actor: User, data: dict) -> Rule:
    _require_admin(actor)
    base = {name: getattr(rule, name) for name in RULE_FIELDS}
    cleaned = _clean_data(data, base=base)
    new_version = any(cleaned[name] != base[name] for name in VERSIONED_FIELDS)
    with transaction.atomic():
        rule = Rule.objects.select_for_update().get(pk=rule.pk)
        trigger_changed = cleaned["trigger"] != rule.trigger
        for name, value in cleaned.items():
            setattr(rule, name, value)
        rule.record_type = record_type_of(rule.trigger)
        rule.updated_by = actor
        rule.updated_at = timezone.now()
        if trigger_changed:
            # A new trigger starts from a clean slate (KPI side, round-robin position...).
            rule.state = {}
            _schedule_fields(rule, now=rule.updated_at)
        if new_version:
            rule.version += 1
        rule.save()
        if new_version:
            _save_version(rule, actor)
    return rule


def rule_set_enabled(*, rule: Rule, actor: User, enabled: bool) -> Rule:
    _require_admin(actor)
    with transaction.atomic():
        rule = Rule.objects.select_for_update().get(pk=rule.pk)
        rule.enabled = bool(enabled)
        rule.updated_by = actor
        rule.updated_at = timezone.now()
        fields = ["enabled", "updated_by", "updated_at"]
        if rule.enabled and rule.trigger.get("type") == "schedule":
            # Enabling resumes from now: a paused schedule does not catch up on missed ticks.
            _schedule_fields(rule, now=rule.updated_at)
            fields.append("next_run_at")
        rule.save(update_fields=fields)
    return rule


def rule_duplicate(*, rule: Rule, actor: User) -> Rule:
    _require_admin(actor)
    data = {name: getattr(rule, name) for name in RULE_FIELDS}
    data["name"] = (_("Copy of %s") % rule.name)[:150]
    data["enabled"] = False
    return rule_create(actor=actor, data=data)


@dataclass
class DryRunItem:
    record_type: str
    record_id: int | None
    label: str
    occurred_at: datetime | None
    matched: bool
    event_id: int | None = None
    tick: str = ""
    event_type: str = ""
    actions: list[str] = field(default_factory=list)
    note: str = ""


@dataclass
class DryRunReport:
    days: int
    items: list[DryRunItem] = field(default_factory=list)
    evaluated: int = 0
    matched: int = 0
    truncated: bool = False
    notes: list[str] = field(default_factory=list)


def rule_dry_run(
    *, actor: User, trigger: dict, conditions: dict, actions: list, days: int, limit: int = 200
) -> DryRunReport:
    """What the rule would have done over the last `days` days; writes nothing at all."""
    _require_admin(actor)
    from .dry_run import dry_run

    conditions = conditions or {"match": "all", "rows": []}
    _validate(trigger=trigger, conditions=conditions, actions=actions or [])
    return dry_run(
        trigger=trigger, conditions=conditions, actions=actions or [], days=days, limit=limit
    )


def runs_for_record(*, record_type: str, record_id: int, user: User) -> QuerySet:
    """The runs that touched a record, if the user may see that record."""
    runs = RuleRun.objects.filter(record_type=record_type, record_id=record_id).select_related(
        "rule"
    )
    if access.is_admin(user) or access.is_manager(user):
        return runs
    from .records import model_for

    model = model_for(record_type)
    if model is None or model not in access.RULES:
        return runs.none()
    if not access.visible(model, user).filter(pk=record_id).exists():
        return runs.none()
    return runs


def is_time_rule(rule: Rule) -> bool:
    return rule.trigger.get("type") in TIME_TRIGGERS
