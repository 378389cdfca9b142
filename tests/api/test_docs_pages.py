"""The API's two documentation pages: Swagger UI at /api/docs/ and ReDoc at /api/redoc/, both
for signed-in users, both drawn in Chromium under the strict CSP."""

import pytest

from tests.e2e.conftest import chromium, page_as  # noqa: F401 - fixtures
from tests.services import csp_violations

DOCS_PAGES = ["/api/docs/", "/api/redoc/"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", DOCS_PAGES)
def test_the_docs_pages_answer_a_signed_in_user(client, rep, path):
    client.force_login(rep)
    response = client.get(path)
    assert response.status_code == 200
    assert b"<script>" not in response.content and b"<style" not in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("path", DOCS_PAGES)
def test_the_docs_pages_are_closed_to_anonymous_visitors(client, path):
    assert client.get(path).status_code in (401, 403)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_redoc_draws_the_api_reference_without_a_csp_violation(page_as, rep):  # noqa: F811
    page = page_as(rep)
    refused = csp_violations(page)
    page.goto("/api/redoc/")
    page.locator(".api-info h1").wait_for()
    assert refused == []
