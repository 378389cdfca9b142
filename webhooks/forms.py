"""The admins' form for a webhook subscription: input checks only (the service saves)."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from crm.forms.settings import ServiceErrors

from . import outbound
from .event_types import event_type_choices
from .services import clean_event_types


class SubscriptionForm(ServiceErrors, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, required=False)
    url = forms.CharField(
        label=_("URL"),
        max_length=500,
        help_text=_("An https:// address on the public internet; each event is POSTed to it."),
    )
    event_types = forms.MultipleChoiceField(
        label=_("Event types"),
        choices=event_type_choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "The events POSTed to the URL: all of them, every event of a kind of record "
            "(deal.*), or single ones."
        ),
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def clean_url(self):
        url = self.cleaned_data["url"].strip()
        outbound.check_url(url)
        return url

    def clean_event_types(self):
        values = self.cleaned_data["event_types"]
        try:
            return clean_event_types(values)
        except ValidationError as error:
            raise ValidationError(error.message_dict["event_types"]) from error
