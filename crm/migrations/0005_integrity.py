"""Rules a CHECK constraint cannot express (they read another table), and JSON indexes."""

from django.db import migrations

MESSAGE = "deal status must match the outcome of its stage, in the same pipeline"

SQLITE_TRIGGER = """
CREATE TRIGGER crm_deal_stage_matches_{when} BEFORE {event} ON crm_deal
FOR EACH ROW WHEN NOT EXISTS (
    SELECT 1 FROM crm_stage s
    WHERE s.id = NEW.stage_id AND s.outcome = NEW.status AND s.pipeline_id = NEW.pipeline_id
)
BEGIN SELECT RAISE(ABORT, '{message}'); END;
"""

POSTGRES_TRIGGER = f"""
CREATE FUNCTION crm_deal_stage_matches() RETURNS trigger AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM crm_stage s
        WHERE s.id = NEW.stage_id AND s.outcome = NEW.status AND s.pipeline_id = NEW.pipeline_id
    ) THEN
        RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER crm_deal_stage_matches BEFORE INSERT OR UPDATE OF status, stage_id, pipeline_id
ON crm_deal FOR EACH ROW EXECUTE FUNCTION crm_deal_stage_matches();
"""

CUSTOM_FIELD_TABLES = ["company", "contact", "lead", "deal", "task", "ticket"]


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute(SQLITE_TRIGGER.format(when="insert", event="INSERT", message=MESSAGE))
        schema_editor.execute(
            SQLITE_TRIGGER.format(
                when="update", event="UPDATE OF status, stage_id, pipeline_id", message=MESSAGE
            )
        )
    elif vendor == "postgresql":
        schema_editor.execute(POSTGRES_TRIGGER)
        for table in CUSTOM_FIELD_TABLES:
            schema_editor.execute(
                f"CREATE INDEX crm_{table}_custom_gin ON crm_{table} USING gin (custom)"
            )


def drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS crm_deal_stage_matches_insert")
        schema_editor.execute("DROP TRIGGER IF EXISTS crm_deal_stage_matches_update")
    elif vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER IF EXISTS crm_deal_stage_matches ON crm_deal")
        schema_editor.execute("DROP FUNCTION IF EXISTS crm_deal_stage_matches()")
        for table in CUSTOM_FIELD_TABLES:
            schema_editor.execute(f"DROP INDEX IF EXISTS crm_{table}_custom_gin")


class Migration(migrations.Migration):
    dependencies = [("crm", "0004_defaults")]

    operations = [migrations.RunPython(create, drop)]
