"""Forms of the contact pages."""

from django import forms
from django.utils.translation import gettext_lazy as _

from crm import access
from crm.lists import BulkForm
from crm.models import Company, Contact, Lead
from crm.services.records import EDITABLE_FIELDS

from .custom_fields import ServiceModelForm
from .leads import OwnedFormMixin
from .widgets import SearchSelect


class ContactForm(OwnedFormMixin, ServiceModelForm):
    record_type = "contact"

    class Meta:
        model = Contact
        fields = EDITABLE_FIELDS[Contact]  # what record_update accepts

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit_owner_and_team(user)
        # The widget first: setting the queryset hands it the choices.
        self.fields["company"].widget = SearchSelect("company")
        self.fields["company"].queryset = access.visible(Company, user).order_by("name")


class OwnerBulkForm(BulkForm):
    """Bulk action of the contact and company lists: give the ticked records a new owner."""

    ASSIGN = "assign_owner"

    action = forms.ChoiceField(
        label=_("Action"), choices=[("", _("Bulk action…")), (ASSIGN, _("Assign owner"))]
    )
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=Lead.objects.none())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = access.teammates(self.user)
