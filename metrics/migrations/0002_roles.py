from django.db import migrations

from crm.roles import sync_roles


class Migration(migrations.Migration):
    """The roles include the permissions of the snapshot model (see crm.roles)."""

    dependencies = [("metrics", "0001_initial"), ("crm", "0009_more_constraints")]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
