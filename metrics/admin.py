from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from crm.admin import DeletesThroughServices

from . import services
from .models import (
    CompanyHealth,
    Dashboard,
    DashboardCard,
    HealthSettings,
    KPIBandOverride,
    KPISnapshot,
    SnapshotFill,
)
from .registry import all_kpis


@admin.register(KPISnapshot)
class KPISnapshotAdmin(DeletesThroughServices, admin.ModelAdmin):
    """Snapshots are facts written by the nightly fill: browsable, never edited by hand."""

    list_display = [
        "kpi",
        "grain",
        "period_start",
        "segment_field",
        "segment_value",
        "value",
        "computed_at",
    ]
    list_filter = ["grain", "kpi", "segment_field"]
    search_fields = ["kpi", "segment_value"]
    date_hierarchy = "period_start"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SnapshotFill)
class SnapshotFillAdmin(DeletesThroughServices, admin.ModelAdmin):
    """Where the nightly fill stands per period: a period left "started" was interrupted and is
    redone by the next nightly run, and so is a period of the last 31 days whose row is deleted."""

    list_display = [
        "grain",
        "period_start",
        "status",
        "rows_written",
        "started_at",
        "finished_at",
        "run_id",
    ]
    list_filter = ["status", "grain"]
    date_hierarchy = "period_start"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class KPIBandOverrideForm(forms.ModelForm):
    kpi = forms.ChoiceField(label=_("KPI"))

    class Meta:
        model = KPIBandOverride
        fields = [
            "kpi",
            "typical_low",
            "typical_high",
            "good_low",
            "good_high",
            "exceptional_low",
            "exceptional_high",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kpi"].choices = [(kpi.key, f"{kpi.label} ({kpi.key})") for kpi in all_kpis()]


@admin.register(KPIBandOverride)
class KPIBandOverrideAdmin(DeletesThroughServices, admin.ModelAdmin):
    """This installation's reference bands; the dashboards and KPI pages colour values by them
    instead of the code's defaults."""

    form = KPIBandOverrideForm
    list_display = [
        "kpi",
        "typical_low",
        "typical_high",
        "good_low",
        "good_high",
        "exceptional_low",
        "exceptional_high",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["kpi"]}),
        (_("Typical"), {"fields": [("typical_low", "typical_high")]}),
        (_("Good"), {"fields": [("good_low", "good_high")]}),
        (_("Exceptional"), {"fields": [("exceptional_low", "exceptional_high")]}),
    ]


@admin.register(HealthSettings)
class HealthSettingsAdmin(DeletesThroughServices, admin.ModelAdmin):
    """One row: the health score's weights and risk threshold."""

    list_display = ["__str__", *HealthSettings.WEIGHT_FIELDS, "risk_threshold", "updated_at"]

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not HealthSettings.objects.exists()

    def save_model(self, request, obj, form, change):
        # Through the service, so the stored scores are blended again with the new weights.
        fields = [*HealthSettings.WEIGHT_FIELDS, "risk_threshold"]
        data = {name: form.cleaned_data[name] for name in fields if name in form.cleaned_data}
        saved = services.health_settings_update(actor=request.user, data=data)
        obj.pk, obj.updated_at = saved.pk, saved.updated_at


@admin.register(CompanyHealth)
class CompanyHealthAdmin(DeletesThroughServices, admin.ModelAdmin):
    """Scores written by the nightly task: browsable, never edited by hand."""

    list_display = ["company", "score", "at_risk", "as_of", "computed_at"]
    list_filter = ["at_risk", "as_of"]
    search_fields = ["company__name"]
    list_select_related = ["company"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class DashboardCardInline(admin.TabularInline):
    model = DashboardCard
    extra = 0


@admin.register(Dashboard)
class DashboardAdmin(DeletesThroughServices, admin.ModelAdmin):
    list_display = ["name", "owner", "grain", "segment_field", "segment_value", "shared_with"]
    list_select_related = ["owner", "shared_with"]
    search_fields = ["name", "owner__username"]
    inlines = [DashboardCardInline]
