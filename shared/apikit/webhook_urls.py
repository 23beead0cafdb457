"""Which webhook endpoints we call: https on public addresses only, checked after DNS resolution.

Checked at registration (PUT /webhook) and again before every delivery, where the caller connects
to the very address checked here (never a second resolution, which DNS rebinding could change).
The ``local`` stage may also allow ``http://127.0.0.1`` (stage setting webhooks.allow_loopback_http,
the ``WEBHOOK_ALLOW_LOOPBACK_HTTP`` environment variable).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048
LOOPBACK_HTTP_HOST = "127.0.0.1"
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Iterable[str]]
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UnsafeUrl(ValueError):
    """The URL may not be called; the message is the reason a client reads."""


@dataclass(frozen=True)
class Target:
    """A checked endpoint: connect to ``address`` (already checked), send Host/SNI ``host``."""

    url: str
    scheme: str
    host: str
    port: int
    path: str
    address: str


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the host resolves to (IPv4 and IPv6)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeUrl(f"host {host!r} does not resolve") from exc
    return [str(info[4][0]) for info in infos]


def _embedded_ipv4(ip: Address) -> ipaddress.IPv4Address | None:
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public(address: str) -> bool:
    """A globally routable unicast address: no private, loopback, link-local (the metadata service
    169.254.169.254 among them), CGNAT, multicast, reserved or unspecified one, in IPv4 or IPv6,
    nor an IPv6 address that carries such an IPv4 one (mapped, 6to4, Teredo, NAT64)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    inner = _embedded_ipv4(ip)
    if inner is not None:  # judged by the IPv4 address it carries (where a connection would go)
        return is_public(str(inner))
    return bool(ip.is_global) and not (ip.is_multicast or ip.is_reserved or ip.is_link_local)


def parse(url: object, *, allow_loopback_http: bool) -> tuple[str, str, int, str]:
    """Syntax checks: (scheme, host, port, path with query); raises UnsafeUrl with the reason."""
    if not isinstance(url, str) or not url:
        raise UnsafeUrl("must be a URL")
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeUrl(f"at most {MAX_URL_LENGTH} characters")
    if any(c.isspace() or ord(c) < 0x20 for c in url):
        raise UnsafeUrl("must not contain whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl(f"not a valid URL: {exc}") from exc
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if scheme not in ("https", "http"):
        raise UnsafeUrl("must use https")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("must not contain credentials")
    if parts.fragment:
        raise UnsafeUrl("must not contain a fragment")
    if not host:
        raise UnsafeUrl("must name a host")
    if scheme == "http" and not (allow_loopback_http and host == LOOPBACK_HTTP_HOST):
        hint = f" (or http://{LOOPBACK_HTTP_HOST} on this stage)" if allow_loopback_http else ""
        raise UnsafeUrl("must use https" + hint)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, host, port or (443 if scheme == "https" else 80), path


def check(url: object, *, allow_loopback_http: bool, resolver: Resolver = system_resolver) -> Target:
    """Parse, resolve and check ``url``; the Target names the one address to connect to."""
    scheme, host, port, path = parse(url, allow_loopback_http=allow_loopback_http)
    if scheme == "http":  # only http://127.0.0.1 gets here (a stage that allows it)
        return Target(str(url), scheme, host, port, path, LOOPBACK_HTTP_HOST)
    try:
        literal: str | None = str(ipaddress.ip_address(host))
    except ValueError:
        literal = None
    addresses = [literal] if literal else list(resolver(host, port))
    if not addresses:
        raise UnsafeUrl(f"host {host!r} does not resolve")
    for address in addresses:
        if not is_public(address):
            raise UnsafeUrl(f"host {host!r} resolves to a non-public address ({address})")
    return Target(str(url), scheme, host, port, path, addresses[0])
