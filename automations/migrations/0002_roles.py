from django.db import migrations

from crm.roles import sync_roles


class Migration(migrations.Migration):
    """Managers read rules and runs; reps and agents read runs (crm.roles)."""

    dependencies = [
        ("automations", "0001_initial"),
        ("crm", "0019_event_context"),
    ]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
