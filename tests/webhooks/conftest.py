import pytest


@pytest.fixture
def allow_private(settings):
    """A local receiver on 127.0.0.1 over http (refused in production: SSRF)."""
    settings.CRM_WEBHOOKS_ALLOW_PRIVATE = True
