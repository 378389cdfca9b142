"""Every URL of the project, as every role, with hostile query values and URL arguments:
a clean answer (2xx, 3xx, 4xx) every time, never a server error.

This is the CI sample (see tests/reliability/fuzz.py for how it rotates the values);
tests/bench/test_url_fuzz_full.py sends every parameter alone with every value.
"""

import pytest

from tests.reliability.fuzz import MIDDLEWARE, Fuzzer, Plan, routes_by_area
from tests.reliability.sitemap import all_routes, build_dataset, real_kwargs

pytestmark = pytest.mark.django_db


ROUTES_BY_AREA = routes_by_area()


@pytest.fixture
def fuzzer(settings, figures):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, MIDDLEWARE]
    return Fuzzer(build_dataset(), figures, Plan())


def test_every_route_gets_real_arguments():
    """A route added to the project is walked with real ids, or this names it."""
    data = build_dataset()
    assert len(ROUTES_BY_AREA) > 20 and {"admin-crm", "api", "goals", "help"} <= set(ROUTES_BY_AREA)
    missing = [route.template for route in all_routes() if real_kwargs(route, data) is None]
    assert not missing, "teach tests/reliability/sitemap.real_kwargs: " + ", ".join(missing)


@pytest.mark.parametrize("name", sorted(ROUTES_BY_AREA))
def test_hostile_gets_never_answer_a_server_error(fuzzer, name):
    for index, route in ROUTES_BY_AREA[name]:
        fuzzer.fuzz_route(route, index)
    outcome = fuzzer.outcome
    assert outcome.requests > 0
    errors = outcome.server_errors
    assert not errors, f"{len(errors)} server errors:\n" + "\n".join(errors[:20])
