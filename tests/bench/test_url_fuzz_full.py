"""The GET fuzz at full size: every route × every role × every parameter alone with every
hostile value (NUL included) × every bad URL argument, besides the CI sample's probes.

Not part of `make test` (tens of thousands of requests); run it with

    .venv/bin/pytest tests/bench/test_url_fuzz_full.py -p no:cacheprovider --override-ini addopts=

FUZZ_SIZE chooses the size: `full` (the default), `ci` (the sample of
tests/reliability/test_url_fuzz.py) or a number N (N probes per route, N bad URL arguments
per role, no single-parameter requests). FUZZ_AREAS=deals,admin-crm limits the walk to those
areas (a route's area is its first path segment, or admin-<app>). It uses the test database
(SQLite, or DATABASE_URL), not a seeded one.
"""

import os

import pytest

from tests.reliability.conftest import Figures
from tests.reliability.fuzz import MIDDLEWARE, Fuzzer, Plan, routes_by_area
from tests.reliability.sitemap import build_dataset

pytestmark = pytest.mark.django_db

ROUTES_BY_AREA = routes_by_area()
AREAS = [
    name
    for name in sorted(ROUTES_BY_AREA)
    if not os.environ.get("FUZZ_AREAS") or name in os.environ["FUZZ_AREAS"].split(",")
]


def plan_from_environment() -> Plan:
    size = os.environ.get("FUZZ_SIZE", "full")
    if size == "full":
        return Plan.full()
    if size == "ci":
        return Plan()
    count = int(size)
    return Plan(
        probes_per_route=count,
        bad_args_per_role=count,
        admin_probes_per_route=count,
        admin_bad_args_per_role=count,
    )


@pytest.fixture(scope="module")
def tally():
    figures = Figures()
    yield figures
    print("\n" + figures.line())


@pytest.mark.parametrize("name", AREAS)
def test_hostile_gets_never_answer_a_server_error(settings, tally, name):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, MIDDLEWARE]
    fuzzer = Fuzzer(build_dataset(), tally, plan_from_environment())
    for index, route in ROUTES_BY_AREA[name]:
        fuzzer.fuzz_route(route, index)
    outcome = fuzzer.outcome
    print(f"\n{name}: {outcome.requests:,} requests, {outcome.rejections:,} clean rejections")
    errors = outcome.server_errors
    assert not errors, f"{len(errors)} server errors:\n" + "\n".join(errors[:20])
