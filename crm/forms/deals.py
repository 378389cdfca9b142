"""Forms of the deal pages: the board filters, the list's bulk actions, the deal form and the
stage move. The list's filters are `crm.filters.DealFilter`."""

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from crm.access import teammates, visible, visible_teams
from crm.forms.bootstrap import bootstrap
from crm.forms.custom_fields import ServiceModelForm
from crm.forms.widgets import SearchSelect
from crm.lists import BulkForm
from crm.models import Company, Contact, Deal, Pipeline, RecordType, Stage, StageOutcome, User
from crm.services.records import EDITABLE_FIELDS

DATE_INPUT = forms.DateInput(attrs={"type": "date"})


class DealFilterForm(forms.Form):
    """Owner, team and expected close range: the board's filters."""

    owner = forms.ModelChoiceField(queryset=None, required=False, label=_("Owner"))
    team = forms.ModelChoiceField(queryset=None, required=False, label=_("Team"))
    close_from = forms.DateField(required=False, label=_("Closes from"), widget=DATE_INPUT)
    close_to = forms.DateField(required=False, label=_("Closes until"), widget=DATE_INPUT)

    def __init__(self, data=None, *, user, **kwargs):
        super().__init__(data, **kwargs)
        self.fields["owner"].queryset = teammates(user).order_by("first_name", "last_name")
        self.fields["team"].queryset = visible_teams(user)
        bootstrap(self, small=True)

    def filter(self, queryset: QuerySet) -> QuerySet:
        """The queryset narrowed by the valid filters (invalid ones are ignored and shown)."""
        if not self.is_bound or not self.is_valid():
            return queryset
        data = self.cleaned_data
        if data.get("owner"):
            queryset = queryset.filter(owner=data["owner"])
        if data.get("team"):
            queryset = queryset.filter(team=data["team"])
        if data.get("close_from"):
            queryset = queryset.filter(expected_close_date__gte=data["close_from"])
        if data.get("close_to"):
            queryset = queryset.filter(expected_close_date__lte=data["close_to"])
        return queryset


class StageSelect(forms.Select):
    """A stage select whose options carry the stage's outcome (the page asks why when lost)."""

    def create_option(self, name, value, *args, **kwargs):
        option = super().create_option(name, value, *args, **kwargs)
        stage = getattr(value, "instance", None)
        if stage is not None:
            option["attrs"]["data-outcome"] = stage.outcome
        return option


class DealBulkForm(BulkForm):
    """Bulk actions of the deals list: give the ticked deals an owner, or move them to a stage."""

    ASSIGN = "assign_owner"
    MOVE = "move_stage"

    action = forms.ChoiceField(
        label=_("Action"),
        choices=[("", _("Bulk action…")), (ASSIGN, _("Assign owner")), (MOVE, _("Move to stage"))],
    )
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=User.objects.none(), required=False)
    stage = forms.ModelChoiceField(
        label=_("Stage"), queryset=Stage.objects.none(), required=False, widget=StageSelect
    )
    lost_reason = forms.CharField(
        label=_("Why were they lost?"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("Why were they lost?")}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = teammates(self.user).order_by("first_name", "last_name")
        # Every stage may be chosen; the service refuses a deal of another pipeline by itself.
        self.fields["stage"].queryset = Stage.objects.select_related("pipeline").order_by(
            "pipeline__order", "pipeline__name", "order"
        )

    def clean(self):
        cleaned = super().clean()
        action = cleaned.get("action")
        if action == self.ASSIGN and not cleaned.get("owner"):
            self.add_error("owner", _("Choose the new owner."))
        if action == self.MOVE:
            stage = cleaned.get("stage")
            if stage is None:
                if "stage" not in self.errors:
                    self.add_error("stage", _("Choose the stage to move the deals to."))
            elif stage.outcome == StageOutcome.LOST and not cleaned.get("lost_reason"):
                self.add_error("lost_reason", _("Say why the deals were lost."))
        return cleaned


class DealForm(ServiceModelForm):
    """Create and edit a deal; custom fields are added by ServiceModelForm."""

    record_type = RecordType.DEAL

    class Meta:
        model = Deal
        fields = EDITABLE_FIELDS[Deal]  # what record_update accepts
        widgets = {"expected_close_date": DATE_INPUT}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # Only records the user may see can be linked; keep the current ones selectable.
        current = self.instance if self.instance.pk else None
        # Search-as-you-type selects: the page carries only the chosen company and contact.
        self.fields["company"].widget = SearchSelect("company")
        self.fields["contact"].widget = SearchSelect("contact")
        self.fields["company"].queryset = _visible_or_current(
            Company, user, current and current.company_id
        )
        self.fields["contact"].queryset = _visible_or_current(
            Contact, user, current and current.contact_id
        )
        self.fields["owner"].queryset = teammates(user).order_by("first_name", "last_name")
        self.fields["team"].queryset = visible_teams(user)
        bootstrap(self)


def _visible_or_current(model, user, current_pk) -> QuerySet:
    condition = Q(pk__in=visible(model, user).values("pk"))
    if current_pk:
        condition |= Q(pk=current_pk)
    return model.objects.filter(condition)


class DealCreateForm(DealForm):
    """A new deal starts in the first open stage of the chosen pipeline."""

    pipeline = forms.ModelChoiceField(
        queryset=Pipeline.objects.all(), label=_("Pipeline"), empty_label=None
    )
    field_order = ["name", "pipeline"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        default = Pipeline.objects.filter(is_default=True).first()
        if default is not None:
            self.fields["pipeline"].initial = default.pk
        bootstrap(self)


class StageMoveForm(forms.Form):
    """The stage move of the board, as a form for keyboard users on the deal page."""

    stage = forms.ModelChoiceField(queryset=Stage.objects.none(), label=_("Move to stage"))
    lost_reason = forms.CharField(
        max_length=200, required=False, label=_("Why was it lost?"), strip=True
    )

    def __init__(self, data=None, *, deal: Deal | None = None, **kwargs):
        super().__init__(data, **kwargs)
        if deal is not None:
            # Every stage may be posted; the service refuses the other pipelines' with a message.
            # Each option's label names its pipeline: read with the stages, not one by one.
            self.fields["stage"].queryset = Stage.objects.filter(
                pipeline=deal.pipeline_id
            ).select_related("pipeline")
            self.fields["stage"].initial = deal.stage_id
        else:
            self.fields["stage"].queryset = Stage.objects.all()
        bootstrap(self)


class MoveInputForm(StageMoveForm):
    """What the board posts: any stage id (the service checks the pipeline)."""

    def __init__(self, data=None, **kwargs):
        super().__init__(data, deal=None, **kwargs)
