from django.db import migrations

RECORD_TYPES = ["task", "lead"]

DEFAULT_FIELDS = [
    # key, label, type, choices, help text
    (
        "lead_source",
        "Lead source",
        "select",
        ["Web", "Referral", "Organic search", "Email campaign", "Event", "Outbound", "Other"],
        "Where the lead came from.",
    ),
    (
        "lead_stage",
        "Lead stage",
        "select",
        ["New", "Contacted", "Qualified", "Proposal", "Won", "Lost"],
        "How far the lead has got.",
    ),
    ("next_follow_up", "Next follow-up date", "date", [], "When to get back in touch."),
    ("deal_value", "Deal value", "money", [], "Expected value of the deal."),
    (
        "product_interest",
        "Product interest",
        "multi_select",
        ["CRM", "Analytics", "Support desk", "Automations"],
        "Products the lead asked about.",
    ),
    ("lead_score", "Lead score", "number", [], "Higher means more likely to buy."),
    ("customer_feedback", "Customer feedback", "long_text", [], "What the customer told us."),
]


def create_default_fields(apps, schema_editor):
    CustomField = apps.get_model("crm", "CustomField")
    for record_type in RECORD_TYPES:
        for order, (key, label, field_type, choices, help_text) in enumerate(DEFAULT_FIELDS):
            CustomField.objects.get_or_create(
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


class Migration(migrations.Migration):
    dependencies = [("crm", "0005_integrity")]

    operations = [migrations.RunPython(create_default_fields, migrations.RunPython.noop)]
