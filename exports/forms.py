from django import forms
from django.utils.translation import gettext_lazy as _

from crm.redirects import MAX_NEXT_LENGTH

from .models import ExportFormat


class StartForm(forms.Form):
    """A large export to write in the background: what, in which format, with which filters."""

    source = forms.CharField(max_length=40)
    format = forms.ChoiceField(label=_("Format"), choices=ExportFormat.choices)
    query = forms.CharField(max_length=MAX_NEXT_LENGTH, required=False)

    def clean_query(self):
        query = self.cleaned_data["query"]
        if any(ord(char) < 32 for char in query):
            raise forms.ValidationError(_("These filters cannot be read."))
        return query
