"""The admins' webhook pages in the settings area (/settings/webhooks/): subscriptions, their
secret, pause and resume, a test event, and the delivery log with every try.

Admins only, like the rest of the area (access.ROUTE_PERMISSIONS and `admin_only`).
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.views.settings import admin_only

from . import services
from .forms import SubscriptionForm
from .models import Delivery, DeliveryAttempt, DeliveryStatus, Subscription

DELIVERIES_SHOWN = 50


def _page(request, template: str, context: dict, *, form_failed: bool = False):
    """A page of the settings area (its layout and menu, "Webhooks" highlighted)."""
    return render(
        request,
        f"webhooks/settings/{template}",
        {"section": "settings", "settings_page": "webhooks", **context},
        status=400 if form_failed else 200,
    )


def _data(form: SubscriptionForm) -> dict:
    return {name: form.cleaned_data[name] for name in ("name", "url", "event_types", "active")}


@admin_only
def subscriptions(request):
    form = SubscriptionForm(request.POST or None, initial={"active": True})
    if request.method == "POST" and form.is_valid():
        try:
            subscription = services.subscription_create(actor=request.user, data=_data(form))
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(
                request, _("Webhook added: give its secret to the receiver to check signatures.")
            )
            return redirect("settings-webhook", pk=subscription.pk)
    rows = Subscription.objects.select_related("owner").annotate(
        failed=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.FAILED)),
        pending=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.PENDING)),
    )
    return _page(
        request,
        "subscriptions.html",
        {"subscriptions": rows, "form": form},
        form_failed=request.method == "POST",
    )


@admin_only
def subscription(request, pk: int):
    subscription = get_object_or_404(Subscription.objects.select_related("owner"), pk=pk)
    form = SubscriptionForm(
        request.POST or None,
        initial={
            "name": subscription.name,
            "url": subscription.url,
            "event_types": subscription.event_types,
            "active": subscription.active,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.subscription_update(subscription=subscription, data=_data(form))
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _("Webhook saved."))
            return redirect("settings-webhook", pk=subscription.pk)
    deliveries = (
        Delivery.objects.filter(subscription=subscription)
        .select_related("event")
        .prefetch_related(Prefetch("tries", queryset=DeliveryAttempt.objects.order_by("id")))
        .order_by("-id")[:DELIVERIES_SHOWN]
    )
    return _page(
        request,
        "subscription.html",
        {"subscription": subscription, "form": form, "deliveries": deliveries},
        form_failed=request.method == "POST",
    )


@admin_only
@require_POST
def pause(request, pk: int):
    subscription = get_object_or_404(Subscription, pk=pk)
    if subscription.paused_at is None:
        services.subscription_pause(subscription=subscription)
        messages.success(request, _("Webhook paused: no deliveries are sent until you resume it."))
    else:
        services.subscription_resume(subscription=subscription)
        messages.success(request, _("Webhook resumed: deliveries that waited are sent now."))
    return redirect("settings-webhook", pk=subscription.pk)


@admin_only
@require_POST
def send_test(request, pk: int):
    subscription = get_object_or_404(Subscription, pk=pk)
    delivery = services.send_test(subscription=subscription, actor=request.user)
    if delivery.status == DeliveryStatus.OK:
        messages.success(request, _("Test event delivered (HTTP %s).") % delivery.last_status_code)
    else:
        messages.error(
            request,
            _("The test event was not delivered: %s")
            % (delivery.last_error or delivery.last_status_code),
        )
    return redirect("settings-webhook", pk=subscription.pk)
