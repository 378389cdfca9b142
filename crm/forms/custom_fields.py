"""Custom fields in Django forms: one form field per active definition, named `custom__<key>`.

Values are cleaned by `crm.custom_fields.validate_custom_values`, the same rules the API and
imports use, and its messages are shown next to the matching field.
"""

from datetime import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.custom_fields import (
    LONG_TEXT_MAX_LENGTH,
    TEXT_MAX_LENGTH,
    definitions_for,
    required_on_create,
    required_on_edit,
    validate_custom_values,
)
from crm.limits import cap_text_fields
from crm.models import CustomField, FieldType, RecordType, User

PREFIX = "custom__"
# What Django's URLValidator accepts at most.
URL_MAX_LENGTH = 2048


def field_name(key: str) -> str:
    return f"{PREFIX}{key}"


def _choices(definition: CustomField, *, blank: bool) -> list[tuple[str, str]]:
    options = [(choice, choice) for choice in definition.choices]
    return [("", "---------"), *options] if blank else options


def form_field_for(definition: CustomField) -> forms.Field:
    """A Django form field that collects one custom value as text for the cleaner."""
    common = {
        "label": definition.label,
        "help_text": definition.help_text,
        "required": False,  # "required" is enforced by validate_custom_values, one message
    }
    kind = definition.field_type
    if kind == FieldType.LONG_TEXT:
        widget = forms.Textarea(attrs={"rows": 3})
        return forms.CharField(widget=widget, max_length=LONG_TEXT_MAX_LENGTH, **common)
    if kind in (FieldType.NUMBER, FieldType.MONEY):
        return forms.CharField(widget=forms.TextInput(attrs={"inputmode": "decimal"}), **common)
    if kind == FieldType.DATE:
        return forms.CharField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if kind == FieldType.DATETIME:
        widget = forms.DateTimeInput(attrs={"type": "datetime-local"})
        return forms.CharField(widget=widget, **common)
    if kind == FieldType.SELECT:
        return forms.ChoiceField(choices=_choices(definition, blank=True), **common)
    if kind == FieldType.MULTI_SELECT:
        widget = forms.CheckboxSelectMultiple
        return forms.MultipleChoiceField(
            choices=_choices(definition, blank=False), widget=widget, **common
        )
    if kind == FieldType.CHECKBOX:
        return forms.BooleanField(**common)
    if kind == FieldType.USER:
        queryset = User.objects.filter(is_active=True)
        return forms.ModelChoiceField(queryset=queryset, **common)
    if kind == FieldType.EMAIL:
        return forms.CharField(widget=forms.EmailInput, **common)
    if kind == FieldType.URL:
        return forms.CharField(widget=forms.URLInput, max_length=URL_MAX_LENGTH, **common)
    return forms.CharField(max_length=TEXT_MAX_LENGTH, **common)


def _initial(definition: CustomField, value, field: forms.Field):
    if definition.field_type == FieldType.DATETIME and isinstance(value, str):
        return _local_datetime(value, field)
    return value


def _local_datetime(value: str, field: forms.Field) -> str:
    """A stored (UTC) time as a datetime-local input shows it: in the site's time zone, with
    seconds only when it has some, so saving the form unchanged keeps the same instant."""
    try:
        moment = timezone.localtime(datetime.fromisoformat(value))
    except ValueError:
        return value[:16]
    if moment.second:
        field.widget.attrs["step"] = "1"  # or the browser refuses a time with seconds
        return moment.strftime("%Y-%m-%dT%H:%M:%S")
    return moment.strftime("%Y-%m-%dT%H:%M")


def _raw(definition: CustomField, value):
    """The cleaned form value in the shape validate_custom_values expects."""
    if definition.field_type == FieldType.USER:
        return value.pk if value else None
    if definition.field_type == FieldType.CHECKBOX:
        return bool(value)
    return value


class CustomFieldsFormMixin:
    """Adds the record type's custom fields to a form; `cleaned_custom` holds the values.

    Set `record_type` on the form class. The record's current `custom` dict is read from
    `instance` (model forms) or the `custom_initial` keyword.
    """

    record_type: str = ""

    def __init__(self, *args, custom_initial: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        instance = getattr(self, "instance", None)
        existing = custom_initial if custom_initial is not None else None
        if existing is None and instance is not None and instance.pk is not None:
            existing = getattr(instance, "custom", None) or {}
        # A form without a saved record or its values enters a new record.
        self.custom_creating = existing is None
        self.custom_existing = dict(existing or {})
        self.custom_definitions = definitions_for(self.record_type)
        for definition in self.custom_definitions:
            name = field_name(definition.key)
            self.fields[name] = form_field_for(definition)
            self._mark_required(definition, self.fields[name])
            if definition.key in self.custom_existing:
                value = self.custom_existing[definition.key]
                self.initial[name] = _initial(definition, value, self.fields[name])
        self.cleaned_custom: dict = {}

    def _mark_required(self, definition: CustomField, field: forms.Field) -> None:
        """The asterisk (`show_required`, read by the field templates) where this form needs
        a value; on an older record without one, a hint instead (see crm.custom_fields)."""
        if self.custom_creating:
            field.show_required = required_on_create(definition)
        else:
            field.show_required = required_on_edit(definition, self.custom_existing)
            if definition.required and not field.show_required:
                hint = (
                    _("Required on new records, and before the deal moves on to a later stage.")
                    if self.record_type == RecordType.DEAL
                    else _("Required on new records.")
                )
                field.help_text = f"{field.help_text} {hint}".strip()
        if field.show_required:
            field.widget.attrs["aria-required"] = "true"

    def custom_bound_fields(self):
        return [self[field_name(d.key)] for d in self.custom_definitions]

    def standard_bound_fields(self):
        return [field for field in self if not field.name.startswith(PREFIX)]

    def clean(self):
        cleaned = super().clean()
        values = {
            d.key: _raw(d, cleaned.get(field_name(d.key)))
            for d in self.custom_definitions
            if field_name(d.key) not in self.errors
        }
        try:
            self.cleaned_custom = validate_custom_values(
                self.record_type,
                values,
                existing=None if self.custom_creating else self.custom_existing,
            )
        except ValidationError as error:
            for key, messages in error.message_dict.items():
                target = field_name(key) if field_name(key) in self.fields else None
                for message in messages:
                    self.add_error(target, message)
        return cleaned


class ServiceModelForm(CustomFieldsFormMixin, forms.ModelForm):
    """A ModelForm that validates but never saves: the view hands `service_data()` to a
    service (record_create / record_update), the only write path."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        cap_text_fields(self)

    def _post_clean(self):
        # Skip ModelForm's instance construction and full_clean: the service validates the
        # model (constraints included) and its errors are added back with `add_service_errors`.
        pass

    def service_data(self) -> dict:
        data = {
            name: self.cleaned_data[name] for name in self._meta.fields if name in self.cleaned_data
        }
        if self.custom_definitions:
            # Every field of the form is sent, a cleared one as None, because the services
            # merge what they get into the record's values (keys of retired fields stay).
            data["custom"] = {
                d.key: self.cleaned_custom.get(d.key) for d in self.custom_definitions
            }
        return data

    def add_service_errors(self, error: ValidationError) -> None:
        """Show a service's ValidationError next to the fields it names."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for name, messages in error.message_dict.items():
            if name == "custom":
                target = None
            elif name in self.fields:
                target = name
            elif field_name(name) in self.fields:
                target = field_name(name)
            else:
                target = None
            for message in messages:
                self.add_error(target, message)


def custom_filter_fields(record_type: str) -> dict[str, forms.Field]:
    """Filter inputs for a list page: select fields filter by choice, others by value."""
    fields = {}
    for definition in definitions_for(record_type):
        if definition.field_type == FieldType.LONG_TEXT:
            continue
        field = form_field_for(definition)
        field.required = False
        if definition.field_type == FieldType.CHECKBOX:
            field = forms.NullBooleanField(label=definition.label, required=False)
        elif definition.field_type == FieldType.MULTI_SELECT:
            field = forms.ChoiceField(
                label=definition.label, choices=_choices(definition, blank=True), required=False
            )
        fields[field_name(definition.key)] = field
    return fields


__all__ = [
    "PREFIX",
    "CustomFieldsFormMixin",
    "ServiceModelForm",
    "custom_filter_fields",
    "field_name",
    "form_field_for",
]
