from django.db import migrations

from crm.roles import sync_roles

SALES_STAGES = [
    # name, probability, outcome
    ("Prospecting", 10, "open"),
    ("Qualification", 20, "open"),
    ("Proposal", 50, "open"),
    ("Negotiation", 75, "open"),
    ("Won", 100, "won"),
    ("Lost", 0, "lost"),
]

SLA_TARGETS = [
    # priority, first response hours, resolution hours
    ("urgent", 1, 4),
    ("high", 4, 8),
    ("normal", 8, 24),
    ("low", 24, 72),
]


def create_defaults(apps, schema_editor):
    Pipeline = apps.get_model("crm", "Pipeline")
    Stage = apps.get_model("crm", "Stage")
    SLAPolicy = apps.get_model("crm", "SLAPolicy")
    pipeline, _ = Pipeline.objects.get_or_create(name="Sales", defaults={"is_default": True})
    for order, (name, probability, outcome) in enumerate(SALES_STAGES):
        Stage.objects.get_or_create(
            pipeline=pipeline,
            name=name,
            defaults={"order": order, "probability": probability, "outcome": outcome},
        )
    for priority, first_response, resolution in SLA_TARGETS:
        SLAPolicy.objects.get_or_create(
            priority=priority,
            defaults={"first_response_hours": first_response, "resolution_hours": resolution},
        )


class Migration(migrations.Migration):
    dependencies = [("crm", "0003_records")]

    operations = [
        migrations.RunPython(create_defaults, migrations.RunPython.noop),
        migrations.RunPython(sync_roles, migrations.RunPython.noop),
    ]
