"""Every operator, AND/OR groups, relations and custom fields, compared by the field's type."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from automations.conditions import matches
from automations.records import custom_definitions
from crm.models import CustomField, FieldType, Lifecycle
from tests.crm.factories import CompanyFactory, DealFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def deal(rep, sales_team):
    CustomField.objects.create(
        record_type="deal", key="seats", label="Seats", field_type=FieldType.NUMBER
    )
    CustomField.objects.create(
        record_type="deal", key="renewal", label="Renewal", field_type=FieldType.DATE
    )
    CustomField.objects.create(
        record_type="deal",
        key="modules",
        label="Modules",
        field_type=FieldType.MULTI_SELECT,
        choices=["crm", "bi", "sla"],
    )
    CustomField.objects.create(
        record_type="company",
        key="tier",
        label="Tier",
        field_type=FieldType.SELECT,
        choices=["gold", "silver"],
    )
    company = CompanyFactory(
        name="Initech", owner=rep, lifecycle=Lifecycle.PROSPECT, custom={"tier": "gold"}
    )
    return DealFactory(
        name="Initech renewal",
        owner=rep,
        team=sales_team,
        company=company,
        amount=Decimal("1200.00"),
        expected_close_date=timezone.localdate() + timedelta(days=10),
        custom={"seats": 9, "renewal": "2026-12-01", "modules": ["crm", "bi"]},
    )


def check(deal, field, op, value=None, changes=None) -> bool:
    group = {"match": "all", "rows": [{"field": field, "op": op, "value": value}]}
    return matches(group, deal, changes=changes or {}, definitions=custom_definitions())


@pytest.mark.parametrize(
    ("field", "op", "value", "expected"),
    [
        ("amount", "eq", "1200", True),
        ("amount", "eq", "1200.00", True),
        ("amount", "ne", "1200", False),
        ("amount", "lt", "900", False),  # numbers as numbers: "900" < "1200" as text
        ("amount", "lte", "1200", True),
        ("amount", "gt", "900", True),
        ("amount", "gte", "1201", False),
        ("name", "contains", "RENEWAL", True),
        ("name", "contains", "upsell", False),
        ("name", "eq", "initech renewal", True),
        ("lost_reason", "is_empty", None, True),
        ("lost_reason", "not_empty", None, False),
        ("status", "in", ["won", "open"], True),
        ("status", "in", "won,lost", False),
        ("expected_close_date", "gt", "2000-01-01", True),
        ("expected_close_date", "lt", "2000-01-01", False),
        ("created_at", "gte", "2000-01-01", True),
        ("custom.seats", "gt", "10", False),
        ("custom.seats", "gte", "9", True),
        ("custom.seats", "lt", "10", True),  # a number custom field compares as a number
        ("custom.renewal", "gt", "2026-11-30", True),
        ("custom.renewal", "lt", "2026-11-30", False),
        ("custom.modules", "contains", "bi", True),
        ("custom.modules", "eq", "sla", False),
        ("custom.modules", "in", ["sla", "crm"], True),
        ("custom.missing", "is_empty", None, True),
        ("company.lifecycle", "eq", "prospect", True),
        ("company.name", "contains", "tech", True),
        ("company.custom.tier", "eq", "gold", True),
        ("owner.username", "eq", "ana", True),
        ("team.name", "eq", "Sales", True),
        ("contact.email", "is_empty", None, True),
        ("no_such_field", "eq", "x", False),
    ],
)
def test_operators_compare_by_the_fields_type(deal, field, op, value, expected):
    assert check(deal, field, op, value) is expected


def test_foreign_keys_compare_by_id(deal, rep, teammate):
    assert check(deal, "owner", "eq", str(rep.pk))
    assert check(deal, "owner", "in", [teammate.pk, rep.pk])
    assert not check(deal, "owner", "eq", teammate.pk)


def test_change_operators_read_the_events_changes(deal, won_stage):
    changes = {"stage": [deal.stage_id, won_stage.pk], "custom": [{"seats": 5}, {"seats": 9}]}
    assert check(deal, "stage", "changed", changes=changes)
    assert check(deal, "stage", "changed_from", deal.stage_id, changes=changes)
    assert check(deal, "stage", "changed_to", won_stage.pk, changes=changes)
    assert not check(deal, "stage", "changed_to", deal.stage_id, changes=changes)
    assert check(deal, "custom.seats", "changed_from", "5", changes=changes)
    assert not check(deal, "amount", "changed", changes=changes)


def test_and_or_groups_nest(deal):
    definitions = custom_definitions()
    big = {"field": "amount", "op": "gt", "value": "5000"}
    gold = {"field": "company.custom.tier", "op": "eq", "value": "gold"}
    mine = {"field": "owner.username", "op": "eq", "value": "ana"}
    assert not matches({"match": "all", "rows": [big, gold]}, deal, definitions=definitions)
    assert matches({"match": "any", "rows": [big, gold]}, deal, definitions=definitions)
    nested = {"match": "all", "rows": [mine, {"match": "any", "rows": [big, gold]}]}
    assert matches(nested, deal, definitions=definitions)
    nested["rows"][1]["rows"] = [big]
    assert not matches(nested, deal, definitions=definitions)
    assert matches({"match": "all", "rows": []}, deal)
    assert matches(None, deal)


def test_a_condition_on_a_missing_relation_is_false(rep):
    orphan = DealFactory(company=None, owner=rep)
    assert not check(orphan, "company.lifecycle", "eq", "prospect")
    assert check(orphan, "company.lifecycle", "is_empty")
