"""The knowledge base: articles written in Markdown, rendered through an allow-list."""

import re

import markdown
import nh3
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import slugify
from django.utils.translation import gettext as _

from crm.limits import ARTICLE_MAX_LENGTH
from crm.models import Article, ArticleCategory, ArticleStatus, User

from .events import changes_between, event_record, snapshot

ARTICLE_FIELDS = ["title", "slug", "category", "summary", "body", "status"]
MAX_BODY_LENGTH = ARTICLE_MAX_LENGTH

# What Markdown may produce. Anything else (script, style, iframe, form, on* and hx-*
# attributes, javascript: URLs) is removed by nh3, whatever the author typed.
ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre",
    "s", "span", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "abbr": {"title"},
    "td": {"align"},
    "th": {"align"},
}
ALLOWED_SCHEMES = {"http", "https", "mailto"}


def _drop_hx_attributes(element: str, attribute: str, value: str):
    # htmx acts on hx-* and data-hx-* attributes: never let an article carry one.
    if re.match(r"^(data-)?hx-", attribute, re.IGNORECASE):
        return None
    return value


def render_markdown(text: str) -> SafeString:
    """Markdown to HTML that is safe to show on staff and public pages."""
    html = markdown.markdown(text or "", extensions=["extra", "sane_lists"], output_format="html")
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_SCHEMES,
        attribute_filter=_drop_hx_attributes,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return mark_safe(clean)  # noqa: S308 - sanitised by nh3 just above


def article_search(queryset: QuerySet, term: str) -> QuerySet:
    """Articles whose title, summary or body contain every word of the term."""
    for word in (term or "").split()[:8]:
        queryset = queryset.filter(
            Q(title__icontains=word) | Q(summary__icontains=word) | Q(body__icontains=word)
        )
    return queryset


def article_create(*, actor: User | None, data: dict) -> Article:
    data = _prepared(data)
    article = Article(author=actor, **data)
    _stamp_publication(article, was_published=False)
    article.full_clean()
    with transaction.atomic():
        article.save()
        event_record(
            type="article.created",
            instance=article,
            actor=actor,
            changes={k: [None, v] for k, v in snapshot(article, list(data)).items()},
        )
    return article


def article_update(*, article: Article, actor: User | None, data: dict) -> Article:
    data = _prepared(data, instance=article)
    was_published = article.is_published
    before = snapshot(article, list(data))
    for name, value in data.items():
        setattr(article, name, value)
    _stamp_publication(article, was_published=was_published)
    article.full_clean()
    changes = changes_between(before, snapshot(article, list(data)))
    if not changes:
        return article
    with transaction.atomic():
        article.save()
        event_record(type="article.updated", instance=article, actor=actor, changes=changes)
    return article


def category_create(*, actor: User | None, name: str) -> ArticleCategory:
    category = ArticleCategory(name=name.strip(), slug=slugify(name)[:100])
    category.full_clean()
    with transaction.atomic():
        category.save()
        event_record(
            type="articlecategory.created",
            instance=category,
            actor=actor,
            changes={"name": [None, category.name]},
        )
    return category


def _prepared(data: dict, instance: Article | None = None) -> dict:
    extra = sorted(set(data) - set(ARTICLE_FIELDS))
    if extra:
        raise ValidationError({name: _("This field cannot be set here.") for name in extra})
    data = dict(data)
    if len(data.get("body") or "") > MAX_BODY_LENGTH:
        raise ValidationError({"body": _("The article is too long.")})
    if "title" in data and not data.get("slug") and instance is None:
        data["slug"] = _unique_slug(data["title"])
    elif "slug" in data and not data["slug"]:
        data.pop("slug")
    return data


def _unique_slug(title: str) -> str:
    base = slugify(title)[:180] or "article"
    slug, n = base, 1
    while Article.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def _stamp_publication(article: Article, *, was_published: bool) -> None:
    if article.status == ArticleStatus.PUBLISHED and not was_published:
        article.published_at = timezone.now()
    elif article.status == ArticleStatus.DRAFT:
        article.published_at = None
