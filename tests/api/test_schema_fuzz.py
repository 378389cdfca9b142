"""Schemathesis against the live OpenAPI schema (issue 12 quality bar): every operation is
called with generated data as a rep and as an admin, in-process through the WSGI app, and
each answer must be no server error and conform to the schema (body and status code)."""

import json
from unittest import mock

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test
from rest_framework.throttling import SimpleRateThrottle
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from api.services import api_token_create
from crm.models import CustomField, Role
from crm.wsgi import application
from tests.crm.factories import (
    CompanyFactory,
    ContactFactory,
    DealFactory,
    LeadFactory,
    TaskFactory,
    TicketFactory,
)
from tests.factories import TeamFactory, UserFactory

# 74 operations x 2 personas x up to 8 examples: well over 1,000 generated calls in all.
EXAMPLES_PER_OPERATION = 8
# Stateful scenarios per persona, each a chain of up to this many calls.
STATEFUL_SCENARIOS = 10
STATEFUL_STEPS = 10
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]


# Custom fields the dataset defines, so the lists' `cf_<key>` filters (documented from the
# definitions when the schema is made) are in the schema and fuzzed too: one per value type.
FUZZ_FIELDS = [
    {"record_type": "deal", "key": "seats", "label": "Seats", "field_type": "number"},
    {"record_type": "company", "key": "arr", "label": "ARR", "field_type": "money"},
    {"record_type": "contact", "key": "renewal", "label": "Renewal", "field_type": "date"},
    {"record_type": "lead", "key": "called", "label": "Called", "field_type": "datetime"},
    {"record_type": "lead", "key": "vip", "label": "VIP", "field_type": "checkbox"},
    {
        "record_type": "ticket",
        "key": "tier",
        "label": "Tier",
        "field_type": "select",
        "choices": ["gold", "silver"],
    },
    {
        "record_type": "task",
        "key": "tags",
        "label": "Tags",
        "field_type": "multi_select",
        "choices": ["a", "b"],
    },
    {"record_type": "deal", "key": "region", "label": "Region", "field_type": "text"},
    {"record_type": "company", "key": "csm", "label": "CSM", "field_type": "user"},
]


def fuzz_field_definitions() -> dict[str, list[CustomField]]:
    found: dict[str, list[CustomField]] = {}
    for spec in FUZZ_FIELDS:
        found.setdefault(spec["record_type"], []).append(CustomField(**spec))
    return found


def load_schema() -> schemathesis.schemas.BaseSchema:
    """The schema drf-spectacular serves at /api/schema/ (built here: that view asks for a
    signed-in user, and the rows it would need do not exist at collection), called through
    the WSGI app in-process. Schemathesis' lazy `from_fixture` loader fails under pytest 9.
    The custom field definitions are FUZZ_FIELDS (the dataset saves them): no database yet."""
    with mock.patch("api.schema.custom_field_definitions", fuzz_field_definitions):
        generated = SchemaGenerator().get_schema(request=None, public=True)
    document = json.loads(OpenApiJsonRenderer().render(generated))
    loaded = schemathesis.openapi.from_dict(document)
    loaded.app = application
    return loaded


schema = load_schema()


@pytest.fixture
def dataset(db, monkeypatch, request):
    """A team, a rep and an admin with a few records of each kind owned by the rep; bearer
    headers per persona. Throttles are off: the fuzzer sends hundreds of calls a minute."""
    monkeypatch.setattr(SimpleRateThrottle, "allow_request", lambda self, request, view: True)
    # As Django's test client: the WSGI calls must not close the test's connection (its
    # transaction holds the dataset; PostgreSQL would lose it).
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
        request.addfinalizer(lambda signal=signal: signal.connect(close_old_connections))
    for spec in FUZZ_FIELDS:
        CustomField.objects.create(**spec)
    rep = UserFactory(username="ana", role=Role.SALES_REP)
    admin = UserFactory(username="diego", role=Role.ADMIN, is_staff=True, is_superuser=True)
    team = TeamFactory(name="Sales", members=[rep])
    for _ in range(2):
        company = CompanyFactory(owner=rep, team=team)
        contact = ContactFactory(owner=rep, team=team, company=company)
        LeadFactory(owner=rep, team=team)
        DealFactory(owner=rep, team=team, company=company)
        TaskFactory(assignee=rep)
        TicketFactory(contact=contact, company=company, team=team)
    headers = {}
    for persona, user in (("rep", rep), ("admin", admin)):
        _token, secret = api_token_create(user=user, name="fuzz")
        headers[persona] = {"Authorization": f"Bearer {secret}"}
    return headers


FUZZ = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    # Generated cases only: schemathesis' coverage phase (tied to Hypothesis' explicit phase)
    # sends hundreds of boundary cases per operation, minutes in all.
    phases=[Phase.generate],
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@schema.parametrize()
@FUZZ
def test_every_operation_answers_a_rep_within_its_schema(case, dataset):
    case.call_and_validate(headers=dataset["rep"], checks=CHECKS)


@schema.parametrize()
@FUZZ
def test_every_operation_answers_an_admin_within_its_schema(case, dataset):
    case.call_and_validate(headers=dataset["admin"], checks=CHECKS)


@pytest.mark.parametrize("persona", ["rep", "admin"])
def test_chains_of_calls_along_the_schemas_links_answer_within_the_schema(dataset, persona):
    """Stateful: a created or listed record's id feeds the calls on that record (the links
    schemathesis infers from the schema), so the record routes see real ids, not only 404s."""
    headers = dataset[persona]

    class Workflow(schema.as_state_machine()):
        def get_call_kwargs(self, case):
            return {"headers": headers}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

    run_state_machine_as_test(
        Workflow,
        settings=settings(
            max_examples=STATEFUL_SCENARIOS,
            stateful_step_count=STATEFUL_STEPS,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )


def test_the_schema_documents_the_error_answers_in_their_one_shape():
    """Every operation lists the codes api/errors.py answers with, in the `Error` shape."""
    document = schema.raw_schema
    assert set(document["components"]["schemas"]["Error"]["required"]) == {"detail", "errors"}
    deal = document["paths"]["/api/deals/{id}/"]
    for code in ("400", "401", "403", "404", "412", "415"):
        body = deal["patch"]["responses"][code]["content"]["application/json"]["schema"]
        assert body == {"$ref": "#/components/schemas/Error"}
    assert "422" in document["paths"]["/api/deals/"]["post"]["responses"]
    assert "404" in document["paths"]["/api/me/"]["get"]["responses"]


def test_the_lists_custom_field_filters_are_in_the_fuzzed_schema():
    deals = schema.raw_schema["paths"]["/api/deals/"]["get"]["parameters"]
    names = {parameter["name"] for parameter in deals}
    assert {"cf_seats", "cf_seats__gte", "cf_seats__lte", "cf_region"} <= names
