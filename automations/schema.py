"""The shapes of a rule's trigger, conditions and actions (stored as JSON on `Rule`).

This module is the contract between the builder (which writes these shapes from menus) and the
engine (which evaluates them). Field paths are "<field>" on the record itself, "custom.<key>"
for a custom field, or "<relation>.<field>" through company, owner, team (and contact, deal,
ticket where the record has them), e.g. "amount", "stage", "custom.region", "company.lifecycle",
"owner.username", "company.custom.tier".

Trigger, one of:
    {"type": "record.created", "record_type": "deal"}
    {"type": "record.updated", "record_type": "deal"}
    {"type": "record.deleted", "record_type": "deal"}
    {"type": "field.changed", "record_type": "deal", "field": "stage",
        "from": <value or absent>, "to": <value or absent>}   # custom fields: "custom.<key>"
    {"type": "ticket.created"} / {"type": "ticket.replied"} / {"type": "ticket.resolved"}
        / {"type": "ticket.sla_breached"}
    {"type": "survey.answered", "kind": "nps"|"csat"|"ces"|"", "min": int|None, "max": int|None}
    {"type": "activity.logged", "kinds": ["call", "meeting", ...] (empty: any)}
    {"type": "date.reached", "record_type": "deal", "field": "expected_close",
        "offset_days": -3}   # 3 days before; custom date fields as "custom.<key>"
    {"type": "no_activity", "record_type": "deal", "days": 14}
    {"type": "schedule", "cron": "0 9 * * 1"}   # minute hour day-of-month month day-of-week
    {"type": "kpi.threshold", "kpi": "engagement_rate", "grain": "month",
        "segment": "" | "owner=3" | "team=2", "op": "above"|"below", "value": 30}
    {"type": "kpi.threshold", "kpi": "engagement_rate", "per": "company", "window_days": 30,
        "op": "below", "value": 2}   # per customer: its engagement activities and survey
        # answers over the last window_days, fired per company on its crossing; the rule's
        # record type is then "company" (owner/team recipients are the company's)
    {"type": "kpi.alert", "kpi": "" | "win_rate", "direction": "" | "above" | "below",
        "scope": "" | "company" | "team" | "owner"}   # a KPI alert raised (metrics.alerts);
        # empty filters match any; the rule is about the alert (record type "kpialert")

Conditions: a group, whose rows are conditions or nested groups:
    {"match": "all"|"any", "rows": [
        {"field": "amount", "op": "gte", "value": "1000"},
        {"match": "any", "rows": [...]},
    ]}
    An empty group (no rows) always matches.

Actions, a list run in order:
    {"type": "create_task", "title": "Call {{ record.name }}", "assignee": "owner"|"user:<id>",
        "due_in_hours": 24, "priority": "normal"}
    {"type": "assign_owner", "strategy": "user"|"round_robin"|"least_open", "user": <id>,
        "team": <id>}   # no team: the record's own team
    {"type": "update_field", "field": "priority" | "custom.<key>", "value": ...}
    {"type": "set_lifecycle", "lifecycle": "customer"}   # the record's company
    {"type": "add_note", "body": "..."}                  # an activity of kind note on the record
    {"type": "notify", "to": "owner"|"team"|"user:<id>", "title": "...", "body": "..."}
    {"type": "send_survey", "kind": "csat"|"nps"|"ces"}
    {"type": "create_ticket", "subject": "...", "priority": "normal"}
    {"type": "webhook", "url": "https://...", "secret": "..."}  # JSON body, HMAC-SHA256 header
"""

from django.utils.translation import gettext_lazy as _

TRIGGER_TYPES = {
    "record.created": _("A record is created"),
    "record.updated": _("A record is updated"),
    "record.deleted": _("A record is deleted"),
    "field.changed": _("A field changes"),
    "ticket.created": _("A ticket is opened"),
    "ticket.replied": _("A ticket gets a reply"),
    "ticket.resolved": _("A ticket is resolved"),
    "ticket.sla_breached": _("A ticket breaches its SLA"),
    "survey.answered": _("A survey is answered"),
    "activity.logged": _("An activity is logged"),
    "date.reached": _("A date is reached"),
    "no_activity": _("No activity for some days"),
    "schedule": _("On a schedule"),
    "kpi.threshold": _("A KPI crosses a threshold"),
    "kpi.alert": _("A KPI alert is raised"),
}
# Triggers found by the minute beat entry, not by events.
TIME_TRIGGERS = {"date.reached", "no_activity", "schedule", "kpi.threshold"}

OPERATORS = {
    "eq": _("is"),
    "ne": _("is not"),
    "lt": _("is less than"),
    "lte": _("is at most"),
    "gt": _("is more than"),
    "gte": _("is at least"),
    "contains": _("contains"),
    "is_empty": _("is empty"),
    "not_empty": _("is not empty"),
    "in": _("is one of"),
    "changed": _("changed"),
    "changed_from": _("changed from"),
    "changed_to": _("changed to"),
}
# Operators that take no value, and those that only make sense for an event that changed fields.
VALUELESS_OPERATORS = {"is_empty", "not_empty", "changed"}
CHANGE_OPERATORS = {"changed", "changed_from", "changed_to"}

ACTION_TYPES = {
    "create_task": _("Create a task"),
    "assign_owner": _("Assign the owner"),
    "update_field": _("Update a field"),
    "set_lifecycle": _("Set the company's lifecycle"),
    "add_note": _("Add a note to the timeline"),
    "notify": _("Send a notification"),
    "send_survey": _("Send a survey"),
    "create_ticket": _("Create a ticket"),
    "webhook": _("Call a webhook"),
}
# Actions that call out of the CRM: run after the run's transaction commits, retried alone.
OUTBOUND_ACTIONS = {"webhook"}

# Record types rules can be about, as Event.record_type names them.
RECORD_TYPES = {
    "lead": _("Lead"),
    "contact": _("Contact"),
    "company": _("Company"),
    "deal": _("Deal"),
    "task": _("Task"),
    "ticket": _("Ticket"),
    "activity": _("Activity"),
    "surveyanswer": _("Survey answer"),
    "subscription": _("Subscription"),
}

# The model behind each record type (app_label.Model), for apps.get_model.
RECORD_MODELS = {
    "lead": "crm.Lead",
    "contact": "crm.Contact",
    "company": "crm.Company",
    "deal": "crm.Deal",
    "task": "crm.Task",
    "ticket": "crm.Ticket",
    "activity": "crm.Activity",
    "surveyanswer": "crm.SurveyAnswer",
    "subscription": "crm.Subscription",
    # Not a record people create: the rows of "KPI alert raised" rules (metrics.alerts).
    "kpialert": "metrics.KPIAlert",
}

MAX_DEPTH = 3  # a change made by an action may trigger rules this many levels deep
