"""The bell: a user's notifications, the unread count (loaded by htmx, so pages pay no query
for it), mark read, and the email opt-in. A user only ever reaches their own rows."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from crm import services
from crm.models import Notification
from crm.redirects import next_url, redirect_to, safe_path
from crm.services.notifications import wants_email

PAGE_SIZE = 30
BELL_LATEST = 5


def notification_list(request):
    notifications = Notification.objects.filter(recipient=request.user)
    only_unread = request.GET.get("unread") == "1"
    if only_unread:
        notifications = notifications.filter(read_at__isnull=True)
    page = Paginator(notifications, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "crm/notifications/list.html",
        {
            "section": "notifications",
            "page": page,
            "only_unread": only_unread,
            "emails_on": wants_email(request.user),
        },
    )


@require_GET
def bell(request):
    """The header bell's badge and its latest unread notifications (an htmx fragment)."""
    unread = Notification.objects.filter(recipient=request.user, read_at__isnull=True)
    latest = list(unread[:BELL_LATEST])
    count = unread.count() if len(latest) == BELL_LATEST else len(latest)
    return render(request, "crm/notifications/_bell.html", {"unread": count, "latest": latest})


@require_POST
def notification_open(request, pk: int):
    """Mark one notification read and follow its link (only a link inside this site)."""
    notification = get_object_or_404(Notification, pk=pk, recipient=request.user)
    target = safe_path(request, notification.url) or reverse("notifications")
    services.notifications_mark_read(user=request.user, ids=[notification.pk])
    return redirect_to(target)


@require_POST
def notifications_read_all(request):
    back = next_url(request, reverse("notifications"))
    count = services.notifications_mark_read(user=request.user)
    messages.success(
        request,
        ngettext(
            "%(count)d notification marked read.", "%(count)d notifications marked read.", count
        )
        % {"count": count},
    )
    return redirect_to(back)


@require_POST
def notifications_email(request):
    enabled = request.POST.get("enabled") == "1"
    services.notifications_set_email(user=request.user, enabled=enabled)
    if enabled:
        if request.user.email:
            messages.success(request, _("Notifications will also be emailed to you."))
        else:
            messages.warning(
                request, _("Email is on, but your account has no email address to send to.")
            )
    else:
        messages.success(request, _("Notifications will no longer be emailed to you."))
    return redirect("notifications")
