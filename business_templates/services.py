"""Previewing and applying a business template: the only write path for templates (the page
and `manage.py apply_template` both call these).

Each item of a template is matched by a stable key: first by the record of what the template
added (AppliedItem, so an item renamed since is still "already there"), then by the natural key
of its kind (a pipeline's name, a custom field's record type and key, an SLA policy's priority,
a rule's ready-made key). A match is left exactly as it is; only missing items are created,
through the services of their apps, all in one transaction. An item the template added that a
user deleted since stays deleted. Nothing is ever renamed, changed or deleted here.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from automations.models import Rule
from automations.services import rule_create
from crm import access
from crm.models import CustomField, Pipeline, SLAPolicy, User
from crm.services import custom_field_definitions, pipelines, sla
from goals.models import Goal, GoalStatus, Scope, TargetKind
from goals.services.goals import goal_create
from goals.services.targets import target_create
from metrics.models import Dashboard
from metrics.periods import period_for
from metrics.services import card_add, dashboard_create

from .loader import BusinessTemplate, TemplateError, localized
from .models import AppliedItem, ItemKind


class Status:
    TO_ADD = "to_add"
    ADDED = "added"
    PRESENT = "present"
    REMOVED = "removed"


@dataclass
class PlanItem:
    kind: str
    key: str
    label: str
    status: str
    spec: dict = field(repr=False)

    @property
    def kind_label(self) -> str:
        return str(ItemKind(self.kind).label)


@dataclass
class Plan:
    template: BusinessTemplate
    language: str
    items: list[PlanItem]

    def with_status(self, status: str) -> list[PlanItem]:
        return [item for item in self.items if item.status == status]


MODELS = {
    ItemKind.PIPELINE: Pipeline,
    ItemKind.FIELD: CustomField,
    ItemKind.SLA: SLAPolicy,
    ItemKind.DASHBOARD: Dashboard,
    ItemKind.RULE: Rule,
    ItemKind.GOAL: Goal,
}


def template_plan(*, template: BusinessTemplate, language: str, actor: User | None) -> Plan:
    """What applying `template` would add and what is already there; writes nothing."""
    recorded = {
        (row.kind, row.key): row for row in AppliedItem.objects.filter(template=template.key)
    }
    items = []
    for kind, key, spec in _items(template, language):
        record = recorded.get((kind, key))
        if record is not None:
            current = MODELS[kind].objects.filter(pk=record.object_id).first()
            status = Status.PRESENT if current else Status.REMOVED
            label = str(_name_of(current)) if current else record.label
        else:
            status = (
                Status.PRESENT if _natural_match(kind, spec, template, actor) else Status.TO_ADD
            )
            label = _label(kind, spec)
        items.append(PlanItem(kind=kind, key=key, label=label, status=status, spec=spec))
    return Plan(template=template, language=language, items=items)


def template_apply(*, template: BusinessTemplate, language: str, actor: User) -> Plan:
    """Create the template's missing items (one transaction) and record each one; the plan
    comes back with them as ADDED. TemplateError, with nothing written, if one is refused."""
    if not access.is_admin(actor):
        raise PermissionDenied(_("Only administrators apply business templates."))
    try:
        with transaction.atomic():
            plan = template_plan(template=template, language=language, actor=actor)
            for item in plan.with_status(Status.TO_ADD):
                _add(item, template=template, actor=actor)
    except ValidationError as error:
        raise TemplateError(
            [f"{template.key}.json: {line}" for line in _sentences(error)]
        ) from None
    except IntegrityError:
        # Two applications at once: the unique constraints let one through.
        raise TemplateError(
            [f"{template.key}.json: applied by someone else meanwhile; nothing was written."]
        ) from None
    return plan


# --- reading the template ------------------------------------------------------------------


def _items(template: BusinessTemplate, language: str):
    data = localized(template.data, language)
    for spec in data.get("pipelines", []):
        yield ItemKind.PIPELINE, spec["key"], spec
    for spec in data.get("custom_fields", []):
        yield ItemKind.FIELD, f"{spec['record_type']}.{spec['key']}", spec
    for spec in data.get("sla_policies", []):
        yield ItemKind.SLA, spec["priority"], spec
    for spec in data.get("dashboards", []):
        yield ItemKind.DASHBOARD, spec["key"], spec
    for spec in data.get("automations", []):
        yield ItemKind.RULE, spec["key"], spec
    for spec in data.get("goals", []):
        yield ItemKind.GOAL, spec["key"], spec


def _label(kind: str, spec: dict) -> str:
    if kind == ItemKind.FIELD:
        return spec["label"]
    if kind == ItemKind.SLA:
        return str(SLAPolicy(priority=spec["priority"]).get_priority_display())
    return spec["name"]


def _name_of(row) -> str:
    if isinstance(row, CustomField):
        return row.label
    return str(row)


def _rule_key(template: BusinessTemplate, spec: dict) -> str:
    return f"{template.key}.{spec['key']}"


def _natural_match(kind: str, spec: dict, template: BusinessTemplate, actor) -> bool:
    """Whether the installation already has this item though the template did not add it."""
    if kind == ItemKind.PIPELINE:
        return Pipeline.objects.filter(name=spec["name"]).exists()
    if kind == ItemKind.FIELD:
        return CustomField.objects.filter(record_type=spec["record_type"], key=spec["key"]).exists()
    if kind == ItemKind.SLA:
        return SLAPolicy.objects.filter(priority=spec["priority"]).exists()
    if kind == ItemKind.RULE:
        return Rule.objects.filter(template_key=_rule_key(template, spec)).exists()
    if kind == ItemKind.DASHBOARD:
        return (
            actor is not None and Dashboard.objects.filter(owner=actor, name=spec["name"]).exists()
        )
    return Goal.objects.filter(name=spec["name"], scope=Scope.COMPANY).exists()


# --- creating ------------------------------------------------------------------------------


def _add(item: PlanItem, *, template: BusinessTemplate, actor: User) -> None:
    creator = {
        ItemKind.PIPELINE: _add_pipeline,
        ItemKind.FIELD: _add_field,
        ItemKind.SLA: _add_sla_policy,
        ItemKind.DASHBOARD: _add_dashboard,
        ItemKind.RULE: _add_rule,
        ItemKind.GOAL: _add_goal,
    }[item.kind]
    try:
        row = creator(item.spec, template=template, actor=actor)
    except ValidationError as error:
        raise ValidationError(
            [f"{item.kind_label} “{item.label}”: {line}" for line in _sentences(error)]
        ) from None
    AppliedItem.objects.create(
        template=template.key,
        kind=item.kind,
        key=item.key,
        object_id=row.pk,
        label=item.label[:200],
        applied_by=actor,
    )
    item.status = Status.ADDED


def _add_pipeline(spec: dict, *, template, actor) -> Pipeline:
    # The first pipeline of an empty installation is its default one.
    is_default = not Pipeline.objects.filter(is_default=True).exists()
    pipeline = pipelines.pipeline_create(
        actor=actor, data={"name": spec["name"], "is_default": is_default}, closing_stages=False
    )
    for stage in spec["stages"]:
        pipelines.stage_create(
            pipeline=pipeline,
            actor=actor,
            data={name: stage[name] for name in ("name", "probability", "outcome")},
        )
    return pipeline


def _add_field(spec: dict, *, template, actor) -> CustomField:
    last = CustomField.objects.filter(record_type=spec["record_type"]).aggregate(last=Max("order"))[
        "last"
    ]
    return custom_field_definitions.custom_field_create(
        actor=actor,
        data={
            "record_type": spec["record_type"],
            "key": spec["key"],
            "label": spec["label"],
            "field_type": spec["field_type"],
            "help_text": spec.get("help_text", ""),
            "choices": spec.get("choices", []),
            "order": 0 if last is None else min(last + 1, 32767),
        },
    )


def _add_sla_policy(spec: dict, *, template, actor) -> SLAPolicy:
    hours = (Decimal(str(spec["first_response_hours"])), Decimal(str(spec["resolution_hours"])))
    sla.sla_policies_save(actor=actor, targets={spec["priority"]: hours})
    return SLAPolicy.objects.get(priority=spec["priority"])


def _add_dashboard(spec: dict, *, template, actor) -> Dashboard:
    dashboard = dashboard_create(
        owner=actor, data={"name": spec["name"], "grain": spec.get("grain", "month")}
    )
    for card in spec["cards"]:
        card_add(dashboard=dashboard, actor=actor, data={"kind": card["kind"], "key": card["key"]})
    return dashboard


def _add_rule(spec: dict, *, template, actor) -> Rule:
    data = {
        "name": spec["name"],
        "description": spec.get("description", ""),
        "enabled": False,
        "trigger": spec["trigger"],
        "conditions": spec.get("conditions") or {"match": "all", "rows": []},
        "actions": spec["actions"],
    }
    return rule_create(actor=actor, data=data, template_key=_rule_key(template, spec))


def _add_goal(spec: dict, *, template, actor) -> Goal:
    period = period_for(spec["grain"], timezone.localdate())
    goal = goal_create(
        actor=actor,
        data={
            "name": spec["name"],
            "description": spec.get("description", ""),
            "owner": actor,
            "scope": Scope.COMPANY,
            "grain": spec["grain"],
            "start_date": period.start_date,
            "end_date": period.end_date,
            "status": GoalStatus.DRAFT,
        },
    )
    for target in spec["targets"]:
        target_create(
            actor=actor,
            goal=goal,
            data={
                "name": target["name"],
                "kind": TargetKind.KPI,
                "kpi_key": target["kpi"],
                "direction": target["direction"],
                "start_value": Decimal(str(target["start_value"])),
                "target_value": Decimal(str(target["target_value"])),
            },
        )
    return goal


def _sentences(error: ValidationError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [f"{name}: {m}" for name, lines in error.message_dict.items() for m in lines]
    return list(error.messages)
