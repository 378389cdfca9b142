"""django-filter FilterSets for the record lists (HTML pages, and the API when it needs them).

Every FilterSet takes the `request`: owner and team choices are limited to what the user sees
(`crm.access.teammates` / `visible_teams`), and the active custom fields of the record type
are added as `custom__<key>` inputs (`custom__<key>__min` / `__max` for numbers and dates).
The FilterSets narrow a queryset; they never widen it: callers pass an already visible one.
"""

from datetime import timedelta

import django_filters as filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from crm import access
from crm.custom_fields import CLEANERS, definitions_for, filter_custom
from crm.forms.custom_fields import field_name, form_field_for
from crm.models import (
    Company,
    Contact,
    ContactStage,
    CustomField,
    Deal,
    DealKind,
    DealStatus,
    FieldType,
    Industry,
    Lead,
    LeadSource,
    LeadStatus,
    Lifecycle,
    SizeBand,
    Stage,
)

# Custom field types filtered by a range rather than one value.
RANGE_TYPES = {FieldType.NUMBER, FieldType.MONEY, FieldType.DATE, FieldType.DATETIME}
# Custom field types whose filter matches part of the text.
TEXT_TYPES = {FieldType.TEXT, FieldType.URL, FieldType.EMAIL}


def _teammates(request):
    return access.teammates(request.user) if request else Lead.objects.none()


def _teams(request):
    return access.visible_teams(request.user) if request else Lead.objects.none()


def _owner_filter():
    return filters.ModelChoiceFilter(
        label=_("Owner"), queryset=_teammates, field_name="owner", null_label=_("No owner")
    )


def _team_filter():
    return filters.ModelChoiceFilter(label=_("Team"), queryset=_teams, field_name="team")


def _ticked(label, choices):
    """Any of the ticked choices."""
    return filters.MultipleChoiceFilter(
        distinct=False, label=label, choices=choices, widget=forms.CheckboxSelectMultiple
    )


def _date_range(label, field_name: str):
    widget = filters.widgets.DateRangeWidget(attrs={"type": "date"})
    return filters.DateFromToRangeFilter(label=label, field_name=field_name, widget=widget)


def _checked_by_cleaner(field: forms.Field, definition: CustomField) -> forms.Field:
    """Let the custom field's own cleaner reject a bad filter value as a form error."""

    def validate(value):
        if value not in (None, ""):
            CLEANERS[definition.field_type](definition, value)

    field.validators.append(validate)
    return field


def _filter_form_field(definition: CustomField) -> forms.Field | None:
    """The input of a one-value custom filter (the same widgets as the record forms)."""
    kind = definition.field_type
    if kind == FieldType.LONG_TEXT:
        return None
    if kind == FieldType.CHECKBOX:
        return forms.NullBooleanField(label=definition.label, required=False)
    if kind == FieldType.MULTI_SELECT:
        choices = [("", "---------"), *((choice, choice) for choice in definition.choices)]
        return forms.ChoiceField(label=definition.label, choices=choices, required=False)
    field = form_field_for(definition)
    field.required = False
    field.help_text = ""
    return field


class CustomFieldFilterSet(filters.FilterSet):
    """A FilterSet with a free-text search box and one filter per active custom field."""

    record_type = ""
    search_fields: tuple[str, ...] = ()

    q = filters.CharFilter(label=_("Search"), method="filter_search")

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None, definitions=None):
        super().__init__(data, queryset, request=request, prefix=prefix)
        if definitions is None:
            definitions = definitions_for(self.record_type) if self.record_type else []
        self.custom_definitions = definitions
        for definition in self.custom_definitions:
            self._add_custom_filters(definition, _filter_form_field(definition))

    def _add_custom_filters(self, definition: CustomField, form_field) -> None:
        name = field_name(definition.key)
        if definition.field_type in RANGE_TYPES:
            for suffix, lookup, label in (
                ("min", "gte", _("from")),
                ("max", "lte", _("to")),
            ):
                widget = forms.TextInput
                if definition.field_type == FieldType.DATE:
                    widget = forms.DateInput(attrs={"type": "date"})
                elif definition.field_type == FieldType.DATETIME:
                    widget = forms.DateTimeInput(attrs={"type": "datetime-local"})
                self.filters[f"{name}__{suffix}"] = _CustomFilter(
                    definition,
                    lookup,
                    label=f"{definition.label} {label}",
                    widget=widget,
                )
        elif form_field is not None:
            lookup = "contains" if definition.field_type in TEXT_TYPES else "exact"
            if definition.field_type == FieldType.MULTI_SELECT:
                lookup = "contains"
            self.filters[name] = _CustomFilter(definition, lookup, form_field=form_field)

    def filter_search(self, queryset, name, value):
        terms = value.split()
        for term in terms[:5]:
            condition = Q()
            for field in self.search_fields:
                condition |= Q(**{f"{field}__icontains": term})
            queryset = queryset.filter(condition)
        return queryset

    def filter_queryset(self, queryset):
        # Copy: a filter refusing its value adds a form error, which edits cleaned_data.
        for name, value in list(self.form.cleaned_data.items()):
            try:
                queryset = self.filters[name].filter(queryset, value)
            except ValueError as error:
                self.form.add_error(name, str(error))
                return queryset.none()
        return queryset

    @property
    def custom_filter_names(self) -> list[str]:
        return [name for name in self.filters if name.startswith("custom__")]


class _CustomFilter(filters.Filter):
    """One custom field value (or bound) through `crm.custom_fields.filter_custom`."""

    def __init__(self, definition: CustomField, lookup: str, *, form_field=None, **kwargs):
        self.definition = definition
        self.custom_lookup = lookup
        self.form_field = form_field
        super().__init__(field_name="custom", **kwargs)

    @property
    def field(self):
        if not hasattr(self, "_field"):
            if self.form_field is not None:
                field = self.form_field
                field.required = False
            else:
                field = forms.CharField(
                    label=self.label, required=False, widget=self.extra.get("widget")
                )
            if self.custom_lookup != "contains" or self.definition.field_type not in TEXT_TYPES:
                if isinstance(field, forms.CharField):
                    field = _checked_by_cleaner(field, self.definition)
            self._field = field
        return self._field

    def filter(self, qs: QuerySet, value):
        if value in (None, "", [], ()):
            return qs
        if hasattr(value, "pk"):
            value = value.pk
        if self.definition.field_type == FieldType.USER and isinstance(value, str):
            value = int(value) if value.isdigit() else value
        return filter_custom(qs, self.definition.key, value, lookup=self.custom_lookup)


class _WholeNumberRangeField(filters.fields.RangeField):
    """From–to of whole numbers within an integer column's range: a bound past it is a form
    error (SQLite raised OverflowError, a server error, for 10**30)."""

    def __init__(self, fields=None, *args, **kwargs):
        bounds = {"min_value": -MAX_ID - 1, "max_value": MAX_ID}
        fields = fields or (forms.IntegerField(**bounds), forms.IntegerField(**bounds))
        super().__init__(fields, *args, **kwargs)


class _WholeNumberRangeFilter(filters.RangeFilter):
    field_class = _WholeNumberRangeField


class LeadFilter(CustomFieldFilterSet):
    record_type = "lead"
    search_fields = ("name", "email", "phone", "company_name")

    status = _ticked(_("Status"), LeadStatus.choices)
    source = _ticked(_("Source"), LeadSource.choices)
    owner = _owner_filter()
    team = _team_filter()
    score = _WholeNumberRangeFilter(label=_("Score"))
    created = _date_range(_("Created"), "created_at")

    class Meta:
        model = Lead
        fields: list[str] = []


class ContactFilter(CustomFieldFilterSet):
    record_type = "contact"
    search_fields = ("first_name", "last_name", "email", "phone", "title", "company__name")

    lifecycle_stage = _ticked(_("Lifecycle stage"), ContactStage.choices)
    owner = _owner_filter()
    team = _team_filter()
    created = _date_range(_("Created"), "created_at")

    class Meta:
        model = Contact
        fields: list[str] = []


class CompanyFilter(CustomFieldFilterSet):
    record_type = "company"
    search_fields = ("name", "domain")

    lifecycle = _ticked(_("Lifecycle"), Lifecycle.choices)
    industry = filters.ChoiceFilter(label=_("Industry"), choices=Industry.choices)
    size_band = filters.ChoiceFilter(label=_("Size"), choices=SizeBand.choices)
    owner = _owner_filter()
    team = _team_filter()
    created = _date_range(_("Created"), "created_at")

    class Meta:
        model = Company
        fields: list[str] = []


# The largest id an integer column holds. Django refuses a bigger one in a single-value lookup,
# but SQLite raised OverflowError (a server error) from the IN query of a multiple choice.
MAX_ID = 2**63 - 1


class _ModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    def _check_values(self, value):
        for item in value if isinstance(value, list | tuple) else ():
            try:
                number = int(item)
            except (TypeError, ValueError):
                continue  # not a number: Django's own check refuses it
            if not -MAX_ID - 1 <= number <= MAX_ID:
                raise ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": item},
                )
        return super()._check_values(value)


class _ModelMultipleChoiceFilter(filters.ModelMultipleChoiceFilter):
    field_class = _ModelMultipleChoiceField


# "Gone quiet" choices of the deal list; My day's quiet deals link to one of them.
QUIET_DAYS = (7, 14, 30, 90)


def _stages(request):
    return Stage.objects.select_related("pipeline").order_by("pipeline__order", "order")


class DealFilter(CustomFieldFilterSet):
    """Deals by owner, team, stage, status, kind, expected close, amount and custom fields."""

    record_type = "deal"
    search_fields = ("name", "company__name", "contact__last_name", "contact__email")

    owner = _owner_filter()
    team = _team_filter()
    stage = _ModelMultipleChoiceFilter(label=_("Stage"), queryset=_stages, distinct=False)
    status = _ticked(_("Status"), DealStatus.choices)
    kind = _ticked(_("Kind"), DealKind.choices)
    expected_close = _date_range(_("Expected close"), "expected_close_date")
    amount = filters.RangeFilter(label=_("Amount"))
    quiet = filters.ChoiceFilter(
        label=_("No activity for"),
        choices=lambda: [
            (str(days), ngettext("%(days)d day", "%(days)d days", days) % {"days": days})
            for days in QUIET_DAYS
        ],
        method="filter_quiet",
    )

    class Meta:
        model = Deal
        fields: list[str] = []

    def filter_quiet(self, queryset, name, value: str):
        return queryset.quiet(timezone.now() - timedelta(days=int(value)))


__all__ = [
    "CompanyFilter",
    "ContactFilter",
    "CustomFieldFilterSet",
    "DealFilter",
    "LeadFilter",
]
