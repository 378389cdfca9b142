"""Forms of the company pages."""

from crm.models import Company
from crm.services.records import EDITABLE_FIELDS

from .custom_fields import ServiceModelForm
from .leads import OwnedFormMixin


class CompanyForm(OwnedFormMixin, ServiceModelForm):
    record_type = "company"

    class Meta:
        model = Company
        fields = EDITABLE_FIELDS[Company]  # what record_update accepts

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit_owner_and_team(user)
        self.fields["address"].widget.attrs["rows"] = 2
        self.fields["notes"].widget.attrs["rows"] = 3
