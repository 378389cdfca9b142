"""The browser fixtures of tests/e2e, for the goal pages' browser tests."""

from tests.e2e.conftest import chromium, page_as  # noqa: F401
