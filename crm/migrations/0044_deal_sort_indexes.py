"""Indexes for the deals list sorted by its own columns (crm.models.deals). The expected close
date's pair orders empty dates last in each direction, which SQLite cannot index: made on
PostgreSQL only, as the custom fields' sort indexes are (crm.custom_fields)."""

from django.db import migrations, models

CLOSE_DATE_INDEXES = {
    "deal_sort_close_a": '"expected_close_date" ASC NULLS LAST, "id" ASC',
    "deal_sort_close_d": '"expected_close_date" DESC NULLS LAST, "id" DESC',
}


def add_close_date_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, columns in CLOSE_DATE_INDEXES.items():
        schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON "crm_deal" ({columns})')


def drop_close_date_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in CLOSE_DATE_INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0043_deal_without_amount_index"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="deal",
            index=models.Index(fields=["name", "id"], name="deal_sort_name"),
        ),
        migrations.AddIndex(
            model_name="deal",
            index=models.Index(fields=["amount", "id"], name="deal_sort_amount"),
        ),
        migrations.AddIndex(
            model_name="deal",
            index=models.Index(fields=["status", "id"], name="deal_sort_status"),
        ),
        migrations.AddIndex(
            model_name="deal",
            index=models.Index(fields=["kind", "id"], name="deal_sort_kind"),
        ),
        migrations.RunPython(add_close_date_indexes, drop_close_date_indexes),
    ]
