"""Forms of the company pages."""

from crm.models import Company

from .custom_fields import ServiceModelForm
from .leads import OwnedFormMixin


class CompanyForm(OwnedFormMixin, ServiceModelForm):
    record_type = "company"

    class Meta:
        model = Company
        fields = ["name", "domain", "industry", "size_band", "owner", "team", "address", "notes"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit_owner_and_team(user)
        self.fields["address"].widget.attrs["rows"] = 2
        self.fields["notes"].widget.attrs["rows"] = 3
