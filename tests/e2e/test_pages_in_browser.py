"""Pages as a browser runs them: scripts load under the strict CSP and nothing is refused."""

import pytest

from tests.services import csp_violations

# The live server reads committed rows; the rollback restores the rows migrations wrote
# (roles, the default pipeline) that a transactional test flushes.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_home_renders_with_navigation_and_no_csp_violation(page_as, rep):
    page = page_as(rep)
    refused = csp_violations(page)
    page.goto("/")
    assert str(rep) in page.get_by_test_id("current-user").inner_text()
    assert page.locator("nav a.nav-link", has_text="Deals").count() == 1
    assert refused == []
