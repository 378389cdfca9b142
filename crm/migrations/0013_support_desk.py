"""Support desk: knowledge base, survey invitations. Filled in by the support desk work."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("crm", "0012_search")]

    operations = []
