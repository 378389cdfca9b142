"""The OpenAPI schema names every error answer (issue 12): each operation lists the codes it
can answer in the one error shape of api/errors.py, the `Error` component is that shape, the
`Idempotency-Key` and `If-Match` headers are documented where a view honours them, and the
whole document is valid OpenAPI."""

import json

import pytest
from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from drf_spectacular.validation import validate_schema

from api.errors import error_body

ERROR_REF = {"$ref": "#/components/schemas/Error"}
ALWAYS = {"400", "401", "403", "404", "429"}
BY_METHOD = {"post": {"422"}, "put": {"412"}, "patch": {"412"}, "delete": {"412"}}


def generated_schema() -> dict:
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(generated))


@pytest.fixture(scope="module")
def schema(django_db_setup, django_db_blocker):
    # The schema reads the custom field definitions (none here) to document their filters.
    with django_db_blocker.unblock():
        return generated_schema()


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def header_names(operation) -> set[str]:
    return {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}


def test_the_schema_is_valid_openapi(schema):
    validate_schema(schema)


@pytest.mark.django_db
def test_the_schema_command_validates_without_a_warning(tmp_path):
    # As `manage.py spectacular --validate --fail-on-warn`: a warning raises.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", tmp_path / "api.yaml")


def test_the_error_component_is_the_error_handlers_shape(schema):
    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["detail", "errors"]
    assert set(error["properties"]) == set(error_body("x", {"name": ["y"]}))
    assert error["example"]["errors"]["name"] == ["This field is required."]


def test_every_operation_lists_its_error_answers_in_the_error_shape(schema):
    missing = []
    for path, method, operation in operations(schema):
        responses = operation["responses"]
        for code in ALWAYS | BY_METHOD.get(method, set()):
            media = responses.get(code, {}).get("content", {}).get("application/json", {})
            if media.get("schema") != ERROR_REF:
                missing.append(f"{method.upper()} {path} {code}")
    assert len(list(operations(schema))) > 50
    assert missing == []


def test_the_headers_of_the_conventions_are_documented_where_they_apply(schema):
    posts = [(p, o) for p, m, o in operations(schema) if m == "post"]
    changes = [(p, m, o) for p, m, o in operations(schema) if m in ("put", "patch", "delete")]
    assert posts and changes
    assert all("Idempotency-Key" in header_names(o) for _p, o in posts)
    assert all("If-Match" in header_names(o) for _p, _m, o in changes)
    reads = [o for p, m, o in operations(schema) if m == "get"]
    assert not any(header_names(o) & {"Idempotency-Key", "If-Match"} for o in reads)
    deal = schema["paths"]["/api/deals/{id}/"]
    assert "ETag" in deal["get"]["responses"]["200"]["headers"]
    example = deal["patch"]["responses"]["412"]["content"]["application/json"]["examples"]
    assert example["412"]["value"]["errors"] == {}


def query_parameters(schema, path) -> dict[str, dict]:
    operation = schema["paths"][path]["get"]
    return {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "query"}


@pytest.mark.django_db
def test_each_list_documents_the_custom_field_filters_defined_today():
    from crm.models import FieldType, RecordType
    from tests.crm.factories import CustomFieldFactory

    def custom_filters(document, path) -> set[str]:
        return {name for name in query_parameters(document, path) if name.startswith("cf_")}

    before = generated_schema()
    CustomFieldFactory(record_type=RecordType.DEAL, key="seats", field_type=FieldType.NUMBER)
    CustomFieldFactory(
        record_type=RecordType.TICKET,
        key="tier",
        field_type=FieldType.SELECT,
        choices=["gold", "silver"],
    )
    CustomFieldFactory(record_type=RecordType.COMPANY, key="notes", field_type=FieldType.LONG_TEXT)
    CustomFieldFactory(
        record_type=RecordType.TASK, key="old", field_type=FieldType.TEXT, is_active=False
    )
    after = generated_schema()
    validate_schema(after)
    deals = query_parameters(after, "/api/deals/")
    added = custom_filters(after, "/api/deals/") - custom_filters(before, "/api/deals/")
    assert {name: deals[name]["schema"] for name in added} == {
        "cf_seats": {"type": "number"},
        "cf_seats__gte": {"type": "number"},
        "cf_seats__lte": {"type": "number"},
    }
    tickets = query_parameters(after, "/api/tickets/")
    assert tickets["cf_tier"]["schema"] == {"type": "string", "enum": ["gold", "silver"]}
    # A field of another record type, an unfilterable or retired one: no filter.
    for path in ("/api/companies/", "/api/tasks/", "/api/leads/", "/api/contacts/"):
        assert custom_filters(after, path) == custom_filters(before, path)
    # Only lists: a record's own routes take no filter.
    detail = after["paths"]["/api/deals/{id}/"]["get"].get("parameters", [])
    assert not [p for p in detail if p["name"].startswith("cf_")]


@pytest.mark.django_db
def test_the_served_schema_is_made_per_request_with_the_filters(client, rep):
    from crm.models import FieldType, RecordType
    from tests.crm.factories import CustomFieldFactory

    client.force_login(rep)
    CustomFieldFactory(record_type=RecordType.LEAD, key="budget", field_type=FieldType.MONEY)
    served = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert served.status_code == 200
    assert "cf_budget__gte" in query_parameters(served.json(), "/api/leads/")


@pytest.mark.django_db
def test_the_served_schema_is_cached_until_a_custom_field_changes(client, rep):
    from unittest import mock

    from django.core.cache import cache
    from drf_spectacular.generators import SchemaGenerator

    from crm.models import CustomField, FieldType, RecordType
    from tests.crm.factories import CustomFieldFactory

    cache.clear()  # a schema served by an earlier test
    client.force_login(rep)
    generate = SchemaGenerator.get_schema
    with mock.patch.object(
        SchemaGenerator, "get_schema", autospec=True, side_effect=generate
    ) as made:
        for _ in range(2):
            assert client.get("/api/schema/", HTTP_ACCEPT="application/json").status_code == 200
    assert made.call_count == 1

    field = CustomFieldFactory(
        record_type=RecordType.LEAD, key="budget", field_type=FieldType.MONEY
    )
    served = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert "cf_budget__gte" in query_parameters(served, "/api/leads/")

    CustomField.objects.filter(pk=field.pk).update(is_active=False)
    served = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert "cf_budget__gte" not in query_parameters(served, "/api/leads/")
