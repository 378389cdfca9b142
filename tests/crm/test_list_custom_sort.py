"""Sorting a list by a custom field: the order people expect, and on PostgreSQL the expression
indexes made with the field's definition, which the sorted list's query uses."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm.custom_fields import sort_index_names, sync_sort_indexes
from crm.models import CustomField, FieldType, RecordType
from crm.services.custom_field_definitions import custom_field_create, custom_field_delete
from tests.crm.factories import DealFactory

pytestmark = pytest.mark.django_db

on_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="expression indexes are made on PostgreSQL only"
)


def _define(admin_user, key="region", field_type=FieldType.SELECT, **extra):
    data = {
        "record_type": RecordType.DEAL,
        "key": key,
        "label": key.title(),
        "field_type": field_type,
        "choices": ["APAC", "EMEA", "North America"] if field_type == FieldType.SELECT else [],
        **extra,
    }
    return custom_field_create(actor=admin_user, data=data)


def _indexes() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'crm_deal'")
        return {row[0] for row in cursor.fetchall()}


def test_a_list_sorted_by_a_custom_field_keeps_empty_values_last_both_ways(
    client, admin_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _define(admin_user)
    for name, region in (("B", "EMEA"), ("A", "APAC"), ("None", None), ("C", "North America")):
        DealFactory(name=f"Deal {name}", custom={"region": region} if region else {})
    client.force_login(admin_user)

    def names(sort):
        page = client.get(reverse("deals"), {"sort": sort, "columns": "name"})
        assert page.status_code == 200
        return [row["record"].name for row in page.context["rows"]]

    assert names("custom__region") == ["Deal A", "Deal B", "Deal C", "Deal None"]
    assert names("-custom__region") == ["Deal C", "Deal B", "Deal A", "Deal None"]


def test_index_names_are_deterministic_and_fit_postgresql():
    long_key = "k" * 50
    field = CustomField(record_type=RecordType.DEAL, key=long_key, field_type=FieldType.TEXT)
    ascending, descending = sort_index_names(field)
    assert (ascending, descending) == sort_index_names(field)
    assert ascending != descending
    assert max(len(ascending), len(descending)) <= 63
    short = CustomField(record_type=RecordType.DEAL, key="region", field_type=FieldType.TEXT)
    assert sort_index_names(short) == ("cf_sort_deal_region_a", "cf_sort_deal_region_d")


@on_postgres
def test_defining_a_sortable_field_makes_its_indexes_and_deleting_it_drops_them(
    admin_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        field = _define(admin_user)
    assert set(sort_index_names(field)) <= _indexes()

    with django_capture_on_commit_callbacks(execute=True):
        custom_field_delete(field=field, actor=admin_user)
    assert not set(sort_index_names(field)) & _indexes()
    assert not CustomField.objects.filter(pk=field.pk).exists()


@on_postgres
def test_unsortable_fields_get_no_index(admin_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        field = _define(admin_user, key="notes", field_type=FieldType.LONG_TEXT)
    assert not set(sort_index_names(field)) & _indexes()


@on_postgres
def test_a_rolled_back_definition_makes_no_index(admin_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        field = _define(admin_user, key="tier")
    # Not run: as when the surrounding transaction is rolled back.
    assert callbacks and not set(sort_index_names(field)) & _indexes()


@on_postgres
def test_sync_makes_missing_indexes_and_drops_those_of_gone_fields(admin_user):
    kept = CustomField.objects.create(
        record_type=RecordType.DEAL, key="score", label="Score", field_type=FieldType.NUMBER
    )
    gone = CustomField(record_type=RecordType.DEAL, key="old", field_type=FieldType.TEXT)
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE INDEX "{sort_index_names(gone)[0]}" ON crm_deal (id)')

    result = sync_sort_indexes()

    assert set(sort_index_names(kept)) <= set(result["created"])
    assert result["dropped"] == [sort_index_names(gone)[0]]
    assert set(sort_index_names(kept)) <= _indexes()


@on_postgres
@pytest.mark.parametrize(
    ("key", "field_type", "sort"),
    [
        ("region", FieldType.SELECT, "custom__region"),
        ("region", FieldType.SELECT, "-custom__region"),
        ("score", FieldType.NUMBER, "-custom__score"),
        ("value", FieldType.MONEY, "custom__value"),
    ],
)
def test_the_sorted_list_query_reads_the_index(
    client, admin_user, django_capture_on_commit_callbacks, key, field_type, sort
):
    with django_capture_on_commit_callbacks(execute=True):
        _define(admin_user, key=key, field_type=field_type)
    DealFactory.create_batch(3)
    client.force_login(admin_user)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("deals"), {"sort": sort}).status_code == 200
    [listed] = [q["sql"] for q in queries if "ORDER BY" in q["sql"] and "LIMIT" in q["sql"]]
    with connection.cursor() as cursor:
        # A tiny table: forbid the plain sort so the plan shows whether the index matches.
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {listed}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    ascending, descending = sort_index_names(
        CustomField(record_type=RecordType.DEAL, key=key, field_type=field_type)
    )
    assert (descending if sort.startswith("-") else ascending) in plan, plan
