"""Read-only requests: the pages that only read numbers may read them from a replica.

The dashboards, the KPI pages (their drill-down included), their CSV exports and the KPI API
are the heaviest reads of the site and write nothing that they read back. A GET of one of them
runs its view inside the read-only scope, which crm/db_router.py consults: reads go to the
replica (when one is configured), writes still go to the primary. Every other request, every
Celery task and every command runs outside the scope and reads the primary.

The KPI API is in the list because the KPI page is: one number everywhere, read from the same
database whichever way it is asked for.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# Route names (crm/urls, metrics/urls.py, api/urls_metrics.py).
READ_ONLY_ROUTES = frozenset(
    {
        "dashboards",
        "dashboard",
        "custom-dashboard",
        "kpi",
        "kpi-export",
        "api-kpi-list",
        "api-kpi-detail",
        "api-kpi-snapshot-list",
    }
)
READ_ONLY_METHODS = frozenset({"GET", "HEAD"})

_read_only = ContextVar("crm_read_only_request", default=False)


def in_read_only_scope() -> bool:
    return _read_only.get()


@contextmanager
def read_only_scope():
    token = _read_only.set(True)
    try:
        yield
    finally:
        _read_only.reset(token)


def is_read_only_request(request) -> bool:
    match = request.resolver_match
    return (
        request.method in READ_ONLY_METHODS
        and match is not None
        and "admin" not in match.namespaces
        and match.url_name in READ_ONLY_ROUTES
    )


class ReadOnlyRequestMiddleware:
    """Runs the view of a read-only request (and the streaming of its response, a CSV export)
    inside the read-only scope. Placed after the authentication middleware: the session and
    the user are read before the scope opens, from the primary, so a login made a moment ago
    is never missed on a replica that lags."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _read_only.set(False)
        try:
            response = self.get_response(request)
            if in_read_only_scope() and response.streaming:
                response.streaming_content = _streamed_in_scope(response.streaming_content)
            return response
        finally:
            _read_only.reset(token)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if is_read_only_request(request):
            user = getattr(request, "user", None)
            if user is not None:
                user.is_authenticated  # noqa: B018 - loads the lazy user before the scope opens
            _read_only.set(True)
        return None


def _streamed_in_scope(chunks) -> Iterator:
    """A streamed response is produced after the view returned, chunk by chunk, as the server
    sends it: each chunk is made inside the scope, so its reads go where the view's went."""
    iterator = iter(chunks)
    while True:
        with read_only_scope():
            try:
                chunk = next(iterator)
            except StopIteration:
                return
        yield chunk
