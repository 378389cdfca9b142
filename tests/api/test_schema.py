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


@pytest.fixture(scope="module")
def schema():
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(generated))


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def header_names(operation) -> set[str]:
    return {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}


def test_the_schema_is_valid_openapi(schema):
    validate_schema(schema)


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
