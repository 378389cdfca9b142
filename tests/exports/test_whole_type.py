"""The whole-type CSV (exports.services.whole_type_csv): every record of a type, every field
and custom field, values as stored, for moving data (the import's round trip reads it)."""

import csv
import io

import pytest
from django.core.exceptions import PermissionDenied

from crm.models import FieldType, RecordType
from exports.services import whole_type_csv
from tests.crm.factories import CompanyFactory, ContactFactory, CustomFieldFactory

pytestmark = pytest.mark.django_db


def _rows(record_type: str, user) -> list[dict]:
    file = io.StringIO(newline="")
    count = whole_type_csv(record_type=record_type, user=user, file=file)
    rows = list(csv.DictReader(io.StringIO(file.getvalue().removeprefix("\ufeff"), newline="")))
    assert count == len(rows)
    return rows


def test_contacts_come_with_every_field_and_custom_value_as_stored(admin_user, rep, sales_team):
    CustomFieldFactory(record_type=RecordType.CONTACT, key="vip", field_type=FieldType.CHECKBOX)
    CustomFieldFactory(
        record_type=RecordType.CONTACT,
        key="topics",
        field_type=FieldType.MULTI_SELECT,
        choices=["Billing", "Support"],
    )
    CustomFieldFactory(record_type=RecordType.CONTACT, key="buddy", field_type=FieldType.USER)
    company = CompanyFactory(name="Acme", owner=rep, team=sales_team)
    ContactFactory(
        first_name="Ana",
        last_name="Lima",
        email="ana@acme.example",
        phone="+55 11 5555",
        company=company,
        owner=rep,
        team=sales_team,
        custom={"vip": True, "topics": ["Billing", "Support"], "buddy": rep.pk},
    )

    [row] = _rows("contact", admin_user)

    assert row["first_name"] == "Ana"
    assert row["email"] == "ana@acme.example"
    assert row["phone"] == "'+55 11 5555"  # a formula start, neutralised
    assert row["company"] == "Acme"
    assert row["owner"] == rep.username
    assert row["team"] == "Sales"
    assert (row["vip"], row["topics"], row["buddy"]) == ("true", "Billing; Support", rep.username)


def test_only_admins_export_a_whole_type(rep):
    with pytest.raises(PermissionDenied):
        whole_type_csv(record_type="contact", user=rep, file=io.StringIO())
