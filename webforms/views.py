"""The hosted form page visitors fill in, and the endpoint a plain HTML form on another site
posts to.

Both answer in the visitor's language (`?lang=`, else the browser's) and may be framed by any
site (the iframe embed). The hosted page's post carries Django's CSRF token; the cross-origin
endpoint cannot, so it is the one view exempt from CSRF and it accepts only a post with a
fresh signed token of our page. Every post is rate limited per address, capped in size,
checked against the honeypot and the minimum fill time, and validated before anything is
written; a refusal re-shows the form (with a new token) and writes nothing.
"""

from urllib.parse import urlsplit

from csp.decorators import csp_replace
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import translation
from django.utils.crypto import salted_hmac
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST
from django_ratelimit.decorators import ratelimit

from crm.client_ip import client_ip
from crm.languages import is_supported
from crm.redirects import redirect_to
from crm.views.public import public_form_rate

from . import services, spam
from .forms import SubmissionForm, utm_from
from .models import WebForm

# Any site may frame the hosted page: that is what the iframe embed is for.
FRAMEABLE = {"frame-ancestors": ["*"]}


def throttled(view):
    """One counter per address for both ways in, the public forms' rate."""
    return ratelimit(
        group="webforms.submit", key="ip", rate=public_form_rate, method="POST", block=False
    )(view)


@login_not_required
@require_http_methods(["GET", "POST"])
@xframe_options_exempt
@csp_replace(FRAMEABLE)
@throttled
def hosted_page(request, form_slug: str):
    return _respond(request, form_slug, cross_origin=False)


@login_not_required
@csrf_exempt
@require_POST
@xframe_options_exempt
@csp_replace(FRAMEABLE)
@throttled
def cross_origin_post(request, form_slug: str):
    return _respond(request, form_slug, cross_origin=True)


def _respond(request, form_slug: str, *, cross_origin: bool):
    language = _visitor_language(request)
    with translation.override(language):
        webform = get_object_or_404(WebForm, slug=form_slug[:60])
        if not webform.is_active:
            return render(request, "webforms/closed.html", {"webform": webform}, status=410)
        if request.method == "POST":
            return _receive(request, webform, language, cross_origin=cross_origin)
        form = SubmissionForm(
            initial=utm_from(request.GET), webform=webform, fields=list(webform.fields.all())
        )
        return _page(request, webform, form, language, embedded="embed" in request.GET)


def _visitor_language(request) -> str:
    asked = (request.GET.get("lang") or "").lower()[:10]
    return asked if is_supported(asked) else translation.get_language()


def _receive(request, webform: WebForm, language: str, *, cross_origin: bool):
    if getattr(request, "limited", False):
        return render(request, "crm/public/throttled.html", status=429)
    try:
        spam.check_body_size(request)
    except spam.Refused as refused:
        return _refused(request, webform, refused, status=413)
    form = SubmissionForm(request.POST, webform=webform, fields=list(webform.fields.all()))
    try:
        spam.check_honeypot(request.POST)
        nonce = spam.check_token(webform.pk, request.POST.get(spam.TOKEN_FIELD, ""))
    except spam.Refused as refused:
        if refused.reason == "honeypot":
            return _refused(request, webform, refused, status=400)
        # A person may have been quick, or posted from a plain form on another site: they get
        # their form back, filled in, with a token from now, and send it again.
        return _page(
            request, webform, form, language, notice=refused.message, embedded=cross_origin
        )
    if not form.is_valid():
        return _page(request, webform, form, language, embedded=cross_origin)
    try:
        services.submission_receive(
            form=webform,
            nonce=nonce,
            values=form.values(),
            utm=utm_from(request.POST, request.GET),
            language=language,
            ip_hash=salted_hmac("webforms.ip", client_ip(request)).hexdigest(),
        )
    except ValidationError as error:
        # A rule of the record the form validated around (a custom field made required since
        # the form was built): the submission and its record were rolled back together.
        form.add_error(None, error.messages)
        return _page(request, webform, form, language, embedded=cross_origin)
    if webform.redirect_url:
        return redirect_to(webform.redirect_url)
    return render(request, "webforms/thanks.html", {"webform": webform})


def _page(request, webform, form, language: str, *, notice: str = "", embedded: bool = False):
    """The form (as sent, after a refusal) with a token issued now. Framed or reached from
    another site, it posts to the cross-origin endpoint: a framed page gets no CSRF cookie."""
    post_to = "webform-post" if embedded else "webform-page"
    response = render(
        request,
        "webforms/page.html",
        {
            "webform": webform,
            "form": form,
            "notice": notice,
            "lang": language,
            "token": spam.issue_token(webform.pk),
            "action": reverse(post_to, args=[webform.slug]) + f"?lang={language}",
        },
        status=400 if request.method == "POST" else 200,
    )
    if webform.redirect_url:
        # A browser checks the redirect after a post against the page's form-action.
        parts = urlsplit(webform.redirect_url)
        response._csp_update = {"form-action": [f"{parts.scheme}://{parts.netloc}"]}
    return response


def _refused(request, webform: WebForm, refused: spam.Refused, *, status: int):
    return render(
        request,
        "webforms/refused.html",
        {"webform": webform, "message": refused.message},
        status=status,
    )
