"""Ready-made rules, shipped disabled: installed once each (by template_key) on migrate."""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

READY_MADE = [
    {
        "template_key": "deal_won_onboarding",
        "name": _("Deal won → customer and onboarding task"),
        "description": _(
            "When a deal is won, its company becomes a customer and the deal's owner gets an "
            "onboarding task."
        ),
        "trigger": {"type": "field.changed", "record_type": "deal", "field": "status", "to": "won"},
        "conditions": {"match": "all", "rows": []},
        "actions": [
            {"type": "set_lifecycle", "lifecycle": "customer"},
            {
                "type": "create_task",
                "title": "Onboard {{ record.company }} ({{ record.name }})",
                "assignee": "owner",
                "due_in_hours": 48,
                "priority": "high",
            },
        ],
    },
    {
        "template_key": "customer_engagement_dropped",
        "name": _("Customer engagement dropped → tell the owner's team"),
        "description": _(
            "Checked hourly: a customer with fewer than 2 engagement activities or survey "
            "answers over the last 30 days notifies its owner's team (once, when it crosses)."
        ),
        "trigger": {
            "type": "kpi.threshold",
            "kpi": "engagement_rate",
            "per": "company",
            "window_days": 30,
            "grain": "month",
            "segment": "",
            "op": "below",
            "value": 2,
        },
        "conditions": {"match": "all", "rows": []},
        "actions": [
            {
                "type": "notify",
                "to": "team",
                "title": "{{ record.name }}: engagement dropped over the last 30 days",
                "body": "Fewer than 2 engagement activities or survey answers in 30 days.",
            }
        ],
    },
    {
        "template_key": "interaction_follow_up",
        "name": _("3 days after an interaction → follow-up task"),
        "description": _(
            "Three days after a call, meeting or visit is logged, its author gets a follow-up task."
        ),
        "trigger": {
            "type": "date.reached",
            "record_type": "activity",
            "field": "occurred_at",
            "offset_days": 3,
        },
        "conditions": {
            "match": "all",
            "rows": [{"field": "kind", "op": "in", "value": ["call", "meeting", "site_visit"]}],
        },
        "actions": [
            {
                "type": "create_task",
                "title": "Follow up: {{ record.subject|default:record.kind }}",
                "assignee": "owner",
                "due_in_hours": 24,
                "priority": "normal",
            }
        ],
    },
    {
        "template_key": "new_lead_round_robin",
        "name": _("New lead → round-robin owner and a call within the hour"),
        "description": _(
            "A new lead is assigned in turn to the members of its team and gets a call task "
            "due in one hour."
        ),
        "trigger": {"type": "record.created", "record_type": "lead"},
        "conditions": {"match": "all", "rows": []},
        "actions": [
            {"type": "assign_owner", "strategy": "round_robin"},
            {
                "type": "create_task",
                "title": "Call {{ record.name }}",
                "assignee": "owner",
                "due_in_hours": 1,
                "priority": "high",
            },
        ],
    },
    {
        "template_key": "ticket_resolved_csat",
        "name": _("Ticket resolved → CSAT survey"),
        "description": _("When a ticket is resolved, its contact gets the CSAT survey."),
        "trigger": {"type": "ticket.resolved"},
        "conditions": {"match": "all", "rows": []},
        "actions": [{"type": "send_survey", "kind": "csat"}],
    },
    {
        "template_key": "idle_deal_14_days",
        "name": _("Deal without activity for 14 days → tell the owner"),
        "description": _("An open deal with no activity logged for 14 days notifies its owner."),
        "trigger": {"type": "no_activity", "record_type": "deal", "days": 14},
        "conditions": {"match": "all", "rows": []},
        "actions": [
            {
                "type": "notify",
                "to": "owner",
                "title": "{{ record.name }} has had no activity for 14 days",
                "body": "Log a call or a meeting, or close the deal.",
            }
        ],
    },
]


def install(rule_model, version_model) -> int:
    """Create the ready-made rules that do not exist yet (by key); returns how many."""
    from .triggers import record_type_of

    existing = set(
        rule_model.objects.exclude(template_key="").values_list("template_key", flat=True)
    )
    created = 0
    now = timezone.now()
    for spec in READY_MADE:
        if spec["template_key"] in existing:
            continue
        rule = rule_model.objects.create(
            name=str(spec["name"]),
            description=str(spec["description"]),
            enabled=False,
            trigger=spec["trigger"],
            conditions=spec["conditions"],
            actions=spec["actions"],
            record_type=record_type_of(spec["trigger"]),
            version=1,
            template_key=spec["template_key"],
            created_at=now,
            updated_at=now,
        )
        version_model.objects.create(
            rule=rule,
            version=1,
            name=rule.name,
            trigger=rule.trigger,
            conditions=rule.conditions,
            actions=rule.actions,
            saved_at=now,
        )
        created += 1
    return created


def install_ready_made() -> int:
    from .models import Rule, RuleVersion

    return install(Rule, RuleVersion)
