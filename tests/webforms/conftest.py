# The browser fixtures of tests/e2e, for the hosted page's phone test.
from tests.e2e.conftest import chromium, journey  # noqa: F401
