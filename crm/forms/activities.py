"""The "log activity" box on record pages: input for `crm.services.activity_log`."""

from datetime import timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.forms.bootstrap import bootstrap
from crm.limits import TEXT_MAX_LENGTH
from crm.models import ActivityKind, Direction

# What a person logs by hand; opens and site visits come from integrations.
LOGGABLE_KINDS = [
    ActivityKind.CALL,
    ActivityKind.EMAIL_SENT,
    ActivityKind.EMAIL_RECEIVED,
    ActivityKind.MEETING,
    ActivityKind.NOTE,
]
# Clocks drift; an activity dated a little ahead is still "now".
FUTURE_TOLERANCE = timedelta(minutes=5)


class ActivityForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[(kind.value, kind.label) for kind in LOGGABLE_KINDS],
        initial=ActivityKind.CALL,
        widget=forms.RadioSelect,
    )
    direction = forms.ChoiceField(
        label=_("Direction"),
        choices=Direction.choices,
        initial=Direction.OUTBOUND,
        required=False,
    )
    occurred_at = forms.DateTimeField(
        label=_("When"),
        required=False,
        help_text=_("Leave empty for now."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    subject = forms.CharField(label=_("Subject"), max_length=200, required=False)
    outcome = forms.CharField(label=_("Outcome"), max_length=200, required=False)
    body = forms.CharField(
        label=_("Details"),
        required=False,
        max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bootstrap(self)
        self.fields["direction"].widget.attrs["class"] += " form-select-sm"

    def clean_occurred_at(self):
        value = self.cleaned_data.get("occurred_at")
        if value is not None and value > timezone.now() + FUTURE_TOLERANCE:
            raise forms.ValidationError(_("An activity is logged once it has happened."))
        return value

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if not cleaned.get("direction"):
            cleaned["direction"] = Direction.OUTBOUND
        # The kind decides the direction where only one makes sense.
        if kind == ActivityKind.NOTE:
            cleaned["direction"] = Direction.INTERNAL
        elif kind == ActivityKind.EMAIL_RECEIVED:
            cleaned["direction"] = Direction.INBOUND
        elif kind == ActivityKind.EMAIL_SENT:
            cleaned["direction"] = Direction.OUTBOUND
        return cleaned

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "direction": data["direction"],
            "subject": data["subject"],
            "outcome": data["outcome"],
            "body": data["body"],
            "occurred_at": data["occurred_at"],
        }

    def add_service_errors(self, error) -> None:
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for name, messages in error.message_dict.items():
            for message in messages:
                self.add_error(name if name in self.fields else None, message)
