"""Indexes for the list pages at a million rows (issue 19).

- Contacts and companies are listed by name then id: with these indexes page 1 reads 25 index
  entries instead of sorting every visible row on disk.
- The ticket queue only ever shows working tickets (not resolved or closed) unless a status is
  chosen: a partial index on them, in the queue's default order (next SLA due time, newest,
  id), keeps the queue and its view counts off the years of resolved tickets.
- Each sortable custom field already defined gets its two sort indexes on PostgreSQL
  (crm.custom_fields.sync_sort_indexes); new fields get theirs when they are defined.

Plain AddIndex: AddIndexConcurrently does not run on SQLite, where the tests run.
"""

from django.db import migrations, models

# crm.models.DONE_STATUSES, in its order.
DONE = ["resolved", "closed"]


def add_custom_sort_indexes(apps, schema_editor):
    from crm.custom_fields import sync_sort_indexes

    sync_sort_indexes(using=schema_editor.connection.alias, apps=apps)


def drop_custom_sort_indexes(apps, schema_editor):
    from crm.custom_fields import drop_sort_indexes

    model = apps.get_model("crm", "CustomField")
    for field in model._default_manager.using(schema_editor.connection.alias).all():
        drop_sort_indexes(field, using=schema_editor.connection.alias, apps=apps)


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0023_support_routing"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="contact",
            index=models.Index(fields=["last_name", "id"], name="contact_by_last_name"),
        ),
        migrations.AddIndex(
            model_name="company",
            index=models.Index(fields=["name", "id"], name="company_by_name"),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                # crm.views.tickets.NEXT_DUE, written out: the index serves the queue's
                # ORDER BY only while both expressions are the same.
                # Ascending: on PostgreSQL that is NULLS LAST already, as the ORDER BY asks
                # (SQLite refuses NULLS LAST in an index).
                models.Case(
                    models.When(status__in=DONE, then=None),
                    models.When(
                        first_response_at__isnull=True,
                        then=models.F("first_response_due_at"),
                    ),
                    default=models.F("resolution_due_at"),
                ),
                models.F("created_at").desc(),
                models.F("id").asc(),
                condition=~models.Q(status__in=DONE),
                name="ticket_working_queue",
            ),
        ),
        migrations.RunPython(add_custom_sort_indexes, drop_custom_sort_indexes),
    ]
