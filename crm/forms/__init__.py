"""Forms for the record pages. Each form only collects and checks input; saving goes through
`crm.services`."""

from .custom_fields import CustomFieldsFormMixin, ServiceModelForm, custom_filter_fields

__all__ = ["CustomFieldsFormMixin", "ServiceModelForm", "custom_filter_fields"]
