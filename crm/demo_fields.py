"""The demo's custom fields: a few that add something, each on the record where it means
something (issue 15, item 9).

Migration 0006 installs seven generic fields on both leads and tasks. On leads three repeat a
built-in field under another name (Lead source beside Source, Lead stage beside Status, Lead
score beside Score) and three belong elsewhere (a deal value, a follow-up date a task gives, a
customer's feedback); on tasks none means anything. The demo retires those while no record
holds a value for them; a definition that holds values is left alone.
"""

from .models import (
    Company,
    Contact,
    CustomField,
    Deal,
    FieldType,
    Lead,
    RecordType,
    Task,
    Ticket,
)

RECORD_MODELS = {
    RecordType.COMPANY: Company,
    RecordType.CONTACT: Contact,
    RecordType.DEAL: Deal,
    RecordType.LEAD: Lead,
    RecordType.TASK: Task,
    RecordType.TICKET: Ticket,
}

# (record type, key) of the migration's defaults the demo does without, and why.
RETIRED_DEFAULTS = {
    (RecordType.LEAD, "lead_source"): "repeats the lead's Source",
    (RecordType.LEAD, "lead_stage"): "repeats the lead's Status",
    (RecordType.LEAD, "lead_score"): "repeats the lead's Score",
    (RecordType.LEAD, "deal_value"): "the deal made from the lead has an amount",
    (RecordType.LEAD, "next_follow_up"): "a follow-up is a task with a due date",
    (RecordType.LEAD, "customer_feedback"): "a lead is not a customer yet",
    **{
        (RecordType.TASK, key): "a task's custom fields describe the work, not a lead or deal"
        for key in (
            "lead_source",
            "lead_stage",
            "next_follow_up",
            "deal_value",
            "product_interest",
            "lead_score",
            "customer_feedback",
        )
    },
}

# Fields the demo fills: (record type, key, label, type, choices, help text). An installation
# that already defines one keeps its definition; the seed then writes only values it accepts.
DEMO_FIELDS = [
    (
        RecordType.DEAL,
        "region",
        "Region",
        FieldType.SELECT,
        ["North America", "EMEA", "APAC", "LATAM"],
        "Sales region the deal is booked in.",
    ),
    (
        RecordType.DEAL,
        "contract_type",
        "Contract type",
        FieldType.SELECT,
        ["Self-serve", "Order form", "Master agreement"],
        "The paperwork the customer signs.",
    ),
    (
        RecordType.COMPANY,
        "tier",
        "Account tier",
        FieldType.SELECT,
        ["Strategic", "Key", "Standard"],
        "How much account management the customer gets, by contract value.",
    ),
    (
        RecordType.LEAD,
        "product_interest",
        "Product interest",
        FieldType.MULTI_SELECT,
        ["CRM", "Analytics", "Support desk", "Automations"],
        "Products the lead asked about.",
    ),
    (
        RecordType.TICKET,
        "product_area",
        "Product area",
        FieldType.SELECT,
        [
            "Sign-in and accounts",
            "Billing",
            "Import and export",
            "Reports",
            "Integrations",
            "API",
            "Other",
        ],
        "The part of the product the ticket is about.",
    ),
    (
        RecordType.TASK,
        "effort",
        "Effort",
        FieldType.SELECT,
        ["Under 15 minutes", "About an hour", "Half a day or more"],
        "Rough time the task takes, for planning the day.",
    ),
]


def retire_confusing_defaults() -> int:
    """Delete the retired default definitions that no record holds a value for."""
    retired = 0
    for field in CustomField.objects.filter(
        record_type__in={record_type for record_type, _key in RETIRED_DEFAULTS}
    ):
        if (field.record_type, field.key) not in RETIRED_DEFAULTS:
            continue
        model = RECORD_MODELS[field.record_type]
        if not model.objects.filter(custom__has_key=field.key).exists():
            field.delete()
            retired += 1
    return retired


def ensure_demo_fields() -> dict[str, CustomField]:
    """The demo's field definitions by key, created where missing."""
    fields = {}
    for order, (record_type, key, label, field_type, choices, help_text) in enumerate(DEMO_FIELDS):
        fields[key], _created = CustomField.objects.get_or_create(
            record_type=record_type,
            key=key,
            defaults={
                "label": label,
                "field_type": field_type,
                "choices": choices,
                "help_text": help_text,
                "order": order,
            },
        )
    return fields


def accepted(field: CustomField | None, value):
    """`value` when the installation's definition of the field accepts it, else None: a select
    takes one of its choices, a multi-select a list of them, in the order of the choices."""
    if field is None or not field.is_active:
        return None
    choices = field.choices if isinstance(field.choices, list) else []
    if field.field_type == FieldType.SELECT:
        return value if isinstance(value, str) and value in choices else None
    if field.field_type == FieldType.MULTI_SELECT:
        wanted = [value] if isinstance(value, str) else list(value)
        picked = [choice for choice in choices if choice in wanted]
        return picked or None
    return None
