"""Forms customers fill in without an account: every field is bounded and checked here, so
bad input is a form error and never reaches a service half-valid."""

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.forms.bootstrap import bootstrap
from crm.limits import COMMENT_MAX_LENGTH as MAX_COMMENT_LENGTH
from crm.limits import TEXT_MAX_LENGTH as MAX_MESSAGE_LENGTH
from crm.models import SCORE_RANGES


class Bootstrapped:
    """Gives each widget its Bootstrap class (and is-invalid once bound with errors)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bootstrap(self)

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                widget.attrs["class"] = widget.attrs.get("class", "") + " is-invalid"
                widget.attrs["aria-invalid"] = "true"


class ContactSupportForm(Bootstrapped, forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=200)
    email = forms.EmailField(label=_("Your email"), max_length=254)
    subject = forms.CharField(label=_("Subject"), max_length=200)
    message = forms.CharField(
        label=_("How can we help?"),
        max_length=MAX_MESSAGE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    # Left empty by people; bots that fill every input give themselves away.
    website = forms.CharField(
        label=_("Leave this empty"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def clean_website(self):
        if self.cleaned_data.get("website"):
            raise forms.ValidationError(_("Leave this field empty."))
        return ""

    def clean(self):
        cleaned = super().clean()
        for name in ("name", "subject", "message"):
            if name in cleaned and not cleaned[name].strip():
                self.add_error(name, _("This field is required."))
        return cleaned


class CustomerReplyForm(Bootstrapped, forms.Form):
    body = forms.CharField(
        label=_("Your reply"),
        max_length=MAX_MESSAGE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5}),
    )

    def clean_body(self):
        body = self.cleaned_data["body"]
        if not body.strip():
            raise forms.ValidationError(_("Write a message."))
        return body


class SurveyForm(Bootstrapped, forms.Form):
    score = forms.TypedChoiceField(label=_("Your score"), coerce=int, widget=forms.RadioSelect)
    comment = forms.CharField(
        label=_("Anything you would like to add? (optional)"),
        max_length=MAX_COMMENT_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        low, high = SCORE_RANGES[kind]
        self.fields["score"].choices = [(str(n), str(n)) for n in range(low, high + 1)]
        self.low, self.high = low, high
