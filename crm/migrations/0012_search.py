"""Search indexes for the header search (PostgreSQL only; SQLite searches without them).

The indexed expressions must stay identical to those built in crm/search.py, or the planner
cannot use them.
"""

from django.db import migrations

TRGM = "gin_trgm_ops"
DIGITS = "regexp_replace(phone, '[^0-9]', '', 'g')"

# (index name, table, indexed expression)
INDEXES = [
    (
        "crm_lead_search_doc",
        "crm_lead",
        "to_tsvector('simple'::regconfig, COALESCE(name, '') || ' ' || COALESCE(email, '') || ' ' || COALESCE(company_name, ''))",
    ),
    ("crm_lead_email_trgm", "crm_lead", f"lower(email) {TRGM}"),
    ("crm_lead_phone_trgm", "crm_lead", f"({DIGITS}) {TRGM}"),
    (
        "crm_contact_search_doc",
        "crm_contact",
        "to_tsvector('simple'::regconfig, COALESCE(first_name, '') || ' ' || COALESCE(last_name, '') || ' ' || COALESCE(email, ''))",
    ),
    ("crm_contact_email_trgm", "crm_contact", f"lower(email) {TRGM}"),
    ("crm_contact_phone_trgm", "crm_contact", f"({DIGITS}) {TRGM}"),
    (
        "crm_company_search_doc",
        "crm_company",
        "to_tsvector('simple'::regconfig, COALESCE(name, '') || ' ' || COALESCE(domain, ''))",
    ),
    ("crm_company_domain_trgm", "crm_company", f"lower(domain) {TRGM}"),
    (
        "crm_deal_search_doc",
        "crm_deal",
        "to_tsvector('simple'::regconfig, COALESCE(name, ''))",
    ),
]


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, expression in INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin (({expression}))"
            if not expression.endswith(TRGM)
            else f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({expression})"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _expression in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("crm", "0011_user_preferences")]

    operations = [migrations.RunPython(create_indexes, drop_indexes, elidable=False)]
