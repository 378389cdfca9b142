"""The admins' settings pages of the metrics app: the KPI reference bands and the customer
health score's weights, in the settings area of crm/views/settings.py (same layout, same
admin-only rule)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from crm.views.settings import admin_only

from . import services
from .forms import BandsForm, HealthSettingsForm
from .kpis.revenue import health_risk_threshold, health_weights
from .models import HealthSettings, KPIBandOverride
from .registry import all_kpis


def _page(request, template: str, context: dict, *, page: str, failed: bool = False):
    return render(
        request,
        f"metrics/settings/{template}",
        {"section": "settings", "settings_page": page, **context},
        status=400 if failed else 200,
    )


@admin_only
def kpi_bands(request):
    overrides = KPIBandOverride.objects.bands_by_key()
    rows = [
        {"kpi": kpi, "bands": overrides.get(kpi.key, kpi.bands), "overridden": kpi.key in overrides}
        for kpi in sorted(all_kpis(), key=lambda kpi: (kpi.group, kpi.label))
    ]
    return _page(request, "kpi_bands.html", {"rows": rows}, page="kpi-bands")


@admin_only
def kpi_band(request, key: str):
    kpi = next((kpi for kpi in all_kpis() if kpi.key == key), None)
    if kpi is None:
        raise Http404
    override = KPIBandOverride.objects.filter(kpi=key).first()
    initial = {}
    bands = override.as_bands() if override else kpi.bands
    for band in ("typical", "good", "exceptional"):
        bounds = getattr(bands, band, None) if bands else None
        if bounds:
            initial[f"{band}_low"], initial[f"{band}_high"] = bounds
    if request.method == "POST" and "reset" in request.POST:
        # Every end empty: the bands written in the code apply again.
        services.kpi_bands_save(kpi=key, actor=request.user, data={})
        messages.success(request, _("The bands of %s are the default ones again.") % kpi.label)
        return redirect("settings-kpi-bands")
    form = BandsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.kpi_bands_save(kpi=key, actor=request.user, data=form.cleaned_data)
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
        else:
            messages.success(request, _("Bands of %s saved.") % kpi.label)
            return redirect("settings-kpi-bands")
    return _page(
        request,
        "kpi_band.html",
        {"kpi": kpi, "form": form, "overridden": override is not None},
        page="kpi-bands",
        failed=request.method == "POST",
    )


@admin_only
def health(request):
    row = HealthSettings.objects.order_by("pk").first()
    initial = {**health_weights(), "risk_threshold": health_risk_threshold()}
    form = HealthSettingsForm(request.POST or None, instance=row, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.health_settings_update(actor=request.user, data=form.cleaned_data)
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(
                request, _("Health score settings saved: the next nightly run uses them.")
            )
            return redirect("settings-health")
    return _page(
        request, "health.html", {"form": form}, page="health", failed=request.method == "POST"
    )
