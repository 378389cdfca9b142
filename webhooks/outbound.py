"""Calling a URL outside: the SSRF check and one signed POST, shared by the webhook
subscriptions and the automations' webhook action.

The URL is checked when it is saved and again at each call, resolving its host: every address
must be public (not private, loopback, link-local, multicast or reserved), and the connection
goes to the address that was checked, so a DNS answer that changes between the check and the
call (rebinding) cannot send the request inside. Redirects are not followed.
"""

import hashlib
import hmac
import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

TIMEOUT_SECONDS = 5
SIGNATURE_HEADER = "X-CRM-Signature"
TIMESTAMP_HEADER = "X-CRM-Timestamp"
EXCERPT_BYTES = 2000


def allow_private() -> bool:
    return bool(settings.DEBUG or getattr(settings, "CRM_WEBHOOKS_ALLOW_PRIVATE", False))


def sign(body: bytes, secret: str, timestamp: str) -> str:
    """`sha256=<hex>` of HMAC-SHA256 over "<timestamp>.<body>": a receiver recomputes it."""
    message = timestamp.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url(url: str, *, unresolved_ok: bool = False) -> list[str]:
    """The URL's checked addresses; ValidationError when it may not be called.

    `unresolved_ok`: a host that does not resolve now passes (an automation saved while the
    receiver's name is not yet live); the call checks again anyway.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise ValidationError(_("Enter a valid URL.")) from error
    scheme, host = parts.scheme.lower(), parts.hostname
    private_ok = allow_private()
    if scheme not in ("https", "http") or not host:
        raise ValidationError(_("Enter a valid https:// URL."))
    if scheme == "http" and not private_ok:
        raise ValidationError(_("Webhook URLs must use https://."))
    if parts.username or parts.password:
        raise ValidationError(_("Put credentials in the receiver's check, not in the URL."))
    port = port or (443 if scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError, ValueError) as error:
        if unresolved_ok:
            return []
        raise ValidationError(
            _("The host %(host)s does not resolve.") % {"host": host}, code="unresolved"
        ) from error
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise ValidationError(
            _("The host %(host)s does not resolve.") % {"host": host}, code="unresolved"
        )
    if not private_ok and not all(_is_public(address) for address in addresses):
        raise ValidationError(
            _(
                "%(host)s is a private, loopback, link-local or reserved address: "
                "webhooks are only sent to public addresses."
            )
            % {"host": host}
        )
    return addresses


def signed_headers(body: bytes, secret: str) -> dict:
    timestamp = str(int(time.time()))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(body, secret, timestamp)}


@dataclass
class Response:
    status: int | None
    excerpt: str
    error: str
    latency_ms: int
    # The URL failed the check (no request was sent): trying again will not help.
    refused: bool = False


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host, address, **kwargs):
        super().__init__(host, **kwargs)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host, address, **kwargs):
        super().__init__(host, **kwargs)
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        # The certificate is checked against the host name, not the address.
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post_json(url: str, body: bytes, *, headers: dict, timeout: float | None = None) -> Response:
    """One POST of a JSON body (the URL checked again now); never raises for a network or
    HTTP failure."""
    started = time.perf_counter()

    def done(status=None, excerpt="", error="", refused=False):
        latency = int((time.perf_counter() - started) * 1000)
        return Response(status, excerpt, error[:500], latency, refused)

    try:
        addresses = check_url(url)
    except ValidationError as error:
        # A name that does not resolve now may later (a DNS outage): only that is retried.
        return done(error=" ".join(error.messages), refused=error.code != "unresolved")
    parts = urlsplit(url)
    timeout = timeout or TIMEOUT_SECONDS
    headers = {"Content-Type": "application/json", **headers}
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if parts.scheme.lower() == "https":
        connection = _PinnedHTTPSConnection(
            parts.hostname,
            addresses[0],
            port=parts.port,
            timeout=timeout,
            context=ssl.create_default_context(),
        )
    else:
        connection = _PinnedHTTPConnection(
            parts.hostname, addresses[0], port=parts.port, timeout=timeout
        )
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        excerpt = response.read(EXCERPT_BYTES).decode("utf-8", "replace")
        return done(status=response.status, excerpt=excerpt)
    except (OSError, http.client.HTTPException, ValueError) as failure:
        return done(error=f"{type(failure).__name__}: {failure}" if str(failure) else repr(failure))
    finally:
        connection.close()
