"""Every page needs a login, except an explicit public list."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

# Pages anyone may open (answer 200 without a login).
PUBLIC_PREFIXES = (
    "/accounts/login/",
    "/accounts/password_reset/",
    "/accounts/reset/",
    # The support desk's customer side: contact form, private ticket link, surveys, help.
    "/support/",
    "/surveys/",
    "/help/",
    # The JavaScript strings of the login page and the customer pages (issue 14).
    "/jsi18n/",
    # Web forms' hosted pages, and the post a form on another site sends (issue 18).
    "/f/",
)
# Answer an anonymous caller with 401/403 instead of a redirect.
API_PREFIX = "/api/"

SAMPLE_ARGUMENTS = {
    "int": "1",
    "str": "sample",
    "slug": "sample",
    "uuid": "00000000-0000-0000-0000-000000000000",
    "path": "sample",
    "drf_format_suffix": ".json",  # DRF's router root: /api/.json
}


def walk(patterns, prefix=""):
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from walk(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield route


def concrete_path(route: str) -> str | None:
    """Turn a route into a URL to request; None for regex routes we cannot fill in."""
    # Included regex routes (DRF's routers) put their anchors mid-route: "api/^deals/$".
    route = re.sub(r"(^|/)\^", r"\1", route).replace("$", "").replace("\\Z", "")
    route = route.replace("\\", "")

    def fill(match):
        converter = match.group(1) or "str"
        return SAMPLE_ARGUMENTS.get(converter, "sample")

    path = re.sub(r"<(?:(\w+):)?\w+>", fill, route)
    path = re.sub(r"\(\?P<\w+>[^)]*\)", "1", path)
    if re.search(r"[()\[\]*+?|]", path):
        return None
    return "/" + path


def all_paths():
    paths = {concrete_path(route) for route in walk(get_resolver().url_patterns)}
    return sorted(p for p in paths if p and not p.startswith("/static/"))


@pytest.mark.django_db
@pytest.mark.parametrize("path", all_paths())
def test_anonymous_visitor_is_sent_to_login(client, path):
    response = client.get(path)

    if path.startswith(PUBLIC_PREFIXES):
        assert response.status_code in (200, 302, 404, 405), path
    elif path.startswith(API_PREFIX):
        assert response.status_code in (401, 403), path
    else:
        assert response.status_code == 302, path
        assert response.url.startswith(("/accounts/login/", "/admin/login/")), response.url


def test_the_walk_covers_the_pages():
    paths = all_paths()
    assert "/" in paths
    assert "/deals/" in paths
    assert "/admin/" in paths
    assert {"/tickets/", "/support/", "/surveys/sample/", "/help/"} <= set(paths)
    assert len(paths) > 30
