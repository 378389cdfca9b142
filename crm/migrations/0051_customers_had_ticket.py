"""The "has had a ticket" mark of companies and contacts, kept by the database: set when a
ticket names the customer (inserted or moved to it), by any writer (forms, the API, imports,
merges, the seed's COPY), and never cleared, not even by a save that carries a stale False. A
support agent reads the customers of their tickets (crm.access): their lists test the mark
before looking for a ticket. Stale-true (the tickets deleted) only costs that look; it cannot
show a customer."""

from django.db import migrations, models

CUSTOMERS = {"company": "company_id", "contact": "contact_id"}

POSTGRES_MARK = """
CREATE FUNCTION crm_ticket_marks_customers() RETURNS trigger AS $$
BEGIN
    UPDATE crm_company c SET had_ticket = true
    FROM (SELECT DISTINCT company_id FROM changed_tickets) t
    WHERE c.id = t.company_id AND NOT c.had_ticket;
    UPDATE crm_contact c SET had_ticket = true
    FROM (SELECT DISTINCT contact_id FROM changed_tickets) t
    WHERE c.id = t.contact_id AND NOT c.had_ticket;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER crm_ticket_inserted_marks_customers AFTER INSERT ON crm_ticket
REFERENCING NEW TABLE AS changed_tickets
FOR EACH STATEMENT EXECUTE FUNCTION crm_ticket_marks_customers();
CREATE FUNCTION crm_ticket_moved_marks_customers() RETURNS trigger AS $$
BEGIN
    UPDATE crm_company SET had_ticket = true WHERE id = NEW.company_id AND NOT had_ticket;
    UPDATE crm_contact SET had_ticket = true WHERE id = NEW.contact_id AND NOT had_ticket;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
-- Row by row, for a ticket moved to another customer only: a reply or a status change
-- (every other update) is turned away by the WHEN, without running the function.
CREATE TRIGGER crm_ticket_moved_marks_customers AFTER UPDATE OF company_id, contact_id
ON crm_ticket FOR EACH ROW
WHEN (NEW.company_id IS DISTINCT FROM OLD.company_id
      OR NEW.contact_id IS DISTINCT FROM OLD.contact_id)
EXECUTE FUNCTION crm_ticket_moved_marks_customers();
CREATE FUNCTION crm_keeps_ticket_mark() RETURNS trigger AS $$
BEGIN
    NEW.had_ticket := true;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
"""

POSTGRES_KEEP = """
CREATE TRIGGER crm_{table}_keeps_ticket_mark BEFORE UPDATE OF had_ticket ON crm_{table}
FOR EACH ROW WHEN (OLD.had_ticket AND NOT NEW.had_ticket)
EXECUTE FUNCTION crm_keeps_ticket_mark();
"""

POSTGRES_DROP = """
DROP TRIGGER IF EXISTS crm_ticket_inserted_marks_customers ON crm_ticket;
DROP TRIGGER IF EXISTS crm_ticket_moved_marks_customers ON crm_ticket;
DROP FUNCTION IF EXISTS crm_ticket_marks_customers();
DROP FUNCTION IF EXISTS crm_ticket_moved_marks_customers();
DROP TRIGGER IF EXISTS crm_company_keeps_ticket_mark ON crm_company;
DROP TRIGGER IF EXISTS crm_contact_keeps_ticket_mark ON crm_contact;
DROP FUNCTION IF EXISTS crm_keeps_ticket_mark();
"""

SQLITE_MARK = """
CREATE TRIGGER crm_ticket_{when}_marks_{table} AFTER {event} ON crm_ticket
FOR EACH ROW WHEN NEW.{column} IS NOT NULL
BEGIN
    UPDATE crm_{table} SET had_ticket = 1 WHERE id = NEW.{column} AND NOT had_ticket;
END;
"""

SQLITE_KEEP = """
CREATE TRIGGER crm_{table}_keeps_ticket_mark AFTER UPDATE OF had_ticket ON crm_{table}
FOR EACH ROW WHEN OLD.had_ticket AND NOT NEW.had_ticket
BEGIN
    UPDATE crm_{table} SET had_ticket = 1 WHERE id = NEW.id;
END;
"""

MARK_EXISTING = """
UPDATE crm_{table} SET had_ticket = true
WHERE id IN (SELECT {column} FROM crm_ticket WHERE {column} IS NOT NULL)
"""


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_MARK)
    elif vendor == "sqlite":
        create_sqlite_ticket_triggers(schema_editor)
    for table, column in CUSTOMERS.items():
        if vendor == "postgresql":
            schema_editor.execute(POSTGRES_KEEP.format(table=table))
        elif vendor == "sqlite":
            schema_editor.execute(SQLITE_KEEP.format(table=table))
        schema_editor.execute(MARK_EXISTING.format(table=table, column=column))


def create_sqlite_ticket_triggers(schema_editor):
    """The triggers on crm_ticket, on SQLite: a later migration that alters a ticket field
    rebuilds the table there, which drops them, and must call this again (crm 0053)."""
    for table, column in CUSTOMERS.items():
        for when, event in [("inserted", "INSERT"), ("updated", f"UPDATE OF {column}")]:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS crm_ticket_{when}_marks_{table}")
            schema_editor.execute(
                SQLITE_MARK.format(when=when, event=event, table=table, column=column)
            )


def drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_DROP)
    elif vendor == "sqlite":
        for table in CUSTOMERS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS crm_ticket_inserted_marks_{table}")
            schema_editor.execute(f"DROP TRIGGER IF EXISTS crm_ticket_updated_marks_{table}")
            schema_editor.execute(f"DROP TRIGGER IF EXISTS crm_{table}_keeps_ticket_mark")


def ticket_mark():
    return models.BooleanField(default=False, editable=False, verbose_name="has had a ticket")


class Migration(migrations.Migration):
    dependencies = [("crm", "0050_deal_stage_indexes_for_reps_and_managers")]

    operations = [
        migrations.AddField(model_name="company", name="had_ticket", field=ticket_mark()),
        migrations.AddField(model_name="contact", name="had_ticket", field=ticket_mark()),
        migrations.RunPython(create, drop),
    ]
