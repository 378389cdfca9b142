"""Forms of the admins' settings pages (crm/views/settings.py).

They validate input only; the services in crm/services/ save it (and validate the rows again,
with the database's constraints), and the view shows a service's refusal on the form.
"""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.models import Pipeline, Role, Stage, StageOutcome, Team, TicketPriority, User

from .bootstrap import bootstrap
from .custom_field_definitions import CustomFieldDefinitionForm

# The largest id an integer column holds: a bigger one in an IN query was a server error on
# SQLite (crm.filters).
MAX_ID = 2**63 - 1
# SLA targets: a year at most, to the hundredth of an hour (the column holds 7 digits).
MAX_SLA_HOURS = 8760


class ServiceErrors:
    """Bootstrap classes on the widgets, and a service's ValidationError shown on the form."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bootstrap(self)

    def full_clean(self):
        super().full_clean()
        bootstrap(self)

    def add_service_errors(self, error: ValidationError) -> None:
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for name, messages in error.message_dict.items():
            for message in messages:
                self.add_error(name if name in self.fields else None, message)
        bootstrap(self)


class SafeModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    """A multiple choice of rows whose out-of-range ids are a form error, not a server error."""

    widget = forms.CheckboxSelectMultiple

    def _check_values(self, value):
        for item in value if isinstance(value, list | tuple) else ():
            try:
                number = int(item)
            except (TypeError, ValueError):
                continue  # Django's own check refuses it
            if not 0 < number <= MAX_ID:
                raise ValidationError(
                    self.error_messages["invalid_choice"],
                    code="invalid_choice",
                    params={"value": item},
                )
        return super()._check_values(value)


def active_users():
    return User.objects.filter(is_active=True).order_by("first_name", "last_name", "username")


# --- Pipelines and stages ----------------------------------------------------------------------


class PipelineForm(ServiceErrors, forms.ModelForm):
    class Meta:
        model = Pipeline
        fields = ["name", "is_default"]
        labels = {"is_default": _("Default pipeline (new deals start here)")}

    def _post_clean(self):
        pass  # the service validates the row


class PipelineCreateForm(PipelineForm):
    closing_stages = forms.BooleanField(
        label=_("Add Won and Lost stages"), required=False, initial=True
    )


class StageForm(ServiceErrors, forms.ModelForm):
    probability = forms.IntegerField(
        label=_("Win probability (%)"),
        min_value=0,
        max_value=100,
        required=False,
        help_text=_("0–100; a won stage is 100 and a lost one 0 (filled in when left empty)."),
    )

    class Meta:
        model = Stage
        fields = ["name", "probability", "outcome"]
        labels = {"outcome": _("Deals here are")}

    def __init__(self, *args, deals: int = 0, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["outcome"].choices = StageOutcome.choices
        if deals:
            # A deal's status follows its stage: the outcome of a stage in use stays.
            self.fields["outcome"].disabled = True
            self.fields["outcome"].help_text = _(
                "Fixed while deals are in this stage: a deal's status follows its stage."
            )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("probability") is None and "probability" not in self.errors:
            implied = {StageOutcome.WON: 100, StageOutcome.LOST: 0}.get(cleaned.get("outcome"))
            if implied is None:
                self.add_error("probability", _("Give the chance that a deal here is won."))
            else:
                cleaned["probability"] = implied
        return cleaned

    def _post_clean(self):
        pass

    def service_data(self) -> dict:
        data = {name: self.cleaned_data[name] for name in self._meta.fields}
        if self.fields["outcome"].disabled:
            del data["outcome"]
        return data


# --- Custom fields -----------------------------------------------------------------------------


class CustomFieldSettingsForm(ServiceErrors, CustomFieldDefinitionForm):
    """The admin's custom-field form (options one per line); once the field exists its record
    type, key and type are shown but fixed (crm.services.custom_field_definitions)."""

    FIXED = ("record_type", "key", "field_type")

    class Meta(CustomFieldDefinitionForm.Meta):
        labels = {
            "record_type": _("Shown on"),
            "order": _("Position"),
            "is_active": _("Active (shown on forms, lists and filters)"),
            "required": _("Required"),
        }
        help_texts = {
            "required": _(
                "Asked of every new record and before a deal moves past its first stage; "
                "older records are not blocked."
            ),
            "order": _("Lower comes first; or drag the fields in the list."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["order"].max_value = 32767
        self.fields["order"].widget.attrs["max"] = 32767
        if self.instance.pk:
            for name in self.FIXED:
                self.fields[name].disabled = True
                self.fields[name].help_text = _("Fixed once the field exists.")

    def _post_clean(self):
        pass

    def service_data(self) -> dict:
        return {
            name: self.cleaned_data[name]
            for name in self._meta.fields
            if not (self.instance.pk and name in self.FIXED)
        }


# --- Users and teams ---------------------------------------------------------------------------


class UserForm(ServiceErrors, forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    email = forms.EmailField(label=_("Email"), max_length=254)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    teams = SafeModelMultipleChoiceField(
        label=_("Teams"), queryset=Team.objects.order_by("name"), required=False
    )


class InviteForm(UserForm):
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        help_text=_("What they log in with: letters, digits and @ . + - _ only."),
    )
    field_order = ["username", "first_name", "last_name", "email", "role", "teams"]

    def user_data(self) -> dict:
        return {
            name: self.cleaned_data[name]
            for name in ("username", "first_name", "last_name", "email")
        }


class DeactivateForm(ServiceErrors, forms.Form):
    reassign_to = forms.ModelChoiceField(
        label=_("Give their records to"),
        queryset=User.objects.none(),
        help_text=_(
            "Leads, contacts, companies, deals, tasks, tickets, goals and dashboards they own "
            "or are assigned move to this active user. Nothing is deleted."
        ),
    )

    def __init__(self, *args, leaving: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reassign_to"].queryset = active_users().exclude(pk=leaving.pk)


class TeamForm(ServiceErrors, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    manager = forms.ModelChoiceField(
        label=_("Manager"), queryset=User.objects.none(), required=False
    )
    members = SafeModelMultipleChoiceField(
        label=_("Members"), queryset=User.objects.none(), required=False
    )

    def __init__(self, *args, team: Team | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        # Active people, and whoever the team has now: saving the team unchanged keeps a
        # deactivated member or manager rather than dropping them unseen.
        current = User.objects.none()
        if team is not None:
            current = User.objects.filter(Q(teams=team) | Q(managed_teams=team))
        people = (active_users() | current).distinct()
        self.fields["manager"].queryset = people
        self.fields["members"].queryset = people


# --- Support -----------------------------------------------------------------------------------


class SLAForm(ServiceErrors, forms.Form):
    """Both targets of each priority; a priority left empty has no SLA."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for priority, label in TicketPriority.choices:
            for kind, kind_label in (
                ("first_response_hours", _("first response within (hours)")),
                ("resolution_hours", _("resolve within (hours)")),
            ):
                self.fields[f"{priority}_{kind}"] = forms.DecimalField(
                    label=f"{label}: {kind_label}",
                    required=False,
                    min_value=Decimal("0.01"),
                    max_value=MAX_SLA_HOURS,
                    max_digits=7,
                    decimal_places=2,
                )
        bootstrap(self)

    def rows(self):
        """(priority label, first response field, resolution field) per priority."""
        return [
            (label, self[f"{p}_first_response_hours"], self[f"{p}_resolution_hours"])
            for p, label in TicketPriority.choices
        ]

    def clean(self):
        cleaned = super().clean()
        for priority, _label in TicketPriority.choices:
            names = [f"{priority}_first_response_hours", f"{priority}_resolution_hours"]
            given = [cleaned.get(name) for name in names]
            if any(name in self.errors for name in names):
                continue
            if (given[0] is None) != (given[1] is None):
                self.add_error(
                    names[0] if given[0] is None else names[1],
                    _("Give both targets, or neither for no SLA."),
                )
            elif given[0] is not None and given[0] > given[1]:
                self.add_error(names[1], _("Resolving cannot be due before the first response."))
        return cleaned

    def targets(self) -> dict:
        result = {}
        for priority, _label in TicketPriority.choices:
            first = self.cleaned_data[f"{priority}_first_response_hours"]
            resolution = self.cleaned_data[f"{priority}_resolution_hours"]
            result[priority] = None if first is None else (first, resolution)
        return result


class SupportRoutingForm(ServiceErrors, forms.Form):
    default_team = forms.ModelChoiceField(
        label=_("Support team"),
        queryset=Team.objects.order_by("name"),
        required=False,
        empty_label=_("No routing: unassigned tickets stay in every agent's queue"),
        help_text=_(
            "New tickets that come without a team go to this team's queue: the public contact "
            "form, customer emails and any ticket opened without a team."
        ),
    )
