from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseBadRequest, HttpResponseNotAllowed
from django.utils.translation import gettext as _

from crm import access


class LoginRequiredExceptApiMiddleware(LoginRequiredMiddleware):
    """Pages redirect anonymous visitors to the login page; the API answers 401/403 itself."""

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path_info.startswith("/api/"):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


class RoutePermissionMiddleware:
    """The permission floor of every page, decided in one place (access.ROUTE_PERMISSIONS)
    before the view runs: a page that writes needs the permissions listed for it (403
    without), and a page listed nowhere takes no write (405). Views still check the record
    itself. The API answers with DRF's permission classes, the admin with its own."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if request.path_info.startswith("/api/") or "admin" in match.namespaces:
            return None
        refusal = access.route_refusal(request.user, match.url_name, request.method)
        if refusal == 405:
            return HttpResponseNotAllowed(sorted(access.SAFE_METHODS - {"TRACE"}))
        if refusal == 403:
            raise PermissionDenied
        return None


class RejectNulBytesMiddleware:
    """A NUL character in a query or form value is never meant: PostgreSQL refuses it in text,
    which would surface as a server error from whichever query first used the value. Refuse
    the request once, here, before any view reads or writes anything."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _has_nul(request.GET) or (request.method == "POST" and _has_nul(request.POST)):
            return HttpResponseBadRequest(
                _("The request contained a NUL character, which no field accepts.")
            )
        return self.get_response(request)


def _has_nul(query_dict) -> bool:
    return any(
        "\x00" in key or any("\x00" in value for value in values)
        for key, values in query_dict.lists()
    )
