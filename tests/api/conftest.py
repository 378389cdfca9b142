import pytest
from rest_framework.test import APIClient


@pytest.fixture
def api():
    """A DRF client; `api.force_authenticate(user)` or a bearer token signs it in."""
    return APIClient()
