import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from crm.custom_fields import definitions_for, filter_custom, validate_custom_values
from crm.models import CustomField, Deal, FieldType, RecordType
from tests.crm.factories import CustomFieldFactory, DealFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CHOICES = ["Bronze", "Silver", "Gold"]


def field_of(field_type, key="value", **kwargs):
    if field_type in (FieldType.SELECT, FieldType.MULTI_SELECT):
        kwargs.setdefault("choices", CHOICES)
    return CustomFieldFactory(record_type=RecordType.DEAL, key=key, field_type=field_type, **kwargs)


def refusal(record_type, values, **kwargs) -> dict:
    with pytest.raises(ValidationError) as caught:
        validate_custom_values(record_type, values, **kwargs)
    return caught.value.message_dict


# Validation: accepted values and how they are stored


@pytest.mark.parametrize(
    ("field_type", "given", "stored"),
    [
        (FieldType.TEXT, "  Acme renewal ", "Acme renewal"),
        (FieldType.TEXT, "x" * 255, "x" * 255),
        (FieldType.LONG_TEXT, "line one\nline two", "line one\nline two"),
        (FieldType.LONG_TEXT, "x" * 10_000, "x" * 10_000),
        (FieldType.NUMBER, 42, 42),
        (FieldType.NUMBER, -2.5, -2.5),
        (FieldType.NUMBER, Decimal("7.25"), 7.25),
        (FieldType.NUMBER, " 12 ", 12),
        (FieldType.NUMBER, "3.0", 3),
        (FieldType.NUMBER, "1e3", 1000),
        (FieldType.MONEY, "1234.5", "1234.50"),
        (FieldType.MONEY, 1234, "1234.00"),
        (FieldType.MONEY, 0.1, "0.10"),
        (FieldType.MONEY, Decimal("-19.99"), "-19.99"),
        (FieldType.MONEY, "12.500", "12.50"),
        (FieldType.MONEY, "-0", "0.00"),
        (FieldType.DATE, "2025-03-01", "2025-03-01"),
        (FieldType.DATE, date(2025, 3, 1), "2025-03-01"),
        (FieldType.DATETIME, "2025-03-01T14:30:00+01:00", "2025-03-01T13:30:00+00:00"),
        (FieldType.DATETIME, "2025-03-01T14:30:00Z", "2025-03-01T14:30:00+00:00"),
        (FieldType.DATETIME, datetime(2025, 3, 1, 14, 30, tzinfo=UTC), "2025-03-01T14:30:00+00:00"),
        (FieldType.SELECT, "Gold", "Gold"),
        (FieldType.MULTI_SELECT, ["Gold", "Bronze"], ["Bronze", "Gold"]),
        (FieldType.MULTI_SELECT, ("Silver",), ["Silver"]),
        (FieldType.CHECKBOX, True, True),
        (FieldType.CHECKBOX, False, False),
        (FieldType.CHECKBOX, "true", True),
        (FieldType.CHECKBOX, "False", False),
        (FieldType.URL, "https://acme.example/pricing?q=1", "https://acme.example/pricing?q=1"),
        (FieldType.EMAIL, "Ana.Silva@ACME.Example", "Ana.Silva@acme.example"),
    ],
)
def test_accepted_values_are_stored_cleaned(field_type, given, stored):
    field_of(field_type)
    cleaned = validate_custom_values(RecordType.DEAL, {"value": given})
    assert cleaned == {"value": stored}
    assert json.loads(json.dumps(cleaned)) == cleaned


def test_naive_datetime_is_read_in_the_current_time_zone():
    field_of(FieldType.DATETIME)
    with timezone.override("America/New_York"):
        cleaned = validate_custom_values(RecordType.DEAL, {"value": "2025-01-15T09:00:00"})
    assert cleaned == {"value": "2025-01-15T14:00:00+00:00"}


def test_user_is_stored_as_the_id_of_an_active_user(rep):
    field_of(FieldType.USER)
    assert validate_custom_values(RecordType.DEAL, {"value": rep.pk}) == {"value": rep.pk}
    assert validate_custom_values(RecordType.DEAL, {"value": str(rep.pk)}) == {"value": rep.pk}


# Validation: refused values, with the message keyed by the field key


@pytest.mark.parametrize(
    ("field_type", "given", "message"),
    [
        (FieldType.TEXT, 12, "Enter text."),
        (FieldType.TEXT, "x" * 256, "Enter at most 255 characters (it has 256)."),
        (FieldType.LONG_TEXT, ["a"], "Enter text."),
        (FieldType.LONG_TEXT, "x" * 10_001, "Enter at most 10000 characters (it has 10001)."),
        (FieldType.NUMBER, True, "Enter a number."),
        (FieldType.NUMBER, "twelve", "Enter a number."),
        (FieldType.NUMBER, float("nan"), "Enter a number."),
        (FieldType.NUMBER, float("inf"), "Enter a number."),
        (FieldType.NUMBER, "NaN", "Enter a number."),
        (FieldType.NUMBER, "-Infinity", "Enter a number."),
        (FieldType.NUMBER, 10**20, "Enter a number smaller than 1,000,000,000,000,000."),
        (FieldType.MONEY, "12.345", "Enter an amount with at most 2 decimal places."),
        (FieldType.MONEY, "12,50", "Enter an amount such as 1234.50."),
        (FieldType.MONEY, False, "Enter an amount such as 1234.50."),
        (FieldType.MONEY, "Infinity", "Enter an amount such as 1234.50."),
        (FieldType.MONEY, "1e13", "Enter an amount smaller than 1,000,000,000,000."),
        (FieldType.DATE, "01/03/2025", "Enter a valid date in the format YYYY-MM-DD."),
        (FieldType.DATE, "2025-02-30", "Enter a valid date in the format YYYY-MM-DD."),
        (FieldType.DATE, datetime(2025, 3, 1, tzinfo=UTC), "Enter a valid date in the format"),
        (FieldType.DATE, 20250301, "Enter a valid date in the format YYYY-MM-DD."),
        (FieldType.DATETIME, "yesterday", "Enter a valid date and time in ISO 8601"),
        (FieldType.DATETIME, 1740839400, "Enter a valid date and time in ISO 8601"),
        (FieldType.DATETIME, "9999-12-31T23:59:59-14:00", "Enter a valid date and time in ISO"),
        (FieldType.DATETIME, "0001-01-01T00:00:00+14:00", "Enter a valid date and time in ISO"),
        (
            FieldType.SELECT,
            "Platinum",
            "“Platinum” is not one of the choices: Bronze, Silver, Gold.",
        ),
        (FieldType.SELECT, ["Gold"], "Select one of the choices."),
        (FieldType.MULTI_SELECT, "Gold", "Select a list of choices."),
        (FieldType.MULTI_SELECT, ["Gold", "Gold"], "Select each choice only once."),
        (FieldType.MULTI_SELECT, ["Gold", "Tin"], "“Tin” is not one of the choices"),
        (FieldType.CHECKBOX, "yes", "Enter true or false."),
        (FieldType.CHECKBOX, 1, "Enter true or false."),
        (FieldType.URL, "acme dot example", "Enter a valid URL, such as https://example.com."),
        (FieldType.URL, "javascript:alert(1)", "Enter a valid URL, such as https://example.com."),
        (FieldType.EMAIL, "ana@", "Enter a valid email address."),
        (FieldType.EMAIL, 7, "Enter a valid email address."),
        (FieldType.USER, "ana", "Select an active user."),
        (FieldType.USER, True, "Select an active user."),
        (FieldType.USER, 999_999, "Select an active user."),
    ],
)
def test_refused_values_name_the_field_and_the_problem(field_type, given, message):
    field_of(field_type)
    errors = refusal(RecordType.DEAL, {"value": given})
    assert list(errors) == ["value"]
    assert len(errors["value"]) == 1
    assert errors["value"][0].startswith(message)


def test_inactive_user_is_refused():
    field_of(FieldType.USER)
    former = UserFactory(is_active=False)
    assert refusal(RecordType.DEAL, {"value": former.pk}) == {"value": ["Select an active user."]}


def test_unknown_and_inactive_keys_are_refused():
    field_of(FieldType.TEXT, key="retired", is_active=False)
    errors = refusal(RecordType.DEAL, {"colour": "red", "retired": "yes"})
    assert errors == {
        "colour": ["There is no custom field with this key."],
        "retired": ["There is no custom field with this key."],
    }


def test_keys_of_another_record_type_are_unknown():
    CustomFieldFactory(record_type=RecordType.TICKET, key="severity")
    assert "severity" in refusal(RecordType.DEAL, {"severity": "high"})


def test_values_must_be_given_by_key():
    assert refusal(RecordType.DEAL, ["a", "b"]) == {
        "__all__": ["Custom fields must be given by key."]
    }


def test_every_error_is_reported_at_once():
    field_of(FieldType.NUMBER, key="score")
    field_of(FieldType.DATE, key="close_by")
    errors = refusal(RecordType.DEAL, {"score": "high", "close_by": "soon", "colour": "red"})
    assert set(errors) == {"score", "close_by", "colour"}


# Validation: required values, partial updates and empty values


def test_required_value_missing_is_refused():
    field_of(FieldType.SELECT, key="tier", required=True)
    field_of(FieldType.TEXT, key="note")
    assert refusal(RecordType.DEAL, {"note": "hi"}) == {"tier": ["This field is required."]}
    assert refusal(RecordType.DEAL, None) == {"tier": ["This field is required."]}


def test_required_value_present_in_existing_values_is_enough():
    field_of(FieldType.SELECT, key="tier", required=True)
    field_of(FieldType.TEXT, key="note")
    cleaned = validate_custom_values(RecordType.DEAL, {"note": "hi"}, existing={"tier": "Gold"})
    assert cleaned == {"tier": "Gold", "note": "hi"}


@pytest.mark.parametrize("empty", [None, "", "   ", []])
def test_emptying_a_required_value_is_refused(empty):
    field_of(FieldType.SELECT, key="tier", required=True)
    existing = {"tier": "Gold"}
    errors = refusal(RecordType.DEAL, {"tier": empty}, existing=existing)
    assert errors == {"tier": ["This field is required."]}
    assert existing == {"tier": "Gold"}


def test_required_checkbox_accepts_false():
    field_of(FieldType.CHECKBOX, key="signed", required=True)
    assert validate_custom_values(RecordType.DEAL, {"signed": False}) == {"signed": False}


def test_partial_update_keeps_the_other_keys():
    field_of(FieldType.TEXT, key="note")
    field_of(FieldType.NUMBER, key="score")
    existing = {"note": "first call", "score": 3}
    cleaned = validate_custom_values(RecordType.DEAL, {"score": "8"}, existing=existing)
    assert cleaned == {"note": "first call", "score": 8}
    assert existing == {"note": "first call", "score": 3}


def test_partial_update_keeps_values_of_retired_fields():
    field_of(FieldType.TEXT, key="note")
    cleaned = validate_custom_values(RecordType.DEAL, {"note": "b"}, existing={"legacy": 1})
    assert cleaned == {"legacy": 1, "note": "b"}


@pytest.mark.parametrize(
    ("field_type", "empty"),
    [
        (FieldType.TEXT, None),
        (FieldType.TEXT, ""),
        (FieldType.LONG_TEXT, "  \n "),
        (FieldType.NUMBER, None),
        (FieldType.MULTI_SELECT, []),
        (FieldType.DATE, ""),
    ],
)
def test_empty_value_removes_the_key(field_type, empty):
    field_of(field_type)
    field_of(FieldType.TEXT, key="note")
    existing = {"value": "something", "note": "keep"}
    cleaned = validate_custom_values(RecordType.DEAL, {"value": empty}, existing=existing)
    assert cleaned == {"note": "keep"}


def test_zero_and_false_are_values_not_empty():
    field_of(FieldType.NUMBER, key="score")
    field_of(FieldType.CHECKBOX, key="signed")
    cleaned = validate_custom_values(RecordType.DEAL, {"score": 0, "signed": False})
    assert cleaned == {"score": 0, "signed": False}


def test_definitions_are_the_active_ones_in_order():
    second = field_of(FieldType.TEXT, key="second", order=2)
    first = field_of(FieldType.TEXT, key="first", order=1)
    field_of(FieldType.TEXT, key="retired", order=0, is_active=False)
    CustomFieldFactory(record_type=RecordType.TICKET, key="other")
    assert definitions_for(RecordType.DEAL) == [first, second]


# Filtering


@pytest.fixture
def deals():
    """Four deals whose values order differently as numbers than as text."""
    field_of(FieldType.TEXT, key="note")
    field_of(FieldType.NUMBER, key="score")
    field_of(FieldType.MONEY, key="budget")
    field_of(FieldType.DATE, key="close_by")
    field_of(FieldType.SELECT, key="tier")
    field_of(FieldType.MULTI_SELECT, key="products", choices=["CRM", "Analytics", "Support"])
    field_of(FieldType.CHECKBOX, key="signed")
    rows = {
        "big": {
            "note": "Big Renewal",
            "score": 10,
            "budget": "1000.5",
            "close_by": "2025-01-10",
            "tier": "Gold",
            "products": ["CRM", "Analytics"],
            "signed": True,
        },
        "pilot": {
            "note": "small pilot",
            "score": 2.5,
            "budget": "99.99",
            "close_by": "2025-03-01",
            "tier": "Silver",
            "products": ["Analytics"],
            "signed": False,
        },
        "renewal": {
            "note": "renewal next year",
            "score": -3,
            "budget": "25000",
            "close_by": "2024-12-31",
            "tier": "Gold",
            "products": ["CRM"],
        },
        "blank": {},
    }
    for name, values in rows.items():
        DealFactory(name=name, custom=validate_custom_values(RecordType.DEAL, values))
    return Deal.objects.all()


def names(queryset) -> set[str]:
    return set(queryset.values_list("name", flat=True))


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("note", "small pilot", {"pilot"}),
        ("note", "Small Pilot", set()),
        ("score", 10, {"big"}),
        ("score", "2.5", {"pilot"}),
        ("budget", "1000.50", {"big"}),
        ("budget", Decimal("25000"), {"renewal"}),
        ("close_by", date(2025, 3, 1), {"pilot"}),
        ("tier", "Gold", {"big", "renewal"}),
        ("products", ["Analytics", "CRM"], {"big"}),
        ("products", ["Analytics"], {"pilot"}),
        ("signed", True, {"big"}),
        ("signed", "false", {"pilot"}),
    ],
)
def test_filter_exact(deals, key, value, expected):
    assert names(filter_custom(deals, key, value)) == expected


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("note", "renewal", {"big", "renewal"}),
        ("note", "PILOT", {"pilot"}),
        ("note", "50%", set()),
        ("products", "CRM", {"big", "renewal"}),
        ("products", "Analytics", {"big", "pilot"}),
        ("products", "Support", set()),
    ],
)
def test_filter_contains(deals, key, value, expected):
    assert names(filter_custom(deals, key, value, lookup="contains")) == expected


@pytest.mark.parametrize(
    ("key", "lookup", "value", "expected"),
    [
        ("score", "gte", 2.5, {"big", "pilot"}),
        ("score", "lte", 2.5, {"pilot", "renewal"}),
        ("score", "range", (-5, 3), {"pilot", "renewal"}),
        ("budget", "gte", "1000.50", {"big", "renewal"}),
        ("budget", "lte", 999, {"pilot"}),
        ("budget", "range", ("100", "30000"), {"big", "renewal"}),
        ("close_by", "gte", "2025-01-10", {"big", "pilot"}),
        ("close_by", "lte", date(2025, 1, 9), {"renewal"}),
        ("close_by", "range", ("2025-01-01", "2025-12-31"), {"big", "pilot"}),
    ],
)
def test_filter_compares_numbers_money_and_dates_by_value(deals, key, lookup, value, expected):
    assert names(filter_custom(deals, key, value, lookup=lookup)) == expected


@pytest.mark.parametrize(
    ("key", "expected_missing"),
    [
        ("note", {"blank"}),
        ("score", {"blank"}),
        ("budget", {"blank"}),
        ("close_by", {"blank"}),
        ("tier", {"blank"}),
        ("products", {"blank"}),
        ("signed", {"blank", "renewal"}),
    ],
)
def test_filter_isnull(deals, key, expected_missing):
    assert names(filter_custom(deals, key, True, lookup="isnull")) == expected_missing
    present = names(filter_custom(deals, key, False, lookup="isnull"))
    assert present == names(deals) - expected_missing


def test_filter_datetime_compares_instants_across_offsets():
    field_of(FieldType.DATETIME, key="demo_at")
    for name, when in [("early", "2025-03-01T09:00:00+02:00"), ("late", "2025-03-01T08:00:00Z")]:
        DealFactory(name=name, custom=validate_custom_values(RecordType.DEAL, {"demo_at": when}))
    later = filter_custom(Deal.objects.all(), "demo_at", "2025-03-01T07:30:00Z", lookup="gte")
    assert names(later) == {"late"}


def test_filter_combines_with_other_filters(deals):
    gold = filter_custom(deals, "tier", "Gold")
    assert names(filter_custom(gold, "score", 0, lookup="gte")) == {"big"}


def test_filter_works_for_a_key_that_looks_like_a_lookup():
    field_of(FieldType.TEXT, key="contains")
    DealFactory(name="match", custom={"contains": "x"})
    DealFactory(name="other", custom={"contains": "y"})
    assert names(filter_custom(Deal.objects.all(), "contains", "x")) == {"match"}


def test_filter_on_an_unknown_key_is_refused(deals):
    with pytest.raises(ValueError, match="There is no active custom field “colour” on deal"):
        filter_custom(deals, "colour", "red")


@pytest.mark.parametrize(
    ("key", "lookup"),
    [("note", "gte"), ("tier", "contains"), ("signed", "range"), ("score", "contains")],
)
def test_filter_with_a_lookup_the_type_does_not_support_is_refused(deals, key, lookup):
    with pytest.raises(ValueError, match=f"“{lookup}” is not a lookup for the"):
        filter_custom(deals, key, "x", lookup=lookup)


def test_filter_with_an_unknown_lookup_is_refused(deals):
    with pytest.raises(ValueError, match="“startswith” is not a lookup"):
        filter_custom(deals, "note", "B", lookup="startswith")


@pytest.mark.parametrize(
    ("key", "lookup", "value", "message"),
    [
        ("score", "gte", "many", "score: Enter a number."),
        ("tier", "exact", "Platinum", "“Platinum” is not one of the choices"),
        ("products", "contains", "Hardware", "“Hardware” is not one of the choices"),
        ("score", "range", (1,), r"takes a \(low, high\) pair"),
        ("signed", "isnull", "yes", "takes True or False"),
        ("note", "exact", "", "or use the isnull lookup"),
    ],
)
def test_filter_with_an_invalid_value_is_refused(deals, key, lookup, value, message):
    with pytest.raises(ValueError, match=message):
        filter_custom(deals, key, value, lookup=lookup)


# Shipped defaults


@pytest.mark.parametrize("record_type", [RecordType.TASK, RecordType.LEAD])
def test_default_fields_are_shipped_for_tasks_and_leads(record_type):
    fields = {field.key: field for field in definitions_for(record_type)}
    assert {key: field.field_type for key, field in fields.items()} == {
        "lead_source": FieldType.SELECT,
        "lead_stage": FieldType.SELECT,
        "next_follow_up": FieldType.DATE,
        "deal_value": FieldType.MONEY,
        "product_interest": FieldType.MULTI_SELECT,
        "lead_score": FieldType.NUMBER,
        "customer_feedback": FieldType.LONG_TEXT,
    }
    assert fields["lead_stage"].choices == [
        "New",
        "Contacted",
        "Qualified",
        "Proposal",
        "Won",
        "Lost",
    ]
    assert fields["product_interest"].choices == ["CRM", "Analytics", "Support desk", "Automations"]
    assert len(fields["lead_source"].choices) == 7


def test_default_fields_validate_a_typical_lead():
    cleaned = validate_custom_values(
        RecordType.LEAD,
        {
            "lead_source": "Referral",
            "lead_stage": "Qualified",
            "next_follow_up": "2025-04-02",
            "deal_value": "4800",
            "product_interest": ["Automations", "CRM"],
            "lead_score": "72",
            "customer_feedback": "Wants a demo of the pipeline board.",
        },
    )
    assert cleaned["deal_value"] == "4800.00"
    assert cleaned["product_interest"] == ["CRM", "Automations"]
    assert cleaned["lead_score"] == 72


def test_default_fields_migration_is_idempotent():
    from importlib import import_module

    from django.apps import apps

    migration = import_module("crm.migrations.0006_default_custom_fields")
    before = CustomField.objects.count()
    migration.create_default_fields(apps, None)
    assert CustomField.objects.count() == before
