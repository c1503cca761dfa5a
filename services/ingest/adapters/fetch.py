"""Fetch a feed over HTTP(S) from the hostile internet.

One :class:`FeedFetcher` per worker process (create it after fork, ``close()``
it on shutdown). :meth:`FeedFetcher.fetch` does one conditional ``GET`` and
returns a :class:`FetchResult` or raises from the one exception tree:

=============================================  =====================================
outcome                                        raised / returned
=============================================  =====================================
2xx                                            ``FetchResult`` (body decoded)
304 Not Modified                               ``FetchResult(not_modified=True)``
408, 429, 5xx                                  ``FetchFailed(reason="http_503", retry_after=…)``
other 4xx, odd 3xx                             ``FetchRefused(reason="http_404")``
DNS, connect, read, protocol errors            ``FetchFailed`` (``dns_error``,
                                               ``connect_error``, ``connect_timeout``,
                                               ``read_timeout``, ``read_error``,
                                               ``protocol_error``, ``truncated_body`` …)
total deadline reached                         ``FetchFailed(reason="deadline")``
non-public address, disguised IP               ``FetchRefused(reason="ssrf_blocked")``
scheme other than http/https                   ``FetchRefused(reason="scheme_not_allowed")``
user:password@ in a URL                        ``FetchRefused(reason="userinfo_not_allowed")``
unparseable URL / ``Location``                 ``FetchRefused`` (``invalid_url`` / ``bad_redirect``)
body over ``max_bytes`` (wire or decoded)      ``FetchRefused(reason="too_large")``
more than ``max_redirects`` hops               ``FetchRefused(reason="too_many_redirects")``
a URL seen twice in one redirect chain         ``FetchRefused(reason="redirect_loop")``
reserved header from the caller, bad header    ``FetchRefused(reason="invalid_request")``
corrupt or unknown ``Content-Encoding``        ``ParseError`` (``bad_content_encoding``,
                                               ``unsupported_content_encoding``)
=============================================  =====================================

Guarantees:

* **SSRF.** Only ``http``/``https``; no userinfo; every hop's host is checked
  before anything is sent (:func:`~services.ingest.adapters.netguard.check_host`), and
  every TCP connection goes through
  :class:`~services.ingest.adapters.netguard.GuardedBackend`, which resolves the host
  once, refuses if any address is non-public and connects to exactly the
  validated address. Redirects are followed here, by hand, each hop through
  the same checks. Any port is allowed (see ``_netguard``). Loopback only with
  ``IngestSettings.allow_loopback``; private ranges only inside
  ``IngestSettings.allow_networks``.
* **Size.** Neither the bytes read from the wire nor the decoded body may
  exceed ``max_bytes``; reading stops as soon as either would. ``gzip``,
  ``deflate`` (zlib or raw), ``br`` and stacks of them are decoded here,
  incrementally, each layer bounded by output size, so compression bombs are
  refused after inflating at most ``max_bytes``. ``Content-Length`` is never
  trusted for the cap (a declared length over the cap is refused early).
* **Time.** Connect and read timeouts per operation, and a total deadline for
  the whole fetch (all hops, TLS, body) enforced at the socket: a server
  drip-feeding bytes is cut off at ``total_timeout``.
* **Secrets.** Caller headers (auth among them) go only to the origin of the
  requested URL: a redirect to another host, port or to plain http drops them
  all, since the fetcher cannot tell which of them are credentials. No header
  value is ever logged or put in an error message; URLs in messages and logs
  go through :func:`redact_url` (query values and userinfo masked).
"""

from __future__ import annotations

import email.utils
import functools
import logging
import re
import ssl
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.cookiejar import CookieJar, DefaultCookiePolicy
from types import TracebackType
from typing import Self
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpcore
import httpx

from services.ingest.adapters.decoding import DECODE_ERRORS, TooLarge, Truncated, decoder
from services.ingest.adapters.netguard import (
    GuardedBackend,
    Resolver,
    check_host,
    deadline_scope,
    parse_ip_literal,
    resolve_host,
)
from shared.errors import FetchFailed, FetchRefused, ParseError
from shared.retrying import transient_status
from shared.settings import IngestSettings, load_settings

__all__ = ["FeedFetcher", "FetchResult", "fetch_bytes", "redact_url"]

_log = logging.getLogger(__name__)

# Feed types first; HTML and */* at low weight so servers that only know a
# generic type do not answer 406 (the parser sniffs the real format anyway).
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/rdf+xml;q=0.9, application/xml;q=0.9, text/xml;q=0.9, "
    "application/json;q=0.8, text/html;q=0.5, */*;q=0.1"
)
# Exactly what services.ingest.adapters.decoding can undo; never more (httpx would add zstd).
ACCEPT_ENCODING = "gzip, deflate, br"

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Headers the fetcher owns: the caller cannot set them.
_RESERVED = frozenset(
    {
        "accept-encoding",
        "connection",
        "content-length",
        "host",
        "if-modified-since",
        "if-none-match",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# RFC 9110 §5.1 token for names; values as printable ASCII plus space/tab
# (httpx sends ASCII only; CR/LF would split the header).
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_FIELD_VALUE = re.compile(r"[\t\x20-\x7e]*")
# A worker runs one fetch at a time; a few pooled connections let a poller
# reuse keep-alive connections to the same hosts between consecutive fetches.
_LIMITS = httpx.Limits(max_connections=8, max_keepalive_connections=4, keepalive_expiry=30.0)


# Not frozen: the poller's FetchResultLike protocol declares plain attributes.
@dataclass(slots=True)
class FetchResult:
    """One completed fetch.

    ``body`` is the fully decoded (Content-Encoding undone) payload, ``b""``
    when ``not_modified``. ``headers`` are those of the final response.
    ``final_url`` is where the body came from and ``redirects`` the URLs that
    answered with a redirect on the way, in order; both may carry query
    credentials, so log them only through :func:`redact_url` (they are left
    out of ``repr``). ``etag``/``last_modified`` are the validators to send
    next time, verbatim; on a 304 that omits them, the ones passed in.
    ``content_type`` is the lower-cased media type and ``charset`` the
    lower-cased ``charset`` parameter, both from the header only (``None`` if
    absent; the charset may name an unknown codec: sniffing is the parser's
    job). ``elapsed`` is seconds for the whole fetch, ``retry_after`` seconds
    from ``Retry-After`` if present, ``wire_bytes`` the body bytes read from
    the network (after de-chunking, before decoding).
    """

    status: int
    body: bytes = field(repr=False)
    headers: httpx.Headers = field(repr=False)
    final_url: str = field(repr=False)
    redirects: tuple[str, ...] = field(repr=False)
    etag: str | None
    last_modified: str | None
    not_modified: bool
    content_type: str | None
    charset: str | None
    elapsed: float
    retry_after: float | None
    wire_bytes: int


def redact_url(url: str | httpx.URL) -> str:
    """``url`` safe for logs: userinfo dropped, every query value (and any
    bare query item) replaced by ``***``, fragment dropped."""
    try:
        parts = urlsplit(str(url))
    except ValueError:
        # Unparseable: keep only what precedes any userinfo, query or fragment.
        head = str(url).split("?", 1)[0].split("#", 1)[0]
        scheme, sep, rest = head.partition("//")
        return f"{scheme}{sep}{rest.rpartition('@')[2]}" if sep else head
    netloc = parts.netloc.rpartition("@")[2]
    query = "&".join(
        f"{name}=***" if sep else "***"
        for name, sep, _ in (item.partition("=") for item in parts.query.split("&") if item)
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle is slow; a context is safe to share.
    return httpx.create_ssl_context()


class _GuardedTransport(httpx.HTTPTransport):
    """httpx's transport, with its connection pool built on a given httpcore
    network backend (httpx 0.28 has no public parameter for that, so the pool
    it built is replaced; pinned by ``httpx<0.29`` and covered by the SSRF
    tests, which fail if a connection bypasses the backend)."""

    def __init__(self, backend: httpcore.NetworkBackend, limits: httpx.Limits) -> None:
        ssl_context = _ssl_context()
        super().__init__(verify=ssl_context, limits=limits, trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )


class FeedFetcher:
    """Fetches feeds; one per worker process, built from :class:`IngestSettings`.

    ``resolver`` and ``network_backend`` (the backend the guard connects
    through) are for tests; ``transport`` replaces the whole network stack
    (``httpx.MockTransport`` in HTTP edge-case tests) and so bypasses the
    address guard: URL checks still apply, resolution checks do not. Its
    responses must carry an unread streaming body (``stream=``), as a real
    transport's do, since the body is read raw.
    """

    def __init__(
        self,
        settings: IngestSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        resolver: Resolver | None = None,
        network_backend: httpcore.NetworkBackend | None = None,
    ) -> None:
        if transport is not None and (resolver is not None or network_backend is not None):
            raise ValueError("pass either transport or resolver/network_backend, not both")
        self._settings = settings
        self._allowed = settings.allowed_networks  # parsed once, checked on every hop
        if transport is None:
            guard = GuardedBackend(
                allow_loopback=settings.allow_loopback,
                allow_networks=self._allowed,
                resolver=resolver or resolve_host,
                inner=network_backend,
            )
            transport = _GuardedTransport(guard, _LIMITS)
        self._transport = transport
        # The client builds every request (default headers, timeouts) and owns
        # the transport; requests are sent on the transport itself, because
        # Client.send parses a redirect's Location even when not following it
        # (a hostile Location would surface as a protocol error instead of a
        # refusal) and logs full URLs, query credentials included, at INFO.
        self._client = httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(
                connect=settings.connect_timeout,
                read=settings.read_timeout,
                write=settings.read_timeout,
                pool=settings.connect_timeout,
            ),
            # Redirects are followed by fetch(), each hop through the guard.
            follow_redirects=False,
            # No proxies or netrc from the environment: a proxy would make the
            # guard check the proxy's address instead of the target's.
            trust_env=False,
            # No cookie jar: cookies from one source must not reach another.
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
            headers={
                "User-Agent": settings.user_agent,
                "Accept": ACCEPT,
                "Accept-Encoding": ACCEPT_ENCODING,
            },
        )

    def close(self) -> None:
        """Close pooled connections. The fetcher is unusable afterwards."""
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> FetchResult:
        """``GET url`` under every guarantee in the module docstring.

        ``etag``/``last_modified`` become ``If-None-Match``/``If-Modified-Since``
        (sent on every hop). ``headers`` (auth included) go to the requested
        origin only and may override ``User-Agent``/``Accept`` but not headers
        the fetcher owns (``Accept-Encoding``, ``Host``, conditionals, hop-by-hop).
        """
        started = time.monotonic()
        deadline = started + self._settings.total_timeout
        caller = _caller_headers(headers)
        conditional: dict[str, str] = {}
        if etag:
            conditional["If-None-Match"] = etag
        if last_modified:
            conditional["If-Modified-Since"] = last_modified

        origin = self._check_url(url, reason="invalid_url")
        target = origin
        chain: list[str] = []
        seen = {str(target)}
        with deadline_scope(deadline):
            while True:
                if _same_trust(origin, target):
                    sent = {**caller, **conditional}
                else:
                    sent = conditional
                    if caller:
                        _log.debug("cross-origin hop: caller headers dropped")
                response = self._open(target, sent, deadline)
                try:
                    status = response.status_code
                    _log.debug("GET %s -> %d", redact_url(target), status)
                    if status in _REDIRECTS and "location" in response.headers:
                        nxt = self._next_hop(target, response.headers["location"])
                        if str(nxt) in seen:
                            raise FetchRefused(
                                f"redirect loop at {redact_url(nxt)}", reason="redirect_loop"
                            )
                        if len(chain) >= self._settings.max_redirects:
                            raise FetchRefused(
                                f"too many redirects (> {self._settings.max_redirects}) "
                                f"fetching {redact_url(url)}",
                                reason="too_many_redirects",
                            )
                        seen.add(str(nxt))
                        chain.append(str(target))
                        target = nxt
                        continue
                    return self._finish(
                        response, target, tuple(chain), started, deadline, etag, last_modified
                    )
                finally:
                    response.close()

    # --- steps -------------------------------------------------------------------

    def _check_url(self, raw: str | httpx.URL, *, reason: str) -> httpx.URL:
        try:
            url = httpx.URL(raw)
        except (httpx.InvalidURL, ValueError) as exc:
            # httpx rejects some disguised IPs (0177.0.0.1) outright; name them.
            host = _urlsplit_host(str(raw))
            if host and parse_ip_literal(host) is not None:
                check_host(host, allow_loopback=self._settings.allow_loopback,
                           allow_networks=self._allowed)
            raise FetchRefused(f"invalid URL {redact_url(str(raw))!r}", reason=reason) from exc
        if url.scheme not in ("http", "https"):
            raise FetchRefused(
                f"scheme {url.scheme or '(none)'!r} not allowed: {redact_url(url)}",
                reason="scheme_not_allowed",
            )
        if url.userinfo:
            raise FetchRefused(
                f"credentials in URL not allowed: {redact_url(url)}",
                reason="userinfo_not_allowed",
            )
        if not url.host or (url.port is not None and not 0 < url.port < 65536):
            raise FetchRefused(f"invalid URL {redact_url(url)!r}", reason=reason)
        check_host(url.host, allow_loopback=self._settings.allow_loopback,
                   allow_networks=self._allowed)
        return url.copy_with(fragment=None)

    def _next_hop(self, current: httpx.URL, location: str) -> httpx.URL:
        try:
            joined: str | httpx.URL = current.join(location)
        except (httpx.InvalidURL, ValueError):
            try:
                joined = urljoin(str(current), location)
            except ValueError as exc:
                raise FetchRefused(
                    f"unparseable Location from {redact_url(current)}", reason="bad_redirect"
                ) from exc
        return self._check_url(joined, reason="bad_redirect")

    def _open(self, url: httpx.URL, headers: dict[str, str], deadline: float) -> httpx.Response:
        with _transport_errors(url, deadline):
            request = self._client.build_request("GET", url, headers=headers)
            response = self._transport.handle_request(request)
            response.request = request
            return response

    def _finish(
        self,
        response: httpx.Response,
        url: httpx.URL,
        redirects: tuple[str, ...],
        started: float,
        deadline: float,
        etag: str | None,
        last_modified: str | None,
    ) -> FetchResult:
        status = response.status_code
        retry_after = _parse_retry_after(response.headers.get("retry-after"))
        if transient_status(status):
            raise FetchFailed(
                f"HTTP {status} from {redact_url(url)}",
                reason=f"http_{status}",
                retry_after=retry_after,
            )
        not_modified = status == 304
        if not not_modified and not 200 <= status < 300:
            raise FetchRefused(f"HTTP {status} from {redact_url(url)}", reason=f"http_{status}")
        body, wire = (b"", 0) if not_modified else self._read_body(response, url, deadline)
        content_type, charset = _parse_content_type(response.headers.get("content-type"))
        return FetchResult(
            status=status,
            body=body,
            headers=response.headers,
            final_url=str(url),
            redirects=redirects,
            etag=response.headers.get("etag") or (etag if not_modified else None),
            last_modified=response.headers.get("last-modified")
            or (last_modified if not_modified else None),
            not_modified=not_modified,
            content_type=content_type,
            charset=charset,
            elapsed=time.monotonic() - started,
            retry_after=retry_after,
            wire_bytes=wire,
        )

    def _read_body(
        self, response: httpx.Response, url: httpx.URL, deadline: float
    ) -> tuple[bytes, int]:
        cap = self._settings.max_bytes
        too_large = FetchRefused(
            f"body of {redact_url(url)} exceeds {cap} bytes", reason="too_large"
        )
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise too_large
        layers = decoder(response.headers.get_list("content-encoding", split_commas=True), cap)
        parts: list[bytes] = []
        wire = size = 0
        try:
            with _transport_errors(url, deadline):
                for chunk in response.iter_raw():
                    wire += len(chunk)
                    if wire > cap:
                        raise too_large
                    if time.monotonic() >= deadline:
                        raise FetchFailed(
                            f"total deadline reached reading {redact_url(url)}", reason="deadline"
                        )
                    out = layers.feed(chunk)
                    size += len(out)
                    if size > cap:
                        raise too_large
                    parts.append(out)
            layers.finish()
        except TooLarge as exc:
            raise too_large from exc
        except Truncated as exc:
            raise FetchFailed(
                f"compressed body of {redact_url(url)} ended early", reason="truncated_body"
            ) from exc
        except DECODE_ERRORS as exc:
            raise ParseError(
                f"corrupt Content-Encoding in {redact_url(url)}: {exc}",
                reason="bad_content_encoding",
            ) from exc
        return b"".join(parts), wire


def fetch_bytes(url: str, settings: IngestSettings | None = None) -> bytes:
    """The decoded body of ``url`` (for the CLI): a throwaway
    :class:`FeedFetcher` with the same guarantees and errors as ``fetch``.
    Without ``settings``, the environment's (:func:`load_settings`), so
    ``WIRESTREAM_INGEST__ALLOW_LOOPBACK`` works for the demo; a bad
    environment raises :class:`ConfigError`."""
    if settings is None:
        settings = load_settings().ingest
    with FeedFetcher(settings) as fetcher:
        return fetcher.fetch(url).body


# --- helpers ------------------------------------------------------------------------


def _caller_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    """Validate the caller's headers. Errors name the header, never its value."""
    result: dict[str, str] = {}
    for name, value in (headers or {}).items():
        if name.lower() in _RESERVED:
            raise FetchRefused(
                f"header {name!r} is set by the fetcher, not the caller",
                reason="invalid_request",
            )
        if not _TOKEN.fullmatch(name) or not _FIELD_VALUE.fullmatch(value):
            raise FetchRefused(
                f"header {name[:40]!r} has an invalid name or value", reason="invalid_request"
            )
        result[name] = value
    return result


def _same_trust(origin: httpx.URL, url: httpx.URL) -> bool:
    """May headers meant for ``origin`` be sent to ``url``? Same host and
    either the same scheme and port, or http→https on default ports."""
    if origin.host != url.host:
        return False
    if origin.scheme == url.scheme:
        return origin.port == url.port
    return (
        origin.scheme == "http"
        and url.scheme == "https"
        and origin.port in (None, 80)
        and url.port in (None, 443)
    )


def _urlsplit_host(raw: str) -> str | None:
    try:
        return urlsplit(raw).hostname
    except ValueError:
        return None


_TIMEOUT_REASONS: dict[type[httpx.TimeoutException], str] = {
    httpx.ConnectTimeout: "connect_timeout",
    httpx.ReadTimeout: "read_timeout",
    httpx.WriteTimeout: "write_timeout",
    httpx.PoolTimeout: "pool_timeout",
}
_ERROR_REASONS: tuple[tuple[type[httpx.TransportError], str], ...] = (
    (httpx.ConnectError, "connect_error"),
    (httpx.ReadError, "read_error"),
    (httpx.WriteError, "write_error"),
    (httpx.RemoteProtocolError, "protocol_error"),
)


@contextmanager
def _transport_errors(url: httpx.URL, deadline: float) -> Iterator[None]:
    """Map httpx's transport errors to the wirestream tree."""
    try:
        yield
    except httpx.TimeoutException as exc:
        reason = (
            "deadline"
            if time.monotonic() >= deadline
            else _TIMEOUT_REASONS.get(type(exc), "timeout")
        )
        raise FetchFailed(f"{reason} fetching {redact_url(url)}", reason=reason) from exc
    except httpx.LocalProtocolError as exc:
        raise FetchRefused(
            f"cannot send request to {redact_url(url)} (bad header?)", reason="invalid_request"
        ) from exc
    except httpx.TransportError as exc:
        reason = next((r for t, r in _ERROR_REASONS if isinstance(exc, t)), "transport_error")
        raise FetchFailed(
            f"{reason} fetching {redact_url(url)}: {type(exc).__name__}: {exc}", reason=reason
        ) from exc


def _parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from ``Retry-After`` (delta-seconds or HTTP-date), never
    negative; ``None`` if absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _parse_content_type(value: str | None) -> tuple[str | None, str | None]:
    if not value:
        return None, None
    media, *params = value.split(";")
    charset = None
    for param in params:
        name, sep, arg = param.partition("=")
        if sep and name.strip().lower() == "charset":
            charset = arg.strip().strip("\"'").strip().lower() or None
    return media.strip().lower() or None, charset
