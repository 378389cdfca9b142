"""Covering indexes for the board's column totals, one for open deals and one for recent closes
(PostgreSQL only: SQLite has no INCLUDE columns). The board sums amount × rate per stage from
them without reading the table."""

from django.db import migrations

COLUMNS = "amount, exchange_rate, owner_id, team_id, expected_close_date"
INDEXES = {
    "deal_open_board_totals": (
        f"ON crm_deal (pipeline_id, status, stage_id) INCLUDE ({COLUMNS}) WHERE status = 'open'"
    ),
    "deal_closed_board_totals": (
        f"ON crm_deal (pipeline_id, closed_at) INCLUDE (stage_id, {COLUMNS}) "
        "WHERE status IN ('won', 'lost')"
    ),
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, definition in INDEXES.items():
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} {definition}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("crm", "0014_deal_board_index")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
