"""(owner, id) and (team, id) indexes for leads, contacts, companies and deals, and (stage, id)
for deals, in place of the foreign keys' own indexes (and of the deals' (owner) and (team)
including the id): an owner's, team's or stage's rows in id order, for a list sorted by owner,
team or stage read one of them at a time (crm.lists.ByRelatedRow), and still their ids from
the index alone.

The foreign keys' indexes are dropped by name, as in 0047: altering the fields on SQLite would
rebuild the tables, which triggers refer to."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

FOREIGN_KEY_INDEXES = {
    "crm_company": {
        "owner_id": "crm_company_owner_id_a25b9c7d",
        "team_id": "crm_company_team_id_acbf484c",
    },
    "crm_contact": {
        "owner_id": "crm_contact_owner_id_11e5a0f0",
        "team_id": "crm_contact_team_id_f1a85829",
    },
    "crm_lead": {"owner_id": "crm_lead_owner_id_f8fa5b1a", "team_id": "crm_lead_team_id_2e62d4c1"},
}


def dropped(table: str, column: str) -> migrations.RunSQL:
    name = FOREIGN_KEY_INDEXES[table][column]
    return migrations.RunSQL(
        f"DROP INDEX IF EXISTS {name}", reverse_sql=f"CREATE INDEX {name} ON {table} ({column})"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0047_deal_owner_team_fk_indexes_dropped"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="deal",
            name="deal_owner_ids",
        ),
        migrations.RemoveIndex(
            model_name="deal",
            name="deal_team_ids",
        ),
        migrations.SeparateDatabaseAndState(
            database_operations=[
                dropped(table, column)
                for table, columns in FOREIGN_KEY_INDEXES.items()
                for column in columns
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="company",
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
                    model_name="company",
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
                migrations.AlterField(
                    model_name="contact",
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
                    model_name="contact",
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
                migrations.AlterField(
                    model_name="lead",
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
                    model_name="lead",
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
        migrations.AddIndex(
            model_name="company",
            index=models.Index(fields=["owner", "id"], name="company_owner_ids"),
        ),
        migrations.AddIndex(
            model_name="company",
            index=models.Index(fields=["team", "id"], name="company_team_ids"),
        ),
        migrations.AddIndex(
            model_name="contact",
            index=models.Index(fields=["owner", "id"], name="contact_owner_ids"),
        ),
        migrations.AddIndex(
            model_name="contact",
            index=models.Index(fields=["team", "id"], name="contact_team_ids"),
        ),
        migrations.AddIndex(
            model_name="deal",
            index=models.Index(fields=["owner", "id"], name="deal_owner_ids"),
        ),
        migrations.AddIndex(
            model_name="deal",
            index=models.Index(fields=["team", "id"], name="deal_team_ids"),
        ),
        migrations.AddIndex(
            model_name="deal",
            index=models.Index(fields=["stage", "id"], name="deal_stage_ids"),
        ),
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(fields=["owner", "id"], name="lead_owner_ids"),
        ),
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(fields=["team", "id"], name="lead_team_ids"),
        ),
    ]
