"""Staff pages of the knowledge base: list, write, preview, and the reply box's picker."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from crm import services
from crm.forms.knowledge import ArticleForm, ArticleSearchForm
from crm.models import Article
from crm.services.knowledge import article_search, render_markdown

PICKER_LIMIT = 10


@permission_required("crm.view_article", raise_exception=True)
def article_list(request):
    form = ArticleSearchForm(request.GET or None)
    articles = Article.objects.select_related("category", "author")
    if form.is_valid():
        articles = article_search(articles, form.cleaned_data["q"])
        if form.cleaned_data["category"]:
            articles = articles.filter(category=form.cleaned_data["category"])
        if form.cleaned_data["status"]:
            articles = articles.filter(status=form.cleaned_data["status"])
    page = Paginator(articles.order_by("title", "pk"), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "crm/knowledge/list.html",
        {
            "section": "tickets",
            "form": form,
            "page": page,
            "can_add": request.user.has_perm("crm.add_article"),
        },
    )


@permission_required("crm.view_article", raise_exception=True)
def article_detail(request, pk: int):
    article = get_object_or_404(Article.objects.select_related("category", "author"), pk=pk)
    return render(
        request,
        "crm/knowledge/detail.html",
        {
            "section": "tickets",
            "article": article,
            "body_html": render_markdown(article.body),
            "can_change": request.user.has_perm("crm.change_article"),
        },
    )


@permission_required("crm.add_article", raise_exception=True)
def article_create(request):
    return _edit(request, None)


@permission_required("crm.change_article", raise_exception=True)
def article_edit(request, pk: int):
    return _edit(request, get_object_or_404(Article, pk=pk))


def _edit(request, article: Article | None):
    form = ArticleForm(request.POST or None, instance=article)
    if request.method == "POST" and form.is_valid():
        data = form.service_data()
        try:
            new_category = form.cleaned_data["new_category"].strip()
            if new_category and request.user.has_perm("crm.add_articlecategory"):
                data["category"] = services.category_create(actor=request.user, name=new_category)
            if article is None:
                article = services.article_create(actor=request.user, data=data)
            else:
                article = services.article_update(article=article, actor=request.user, data=data)
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _("Article saved."))
            return redirect("article-detail", pk=article.pk)
    return render(
        request,
        "crm/knowledge/form.html",
        {"section": "tickets", "form": form, "article": article},
        status=400 if request.method == "POST" else 200,
    )


@permission_required("crm.view_article", raise_exception=True)
def article_picker(request):
    """Published articles matching `q`, for the reply box: title and public address."""
    term = (request.GET.get("q") or "")[:100]
    articles = article_search(Article.objects.published(), term).only("pk", "title", "slug")
    return JsonResponse(
        {
            "results": [
                {
                    "id": article.pk,
                    "title": article.title,
                    "url": services.support.absolute_url(
                        reverse("help-article", args=[article.slug])
                    ),
                }
                for article in articles.order_by("title", "pk")[:PICKER_LIMIT]
            ]
        }
    )
