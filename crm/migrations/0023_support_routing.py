"""The support desk's settings row: the team new tickets without a team are routed to
(issue 15, item 7). Admins get its permissions from the roles' sync after migrate (crm.apps)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0022_subscription_term_end"),
    ]

    operations = [
        migrations.CreateModel(
            name="SupportSettings",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated")),
                (
                    "default_team",
                    models.ForeignKey(
                        blank=True,
                        help_text="New tickets that come without a team go to this team's queue: the public contact form, customer emails and any ticket opened without a team.",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="crm.team",
                        verbose_name="support team",
                    ),
                ),
            ],
            options={
                "verbose_name": "support settings",
                "verbose_name_plural": "support settings",
            },
        ),
    ]
