"""The knowledge base: Markdown rendered safely, drafts stay private, a public help centre."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm import services
from crm.models import Article, ArticleStatus, Event
from crm.services.knowledge import render_markdown


@pytest.mark.parametrize(
    ("markdown", "forbidden"),
    [
        ("<script>alert(1)</script>", ["<script", "alert(1)"]),
        ('<img src="x" onerror="alert(1)">', ["onerror"]),
        ("[click](javascript:alert(1))", ["javascript:"]),
        ('<a href="JaVaScRiPt:alert(1)">x</a>', ["javascript", "JaVaScRiPt"]),
        ('<div hx-get="/admin/" hx-trigger="load">x</div>', ["hx-get", "hx-trigger"]),
        ('<p data-hx-post="/tickets/bulk/">x</p>', ["data-hx-post"]),
        ("<iframe src='https://evil.example'></iframe>", ["<iframe"]),
        ("<style>body{display:none}</style>", ["<style", "display:none"]),
        ('<p style="position:fixed">x</p>', ["style="]),
        ('<form action="/x"><input name="a"></form>', ["<form", "<input"]),
        ('<svg onload="alert(1)"></svg>', ["<svg", "onload"]),
    ],
)
def test_rendering_strips_scripts_handlers_and_dangerous_urls(markdown, forbidden):
    html = render_markdown(f"Intro\n\n{markdown}\n\nOutro")

    for fragment in forbidden:
        assert fragment not in html
    assert "Intro" in html and "Outro" in html


def test_rendering_keeps_markdown_formatting():
    html = render_markdown(
        "# Title\n\n**bold** and *it* and `code`\n\n- one\n- two\n\n"
        "[docs](https://example.com/docs)\n\n| a | b |\n|---|---|\n| 1 | 2 |"
    )

    for fragment in ["<h1>Title</h1>", "<strong>bold</strong>", "<em>it</em>", "<code>code</code>"]:
        assert fragment in html
    assert "<li>one</li>" in html and "<table>" in html
    assert 'href="https://example.com/docs"' in html and "noopener" in html


@pytest.fixture
def published(agent):
    category = services.category_create(actor=agent, name="Accounts")
    return services.article_create(
        actor=agent,
        data={
            "title": "Reset your password",
            "summary": "When you are locked out",
            "body": "Click **Forgot password**.\n\n<script>steal()</script>",
            "category": category,
            "status": ArticleStatus.PUBLISHED,
        },
    )


@pytest.fixture
def draft(agent):
    return services.article_create(
        actor=agent, data={"title": "Upcoming billing changes", "body": "Secret plans"}
    )


@pytest.mark.django_db
def test_an_agent_writes_a_draft_then_publishes_it(client, agent):
    client.force_login(agent)

    response = client.post(
        reverse("article-create"),
        {
            "title": "Export data",
            "body": "Use *Export*.",
            "status": "draft",
            "new_category": "Data",
        },
    )

    article = Article.objects.get()
    assert response.url == reverse("article-detail", args=[article.pk])
    assert (article.slug, article.category.name, article.author) == ("export-data", "Data", agent)
    assert article.published_at is None
    assert client.get(reverse("help-article", args=[article.slug])).status_code == 404

    data = {
        "title": "Export data",
        "slug": article.slug,
        "body": "Use *Export*.",
        "status": "published",
    }
    client.post(reverse("article-edit", args=[article.pk]), data)

    article.refresh_from_db()
    assert article.status == ArticleStatus.PUBLISHED and article.published_at is not None
    client.logout()
    page = client.get(reverse("help-article", args=[article.slug]))
    assert page.status_code == 200 and "<em>Export</em>" in page.content.decode()
    assert Event.objects.filter(type="article.updated", record_id=article.pk).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data",
    [
        {"title": "", "body": "x", "status": "draft"},
        {"title": "T", "body": "", "status": "draft"},
        {"title": "T", "body": "x", "status": "archived"},
        {"title": "T", "body": "x" * 100_001, "status": "draft"},
        {"title": "T", "body": "x", "status": "draft", "slug": "not a slug!"},
    ],
    ids=["no-title", "no-body", "bad-status", "huge-body", "bad-slug"],
)
def test_bad_article_input_is_a_form_error(client, agent, data):
    client.force_login(agent)

    response = client.post(reverse("article-create"), data)

    assert response.status_code == 400
    assert not Article.objects.exists() and not Event.objects.exists()


@pytest.mark.django_db
def test_a_taken_slug_is_a_form_error(client, agent, published):
    client.force_login(agent)

    response = client.post(
        reverse("article-create"),
        {"title": "Other", "slug": published.slug, "body": "x", "status": "draft"},
    )

    assert response.status_code == 400
    assert "slug" in response.context["form"].errors
    assert Article.objects.count() == 1


@pytest.mark.django_db
def test_same_titles_get_distinct_slugs(agent):
    first = services.article_create(actor=agent, data={"title": "FAQ", "body": "a"})
    second = services.article_create(actor=agent, data={"title": "FAQ", "body": "b"})

    assert (first.slug, second.slug) == ("faq", "faq-2")


@pytest.mark.django_db
def test_a_rep_reads_the_knowledge_base_but_does_not_write_it(client, rep, published):
    client.force_login(rep)

    assert client.get(reverse("knowledge")).status_code == 200
    assert client.get(reverse("article-detail", args=[published.pk])).status_code == 200
    assert client.get(reverse("article-create")).status_code == 403
    response = client.post(
        reverse("article-edit", args=[published.pk]),
        {"title": "Hacked", "body": "x", "status": "draft"},
    )
    assert response.status_code == 403
    published.refresh_from_db()
    assert published.title == "Reset your password"


@pytest.mark.django_db
def test_the_staff_list_searches_and_filters(client, agent, published, draft):
    client.force_login(agent)

    def titles(**params):
        page = client.get(reverse("knowledge"), params).context["page"]
        return [a.title for a in page.object_list]

    assert titles() == ["Reset your password", "Upcoming billing changes"]
    assert titles(q="password") == ["Reset your password"]
    assert titles(status="draft") == ["Upcoming billing changes"]


@pytest.mark.django_db
def test_staff_preview_renders_safely(client, agent, published):
    client.force_login(agent)

    html = client.get(reverse("article-detail", args=[published.pk])).content.decode()

    assert "<strong>Forgot password</strong>" in html
    assert "steal()" not in html


@pytest.mark.django_db
def test_the_help_centre_lists_published_articles_without_a_login(client, published, draft):
    response = client.get(reverse("help"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Reset your password" in html and "Accounts" in html
    assert "Upcoming billing changes" not in html
    assert client.get(reverse("help-article", args=[draft.slug])).status_code == 404
    article = client.get(reverse("help-article", args=[published.slug])).content.decode()
    assert "<strong>Forgot password</strong>" in article and "steal()" not in article


@pytest.mark.django_db
def test_the_help_centre_search(client, published, draft):
    found = client.get(reverse("help"), {"q": "locked"}).content.decode()
    hidden = client.get(reverse("help"), {"q": "billing"}).content.decode()
    odd = client.get(reverse("help"), {"q": "<script>x</script>" + "a" * 500})

    assert "Reset your password" in found
    assert "Upcoming billing changes" not in hidden
    assert odd.status_code == 200 and "<script>x" not in odd.content.decode()


@pytest.mark.django_db
def test_the_help_centre_runs_a_fixed_number_of_queries(client, agent):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("help")).status_code == 200
        return len(captured)

    category = services.category_create(actor=agent, name="General")
    services.article_create(
        actor=agent, data={"title": "One", "body": "x", "status": "published", "category": category}
    )
    few = queries()
    for index in range(5):
        extra = services.category_create(actor=agent, name=f"Topic {index}")
        services.article_create(
            actor=agent,
            data={"title": f"A{index}", "body": "x", "status": "published", "category": extra},
        )

    assert queries() == few
