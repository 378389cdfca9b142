"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server."""

import os

import pytest
from django.conf import settings
from django.test import Client

from tests.services import require_chromium

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def chromium():
    executable = require_chromium()
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in the test thread while the tests' ORM calls
    # stay synchronous; Django's async guard is lifted while the browser runs, in tests only.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def page_as(chromium, live_server):
    """`page_as(user)` opens a browser page already logged in as that user."""
    contexts = []

    def open_page(user):
        client = Client()
        client.force_login(user)
        # Wide enough for a whole pipeline board: dragging onto a column scrolled out of
        # view is not what a user does.
        viewport = {"width": 1920, "height": 1080}
        context = chromium.new_context(base_url=live_server.url, viewport=viewport)
        context.add_cookies(
            [
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                    "url": live_server.url,
                }
            ]
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield open_page
    for context in contexts:
        context.close()
