"""Every page in Chromium under the strict Content Security Policy: no refused script, style or
image, no console error, no uncaught script error, as an admin, as a rep and anonymously.

The pages are the project's URL patterns with real ids (tests/reliability/sitemap.py) that
answer the role with a whole HTML document: downloads, CSV, JSON, redirects, refusals and htmx
fragments are left out by what they answer, not by a list. A page that loads parts of itself
by htmx when it opens (the bell, record panels) is read once those parts are swapped in.
"""

import pytest
from django.test import Client

from tests.e2e.conftest import chromium, page_as  # noqa: F401 - fixtures
from tests.reliability.sitemap import all_routes, build_dataset, real_kwargs

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

# Django's admin repeats five pages per model (~45 models): the walk takes every change list,
# add and change page, and the history and delete pages of the records reps work on.
ADMIN_SAMPLED_VIEWS = ("history", "delete")
ADMIN_WHOLE_MODELS = ("crm/deal/", "crm/lead/", "crm/contact/", "crm/company/", "crm/ticket/")


# htmx requests in flight: a page is done once its `load`-triggered parts are swapped in.
COUNT_HTMX_REQUESTS = """
window.__htmxPending = 0;
document.addEventListener("htmx:beforeRequest", () => window.__htmxPending++);
document.addEventListener("htmx:afterRequest", () => window.__htmxPending--);
"""


def html_pages(client: Client, data, *, admin: bool) -> list[str]:
    """The path of each page the client gets as a whole HTML document."""
    pages, failing = [], []
    for route in all_routes():
        if route.is_admin and not admin:
            continue
        last = route.template.rstrip("/").rsplit("/", 1)[-1]
        if last in ADMIN_SAMPLED_VIEWS and not route.template.startswith(
            tuple(f"admin/{model}" for model in ADMIN_WHOLE_MODELS)
        ):
            continue
        kwargs = real_kwargs(route, data)
        if kwargs is None:
            continue  # test_url_fuzz names the routes the map cannot fill
        path = route.url(kwargs)
        response = client.get(path)
        content = b"" if response.streaming else response.content
        if response.status_code >= 500:
            failing.append(path)
        elif (
            response.status_code == 200
            and response["Content-Type"].startswith("text/html")
            and not response.has_header("Content-Disposition")
            and b"<html" in content[:500].lower()
        ):
            pages.append(path)
    assert not failing, f"server errors: {failing}"
    return pages


def _text(message) -> str:
    """The console message, with the address it is about when it names none (a failed load)."""
    where = (message.location or {}).get("url", "")
    return message.text if not where or where in message.text else f"{message.text} [{where}]"


@pytest.mark.parametrize("role", ["admin", "rep", "anonymous"])
def test_every_page_runs_under_the_csp_without_errors(
    chromium,  # noqa: F811 - the fixture imported above
    page_as,  # noqa: F811
    live_server,
    figures,
    role,
):
    data = build_dataset()
    user = data.users[role]
    client = Client()
    if user is not None:
        client.force_login(user)
    pages = html_pages(client, data, admin=role == "admin")
    assert len(pages) > (5 if role == "anonymous" else 40)
    context = None
    if user is None:
        context = chromium.new_context(base_url=live_server.url)
        page = context.new_page()
    else:
        page = page_as(user)
    page.set_default_timeout(10_000)
    page.add_init_script(COUNT_HTMX_REQUESTS)
    seen = []
    # Chromium reports a CSP refusal as a console error; other console errors count too.
    page.on("console", lambda message: message.type == "error" and seen.append(_text(message)))
    page.on("pageerror", lambda error: seen.append(f"uncaught {error}"))
    problems = []
    try:
        for path in pages:
            seen.clear()
            page.goto(path)
            page.wait_for_function("() => !window.__htmxPending", polling=20)
            for text in seen:
                detail = f"{role} {path}: {text[:300]}"
                problems.append(detail)
                figures.add("csp_violations", detail)
    finally:
        if context is not None:
            context.close()
    assert not problems, "\n".join(problems)
