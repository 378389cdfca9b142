"""A stage under existing deals cannot change its outcome or pipeline (see 0005_integrity)."""

from django.db import migrations

MESSAGE = "deals in this stage would no longer match its outcome or pipeline"

SQLITE_TRIGGER = f"""
CREATE TRIGGER crm_stage_keeps_its_deals BEFORE UPDATE OF outcome, pipeline_id ON crm_stage
FOR EACH ROW WHEN EXISTS (
    SELECT 1 FROM crm_deal d
    WHERE d.stage_id = NEW.id AND (d.status <> NEW.outcome OR d.pipeline_id <> NEW.pipeline_id)
)
BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;
"""

POSTGRES_TRIGGER = f"""
CREATE FUNCTION crm_stage_keeps_its_deals() RETURNS trigger AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM crm_deal d
        WHERE d.stage_id = NEW.id AND (d.status <> NEW.outcome OR d.pipeline_id <> NEW.pipeline_id)
    ) THEN
        RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER crm_stage_keeps_its_deals BEFORE UPDATE OF outcome, pipeline_id
ON crm_stage FOR EACH ROW EXECUTE FUNCTION crm_stage_keeps_its_deals();
"""


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute(SQLITE_TRIGGER)
    elif vendor == "postgresql":
        schema_editor.execute(POSTGRES_TRIGGER)


def drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS crm_stage_keeps_its_deals")
    elif vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER IF EXISTS crm_stage_keeps_its_deals ON crm_stage")
        schema_editor.execute("DROP FUNCTION IF EXISTS crm_stage_keeps_its_deals()")


class Migration(migrations.Migration):
    dependencies = [("crm", "0007_field_validators")]

    operations = [migrations.RunPython(create, drop)]
