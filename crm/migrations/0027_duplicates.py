"""Issue 13, duplicates: on PostgreSQL, pg_trgm and the indexes the duplicate finders
(crm/duplicates.py) query through: names alike (GIN trigram), phone numbers by their last nine
digits, and leads by email in any case. SQLite compares names once normalised and needs none.

The indexes are made with SQL, outside the models' state: they exist on PostgreSQL only, and
each expression is written exactly as crm/duplicates.py sends it, or the planner ignores it.
The extension is made here if it is missing but never dropped on the way back: the header
search's indexes (crm 0012) use it too.
"""

from django.db import migrations

# (index name, table, indexed expression with its access method)
INDEXES = [
    ("contact_name_trgm", "crm_contact", "gin ((first_name || ' ' || last_name) gin_trgm_ops)"),
    ("company_name_trgm", "crm_company", "gin (name gin_trgm_ops)"),
    ("lead_name_trgm", "crm_lead", "gin (name gin_trgm_ops)"),
    (
        "contact_phone_digits",
        "crm_contact",
        "btree (right(regexp_replace(phone, '[^0-9]', '', 'g'), 9))",
    ),
    ("lead_phone_digits", "crm_lead", "btree (right(regexp_replace(phone, '[^0-9]', '', 'g'), 9))"),
    ("lead_email_any_case", "crm_lead", "btree (upper(email))"),
]


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, expression in INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING {expression}")
    for table in sorted({table for _name, table, _expression in INDEXES}):
        # Statistics for the new expressions, or the planner guesses their selectivity.
        schema_editor.execute(f"ANALYZE {table}")


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _expression in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0026_languages"),
    ]

    operations = [migrations.RunPython(create_indexes, drop_indexes, elidable=False)]
