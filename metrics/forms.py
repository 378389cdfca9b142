from datetime import date, timedelta
from decimal import Decimal

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.access import team_ids
from crm.forms.bootstrap import bootstrap
from crm.models import Team

from . import charts
from .dashboards import parse_segment, segment_options, segment_param
from .models import CardKind, Dashboard, DashboardGrain, HealthSettings
from .periods import GRAINS, custom_period, period_for
from .registry import ALL, REGISTRY, all_kpis

PICKER_GRAINS = ["month", "quarter", "year", "week", "day", "custom"]
# A custom range longer than this is refused: the live KPI queries grow with it.
MAX_CUSTOM_DAYS = 366 * 3


# Days a period may be picked around: wide enough for any real history and plan, narrow enough
# that a period, its previous one and the next one stay within the calendar.
FIRST_PICKABLE_DAY = date(1900, 1, 1)
LAST_PICKABLE_DAY = date(2999, 12, 31)


def pickable_date_field(label, **kwargs) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[
            MinValueValidator(FIRST_PICKABLE_DAY),
            MaxValueValidator(LAST_PICKABLE_DAY),
        ],
        **kwargs,
    )


class PeriodSegmentForm(forms.Form):
    """The period and segment picker of every dashboard and KPI page (GET parameters).

    The segment's *visibility* is checked by the view (a segment the user may not read is a
    404, not a form error), so that guessing ids reveals nothing.
    """

    grain = forms.ChoiceField(
        label=_("Period"), choices=[(g, GRAINS[g]) for g in PICKER_GRAINS], required=False
    )
    date = pickable_date_field(_("Day in the period"))
    start = pickable_date_field(_("From"))
    end = pickable_date_field(_("To"))
    segment = forms.CharField(label=_("Segment"), required=False, max_length=300)

    def __init__(self, data=None, *, user, default_segment=ALL, options=None, **kwargs):
        """`options`: the user's segment_options when the caller has them already."""
        super().__init__(data, **kwargs)
        self.user = user
        self.default_segment = default_segment
        self.fields["segment"].widget = forms.Select(choices=_segment_choices(user, options))
        bootstrap(self, small=True)

    def clean_segment(self):
        text = self.cleaned_data.get("segment")
        if "segment" not in self.data:
            return self.default_segment
        try:
            return parse_segment(text)
        except ValueError as error:
            raise forms.ValidationError(str(error)) from error

    def clean(self):
        cleaned = super().clean()
        grain = cleaned.get("grain") or "month"
        if grain == "custom":
            start, end = cleaned.get("start"), cleaned.get("end")
            if not start or not end:
                raise forms.ValidationError(_("A custom range needs a start and an end date."))
            if end < start:
                raise forms.ValidationError(_("The end date comes before the start date."))
            if end - start > timedelta(days=MAX_CUSTOM_DAYS):
                raise forms.ValidationError(_("Choose a range of at most three years."))
            cleaned["period"] = custom_period(start, end)
        else:
            cleaned["period"] = period_for(grain, cleaned.get("date") or timezone.localdate())
        cleaned["grain"] = grain
        return cleaned

    @classmethod
    def initial_for(cls, period, segment) -> dict:
        initial = {"grain": period.grain, "segment": segment_param(segment)}
        if period.grain == "custom":
            initial.update(start=period.start_date, end=period.end_date)
        else:
            initial["date"] = period.start_date
        return initial


def _segment_choices(user, options=None) -> list:
    options = segment_options(user) if options is None else options
    return [(group, choices) if group else choices[0] for group, choices in options]


def card_choices() -> list:
    all_kpis()
    kpis = [
        (f"kpi:{kpi.key}", str(kpi.label))
        for kpi in sorted(REGISTRY.values(), key=lambda k: str(k.label))
    ]
    chart_list = [(f"chart:{key}", label) for key, label in charts.chart_choices()]
    return [(_("KPI cards"), kpis), (_("Charts"), chart_list)]


class DashboardForm(forms.ModelForm):
    """Name, period, segment and sharing of a user's dashboard (validated, saved by services)."""

    segment = forms.CharField(label=_("Segment"), required=False)

    class Meta:
        model = Dashboard
        fields = ["name", "grain", "shared_with"]
        labels = {"shared_with": _("Share with team")}
        help_texts = {"shared_with": _("Members of this team can view it; only you edit it.")}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["segment"].widget = forms.Select(choices=_segment_choices(user))
        self.fields["shared_with"].queryset = Team.objects.filter(pk__in=team_ids(user))
        if self.instance.pk:
            self.initial["segment"] = (
                f"{self.instance.segment_field}={self.instance.segment_value}"
                if self.instance.segment_field
                else ""
            )
        bootstrap(self, small=True)

    def clean_segment(self):
        from .dashboards import can_view_segment

        try:
            segment = parse_segment(self.cleaned_data.get("segment"))
        except ValueError as error:
            raise forms.ValidationError(str(error)) from error
        if not can_view_segment(self.user, segment):
            raise forms.ValidationError(_("You cannot read the numbers of this segment."))
        return segment

    def service_data(self) -> dict:
        segment = self.cleaned_data["segment"]
        return {
            "name": self.cleaned_data["name"],
            "grain": self.cleaned_data["grain"],
            "shared_with": self.cleaned_data["shared_with"],
            "segment_field": segment.field,
            "segment_value": segment.value,
        }


class CardForm(forms.Form):
    """Add a KPI card or a chart; its period and segment default to the dashboard's."""

    item = forms.ChoiceField(label=_("KPI or chart"))
    grain = forms.ChoiceField(
        label=_("Period"),
        required=False,
        choices=[("", _("Dashboard's period"))] + list(DashboardGrain.choices),
    )
    segment = forms.CharField(label=_("Segment"), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["item"].choices = card_choices()
        self.fields["segment"].widget = forms.Select(
            choices=[("", _("Dashboard's segment"))]
            + [c for c in _segment_choices(user) if c[0] != ""]
        )
        bootstrap(self, small=True)

    def clean_segment(self):
        from .dashboards import can_view_segment

        text = self.cleaned_data.get("segment")
        if not text:
            return None
        try:
            segment = parse_segment(text)
        except ValueError as error:
            raise forms.ValidationError(str(error)) from error
        if not can_view_segment(self.user, segment):
            raise forms.ValidationError(_("You cannot read the numbers of this segment."))
        return segment

    def service_data(self) -> dict:
        kind, _sep, key = self.cleaned_data["item"].partition(":")
        segment = self.cleaned_data["segment"]
        return {
            "kind": CardKind.KPI if kind == "kpi" else CardKind.CHART,
            "key": key,
            "grain": self.cleaned_data["grain"] or "",
            "segment_field": segment.field if segment else "",
            "segment_value": segment.value if segment else "",
        }


# The admins' settings pages (metrics/settings_views.py) -----------------------------------

# A band end: the column's 20 digits, 4 of them decimals.
BAND_END_LIMIT = Decimal(10**16)
# Health weights are relative to each other: 0–100 leaves room for any mix.
MAX_HEALTH_WEIGHT = 100


class BandsForm(forms.Form):
    """A KPI's three reference bands, each [from, below); an empty end is open, an empty band
    is dropped, and every end empty brings back the bands written in the code."""

    BANDS = (("typical", _("Typical")), ("good", _("Good")), ("exceptional", _("Exceptional")))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for band, label in self.BANDS:
            for end, end_label in (("low", _("from")), ("high", _("below"))):
                self.fields[f"{band}_{end}"] = forms.DecimalField(
                    label=f"{label} {end_label}",
                    required=False,
                    max_digits=20,
                    decimal_places=4,
                    min_value=-BAND_END_LIMIT + 1,
                    max_value=BAND_END_LIMIT - 1,
                )
        bootstrap(self)

    def rows(self):
        return [(label, self[f"{band}_low"], self[f"{band}_high"]) for band, label in self.BANDS]

    def clean(self):
        cleaned = super().clean()
        for band, _label in self.BANDS:
            low, high = cleaned.get(f"{band}_low"), cleaned.get(f"{band}_high")
            if low is not None and high is not None and low >= high:
                self.add_error(f"{band}_high", _("A band's lower end must be below its upper end."))
        return cleaned


class HealthSettingsForm(forms.ModelForm):
    class Meta:
        model = HealthSettings
        fields = [*HealthSettings.WEIGHT_FIELDS, "risk_threshold"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in HealthSettings.WEIGHT_FIELDS:
            self.fields[name].max_value = MAX_HEALTH_WEIGHT
            self.fields[name].validators.append(MaxValueValidator(MAX_HEALTH_WEIGHT))
            self.fields[name].widget.attrs.update(max=MAX_HEALTH_WEIGHT, step="any")
        self.fields["risk_threshold"].widget.attrs.update(step="any")
        bootstrap(self)

    def clean(self):
        cleaned = super().clean()
        weights = [cleaned.get(name) for name in HealthSettings.WEIGHT_FIELDS]
        if None not in weights and not any(weights):
            raise forms.ValidationError(_("Weights cannot be negative and one must be above 0."))
        return cleaned

    def _post_clean(self):
        pass  # metrics.services.health_settings_update validates the row

    def add_service_errors(self, error) -> None:
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for name, messages in error.message_dict.items():
            for message in messages:
                self.add_error(name if name in self.fields else None, message)
