"""The open deals' covering index (crm 0015) also carries each deal's creation time and id, so
what counts the deals open at a period's end (the pipeline by stage chart: `created_at` before
the end, COUNT of the ids) reads it alone: 100-150 ms -> 14 ms on the 69k open deals of a
million. The board's column totals read it as before. PostgreSQL only, as crm 0015; the new
index is built before the old one is dropped."""

from django.db import migrations

NEW = (
    "deal_open_totals",
    "ON crm_deal (pipeline_id, status, stage_id) INCLUDE (amount, exchange_rate, owner_id, "
    "team_id, expected_close_date, created_at, id) WHERE status = 'open'",
)
OLD = (
    "deal_open_board_totals",
    "ON crm_deal (pipeline_id, status, stage_id) INCLUDE (amount, exchange_rate, owner_id, "
    "team_id, expected_close_date) WHERE status = 'open'",
)


def replace(created, dropped):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            name, definition = created
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} {definition}")
            schema_editor.execute(f"DROP INDEX IF EXISTS {dropped[0]}")

    return run


class Migration(migrations.Migration):
    dependencies = [("crm", "0037_duplicate_key_groups")]

    operations = [migrations.RunPython(replace(NEW, OLD), replace(OLD, NEW), elidable=False)]
