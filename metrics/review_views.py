"""The Monday reviews page (/reviews/): a week's reviews the reader may read, the weeks before,
and the email opt-in."""

from datetime import date

from django.contrib import messages
from django.db.models import Q
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .models import ReviewScope
from .reviews import review_email_set, sentences, visible_reviews, wants_review_email, week_period

# Weeks listed in the history beside the page.
HISTORY_WEEKS = 12


def reviews(request):
    user = request.user
    # Other people's short versions stay off the page (an admin may read them all: hundreds).
    mine = visible_reviews(user).exclude(Q(scope=ReviewScope.PERSON) & ~Q(person=user))
    weeks = list(
        mine.order_by("-week_start").values_list("week_start", flat=True).distinct()[:HISTORY_WEEKS]
    )
    week = _chosen_week(request.GET.get("week"), weeks)
    shown = (
        [
            {"review": review, "sentences": sentences(review, user)}
            for review in mine.filter(week_start=week).order_by("scope", "team__name", "pk")
        ]
        if week
        else []
    )
    return render(
        request,
        "metrics/reviews/index.html",
        {
            "section": "reviews",
            "week": week_period(week) if week else None,
            "weeks": weeks,
            "chosen": week,
            "shown": shown,
            "wants_email": wants_review_email(user),
        },
    )


def _chosen_week(text: str | None, weeks: list[date]) -> date | None:
    """The asked week when it is one the reader has reviews of, else the latest."""
    try:
        asked = date.fromisoformat(text) if text else None
    except ValueError:
        asked = None
    if asked in weeks:
        return asked
    return weeks[0] if weeks else None


@require_POST
def review_email(request):
    enabled = request.POST.get("enabled") == "1"
    review_email_set(user=request.user, enabled=enabled)
    if not enabled:
        messages.success(request, _("The Monday review will no longer be emailed to you."))
    elif request.user.email:
        messages.success(request, _("The Monday review will be emailed to you."))
    else:
        messages.warning(
            request, _("The email is on, but your account has no email address to send to.")
        )
    return redirect("reviews")
