"""The error answers in the OpenAPI schema (issue 12): every operation may answer in the one
error shape of api/errors.py, so the schema lists those codes and clients (and schemathesis)
know what a refusal looks like. The two request headers of api/base.py's conventions are
documented where a view honours them: `Idempotency-Key` on POST, `If-Match` on PUT, PATCH and
DELETE (and the ETag that GET detail answers with).

The custom field filters (`?cf_<key>=`, `__gte`, `__lte`) exist only once an admin defines the
fields, so they are added to each list that takes them from the active definitions when the
schema is made (it is made per request): clients and schemathesis see the filters of today."""

from django.db import DatabaseError
from django.utils.translation import gettext_lazy as _

ERROR_SCHEMA = {
    "type": "object",
    "description": "Every refused request answers in this shape; `errors` names the fields "
    "to blame (empty when none is), `non_field_errors` for the request as a whole. A field "
    "holding an object (`custom`) has its errors under that object's keys.",
    "properties": {
        "detail": {"type": "string"},
        "errors": {
            "type": "object",
            "additionalProperties": {
                "anyOf": [
                    {"type": "array", "items": {}},
                    {"type": "object"},
                ]
            },
        },
    },
    "required": ["detail", "errors"],
    "example": {"detail": "Invalid input.", "errors": {"name": ["This field is required."]}},
}

COMMON = {
    "400": _("Invalid input."),
    "401": _("Not signed in."),
    "403": _("Not allowed."),
    "404": _("Not found."),
    "406": _("Not acceptable."),
    "429": _("Too many requests."),
}
BY_METHOD = {
    "post": {"415": _("Unsupported media type."), "422": _("Idempotency key reused.")},
    "put": {"412": _("Precondition failed."), "415": _("Unsupported media type.")},
    "patch": {"412": _("Precondition failed."), "415": _("Unsupported media type.")},
    "delete": {"412": _("Precondition failed.")},
}

# One example answer per code, as api/errors.py writes them.
EXAMPLES = {
    "400": {"detail": "Invalid input.", "errors": {"amount": ["A valid number is required."]}},
    "401": {"detail": "Authentication credentials were not provided.", "errors": {}},
    "403": {"detail": "You do not have permission to perform this action.", "errors": {}},
    "404": {"detail": "No Deal matches the given query.", "errors": {}},
    "412": {
        "detail": "The record changed since you read it: read it again, then send your change.",
        "errors": {},
    },
    "422": {"detail": "This Idempotency-Key was already used with another request.", "errors": {}},
    "429": {"detail": "Request was throttled. Expected available in 42 seconds.", "errors": {}},
}

IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Any 1 to 255 characters of your choosing. The first answer to a POST with "
    "this key is kept: the same key and body again answers it again (header "
    "`Idempotent-Replay: true`) and writes nothing; the same key with another body is 422.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    "example": "2f1c4e0a-order-1042",
}
IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": "The ETag of the record as you read it (GET answers it): if a colleague "
    "changed the record since, the request is refused with 412 and nothing is written.",
    "schema": {"type": "string"},
    "example": '"3b5d5c3712955042212316173ccf37be"',
}
ETAG = {
    "description": "The record's version, to send back as `If-Match` with a change.",
    "schema": {"type": "string"},
}
CONDITIONAL_ACTIONS = {"update", "partial_update", "destroy"}

# The query value of a custom field filter, by the field's type (crm.models.FieldType).
CUSTOM_FILTER_SCHEMAS = {
    "number": {"type": "number"},
    "money": {"type": "number"},
    "date": {"type": "string", "format": "date"},
    "datetime": {"type": "string", "format": "date-time"},
    "checkbox": {"type": "boolean"},
    "user": {"type": "integer"},
}
RANGE_FIELD_TYPES = {"number", "money", "date", "datetime"}
TEXT_FIELD_TYPES = {"text", "url", "email"}
# Long text has no filter (crm.filters): nobody searches a paragraph by equality.
UNFILTERED_FIELD_TYPES = {"long_text"}


def custom_field_definitions() -> dict[str, list]:
    """The active custom field definitions by record type, in their form order."""
    from crm.models import CustomField

    found: dict[str, list] = {}
    try:
        definitions = list(CustomField.objects.filter(is_active=True).order_by("order", "id"))
    except DatabaseError:
        # `check --deploy` makes the schema too, possibly before the database is migrated.
        return found
    for definition in definitions:
        found.setdefault(definition.record_type, []).append(definition)
    return found


def _views(generator) -> dict[tuple[str, str], tuple[type | None, str | None]]:
    """(path, method) → (view class, viewset action) of each endpoint the generator read."""
    found = {}
    for path, _regex, method, callback in getattr(generator, "endpoints", None) or ():
        actions = getattr(callback, "actions", None) or {}
        key = (path.replace("{pk}", "{id}"), method.lower())
        found[key] = (getattr(callback, "cls", None), actions.get(method.lower()))
    return found


def _error_response(code: str, description) -> dict:
    media = {"schema": {"$ref": "#/components/schemas/Error"}}
    if code in EXAMPLES:
        media["examples"] = {code: {"value": EXAMPLES[code]}}
    return {"description": str(description), "content": {"application/json": media}}


def _add_header(operation: dict, parameter: dict) -> None:
    parameters = operation.setdefault("parameters", [])
    if not any(p.get("in") == "header" and p.get("name") == parameter["name"] for p in parameters):
        parameters.append(dict(parameter))


def add_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: the error codes on every operation, and the
    conditional and idempotency headers where the view honours them."""
    # Imported here: settings name this module, and api.base imports the models.
    from .base import ConditionalMixin, IdempotencyMixin

    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    views = _views(generator)
    add_custom_field_filters(result, views)
    for path, path_item in result.get("paths", {}).items():
        for method, operation in path_item.items():
            codes = {**COMMON, **BY_METHOD.get(method, {})}
            responses = operation.setdefault("responses", {})
            for code, description in codes.items():
                responses.setdefault(code, _error_response(code, description))
            view, action = views.get((path, method), (None, None))
            if not isinstance(view, type):
                continue
            if method == "post" and issubclass(view, IdempotencyMixin):
                _add_header(operation, IDEMPOTENCY_KEY)
            if issubclass(view, ConditionalMixin):
                if action in CONDITIONAL_ACTIONS:
                    _add_header(operation, IF_MATCH)
                elif action == "retrieve" and "200" in responses:
                    responses["200"].setdefault("headers", {})["ETag"] = ETAG
    return result


def add_custom_field_filters(result, views) -> None:
    """`cf_<key>` (and `__gte`/`__lte` for numbers, money and dates) on every list whose
    FilterSet takes custom field filters (api.records.ApiCustomFilters)."""
    from .records import ApiCustomFilters

    definitions = None
    for (path, method), (view, action) in views.items():
        filterset = getattr(view, "filterset_class", None)
        record_type = getattr(filterset, "record_type", "")
        if method != "get" or action != "list" or not record_type:
            continue
        if not (isinstance(filterset, type) and issubclass(filterset, ApiCustomFilters)):
            continue
        operation = result.get("paths", {}).get(path, {}).get(method)
        if operation is None:
            continue
        if definitions is None:
            definitions = custom_field_definitions()
        for definition in definitions.get(record_type, []):
            for parameter in custom_filter_parameters(definition):
                _add_query(operation, parameter)


def custom_filter_parameters(definition) -> list[dict]:
    kind = definition.field_type
    if kind in UNFILTERED_FIELD_TYPES:
        return []
    name = f"cf_{definition.key}"
    value = dict(CUSTOM_FILTER_SCHEMAS.get(kind, {"type": "string"}))
    if kind in ("select", "multi_select") and definition.choices:
        value["enum"] = [str(choice) for choice in definition.choices]
    label = str(definition.label)
    if kind in TEXT_FIELD_TYPES:
        description = _("%(label)s contains this text.") % {"label": label}
    elif kind == "multi_select":
        description = _("%(label)s includes this option.") % {"label": label}
    else:
        description = _("%(label)s is this value.") % {"label": label}
    parameters = [_query(name, value, description)]
    if kind in RANGE_FIELD_TYPES:
        for suffix, wording in (("gte", _("at least")), ("lte", _("at most"))):
            parameters.append(
                _query(
                    f"{name}__{suffix}",
                    value,
                    _("%(label)s is %(bound)s this value.") % {"label": label, "bound": wording},
                )
            )
    return parameters


def _query(name: str, schema: dict, description) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": str(description),
        "schema": dict(schema),
    }


def _add_query(operation: dict, parameter: dict) -> None:
    parameters = operation.setdefault("parameters", [])
    if not any(p.get("in") == "query" and p.get("name") == parameter["name"] for p in parameters):
        parameters.append(parameter)
