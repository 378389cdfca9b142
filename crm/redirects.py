"""Where a post returns: the `next` a page sent along, followed only to a page of this site.

Every view that reads `next` calls `next_url` before it writes anything and answers with
`redirect_to`, which takes the value as a URL, never as a URL name. (`redirect("abc")` tries
`reverse("abc")` and raised NoReverseMatch after the change had committed, so a retry made
the change twice: issue 16, item 5.) A bad `next` is not an error: the view's own page
replaces it.
"""

from urllib.parse import unquote, urlsplit

from django.http import HttpResponseRedirect
from django.urls import Resolver404, resolve
from django.utils.http import url_has_allowed_host_and_scheme

# Longer than any address our pages send (a list with every filter set and sorted).
MAX_NEXT_LENGTH = 2000


def safe_path(request, candidate) -> str | None:
    """`candidate` if it is a path of this site that a page answers, else None."""
    if not isinstance(candidate, str) or not candidate or len(candidate) > MAX_NEXT_LENGTH:
        return None
    # A path, not a URL: no scheme, no host (//evil, /\evil), no header-breaking characters.
    if not candidate.startswith("/") or candidate.startswith(("//", "/\\")):
        return None
    if any(ord(char) < 32 or ord(char) == 127 for char in candidate):
        return None
    if not url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return None
    try:
        resolve(unquote(urlsplit(candidate).path))
    except (Resolver404, ValueError):
        return None
    return candidate


def next_url(request, default: str | None = None) -> str | None:
    """The request's `next` (posted, else in the query) if safe, else `default`."""
    candidate = request.POST.get("next") or request.GET.get("next")
    return safe_path(request, candidate) or default


def redirect_to(url: str) -> HttpResponseRedirect:
    """A redirect to a URL this module checked or a view built (never a user's URL name)."""
    return HttpResponseRedirect(url)
