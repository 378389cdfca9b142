"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server."""

import os
from pathlib import Path

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


# Journeys (issue 14): each role's day clicked through from the login form, with screenshots at
# its main steps and no console error or CSP refusal allowed on the way.
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
PASSWORD = "secret-pass-123"  # tests.factories.UserFactory's
DESKTOP = {"width": 1920, "height": 1080}
PHONE = {"width": 390, "height": 844}

# Chromium reports a CSP refusal in the console too; the event also covers refusals it does not
# print (report-only policies, violations in workers).
REPORT_CSP_REFUSALS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP refused ${event.violatedDirective}: ${event.blockedURI}`);
});
"""


class Journey:
    """A browser context for one journey: its pages' console errors, page errors and CSP
    refusals are collected, and `shot` saves numbered screenshots under var/screenshots/<name>/."""

    def __init__(self, chromium, base_url: str, name: str, locale: str | None):
        self.chromium = chromium
        self.base_url = base_url
        self.folder = SCREENSHOTS / name
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):
            old.unlink()
        self.locale = locale
        self.problems: list[str] = []
        self.contexts = []
        self.shots = 0

    def open(self, viewport: dict = DESKTOP):
        headers = {"Accept-Language": f"{self.locale},en;q=0.5"} if self.locale else {}
        context = self.chromium.new_context(
            base_url=self.base_url,
            viewport=viewport,
            locale=self.locale,
            extra_http_headers=headers,
            accept_downloads=True,
        )
        context.add_init_script(REPORT_CSP_REFUSALS)
        self.contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        return page

    def login(self, user, viewport: dict = DESKTOP):
        """A page logged in as `user` through the login form, on the page the login lands on."""
        page = self.open(viewport)
        page.goto("/accounts/login/")
        page.locator("input[name=username]").fill(user.username)
        page.locator("input[name=password]").fill(PASSWORD)
        with page.expect_navigation():
            page.locator("form button[type=submit]").click()
        assert "/accounts/login/" not in page.url, "the login form refused the user"
        return page

    def shot(self, page, step: str):
        """Saves the page as NN-step.png and fails if anything went wrong so far."""
        self.shots += 1
        page.screenshot(path=self.folder / f"{self.shots:02d}-{step}.png", full_page=True)
        self.assert_clean()

    def assert_clean(self):
        assert self.problems == [], "console errors or CSP refusals"

    def _console(self, message):
        if message.type == "error":
            self.problems.append(f"console: {message.text} at {message.location.get('url')}")

    def close(self):
        for context in self.contexts:
            context.close()


@pytest.fixture
def journey(chromium, live_server):
    """`journey(name, locale=None)` starts a Journey on the live server."""
    journeys = []

    def start(name: str, locale: str | None = None) -> Journey:
        started = Journey(chromium, live_server.url, name, locale)
        journeys.append(started)
        return started

    yield start
    for started in journeys:
        started.close()
    # What went wrong after a journey's last screenshot fails it too.
    for started in journeys:
        started.assert_clean()
