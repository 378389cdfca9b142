"""Server time of every GET page of the app, as a rep, an agent, a manager and an admin of a
seeded database (`make bench`; issue 19). Prints figures, asserts no timing.

The pages are the project's URL patterns filled with real arguments, as the reliability suite
walks them (tests/reliability/sitemap.py), each argument a record the user may see
(tests/bench/load_records.py), plus every ready-made dashboard, each data-quality check's
list, the board of each pipeline and the record lists sorted by each column both ways. Per
page and user:
- cold: the cache emptied (chart data, board sums), one request, its queries counted;
- warm: one warm-up request (queries counted), then BENCH_RUNS (5) timed: median and p95.
A page whose cold request or warm-up takes over SLOW_COLD_MS (2 s) is timed warm only
SLOW_RUNS (2) times, and one whose warm-up takes over ONCE_COLD_MS (10 s) not again (its
warm-up is its one warm figure), so one slow page cannot eat the run.
Pages are asked for as a browser asks (the API answers with its browsable pages, as a person
visiting /api/ sees them). Downloads, the API, redirects and refusals are timed once (the
cold request); routes
that take no GET (405) are left out and counted. The admin's
pages (Django admin) are walked as the admin only, sampled as the CSP walk samples them.

The table gives each page × role the target of the issue (150 ms for a page, 300 ms for
dashboards and KPI pages, 100 ms for tasks, contacts and companies) and marks OVER when the
warm median misses it, `cold` when only the first view does. BENCH_ROLES=rep,admin and
BENCH_PAGES=deals,tickets (a path's first segment, or `admin`) narrow the walk;
BENCH_CSV=path also writes the rows as CSV.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_large .venv/bin/pytest \\
        tests/bench/test_every_page_bench.py -s -p no:cacheprovider --override-ini addopts=
"""

import csv
import os
import statistics
import time
from dataclasses import dataclass, field

import pytest
from django.core.cache import caches
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.bench.load_records import dataset_for, names_missing, people
from tests.reliability.sitemap import Route, all_routes, real_kwargs

RUNS = int(os.environ.get("BENCH_RUNS", "5"))
SLOW_COLD_MS = float(os.environ.get("BENCH_SLOW_COLD_MS", "2000"))
SLOW_RUNS = 2
ONCE_COLD_MS = float(os.environ.get("BENCH_ONCE_COLD_MS", "10000"))
ROLES = ("rep", "agent", "manager", "admin")
PAGE_TARGET_MS = 150
DASHBOARD_TARGET_MS = 300
# The tighter targets, by route name.
TARGET_BY_NAME = {"tasks": 100, "contacts": 100, "companies": 100}
# As the CSP walk: every change list, add and change page of the admin, and the history and
# delete pages only of the records reps work on.
ADMIN_SAMPLED_VIEWS = ("history", "delete")
ADMIN_WHOLE_MODELS = ("crm/deal/", "crm/lead/", "crm/contact/", "crm/company/", "crm/ticket/")


@dataclass
class Row:
    page: str
    role: str
    status: int
    target: int
    cold_ms: float
    cold_queries: int
    warm_ms: list[float] = field(default_factory=list)
    warm_queries: int | None = None
    note: str = ""

    @property
    def median(self) -> float | None:
        return statistics.median(self.warm_ms) if self.warm_ms else None

    @property
    def p95(self) -> float | None:
        return p95(self.warm_ms) if self.warm_ms else None

    @property
    def marker(self) -> str:
        if self.median is not None and self.median > self.target:
            return "OVER"
        if self.status == 200 and self.cold_ms > self.target:
            return "cold"
        return ""


def p95(timings: list[float]) -> float:
    ordered = sorted(timings)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def target_ms(route: Route) -> int:
    if route.name in TARGET_BY_NAME:
        return TARGET_BY_NAME[route.name]
    return DASHBOARD_TARGET_MS if route.template.startswith("dashboards/") else PAGE_TARGET_MS


def _wanted_area(route: Route) -> bool:
    wanted = os.environ.get("BENCH_PAGES")
    if not wanted:
        return True
    area = "admin" if route.is_admin else route.area
    return area in wanted.split(",")


def _admin_sampled(route: Route) -> bool:
    last = route.template.rstrip("/").rsplit("/", 1)[-1]
    if last in ADMIN_SAMPLED_VIEWS:
        return route.template.startswith(tuple(f"admin/{m}" for m in ADMIN_WHOLE_MODELS))
    # `<object_id>/` alone only redirects to the change page; `(?P<url>.*)` is the catch-all.
    return not route.template.endswith("<path:object_id>/") and "(?P<url>" not in route.template


def pages_for(role: str, data) -> tuple[list[tuple[Route, str]], list[str]]:
    """(route, path) of every page to time as the role, and the routes left out, with why."""
    from metrics.dashboards import READY_MADE
    from metrics.quality import CHECKS

    pages, left_out = [], []
    for route in all_routes():
        if not _wanted_area(route):
            continue
        if route.is_admin and (role != "admin" or not _admin_sampled(route)):
            continue
        if "format" in dict(route.converters):
            continue  # the API's `.json` twin of a route walked without it
        kwargs = real_kwargs(route, data)
        if kwargs is None or names_missing(kwargs):
            left_out.append(route.key)  # the user sees no record of the kind it names
            continue
        if route.name == "dashboard":
            pages += [(route, route.url({"slug": slug})) for slug in READY_MADE]
        elif route.name == "data-quality":
            # The page, and the records of each of its checks (a page of its own to a user).
            pages.append((route, route.url(kwargs)))
            pages += [(route, f"{route.url(kwargs)}?check={key}") for key in CHECKS]
        elif route.name in sorted_lists():
            # The list, and the list sorted by each column both ways: the default order alone
            # hid sorts that read every visible row (0.5-0.7 s on the deals).
            pages.append((route, route.url(kwargs)))
            pages += [
                (route, f"{route.url(kwargs)}?sort={sign}{column}")
                for column in sorted_lists()[route.name]
                for sign in ("", "-")
            ]
        elif route.name == "deal-board":
            # The board of each pipeline: the default one alone hid a lost column of 56k deals
            # in another pipeline that a rep's board read whole (273 ms).
            pages += [(route, f"{route.url(kwargs)}?pipeline={pk}") for pk in pipeline_ids()]
        else:
            pages.append((route, route.url(kwargs)))
    return pages, left_out


def sorted_lists() -> dict[str, list[str]]:
    """{list route name: its sortable columns} of the record lists (crm.lists.ListPage)."""
    from crm.views.companies import COMPANIES
    from crm.views.contacts import CONTACTS
    from crm.views.deals import DEALS
    from crm.views.leads import LEADS

    return {
        page.name: [column.sort for column in page.columns if column.sort]
        for page in (DEALS, LEADS, CONTACTS, COMPANIES)
    }


def pipeline_ids() -> list[int]:
    from crm.models import Pipeline

    return list(Pipeline.objects.order_by("order", "pk").values_list("pk", flat=True))


# What a browser asks for: the API answers it with its browsable pages, the heavier form of
# each (its filter and post forms), which a JSON client never sees.
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def _get(client: Client, path: str):
    started = time.perf_counter()
    response = client.get(path, headers={"accept": BROWSER_ACCEPT})
    if response.streaming:
        b"".join(response.streaming_content)  # a download's time is its whole body
    return response, (time.perf_counter() - started) * 1000


def _timed_once(route: Route, response) -> bool:
    """Downloads, JSON, redirects and refusals: one request says enough."""
    content_type = response.get("Content-Type", "")
    return (
        route.template.startswith("api/")
        or response.status_code != 200
        or response.streaming
        or response.has_header("Content-Disposition")
        or not content_type.startswith("text/html")
    )


def measure(client: Client, route: Route, path: str, role: str) -> Row:
    caches["default"].clear()
    with CaptureQueriesContext(connection) as cold:
        response, cold_ms = _get(client, path)
    row = Row(path, role, response.status_code, target_ms(route), cold_ms, len(cold))
    if _timed_once(route, response):
        row.note = "once"
        return row
    with CaptureQueriesContext(connection) as warm:
        warm_up_ms = _get(client, path)[1]
    row.warm_queries = len(warm)
    if warm_up_ms > ONCE_COLD_MS:
        row.warm_ms, row.note = [warm_up_ms], "warm-up only: too slow to repeat"
        return row
    runs = SLOW_RUNS if max(cold_ms, warm_up_ms) > SLOW_COLD_MS else RUNS
    row.warm_ms = [_get(client, path)[1] for _run in range(runs)]
    if runs != RUNS:
        row.note = f"{runs} runs"
    return row


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}"


HEADER = (
    f"{'page':<58} {'role':<8} {'status':>6} {'cold ms':>8} {'cold q':>6} "
    f"{'median':>7} {'p95':>7} {'q':>5} {'target':>6}  "
)


def format_row(row: Row) -> str:
    return (
        f"{row.page[:58]:<58} {row.role:<8} {row.status:>6} {row.cold_ms:>8.0f} "
        f"{row.cold_queries:>6} {_ms(row.median):>7} {_ms(row.p95):>7} "
        f"{'' if row.warm_queries is None else row.warm_queries:>5} {row.target:>6}  "
        f"{row.marker} {row.note}".rstrip()
    )


def write_csv(rows: list[Row], path: str) -> None:
    with open(path, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(
            ["page", "role", "status", "cold_ms", "cold_queries", "median_ms", "p95_ms"]
            + ["warm_queries", "target_ms", "marker", "note"]
        )
        for row in rows:
            writer.writerow(
                [row.page, row.role, row.status, round(row.cold_ms, 1), row.cold_queries]
                + [_ms(row.median), _ms(row.p95), row.warm_queries, row.target]
                + [row.marker, row.note]
            )


def print_table(rows: list[Row], skipped: dict[str, list[str]], seconds: float) -> None:
    order = {role: index for index, role in enumerate(ROLES)}
    rows = sorted(rows, key=lambda row: (row.page, order[row.role]))
    print(f"\n{HEADER}")
    for row in rows:
        print(format_row(row))
    timed = [row for row in rows if row.warm_ms]
    over = [row for row in timed if row.marker == "OVER"]
    cold = [row for row in rows if row.marker == "cold"]
    print(
        f"\n{len(rows)} page × role rows ({len(timed)} timed warm, {len(rows) - len(timed)} "
        f"once) in {seconds:.0f} s; warm median over target: {len(over)}; "
        f"only the cold view over: {len(cold)}"
    )
    for role, reasons in skipped.items():
        for reason, keys in reasons.items():
            if keys:
                print(f"left out as {role}, {reason}: {len(keys)}: {', '.join(sorted(keys))}")


@pytest.fixture(scope="module")
def report():
    """Rows of every role, printed as one table when the module ends."""
    collected = {"rows": [], "skipped": {}, "started": time.monotonic()}
    yield collected
    if collected["rows"]:
        print_table(
            collected["rows"], collected["skipped"], time.monotonic() - collected["started"]
        )
        if os.environ.get("BENCH_CSV"):
            write_csv(collected["rows"], os.environ["BENCH_CSV"])


@pytest.fixture(scope="module")
def everyone(seeded_database):
    found = people()
    if not found:
        pytest.skip("the seeded database has no users of the four roles: run seed_demo")
    return found


def _roles() -> list[str]:
    wanted = os.environ.get("BENCH_ROLES")
    return [role for role in ROLES if not wanted or role in wanted.split(",")]


@pytest.mark.postgres
@pytest.mark.parametrize("role", _roles())
def test_every_page_as_each_role(everyone, report, role):
    user = everyone.get(role)
    if user is None:
        pytest.skip(f"the seeded database has no {role}")
    pages, left_out = pages_for(role, dataset_for(user, everyone))
    client = Client(raise_request_exception=False)
    client.force_login(user)
    rows, not_get = [], []
    started = time.monotonic()
    try:
        for route, path in pages:
            row = measure(client, route, path, role)
            if row.status == 405:
                not_get.append(route.key)
            else:
                rows.append(row)
    finally:
        client.logout()  # removes the session row the login wrote
    report["rows"] += rows
    report["skipped"][role] = {"no record of the kind": left_out, "no GET (405)": not_get}
    print(
        f"\n{role} ({user.username}): {len(rows)} pages in {time.monotonic() - started:.0f} s"
        f", {len(not_get)} routes take no GET, {len(left_out)} without a record"
    )
    errors = [f"{row.page} ({row.status})" for row in rows if row.status >= 500]
    assert not errors, f"server errors as the {role}: {', '.join(errors)}"
