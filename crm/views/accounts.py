"""Guards on the account pages: the login lockout page (django-axes) and the password-reset
form's email limits.

Both answer without saying whether an account exists: the lockout counts a username from an
address whether or not the user is real, and a limited reset request gets the same "check
your inbox" page as any other.
"""

import logging
import math
from datetime import timedelta

from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.db.models import Max
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django_ratelimit.core import is_ratelimited

from crm.client_ip import client_ip

logger = logging.getLogger(__name__)


def locked_out(request, original_response=None, credentials=None):
    """django-axes' lockout response (AXES_LOCKOUT_CALLABLE): a 429 page saying when the
    username can be tried again from this address."""
    username = get_client_username(request, credentials)
    cool_off = get_cool_off(request) or timedelta(0)
    last_failure = AccessAttempt.objects.filter(
        username=username, ip_address=request.axes_ip_address
    ).aggregate(last=Max("attempt_time"))["last"]
    unlock_at = (last_failure or timezone.now()) + cool_off
    wait = max(int((unlock_at - timezone.now()).total_seconds()), 1)
    response = render(
        request,
        "registration/locked_out.html",
        {
            "unlock_at": unlock_at,
            "wait_minutes": math.ceil(wait / 60),
            "failure_limit": get_failure_limit(request, credentials),
        },
        status=429,
    )
    response["Retry-After"] = str(wait)
    return response


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset form, sending at most a few emails per target address and per client
    address an hour, so the form can be used neither to flood an inbox nor to send mail in
    bulk."""

    def form_valid(self, form):
        email = form.cleaned_data["email"].strip().lower()
        # Count both before deciding, so each limit sees every request.
        over_account = is_ratelimited(
            self.request,
            group="password-reset-account",
            key=lambda group, request: email,
            rate=settings.CRM_PASSWORD_RESET_RATE_ACCOUNT,
            increment=True,
        )
        over_address = is_ratelimited(
            self.request,
            group="password-reset-ip",
            key="ip",
            rate=settings.CRM_PASSWORD_RESET_RATE_IP,
            increment=True,
        )
        if over_account or over_address:
            logger.warning(
                "Password reset email not sent to a request from %s: over the %s limit",
                client_ip(self.request),
                "per-account" if over_account else "per-address",
            )
            return HttpResponseRedirect(self.get_success_url())
        return super().form_valid(form)
