"""Search indexes for the header search (PostgreSQL only). Filled in by the search work."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("crm", "0011_user_preferences")]

    operations = []
