from django.db import migrations


def install_ready_made(apps, schema_editor):
    from automations.ready_made import install

    install(apps.get_model("automations", "Rule"), apps.get_model("automations", "RuleVersion"))


class Migration(migrations.Migration):
    """The ready-made rules, disabled (installed once each, by template_key)."""

    dependencies = [("automations", "0002_roles")]

    operations = [migrations.RunPython(install_ready_made, migrations.RunPython.noop)]
