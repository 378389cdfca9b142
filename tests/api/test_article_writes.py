"""Knowledge articles through the API (issue 12): written by the roles the knowledge pages let
write (agents, managers, admins), read by the others, through the knowledge services."""

import pytest

from crm import services
from crm.models import Article, ArticleStatus, Event
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NEW = {"title": "Reset your password", "body": "Click *Forgot password*.", "status": "draft"}


@pytest.fixture
def article(agent):
    return services.article_create(
        actor=agent, data={"title": "Billing", "body": "Monthly.", "status": "published"}
    )


@pytest.mark.parametrize(
    ("persona", "read", "create", "update", "delete"),
    [
        ("agent", 200, 201, 200, 403),
        ("manager", 200, 201, 200, 403),
        ("admin_user", 200, 201, 200, 204),
        ("rep", 200, 403, 403, 403),
    ],
)
def test_articles_per_role(api, request, article, persona, read, create, update, delete):
    api.force_authenticate(request.getfixturevalue(persona))
    url = f"/api/articles/{article.pk}/"
    assert api.get(url).status_code == read
    assert api.post("/api/articles/", NEW, format="json").status_code == create
    assert api.patch(url, {"title": "Billing and invoices"}, format="json").status_code == update
    assert api.delete(url).status_code == delete
    assert Article.objects.filter(pk=article.pk).exists() == (delete != 204)
    assert Article.objects.filter(title=NEW["title"]).exists() == (create == 201)


def test_a_new_article_gets_its_slug_author_and_publication_from_the_service(api, agent):
    api.force_authenticate(agent)
    response = api.post("/api/articles/", NEW, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["slug"], body["author"], body["published_at"]) == (
        "reset-your-password",
        agent.pk,
        None,
    )
    published = api.patch(
        f"/api/articles/{body['id']}/", {"status": ArticleStatus.PUBLISHED}, format="json"
    )
    assert published.json()["published_at"] is not None
    types = set(Event.objects.filter(record_type="article").values_list("type", flat=True))
    assert {"article.created", "article.updated"} <= types


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"title": "", "body": "x"}, "title"),
        ({"title": "A"}, "body"),
        ({"title": "A", "body": "x", "status": "archived"}, "status"),
        ({"title": "A", "body": "x", "slug": "not a slug"}, "slug"),
        ({"title": "A", "body": "x", "category": 999999}, "category"),
        ({"title": "A", "body": "x" * 200_001}, "body"),
    ],
)
def test_a_refused_article_answers_its_field_and_writes_nothing(api, agent, data, field):
    api.force_authenticate(agent)
    events = Event.objects.count()
    response = api.post("/api/articles/", data, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Article.objects.exists() and Event.objects.count() == events


def test_a_taken_slug_is_refused(api, agent, article):
    api.force_authenticate(agent)
    response = api.post("/api/articles/", {**NEW, "slug": article.slug}, format="json")
    assert response.status_code == 400 and "slug" in response.json()["errors"]


def test_a_stale_if_match_and_a_replayed_key_write_nothing_new(api, agent, article):
    api.force_authenticate(agent)
    url = f"/api/articles/{article.pk}/"
    etag = api.get(url).headers["ETag"]
    assert (
        api.patch(url, {"summary": "Fees"}, format="json", headers={"If-Match": etag}).status_code
        == 200
    )
    stale = api.patch(url, {"summary": "Old"}, format="json", headers={"If-Match": etag})
    assert stale.status_code == 412
    headers = {"Idempotency-Key": "kb-1"}
    first = api.post("/api/articles/", NEW, format="json", headers=headers)
    again = api.post("/api/articles/", NEW, format="json", headers=headers)
    assert first.json() == again.json() and Article.objects.count() == 2


def test_a_reader_without_the_view_permission_gets_403(api, article):
    nobody = UserFactory(username="nobody")
    api.force_authenticate(nobody)
    assert api.get("/api/articles/").status_code == 403
