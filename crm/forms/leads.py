"""Forms of the lead pages: create/edit, disqualify, convert and the list's bulk actions."""

from django import forms
from django.utils.translation import gettext_lazy as _

from crm import access
from crm.lists import BulkForm
from crm.models import Company, Contact, Lead, LeadStatus, Pipeline
from crm.services.records import EDITABLE_FIELDS

from .custom_fields import ServiceModelForm


class OwnedFormMixin:
    """Owner choices are the user's teammates, team choices the teams they see."""

    def limit_owner_and_team(self, user) -> None:
        if "owner" in self.fields:
            self.fields["owner"].queryset = access.teammates(user)
        if "team" in self.fields:
            self.fields["team"].queryset = access.visible_teams(user)
            self.fields["team"].help_text = _("Left empty, the owner's team.")


class LeadForm(OwnedFormMixin, ServiceModelForm):
    record_type = "lead"

    class Meta:
        model = Lead
        fields = EDITABLE_FIELDS[Lead]  # what record_update accepts

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit_owner_and_team(user)
        self.fields["score"].widget.attrs.update(min=0, max=100)


class DisqualifyForm(forms.Form):
    reason = forms.CharField(
        label=_("Why is the lead not qualified?"),
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": _("No budget, wrong fit, not reachable…")}),
    )


# Statuses the bulk action may set: each goes through its own service.
BULK_STATUSES = [
    (LeadStatus.QUALIFIED, LeadStatus.QUALIFIED.label),
    (LeadStatus.UNQUALIFIED, LeadStatus.UNQUALIFIED.label),
]


class LeadBulkForm(BulkForm):
    ASSIGN = "assign_owner"
    STATUS = "change_status"

    action = forms.ChoiceField(
        label=_("Action"),
        choices=[
            ("", _("Bulk action…")),
            (ASSIGN, _("Assign owner")),
            (STATUS, _("Change status")),
        ],
    )
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=Lead.objects.none(), required=False)
    status = forms.ChoiceField(
        label=_("Status"), choices=[("", "---------"), *BULK_STATUSES], required=False
    )
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = access.teammates(self.user)

    def clean(self):
        cleaned = super().clean()
        action = cleaned.get("action")
        if action == self.ASSIGN and not cleaned.get("owner"):
            self.add_error("owner", _("Choose the new owner."))
        if action == self.STATUS:
            if not cleaned.get("status"):
                self.add_error("status", _("Choose the new status."))
            elif cleaned["status"] == LeadStatus.UNQUALIFIED and not cleaned.get("reason", ""):
                self.add_error("reason", _("Say why the leads are not qualified."))
        return cleaned


LINK, NEW = "link", "new"


class LeadConvertForm(forms.Form):
    """Convert a lead: link the matching contact/company or create new ones, and a deal."""

    contact_choice = forms.ChoiceField(label=_("Contact"), widget=forms.RadioSelect, initial=LINK)
    company_choice = forms.ChoiceField(label=_("Company"), widget=forms.RadioSelect, initial=LINK)
    create_deal = forms.BooleanField(label=_("Create a deal"), required=False, initial=True)
    deal_name = forms.CharField(
        label=_("Deal name"),
        max_length=200,
        required=False,
        help_text=_("Left empty, named after the company."),
    )
    amount = forms.DecimalField(
        label=_("Amount"), min_value=0, max_digits=14, decimal_places=2, required=False
    )
    pipeline = forms.ModelChoiceField(
        label=_("Pipeline"),
        queryset=Pipeline.objects.all(),
        required=False,
        empty_label=_("Default pipeline"),
    )

    def __init__(
        self,
        *args,
        lead: Lead,
        contact_match: Contact | None,
        company_match: Company | None,
        hidden_matches: frozenset[str] = frozenset(),
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.contact_match = contact_match
        self.company_match = company_match
        # "contact" / "company" when a match exists that the user may not see: a new one is
        # made as before, never a link to a record they cannot open.
        self.hidden_matches = hidden_matches
        if contact_match is None:
            del self.fields["contact_choice"]
        else:
            self.fields["contact_choice"].choices = [
                (
                    LINK,
                    _("Link the existing contact %(name)s (%(email)s)")
                    % {"name": contact_match, "email": contact_match.email},
                ),
                (NEW, _("Create a new contact")),
            ]
        if company_match is None:
            del self.fields["company_choice"]
        else:
            new_label = (
                _("Create a new company “%(name)s”") % {"name": lead.company_name}
                if lead.company_name
                else _("Do not link a company")
            )
            self.fields["company_choice"].choices = [
                (
                    LINK,
                    _("Link the existing company %(name)s")
                    % {
                        "name": f"{company_match} ({company_match.domain})"
                        if company_match.domain
                        else company_match
                    },
                ),
                (NEW, new_label),
            ]

    def conversion_kwargs(self) -> dict:
        """Keyword arguments of `lead_convert` for what the user chose."""
        data = self.cleaned_data
        contact = self.contact_match if data.get("contact_choice") == LINK else None
        company = self.company_match if data.get("company_choice") == LINK else None
        return {
            "contact": contact,
            "company": company,
            # The matches were offered above; what the user declined is not linked anyway,
            # and a match that appears after the page was shown refuses the conversion.
            "use_matches": False,
            "new_contact": data.get("contact_choice") == NEW or "contact" in self.hidden_matches,
            "new_company": data.get("company_choice") == NEW or "company" in self.hidden_matches,
            "create_deal": data.get("create_deal", False),
            "deal_name": data.get("deal_name", ""),
            "amount": data.get("amount") or 0,
            "pipeline": data.get("pipeline"),
        }
