"""The deal's owner and team foreign keys lose their own indexes: deal_owner_ids and
deal_team_ids (migration 0032) serve every lookup by owner or team and give the id too.

The indexes are dropped by name rather than by altering the fields, since altering a field
on SQLite rebuilds the deals' table, which the stage trigger refers to (migration 0008)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

FOREIGN_KEY_INDEXES = {
    "owner_id": "crm_deal_owner_id_81e384bc",
    "team_id": "crm_deal_team_id_85476670",
}


def dropped(column: str) -> migrations.RunSQL:
    name = FOREIGN_KEY_INDEXES[column]
    return migrations.RunSQL(
        f"DROP INDEX IF EXISTS {name}", reverse_sql=f"CREATE INDEX {name} ON crm_deal ({column})"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0046_contact_company_sort_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[dropped("owner_id"), dropped("team_id")],
            state_operations=[
                migrations.AlterField(
                    model_name="deal",
                    name="owner",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="owner",
                    ),
                ),
                migrations.AlterField(
                    model_name="deal",
                    name="team",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="crm.team",
                        verbose_name="team",
                    ),
                ),
            ],
        ),
    ]
