from django.db import migrations

from crm.roles import sync_roles


class Migration(migrations.Migration):
    """Reps and agents read goals and keep their targets; managers set them (crm.roles)."""

    dependencies = [
        ("goals", "0001_initial"),
        ("crm", "0019_event_context"),
    ]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
