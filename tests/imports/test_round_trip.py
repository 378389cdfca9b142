"""A round trip: the exports app's whole-type CSV, imported into an empty database, gives back
the same records (custom values, owners, links and text that looks like a formula included)."""

import io

import pytest
from django.apps import apps

from crm.models import Company, Contact, Event, FieldType
from tests.crm.factories import CompanyFactory, ContactFactory, CustomFieldFactory

from .conftest import run, upload

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not apps.is_installed("exports"), reason="needs the exports app"),
]

COMPANY_FIELDS = (
    "name",
    "domain",
    "industry",
    "size_band",
    "address",
    "notes",
    "owner__username",
    "team__name",
    "created_at",
    "custom",
)
CONTACT_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "title",
    "company__name",
    "lifecycle_stage",
    "language",
    "owner__username",
    "created_at",
    "custom",
)


def exported_csv(record_type, user) -> bytes:
    from exports.sources import whole_type_table
    from exports.writers import write_csv

    buffer = io.StringIO()
    write_csv(whole_type_table(record_type, user), buffer)
    return buffer.getvalue().encode("utf-8")


def snapshot(model, fields):
    """The records' values; creation times to the minute, as the export writes them."""
    rows = []
    for row in model.objects.values_list(*fields):
        at = fields.index("created_at")
        row = list(row)
        row[at] = row[at].replace(second=0, microsecond=0)
        rows.append(tuple(row))
    return sorted(rows, key=str)


def test_companies_and_contacts_come_back_the_same(sales_team, capture):
    rep, mate, team = sales_team["rep"], sales_team["mate"], sales_team["team"]
    CustomFieldFactory(
        record_type="company",
        key="tier",
        label="Tier",
        field_type=FieldType.SELECT,
        choices=["gold", "silver"],
    )
    CustomFieldFactory(record_type="contact", key="vip", label="VIP", field_type=FieldType.CHECKBOX)
    CustomFieldFactory(record_type="contact", key="since", label="Since", field_type=FieldType.DATE)
    acme = CompanyFactory(
        name="Acme", owner=rep, team=team, notes="=1+1 is text", custom={"tier": "gold"}
    )
    globex = CompanyFactory(name="Globex", owner=mate, team=team, address="1 Road\nTown")
    ContactFactory(
        first_name="Rosa",
        last_name="Parks",
        company=acme,
        owner=rep,
        team=team,
        phone="+1 555 0100",
        title="-CEO-",
        custom={"vip": True, "since": "2024-02-29"},
    )
    ContactFactory(
        first_name="Ada",
        last_name="Lovelace",
        company=globex,
        owner=mate,
        team=team,
        language="it",
        custom={},
    )
    companies_before = snapshot(Company, COMPANY_FIELDS)
    contacts_before = snapshot(Contact, CONTACT_FIELDS)
    company_file, contact_file = exported_csv("company", rep), exported_csv("contact", rep)

    Contact.objects.all().delete()
    Company.objects.all().delete()
    Event.objects.all().delete()

    for record_type, content in (("company", company_file), ("contact", contact_file)):
        job = run(upload(rep, record_type, content), capture=capture, policy="create")
        assert (job.failed_count, job.created_count) == (0, 2), list(
            job.rows.values_list("line", "error")
        )
    assert snapshot(Company, COMPANY_FIELDS) == companies_before
    assert snapshot(Contact, CONTACT_FIELDS) == contacts_before
