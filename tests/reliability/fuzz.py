"""The GET fuzz: every route × every role × hostile query values and URL arguments.

A probe is one GET carrying every parameter of the route at once (a fixed list of common
names, the admin's own, and every key the page was seen to read), each with a different
hostile value. A test middleware records which query keys the view, its forms, filters and
template look up, so the fuzz learns each page's own parameters as it goes, and knows when a
role never reached the code that reads them (refused at the door: one probe is enough).

Two sizes share this code:
- the CI sample (`tests/reliability/test_url_fuzz.py`, `Plan()`): per route, one probe per
  role and at least `probes_per_route` probes by roles that reach the page; the values rotate
  with the route and the probe, so each probe uses every hostile value (on different
  parameters) and each parameter meets different values from route to route;
- the full run (`tests/bench/test_url_fuzz_full.py`, `Plan.full()`): besides the probes,
  every parameter alone with every value and every bad URL argument, for every role.

A probe refused as a whole (a 4xx where the plain page answers) is split in halves until each
refused value stands alone, so no value hides behind another's rejection; a probe answered
with a server error is split the same way to name the parameter and value that cause it.
Every request counts one bad input; a 4xx counts a clean rejection, a 5xx a server error.
"""

import itertools
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib import admin
from django.http import QueryDict
from django.shortcuts import resolve_url
from django.test import Client

from tests.reliability.sitemap import ROLES, Dataset, Route, all_routes, real_kwargs

NUL = "\x00"
# (label, value); a list is the parameter repeated. A NUL byte is refused for the whole
# request by one middleware, so it would hide every other value of a probe: it goes alone.
HOSTILE = (
    ("10,000 chars", "A" * 10_000),
    ("RTL and emoji", "\u202eمرحبا עולם 🎉👩‍👩‍👧"),
    ("0001-01-01", "0001-01-01"),
    ("9999-12-31", "9999-12-31"),
    ("9999-12-31T23:59:59-14:00", "9999-12-31T23:59:59-14:00"),
    ("1e309", "1e309"),
    ("NaN", "NaN"),
    ("-0", "-0"),
    ("10**30", str(10**30)),
    ("path", "../../etc/passwd"),
    ("script", "<script>alert(1)</script>"),
    ("SQL", "' OR 1=1--"),
    ("empty", ""),
    ("repeated", ["1", "<b>2</b>"]),
)
COMMON_PARAMS = (
    "q",
    "page",
    "cursor",
    "sort",
    "order",
    "date",
    "from",
    "to",
    "start",
    "end",
    "segment",
    "grain",
    "records",
    "next",
    "columns",
    "status",
    "owner",
    "team",
    "stage",
    "pipeline",
    "kind",
    *(
        f"custom__{key}__{end}"
        for key in ("cf_number", "cf_date", "cf_datetime")
        for end in ("min", "max")
    ),
)
ADMIN_PARAMS = ("o", "p", "all", "e", "_to_field", "_popup", "_changelist_filters", "term")
# URL arguments that name nothing, or nothing this user may see.
BAD_IDS = (0, -1, 99_999_999, "abc", 10**30, "١٢٣é🎉")
BAD_TEXT = ("../../etc/passwd", "<script>", "' OR 1=1--", "A" * 2_000)


class _Reads:
    """The query keys looked up during the current request."""

    keys: set = set()


class RecordingQueryDict(QueryDict):
    """A QueryDict that notes every key looked up, including through its copies."""

    def __getitem__(self, key):
        _Reads.keys.add(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        _Reads.keys.add(key)
        return super().__contains__(key)

    def getlist(self, key, default=None):
        _Reads.keys.add(key)
        return super().getlist(key, default)


class RecordQueryReads:
    """Test-only middleware, last in the chain: the view sees a recording `request.GET`."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        recording = RecordingQueryDict(mutable=True)
        for key, values in request.GET.lists():
            recording.setlist(key, values)
        recording._mutable = False
        request.GET = recording
        return self.get_response(request)


MIDDLEWARE = "tests.reliability.fuzz.RecordQueryReads"


@dataclass(frozen=True)
class Plan:
    """How much to send per route."""

    probes_per_route: int = 3  # probes by roles that reach the page's parameters
    bad_args_per_role: int = 2  # bad values per URL argument, rotating through the pools
    # The admin is Django's own pages for ~40 models (~270 routes): one probe and one bad
    # argument per route keeps the CI sample bounded; the rotation spreads the values.
    admin_probes_per_route: int = 1
    admin_bad_args_per_role: int = 1
    singles: bool = False  # also every parameter alone with every value, for every role

    @classmethod
    def full(cls) -> "Plan":
        return cls(
            probes_per_route=len(HOSTILE),
            bad_args_per_role=len(BAD_IDS + BAD_TEXT),
            admin_probes_per_route=len(HOSTILE),
            admin_bad_args_per_role=len(BAD_IDS + BAD_TEXT),
            singles=True,
        )


@dataclass
class Outcome:
    requests: int = 0
    rejections: int = 0
    server_errors: list[str] = field(default_factory=list)
    split_requests: int = 0
    refused_alone: set = field(default_factory=set)  # (route, parameter, value label)


@dataclass
class Answer:
    status: int
    reads: set
    to_login: bool
    error: str = ""


def routes_by_area() -> dict[str, list[tuple[int, Route]]]:
    """Every route with its place in the walk (which rotates its values), by area."""
    found = defaultdict(list)
    for index, route in enumerate(all_routes()):
        found[route.area].append((index, route))
    return dict(found)


def clients(data: Dataset) -> dict[str, Client]:
    found = {}
    for role in ROLES:
        client = Client(raise_request_exception=False)
        if data.users[role] is not None:
            client.force_login(data.users[role])
        found[role] = client
    return found


def admin_params(route: Route) -> list[str]:
    """The admin's own query keys, and the filters of a changelist's sidebar."""
    if not route.is_admin:
        return []
    names = list(ADMIN_PARAMS)
    parts = route.template.split("/")
    model_admin = next(
        (
            registered
            for model, registered in admin.site._registry.items()
            if len(parts) == 4
            and parts[3] == ""
            and (model._meta.app_label, model._meta.model_name) == (parts[1], parts[2])
        ),
        None,
    )
    for item in getattr(model_admin, "list_filter", ()) or ():
        if isinstance(item, str | tuple):
            name = item if isinstance(item, str) else item[0]
            suffixes = ("exact", "id__exact", "isnull", "gte", "lt")
            names += [f"{name}__{suffix}" for suffix in suffixes]
        elif hasattr(item, "parameter_name"):
            names.append(item.parameter_name)
    return names


def query(pairs) -> str:
    encoded = QueryDict(mutable=True)
    for name, value in pairs:
        encoded.setlist(name, value if isinstance(value, list) else [value])
    return encoded.urlencode()


def describe(pairs) -> str:
    labels = {repr(value): label for label, value in HOSTILE}
    labels[repr(NUL)] = "NUL"
    text = ", ".join(f"{name}={labels.get(repr(value), repr(value)[:40])}" for name, value in pairs)
    return text if len(text) <= 300 else text[:290] + "…"


def _short(url: str) -> str:
    return url if len(url) <= 160 else url[:150] + f"…({len(url)} chars)"


def _login_urls() -> tuple[str, ...]:
    return (resolve_url(settings.LOGIN_URL), "/admin/login/")


class Fuzzer:
    def __init__(self, data: Dataset, figures, plan: Plan):
        self.data = data
        self.figures = figures
        self.plan = plan
        self.clients = clients(data)
        self.outcome = Outcome()
        self.login_urls = _login_urls()
        # Parameter names seen refusing a whole request (the admin's `_to_field`, a
        # dashboard's `date`): sent alone, they do not hide the other parameters' values.
        self.solo: dict[str, set[str]] = defaultdict(set)  # by area (Route.area)

    # One request ----------------------------------------------------------------------

    def send(self, role: str, url: str, *, hostile: bool = True, count_error=True) -> Answer:
        _Reads.keys = set()
        response = self.clients[role].get(url)
        status, error = response.status_code, response.exc_info
        if status < 500 and getattr(response, "streaming", False):
            # A streamed body (CSV) fails while it is sent, after the status line.
            try:
                b"".join(response.streaming_content)
            except Exception as exc:  # noqa: BLE001 - any failure here is the finding
                status, error = 500, (type(exc), exc, exc.__traceback__)
        reads, _Reads.keys = _Reads.keys, set()
        location = response.get("Location", "") if 300 <= status < 400 else ""
        answer = Answer(
            status=status,
            reads=reads,
            to_login=location.startswith(self.login_urls),
            error=f"{error[0].__name__}: {' '.join(str(error[1]).split())[:200]}" if error else "",
        )
        if hostile:
            self.outcome.requests += 1
            self.figures.tried("bad_inputs")
            if 400 <= status < 500:
                self.outcome.rejections += 1
                self.figures.add("clean_rejections")
        if status >= 500 and count_error:
            self.server_error(role, url, answer)
        return answer

    def server_error(self, role: str, url: str, answer: Answer, pairs=None) -> None:
        what = f" [{describe(pairs)}]" if pairs else ""
        detail = f"{role} {_short(url)}{what} -> {answer.status} ({answer.error or '?'})"
        self.outcome.server_errors.append(detail)
        self.figures.add("server_errors", detail)

    # One route ------------------------------------------------------------------------

    def fuzz_route(self, route: Route, index: int) -> None:
        """Probe `route` as every role; `index` (its place in the walk) rotates the values."""
        kwargs = real_kwargs(route, self.data)
        assert kwargs is not None, (
            f"{route.template}: no real arguments; teach tests/reliability/sitemap.real_kwargs"
        )
        path = route.url(kwargs)
        params = list(dict.fromkeys([*COMMON_PARAMS, *admin_params(route)]))
        plan = self.plan
        probes = plan.admin_probes_per_route if route.is_admin else plan.probes_per_route
        bad_args = plan.admin_bad_args_per_role if route.is_admin else plan.bad_args_per_role
        slot = index * probes
        plain: dict[str, int] = {}
        readers = []
        for role in ROLES:
            # The parameters that refuse a whole request go alone in the first reader's probe
            # (and the extra ones), not in every role's.
            answer = self.probe(role, route, path, params, slot, plain, solo=not readers)
            if answer.reads:
                # The role reached the code reading the query: it counts towards the probes,
                # and the keys it read join the parameters.
                readers.append(role)
                slot += 1
                params += [key for key in sorted(answer.reads) if key not in params]
            if not (answer.to_login or answer.status == 405):
                self.bad_arguments(role, route, kwargs, index, bad_args)
            if plan.singles and answer.reads:
                values = [value for _, value in HOSTILE] + [NUL]
                for name, value in itertools.product(params, values):
                    self.send(role, f"{path}?{query([(name, value)])}")
        for extra in range(max(probes - len(readers), 0) if readers else 0):
            self.probe(readers[extra % len(readers)], route, path, params, slot, plain, solo=True)
            slot += 1
        self.nul(ROLES[index % len(ROLES)], path, params, index)

    def probe(self, role, route, path, params, slot, plain, *, solo: bool) -> Answer:
        """Every parameter with a value rotated by `slot`, together, except those already
        seen refusing a whole request in this area: when `solo` and the role reaches the
        code reading the query, each of them goes alone."""
        pairs = [(name, HOSTILE[(i + slot) % len(HOSTILE)][1]) for i, name in enumerate(params)]
        refusing = self.solo[route.area]
        together = [pair for pair in pairs if pair[0] not in refusing] or pairs[:1]
        answer = self.send_split(role, route, path, together, plain)
        if solo and answer.reads:
            for pair in pairs:
                if pair[0] in refusing and pair not in together:
                    answer.reads |= self.send_split(role, route, path, [pair], plain).reads
        return answer

    def send_split(self, role, route, path, pairs, plain, refused=False) -> Answer:
        """Send the pairs; split them when the page refused them together though it serves
        the plain request, or failed on them (to name the value that fails it)."""
        url = f"{path}?{query(pairs)}"
        answer = self.send(role, url, count_error=len(pairs) == 1)
        if len(pairs) == 1:
            if refused and 400 <= answer.status < 500:
                # This parameter refuses a whole request: from now on it goes alone.
                self.solo[route.area].add(pairs[0][0])
                self.outcome.refused_alone.add((path, pairs[0][0], describe(pairs)))
            return answer
        if answer.status >= 500:
            if self._plain(role, path, plain) >= 500:
                return answer  # the page fails without any query: reported once, as is
            halves = self._halves(role, route, path, pairs, plain)
            if all(half.status < 500 for half in halves):
                # Only the combination fails: report it whole.
                self.server_error(role, _short(url), answer, pairs)
        elif 400 <= answer.status < 500 and answer.reads:
            if self._plain(role, path, plain) < 400:
                self._halves(role, route, path, pairs, plain, refused=True)
        return answer

    def _plain(self, role: str, path: str, plain: dict) -> int:
        """The page's status without a query, for this role (asked once)."""
        if role not in plain:
            plain[role] = self.send(role, path, hostile=False).status
        return plain[role]

    def _halves(self, role, route, path, pairs, plain, refused=False) -> list[Answer]:
        middle = len(pairs) // 2
        self.outcome.split_requests += 2
        return [
            self.send_split(role, route, path, pairs[:middle], plain, refused),
            self.send_split(role, route, path, pairs[middle:], plain, refused),
        ]

    def nul(self, role: str, path: str, params: list[str], index: int) -> None:
        """One NUL per route, in a parameter and as a role rotating with the route."""
        name = params[index % len(params)]
        self.send(role, f"{path}?{query([(name, NUL)])}")

    def bad_arguments(self, role: str, route: Route, kwargs: dict, index: int, count: int):
        """URL arguments naming nothing (or garbage), the others real."""
        role_index = ROLES.index(role)
        for argument, converter in route.converters:
            pool = BAD_IDS if converter == "int" else BAD_IDS + BAD_TEXT
            count = min(count, len(pool))
            for k in range(count):
                bad = pool[((index + role_index) * count + k) % len(pool)]
                self.send(role, route.url({**kwargs, argument: bad}))
