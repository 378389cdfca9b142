"""Hostile values in every field of the API's sales record writes and transitions, and in the
lists' filters (issue 12): each is a clean 4xx with nothing written, or an accepted write;
never a server error."""

import pytest
from django.db import transaction

from api.models import IdempotencyKey
from crm.models import Company, Contact, Deal, DealStageChange, Event, FieldType, Lead, RecordType
from tests.crm.factories import CustomFieldFactory, DealFactory, LeadFactory
from tests.reliability.test_api_work_writes import VALUES

pytestmark = pytest.mark.django_db

WRITTEN = (Company, Contact, Lead, Deal, DealStageChange, Event, IdempotencyKey)
FIELDS = {
    "/api/companies/": ["name", "domain", "industry", "size_band", "owner", "team", "custom"],
    "/api/contacts/": ["last_name", "email", "phone", "company", "lifecycle_stage", "owner"],
    "/api/leads/": ["name", "email", "source", "score", "status", "custom"],
    "/api/deals/": [
        "name",
        "company",
        "contact",
        "pipeline",
        "stage",
        "amount",
        "currency",
        "exchange_rate",
        "kind",
        "expected_close_date",
        "custom",
    ],
}
FILTERS = [
    "q",
    "owner",
    "team",
    "stage",
    "status",
    "amount_min",
    "created_after",
    "cf_seats",
    "cf_seats__gte",
    "cf_tier",
    "ordering",
    "page_size",
    "cursor",
    "fields",
]


def counts():
    return [model.objects.count() for model in WRITTEN]


def test_hostile_values_in_the_apis_sales_writes_and_filters(client, rep, sales_team, figures):
    CustomFieldFactory(record_type=RecordType.DEAL, key="seats", field_type=FieldType.NUMBER)
    CustomFieldFactory(
        record_type=RecordType.DEAL, key="tier", field_type=FieldType.SELECT, choices=["gold"]
    )
    deal = DealFactory(owner=rep, team=sales_team)
    lead = LeadFactory(owner=rep, team=sales_team)
    client.force_login(rep)
    writes = [(path, "post", {"name": "N", "last_name": "L"}, FIELDS[path]) for path in FIELDS]
    writes += [
        (f"/api/deals/{deal.pk}/", "patch", {}, ["name", "amount", "custom"]),
        (f"/api/deals/{deal.pk}/move/", "post", {}, ["stage", "lost_reason"]),
        (f"/api/leads/{lead.pk}/disqualify/", "post", {}, ["reason"]),
        (f"/api/leads/{lead.pk}/convert/", "post", {}, ["contact", "amount", "pipeline"]),
    ]
    refused_but_written = []
    for path, method, valid, fields in writes:
        for name in fields:
            for value in VALUES:
                figures.tried("bad_inputs")
                before = counts()
                body = {key: v for key, v in valid.items() if key in FIELDS.get(path, valid)}
                with transaction.atomic():  # a database error must not spoil the next request
                    response = getattr(client, method)(
                        path, {**body, name: value}, content_type="application/json"
                    )
                label = f"{method.upper()} {path} {name}={str(value)[:30]!r}"
                if response.status_code >= 500:
                    figures.add("server_errors", f"{label}: {response.status_code}")
                elif response.status_code >= 400:
                    figures.add("clean_rejections")
                    if counts() != before:
                        refused_but_written.append(label)
    for name in FILTERS:
        for value in VALUES:
            if not isinstance(value, str | int):
                continue
            figures.tried("bad_inputs")
            with transaction.atomic():
                response = client.get("/api/deals/", {name: value})
            if response.status_code >= 500:
                figures.add("server_errors", f"GET /api/deals/?{name}={str(value)[:30]!r}")
            elif response.status_code >= 400:
                figures.add("clean_rejections")
    assert refused_but_written == []
