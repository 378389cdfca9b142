"""Custom fields in forms: one input per active definition, cleaned by the shared rules."""

import pytest
from django import forms
from django.core.exceptions import ValidationError

from crm.forms import CustomFieldsFormMixin, ServiceModelForm, custom_filter_fields
from crm.models import Deal, FieldType, RecordType
from tests.crm.factories import CustomFieldFactory, DealFactory

pytestmark = pytest.mark.django_db


class DealForm(ServiceModelForm):
    record_type = RecordType.DEAL

    class Meta:
        model = Deal
        fields = ["name", "amount"]


class NoteForm(CustomFieldsFormMixin, forms.Form):
    record_type = RecordType.TASK
    title = forms.CharField()


@pytest.fixture
def deal_fields():
    return [
        CustomFieldFactory(
            record_type=RecordType.DEAL,
            key="interest",
            label="Product interest",
            field_type=FieldType.SELECT,
            choices=["CRM", "Support"],
            required=True,
        ),
        CustomFieldFactory(record_type=RecordType.DEAL, key="seats", field_type=FieldType.NUMBER),
        CustomFieldFactory(
            record_type=RecordType.DEAL, key="retired", field_type=FieldType.TEXT, is_active=False
        ),
    ]


def test_form_has_one_input_per_active_custom_field(deal_fields):
    form = DealForm()
    assert [f.name for f in form.custom_bound_fields()] == ["custom__interest", "custom__seats"]
    assert [f.name for f in form.standard_bound_fields()] == ["name", "amount"]
    assert form.fields["custom__interest"].label == "Product interest"


def test_valid_input_gives_service_data_with_cleaned_custom_values(deal_fields):
    form = DealForm(
        data={"name": "Acme", "amount": "10", "custom__interest": "CRM", "custom__seats": "12"}
    )
    assert form.is_valid(), form.errors
    data = form.service_data()
    assert data["name"] == "Acme"
    assert data["custom"] == {"interest": "CRM", "seats": 12}


def test_errors_are_shown_next_to_the_custom_field_and_input_is_kept(deal_fields):
    form = DealForm(data={"name": "Acme", "amount": "10", "custom__seats": "many"})
    assert not form.is_valid()
    assert form.errors["custom__interest"] == ["This field is required."]
    assert form.errors["custom__seats"] == ["Enter a number."]
    assert 'value="many"' in str(form["custom__seats"])


def test_edit_form_starts_from_the_record_values_and_keeps_other_keys(deal_fields):
    deal = DealFactory(custom={"interest": "Support", "seats": 3, "retired": "old"})
    form = DealForm(instance=deal)
    assert form["custom__interest"].value() == "Support"
    bound = DealForm(
        instance=deal,
        data={"name": deal.name, "amount": "1", "custom__interest": "CRM", "custom__seats": ""},
    )
    assert bound.is_valid(), bound.errors
    assert bound.service_data()["custom"] == {"interest": "CRM", "seats": None}


def test_clearing_a_custom_value_through_the_form_removes_it_from_the_record(
    deal_fields, admin_user
):
    from crm.services import record_update

    deal = DealFactory(custom={"interest": "Support", "seats": 3, "retired": "old"})
    form = DealForm(
        instance=deal,
        data={"name": deal.name, "amount": "1", "custom__interest": "CRM", "custom__seats": ""},
    )
    assert form.is_valid(), form.errors
    record_update(deal, actor=admin_user, data=form.service_data())
    deal.refresh_from_db()
    assert deal.custom == {"interest": "CRM", "retired": "old"}


def test_service_errors_land_on_the_named_fields(deal_fields):
    form = DealForm(data={"name": "Acme", "amount": "1", "custom__interest": "CRM"})
    assert form.is_valid()
    form.add_service_errors(ValidationError({"amount": ["Too much."], "seats": ["Bad."]}))
    form.add_service_errors(ValidationError("Refused."))
    assert form.errors["amount"] == ["Too much."]
    assert form.errors["custom__seats"] == ["Bad."]
    assert form.non_field_errors() == ["Refused."]


def test_plain_form_reads_initial_custom_values_from_a_keyword():
    CustomFieldFactory(record_type=RecordType.TASK, key="urgent", field_type=FieldType.CHECKBOX)
    form = NoteForm(data={"title": "Call", "custom__urgent": "on"}, custom_initial={"x": 1})
    assert form.is_valid(), form.errors
    assert form.cleaned_custom == {"x": 1, "urgent": True}


def test_filter_fields_are_optional_and_cover_selects_and_checkboxes(deal_fields):
    CustomFieldFactory(record_type=RecordType.DEAL, key="vip", field_type=FieldType.CHECKBOX)
    fields = custom_filter_fields(RecordType.DEAL)
    assert set(fields) == {"custom__interest", "custom__seats", "custom__vip"}
    assert not any(field.required for field in fields.values())
    assert isinstance(fields["custom__vip"], forms.NullBooleanField)
