"""The client's address, the one key that rate limits, the login lockout and the login log
share.

Behind a proxy every request comes from the proxy's address, and anybody can send an
X-Forwarded-For header. So the header is read only when the direct peer (REMOTE_ADDR) is one
of `CRM_TRUSTED_PROXIES`, and then only its right-most address that is not itself a trusted
proxy: the entries to the left of that one were written by the client and prove nothing.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings

# Every request whose address cannot be read (no REMOTE_ADDR, a Unix socket without a proxy
# setting) shares this one: it is throttled as one client rather than not at all.
UNKNOWN = "0.0.0.0"  # noqa: S104 - a value, not a bind address

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def client_ip(request) -> str:
    """The address to count `request` against, always a valid IP address."""
    peer = _parse(request.META.get("REMOTE_ADDR", ""))
    if peer is None:
        return UNKNOWN
    networks = trusted_networks(tuple(settings.CRM_TRUSTED_PROXIES))
    if not _is_trusted(peer, networks):
        return str(peer)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    for entry in reversed(forwarded.split(",")):
        address = _parse(entry)
        if address is None:
            # Not an address a proxy of ours wrote: stop at the last hop we can vouch for.
            break
        if not _is_trusted(address, networks):
            return str(address)
        peer = address
    return str(peer)


@lru_cache(maxsize=8)
def trusted_networks(values: tuple[str, ...]) -> tuple[ipaddress.IPv4Network, ...]:
    """`CRM_TRUSTED_PROXIES` as networks; a single address is a network of one."""
    return tuple(ipaddress.ip_network(value.strip(), strict=False) for value in values if value)


def _is_trusted(address: Address, networks) -> bool:
    if getattr(address, "ipv4_mapped", None):
        address = address.ipv4_mapped
    return any(address in network for network in networks)


def _parse(value: str) -> Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # [2001:db8::1]:443
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # 203.0.113.7:51234
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None
