"""Pages customers use without an account: contact support, their ticket through a signed
private link, surveys through a one-time token, and the help centre.

Every form post is throttled per client address (django-ratelimit, on the cache); a flood
gets a 429 page. A bad link or token gets a clear page and writes nothing.
"""

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods
from django_ratelimit.decorators import ratelimit

from crm import services
from crm.forms.public import ContactSupportForm, CustomerReplyForm, SurveyForm
from crm.models import Article, ArticleCategory, SurveyKind, TicketMessage
from crm.services.knowledge import article_search, render_markdown
from crm.services.support import ticket_for_customer_token
from crm.services.surveys import SurveyTokenError, survey_invitation_for_token

SURVEY_QUESTIONS = {
    SurveyKind.NPS: gettext_lazy("How likely are you to recommend us to a friend or colleague?"),
    SurveyKind.CSAT: gettext_lazy("How satisfied are you with the help you received?"),
    SurveyKind.CES: gettext_lazy("How easy was it to get your issue resolved?"),
}
SURVEY_SCALES = {
    SurveyKind.NPS: (gettext_lazy("Not at all likely"), gettext_lazy("Extremely likely")),
    SurveyKind.CSAT: (gettext_lazy("Very unsatisfied"), gettext_lazy("Very satisfied")),
    SurveyKind.CES: (gettext_lazy("Very difficult"), gettext_lazy("Very easy")),
}


def public_form_rate(group, request) -> str:
    return settings.CRM_PUBLIC_FORM_RATE


def throttled(func):
    """Count posts per client address; the view answers 429 once over the rate."""
    return ratelimit(key="ip", rate=public_form_rate, method="POST", block=False)(func)


def _too_many(request):
    return render(request, "crm/public/throttled.html", status=429)


@login_not_required
@require_http_methods(["GET", "POST"])
@throttled
def contact_support(request):
    if request.method == "POST" and getattr(request, "limited", False):
        return _too_many(request)
    form = ContactSupportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.ticket_open_from_web(
                name=data["name"],
                email=data["email"],
                subject=data["subject"],
                message=data["message"],
            )
        except ValidationError as error:
            form.add_error(None, _("We could not open your request: %s") % " ".join(error.messages))
        else:
            return redirect("support-thanks")
    return render(
        request,
        "crm/public/contact.html",
        {"form": form},
        status=400 if request.method == "POST" else 200,
    )


@login_not_required
def contact_thanks(request):
    return render(request, "crm/public/thanks.html")


@login_not_required
@require_http_methods(["GET", "POST"])
@throttled
def customer_ticket(request, token: str):
    if request.method == "POST" and getattr(request, "limited", False):
        return _too_many(request)
    ticket = ticket_for_customer_token(token)
    if ticket is None:
        return render(request, "crm/public/link_invalid.html", status=404)
    form = CustomerReplyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.ticket_customer_reply_once(ticket=ticket, body=form.cleaned_data["body"])
        except ValidationError as error:
            form.add_error("body", " ".join(error.messages))
        else:
            return redirect("support-ticket", token=token)
    # The customer sees the conversation without internal notes or agents' accounts.
    conversation = TicketMessage.objects.filter(ticket=ticket, is_internal=False).order_by(
        "created_at", "pk"
    )
    return render(
        request,
        "crm/public/ticket.html",
        {"ticket": ticket, "conversation": conversation, "form": form},
        status=400 if request.method == "POST" else 200,
    )


@login_not_required
@require_http_methods(["GET", "POST"])
@throttled
def survey(request, token: str):
    if request.method == "POST" and getattr(request, "limited", False):
        return _too_many(request)
    try:
        invitation = survey_invitation_for_token(token)
    except SurveyTokenError as error:
        return _survey_closed(request, error)
    form = SurveyForm(request.POST or None, kind=invitation.kind)
    if request.method == "POST" and form.is_valid():
        try:
            services.survey_invitation_answer(
                token=token,
                score=form.cleaned_data["score"],
                comment=form.cleaned_data["comment"],
            )
        except SurveyTokenError as error:
            return _survey_closed(request, error)
        except ValidationError as error:
            form.add_error(None, " ".join(error.messages))
        else:
            return render(request, "crm/public/survey_thanks.html", {"invitation": invitation})
    low_label, high_label = SURVEY_SCALES[invitation.kind]
    return render(
        request,
        "crm/public/survey.html",
        {
            "invitation": invitation,
            "form": form,
            "question": SURVEY_QUESTIONS[invitation.kind],
            "low_label": low_label,
            "high_label": high_label,
        },
        status=400 if request.method == "POST" else 200,
    )


def _survey_closed(request, error: SurveyTokenError):
    status = {"unknown": 404, "expired": 410, "answered": 409}[error.reason]
    return render(
        request,
        "crm/public/survey_closed.html",
        {"reason": error.reason, "message": error.messages[0]},
        status=status,
    )


@login_not_required
def help_index(request):
    term = (request.GET.get("q") or "")[:100].strip()
    published = Article.objects.published().only("pk", "title", "slug", "summary", "category")
    if term:
        articles = article_search(published, term).select_related("category").order_by("title")
        page = Paginator(articles, 30).get_page(request.GET.get("page"))
        return render(request, "crm/public/help.html", {"q": term, "page": page})
    categories = ArticleCategory.objects.prefetch_related(
        Prefetch("articles", queryset=published.order_by("title"), to_attr="published")
    )
    uncategorised = list(published.filter(category__isnull=True).order_by("title"))
    return render(
        request,
        "crm/public/help.html",
        {"q": "", "categories": categories, "uncategorised": uncategorised},
    )


@login_not_required
def help_article(request, slug: str):
    article = get_object_or_404(Article.objects.published().select_related("category"), slug=slug)
    return render(
        request,
        "crm/public/help_article.html",
        {"article": article, "body_html": render_markdown(article.body)},
    )
