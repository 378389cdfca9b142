"""Schemathesis against the live OpenAPI schema (issue 12 quality bar): every operation is
called with generated data as a rep and as an admin, in-process through the WSGI app, and
each answer must be no server error and conform to the schema (body and status code)."""

import json

import pytest
import schemathesis
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, Phase, settings
from rest_framework.throttling import SimpleRateThrottle
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from api.services import api_token_create
from crm.models import Role
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
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]


def load_schema() -> schemathesis.schemas.BaseSchema:
    """The schema drf-spectacular serves at /api/schema/ (built here: that view asks for a
    signed-in user, and the rows it would need do not exist at collection), called through
    the WSGI app in-process. Schemathesis' lazy `from_fixture` loader fails under pytest 9."""
    document = json.loads(
        OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True))
    )
    loaded = schemathesis.openapi.from_dict(document)
    loaded.app = application
    return loaded


schema = load_schema()


@pytest.fixture
def dataset(db, monkeypatch):
    """A team, a rep and an admin with a few records of each kind owned by the rep; bearer
    headers per persona. Throttles are off: the fuzzer sends hundreds of calls a minute."""
    monkeypatch.setattr(SimpleRateThrottle, "allow_request", lambda self, request, view: True)
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
