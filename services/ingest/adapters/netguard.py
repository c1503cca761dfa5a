"""The SSRF guard and the socket-level deadline behind :mod:`services.ingest.adapters.fetch`.

What a caller may rely on:

* :func:`address_problem` says why an IP address must not be connected to, or
  ``None`` when it is a public unicast address. Everything that is not public
  is refused: loopback (unless ``allow_loopback``), RFC 1918, CGNAT and ULA
  (unless inside a network the operator allows: ``allow_networks``, e.g. an
  agency's wire server on the newsroom's intranet), link-local
  (cloud metadata at 169.254.169.254 included), multicast, reserved,
  documentation, benchmarking, unspecified, ULA, site-local; IPv6 forms that
  carry an IPv4 address (IPv4-mapped and -compatible are always refused, 6to4
  and NAT64 are judged by the address they embed).
* :func:`parse_ip_literal` reads a URL host the way the C library does
  (``inet_aton``: ``2130706433``, ``0x7f.1``, ``0177.0.0.1``, ``127.1`` are
  all 127.0.0.1), so a disguised address cannot slip past as a "hostname".
  :func:`check_host` refuses any non-canonical IPv4 spelling outright, even a
  loopback one with ``allow_loopback``: no real feed is published that way.
* :class:`GuardedBackend` is an httpcore network backend. Its ``connect_tcp``
  resolves the host itself, refuses if ANY resolved address is non-public, and
  then connects to exactly the validated address, so there is no second DNS
  lookup an attacker could rebind. TLS SNI and the ``Host`` header still carry
  the hostname (httpcore passes it to ``start_tls`` separately). Every
  connection, on every redirect hop, goes through it.
* :func:`deadline_scope` sets a monotonic deadline for the current thread; the
  streams :class:`GuardedBackend` returns shorten every connect, TLS
  handshake, read and write so none outlives it, and raise
  ``FetchFailed(reason="deadline")`` when it is reached.

Ports are not restricted: feeds legitimately live on 8080, 8443 and odd ports,
and the address check (not the port) is what keeps requests inside the public
internet. DNS resolution itself is not bounded by the deadline (the system
resolver has its own timeouts).
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Any

import httpcore

from shared.errors import FetchFailed, FetchRefused

__all__ = [
    "GuardedBackend",
    "IPAddress",
    "Resolver",
    "address_problem",
    "check_host",
    "deadline_scope",
    "parse_ip_literal",
    "resolve_host",
]

IPAddress = IPv4Address | IPv6Address

Resolver = Callable[[str, int], Sequence[str]]
"""``resolver(host, port) -> addresses``: every IP address (as text) the host
resolves to. Raise :class:`FetchFailed` (``reason="dns_error"``) on failure."""


# --- which addresses are public ------------------------------------------------

_LOOPBACK_V4 = IPv4Network("127.0.0.0/8")

# Checked in order; the first match names the problem. ``is_global`` is the
# catch-all afterwards, but it is not enough alone (224.0.0.0/4 is "global" to
# the ipaddress module on Python 3.11).
_BLOCKED_V4: tuple[tuple[IPv4Network, str], ...] = tuple(
    (IPv4Network(net), why)
    for net, why in (
        ("0.0.0.0/8", "unspecified/this-network"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "carrier-grade NAT"),
        ("169.254.0.0/16", "link-local"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "IETF protocol assignment"),
        ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "6to4 relay anycast"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),
    )
)

_GLOBAL_UNICAST_V6 = IPv6Network("2000::/3")
_NAT64_V6 = IPv6Network("64:ff9b::/96")
_SIXTOFOUR_V6 = IPv6Network("2002::/16")
_MAPPED_V6 = IPv6Network("::ffff:0:0/96")
_BLOCKED_V6: tuple[tuple[IPv6Network, str], ...] = tuple(
    (IPv6Network(net), why)
    for net, why in (
        ("::/96", "IPv4-compatible (deprecated)"),
        ("::ffff:0:0:0/96", "IPv4-translated"),
        ("64:ff9b:1::/48", "local-use NAT64"),
        ("100::/64", "discard-only"),
        ("2001::/23", "IETF protocol assignment (Teredo, ORCHID, ...)"),
        ("2001:db8::/32", "documentation"),
        ("3fff::/20", "documentation"),
        ("fc00::/7", "unique local"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local (deprecated)"),
        ("ff00::/8", "multicast"),
    )
)


# Networks an operator allows (IngestSettings.allowed_networks: private
# ranges only, checked there)
Networks = Sequence[IPv4Network | IPv6Network]


def _allowed(ip: IPAddress, allow_networks: Networks) -> bool:
    return any(ip.version == net.version and ip in net for net in allow_networks)


def _v4_problem(ip: IPv4Address, *, allow_loopback: bool,
                allow_networks: Networks = ()) -> str | None:
    if ip in _LOOPBACK_V4:
        return None if allow_loopback else "loopback"
    if _allowed(ip, allow_networks):
        return None
    for net, why in _BLOCKED_V4:
        if ip in net:
            return why
    if not ip.is_global:
        return "not globally routable"
    return None


def address_problem(ip: IPAddress, *, allow_loopback: bool = False,
                    allow_networks: Networks = ()) -> str | None:
    """Why ``ip`` must not be connected to, or ``None`` if it is public.

    ``allow_loopback`` admits 127.0.0.0/8 and ``::1`` only; loopback embedded
    in an IPv6 translation form (``::ffff:127.0.0.1``, ``2002:7f00:1::``,
    ``64:ff9b::7f00:1``) is refused regardless. ``allow_networks``
    (IngestSettings.allowed_networks) admits the addresses inside them, as
    written, never through a translation form either.
    """
    if isinstance(ip, IPv4Address):
        return _v4_problem(ip, allow_loopback=allow_loopback, allow_networks=allow_networks)
    if ip in _MAPPED_V6:
        return "IPv4-mapped IPv6"
    if ip.is_loopback:
        return None if allow_loopback else "loopback"
    if ip.is_unspecified:
        return "unspecified"
    if _allowed(ip, allow_networks):
        return None
    if ip in _NAT64_V6 or ip in _SIXTOFOUR_V6:
        embedded = IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64_V6 else ip.sixtofour
        assert embedded is not None
        inner = _v4_problem(embedded, allow_loopback=False)
        kind = "NAT64" if ip in _NAT64_V6 else "6to4"
        return None if inner is None else f"{kind} form of a {inner} IPv4 address ({embedded})"
    for net, why in _BLOCKED_V6:
        if ip in net:
            return why
    if ip not in _GLOBAL_UNICAST_V6:
        return "reserved"
    if not ip.is_global:
        return "not globally routable"
    return None


# --- reading hosts the way the OS does ------------------------------------------


def _inet_aton(text: str) -> int | None:
    """BSD ``inet_aton``: 1-4 dot-separated parts, each decimal, octal
    (leading 0) or hex (0x); the last part fills the remaining bytes."""
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values: list[int] = []
    for part in parts:
        lower = part.lower()
        try:
            if lower.startswith("0x"):
                digits = lower[2:]
                value = int(digits, 16) if digits else 0
            elif len(part) > 1 and part.startswith("0"):
                value = int(part, 8)
            else:
                value = int(part, 10)
        except ValueError:
            return None
        # int() tolerates "_", "+" and surrounding spaces; inet_aton does not,
        # but refusing more than the OS would is the safe direction.
        values.append(value)
    *head, last = values
    if any(v > 0xFF for v in head) or last >= 1 << (8 * (4 - len(head))):
        return None
    result = 0
    for v in head:
        result = (result << 8) | v
    return (result << (8 * (4 - len(head)))) | last


def parse_ip_literal(host: str) -> tuple[IPAddress, bool] | None:
    """``(address, canonical)`` if ``host`` is an IP address in any notation
    the OS accepts, else ``None`` (a hostname). ``canonical`` is false for
    every IPv4 spelling other than plain dotted-quad (and for a trailing dot).
    IPv6 may come with or without brackets and with a zone (``%eth0``)."""
    text = host.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if ":" in text:
        try:
            return ipaddress.IPv6Address(text.split("%", 1)[0]), True
        except ValueError:
            return None
    bare = text[:-1] if text.endswith(".") else text
    value = _inet_aton(bare) if bare else None
    if value is None:
        try:
            # Whatever this platform's inet_aton accepts is an address too
            # (glibc tolerates trailing junk after a space, for one).
            value = int.from_bytes(socket.inet_aton(text), "big")
        except (OSError, ValueError):
            return None
    address = IPv4Address(value)
    return address, text == str(address)


def check_host(host: str, *, allow_loopback: bool, allow_networks: Networks = ()) -> None:
    """Refuse a URL host that is an IP literal we must not reach, before any
    resolution or connection. Hostnames pass; :class:`GuardedBackend` checks
    what they resolve to.

    :raises FetchRefused: ``reason="ssrf_blocked"``.
    """
    literal = parse_ip_literal(host)
    if literal is None:
        return
    address, canonical = literal
    if not canonical:
        raise FetchRefused(
            f"host {host!r} is a disguised IP address ({address}); refused",
            reason="ssrf_blocked",
        )
    problem = address_problem(address, allow_loopback=allow_loopback,
                              allow_networks=allow_networks)
    if problem is not None:
        raise FetchRefused(
            f"host {host!r} is a non-public address ({problem}); refused",
            reason="ssrf_blocked",
        )


def resolve_host(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to for TCP, in resolver order, without
    duplicates. The default :data:`Resolver`."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise FetchFailed(f"cannot resolve {host!r}: {exc}", reason="dns_error") from exc
    seen: dict[str, None] = {}
    for _family, _type, _proto, _canon, sockaddr in infos:
        seen.setdefault(str(sockaddr[0]), None)
    return list(seen)


# --- the deadline ---------------------------------------------------------------

_deadline: ContextVar[float | None] = ContextVar("wirestream_fetch_deadline", default=None)


@contextmanager
def deadline_scope(deadline: float) -> Iterator[None]:
    """Within the block, network I/O through :class:`GuardedBackend` streams
    never waits past ``deadline`` (a :func:`time.monotonic` value)."""
    token = _deadline.set(deadline)
    try:
        yield
    finally:
        _deadline.reset(token)


def _budget(timeout: float | None) -> tuple[float | None, bool]:
    """The timeout to use now, and whether the deadline (not ``timeout``) set it."""
    deadline = _deadline.get()
    if deadline is None:
        return timeout, False
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise FetchFailed("total fetch deadline reached", reason="deadline")
    if timeout is None or remaining < timeout:
        return remaining, True
    return timeout, False


def _deadline_hit() -> FetchFailed:
    return FetchFailed("total fetch deadline reached", reason="deadline")


class _DeadlineStream(httpcore.NetworkStream):
    """Delegates to ``inner``, shortening every timeout to the deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        budget, by_deadline = _budget(timeout)
        try:
            return self._inner.read(max_bytes, budget)
        except httpcore.ReadTimeout as exc:
            if by_deadline:
                raise _deadline_hit() from exc
            raise

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        budget, by_deadline = _budget(timeout)
        try:
            self._inner.write(buffer, budget)
        except httpcore.WriteTimeout as exc:
            if by_deadline:
                raise _deadline_hit() from exc
            raise

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        budget, by_deadline = _budget(timeout)
        try:
            return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, budget))
        except httpcore.ConnectTimeout as exc:
            if by_deadline:
                raise _deadline_hit() from exc
            raise

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


# --- the backend ----------------------------------------------------------------


class GuardedBackend(httpcore.NetworkBackend):
    """An httpcore network backend that only ever connects to public addresses.

    ``connect_tcp(host, port)`` resolves ``host`` once with ``resolver`` (an IP
    literal is not resolved), raises ``FetchRefused(reason="ssrf_blocked")``
    before opening any socket if any address is non-public, then asks
    ``inner`` (default: httpcore's ``SyncBackend``) to connect to each
    validated address in turn until one answers. The hostname never reaches
    ``inner``, so nothing below this class can look it up again.
    Unix sockets are refused.
    """

    def __init__(
        self,
        *,
        allow_loopback: bool = False,
        allow_networks: Networks = (),
        resolver: Resolver = resolve_host,
        inner: httpcore.NetworkBackend | None = None,
    ) -> None:
        self._allow_loopback = allow_loopback
        self._allow_networks = tuple(allow_networks)
        self._resolver = resolver
        self._inner = inner if inner is not None else httpcore.SyncBackend()

    def validated_addresses(self, host: str, port: int) -> list[IPAddress]:
        """The addresses ``connect_tcp`` would try, all checked.

        :raises FetchRefused: ``ssrf_blocked`` if any address is non-public.
        :raises FetchFailed: ``dns_error`` if the host does not resolve.
        """
        check_host(host, allow_loopback=self._allow_loopback,
                   allow_networks=self._allow_networks)
        literal = parse_ip_literal(host)
        if literal is not None:
            return [literal[0]]
        raw = list(self._resolver(host, port))
        if not raw:
            raise FetchFailed(f"{host!r} resolved to no address", reason="dns_error")
        addresses: list[IPAddress] = []
        for text in raw:
            try:
                address = ipaddress.ip_address(text.split("%", 1)[0])
            except ValueError as exc:
                raise FetchRefused(
                    f"{host!r} resolved to something that is not an address: {text!r}",
                    reason="ssrf_blocked",
                ) from exc
            problem = address_problem(address, allow_loopback=self._allow_loopback,
                                      allow_networks=self._allow_networks)
            if problem is not None:
                raise FetchRefused(
                    f"{host!r} resolves to a non-public address {address} ({problem}); refused",
                    reason="ssrf_blocked",
                )
            addresses.append(address)
        return addresses

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = self.validated_addresses(host, port)
        options = list(socket_options or ())
        last: Exception | None = None
        for address in addresses:
            budget, by_deadline = _budget(timeout)
            try:
                stream = self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=budget,
                    local_address=local_address,
                    socket_options=options,
                )
            except httpcore.ConnectTimeout as exc:
                if by_deadline:
                    raise _deadline_hit() from exc
                last = exc
            except httpcore.ConnectError as exc:
                last = exc
            else:
                return _DeadlineStream(stream)
        assert last is not None
        raise last

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise FetchRefused("unix sockets are never fetched", reason="ssrf_blocked")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)
