"""HTTP behaviour of the feed fetcher against real loopback servers (and
``httpx.MockTransport`` for a few pure-HTTP edge cases).

All traffic stays on 127.0.0.1: the network jail fails any test that tries
to connect or look up a name elsewhere.
"""

from __future__ import annotations

import logging
import pickle
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any, TypeVar

import httpcore
import httpx
import pytest

from services.ingest.adapters import fetch as fetch_module
from services.ingest.adapters.fetch import FeedFetcher, FetchResult, fetch_bytes, redact_url
from shared.errors import (
    FetchFailed,
    FetchRefused,
    PermanentError,
    TransientError,
    WirestreamError,
)
from shared.settings import IngestSettings
from tests.unit.ingest._servers import (
    FakeResolver,
    LoopbackServer,
    NetworkJail,
    Request,
    closed_port,
    install_jail,
)

pytestmark = pytest.mark.timeout(5)

FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'


@pytest.fixture(autouse=True)
def jail(monkeypatch: pytest.MonkeyPatch) -> Iterator[NetworkJail]:
    jail = install_jail(monkeypatch)
    yield jail
    assert jail.violations == []


def settings(**overrides: Any) -> IngestSettings:
    base: dict[str, Any] = {
        "allow_loopback": True,
        "connect_timeout": 2.0,
        "read_timeout": 2.0,
        "total_timeout": 4.0,
    }
    return IngestSettings(**{**base, **overrides})


@pytest.fixture
def fetcher() -> Iterator[FeedFetcher]:
    with FeedFetcher(settings()) as f:
        yield f


E = TypeVar("E", bound=WirestreamError)


def fail(f: FeedFetcher, url: str, *, kind: type[E], **kwargs: Any) -> E:
    """The error ``f.fetch(url, **kwargs)`` raises, which must be a ``kind``."""
    with pytest.raises(kind) as info:
        f.fetch(url, **kwargs)
    return info.value


class _RawStream(httpx.SyncByteStream):
    def __init__(self, data: bytes) -> None:
        self._data = data

    def __iter__(self) -> Iterator[bytes]:
        yield self._data


def raw_response(status: int, body: bytes = b"", **kwargs: Any) -> httpx.Response:
    """A MockTransport response whose body is still unread, like a real one."""
    return httpx.Response(status, stream=_RawStream(body), **kwargs)


def feed_app(req: Request) -> None:
    req.reply(
        200,
        FEED,
        {
            "Content-Type": "application/rss+xml; charset=UTF-8",
            "ETag": 'W/"v1"',
            "Last-Modified": "Wed, 21 Oct 2026 07:28:00 GMT",
        },
    )


# --- the plain case ---------------------------------------------------------------


def test_200(fetcher: FeedFetcher) -> None:
    with LoopbackServer(feed_app) as srv:
        result = fetcher.fetch(srv.url("/rss"))
    assert isinstance(result, FetchResult)
    assert result.status == 200
    assert result.body == FEED
    assert result.not_modified is False
    assert result.content_type == "application/rss+xml"
    assert result.charset == "utf-8"
    assert result.etag == 'W/"v1"'
    assert result.last_modified == "Wed, 21 Oct 2026 07:28:00 GMT"
    assert result.final_url == srv.url("/rss")
    assert result.redirects == ()
    assert result.wire_bytes == len(FEED)
    assert result.retry_after is None
    assert 0 < result.elapsed < 2
    assert result.headers["etag"] == 'W/"v1"'
    # Politeness and decoding headers; no stray cookies or auth.
    sent = srv.seen[0].headers
    assert sent["user-agent"] == IngestSettings().user_agent
    assert sent["accept"].startswith("application/rss+xml, application/atom+xml")
    assert "application/feed+json" in sent["accept"]
    assert sent["accept-encoding"] == "gzip, deflate, br"
    assert "cookie" not in sent and "authorization" not in sent
    assert "if-none-match" not in sent and "if-modified-since" not in sent
    assert "body" not in repr(result) and "v1" in repr(result)


def test_fetch_bytes_convenience(monkeypatch: pytest.MonkeyPatch) -> None:
    with LoopbackServer(feed_app) as srv:
        assert fetch_bytes(srv.url("/"), settings()) == FEED
        with pytest.raises(FetchRefused):
            fetch_bytes(srv.url("/"), IngestSettings())  # loopback refused by default
        # Without explicit settings, the environment's apply.
        monkeypatch.setenv("WIRESTREAM_INGEST__ALLOW_LOOPBACK", "true")
        assert fetch_bytes(srv.url("/")) == FEED
    assert len(srv.seen) == 2


def test_user_agent_comes_from_settings_and_caller_may_override_accept() -> None:
    with LoopbackServer(feed_app) as srv, FeedFetcher(settings(user_agent="ua/9")) as f:
        f.fetch(srv.url("/"), headers={"Accept": "application/x-ninjs+json"})
    assert srv.seen[0].headers["user-agent"] == "ua/9"
    assert srv.seen[0].headers["accept"] == "application/x-ninjs+json"


# --- conditional GET -----------------------------------------------------------------


def conditional_app(req: Request) -> None:
    if req.headers.get("If-None-Match") == '"v1"':
        req.reply(304, headers={"ETag": '"v1"'}, length=False)
    elif req.headers.get("If-Modified-Since") == "Wed, 21 Oct 2026 07:28:00 GMT":
        req.reply(304, length=False)
    else:
        feed_app(req)


def test_304_not_modified(fetcher: FeedFetcher) -> None:
    with LoopbackServer(conditional_app) as srv:
        result = fetcher.fetch(srv.url("/"), etag='"v1"')
    assert result.status == 304
    assert result.not_modified is True
    assert result.body == b""
    assert result.wire_bytes == 0
    assert result.etag == '"v1"'
    assert srv.seen[0].headers["if-none-match"] == '"v1"'


def test_304_keeps_validators_passed_in(fetcher: FeedFetcher) -> None:
    stamp = "Wed, 21 Oct 2026 07:28:00 GMT"
    with LoopbackServer(conditional_app) as srv:
        result = fetcher.fetch(srv.url("/"), last_modified=stamp, etag='"old"')
    assert result.not_modified
    # The 304 named neither validator: the caller may store these unchanged.
    assert (result.etag, result.last_modified) == ('"old"', stamp)
    assert srv.seen[0].headers["if-modified-since"] == stamp


# --- redirects ------------------------------------------------------------------------


def chain_app(hops: int) -> Any:
    def app(req: Request) -> None:
        n = int(req.path.split("?")[0].rsplit("/", 1)[1])
        if n < hops:
            code = (301, 302, 303, 307, 308)[n % 5]
            req.reply(code, headers={"Location": f"/r/{n + 1}"})
        else:
            feed_app(req)

    return app


def test_five_redirects_are_followed(fetcher: FeedFetcher) -> None:
    with LoopbackServer(chain_app(5)) as srv:
        result = fetcher.fetch(srv.url("/r/0"), etag='"x"')
    assert result.body == FEED
    assert result.final_url == srv.url("/r/5")
    assert result.redirects == tuple(srv.url(f"/r/{n}") for n in range(5))
    # Conditional headers go along on every hop (validators are for the final URL).
    assert all(s.headers.get("if-none-match") == '"x"' for s in srv.seen)


def test_six_redirects_are_too_many(fetcher: FeedFetcher) -> None:
    with LoopbackServer(chain_app(6)) as srv:
        err = fail(fetcher, srv.url("/r/0"), kind=FetchRefused)
    assert err.reason == "too_many_redirects"
    assert len(srv.seen) == 6  # the 7th URL is never requested


def test_max_redirects_setting() -> None:
    with LoopbackServer(chain_app(2)) as srv, FeedFetcher(settings(max_redirects=1)) as f:
        err = fail(f, srv.url("/r/0"), kind=FetchRefused)
    assert "too many redirects" in str(err)


@pytest.mark.parametrize("loop", [["/a"], ["/a", "/b"], ["/a", "/b", "/c"]])
def test_redirect_loop(fetcher: FeedFetcher, loop: list[str]) -> None:
    def app(req: Request) -> None:
        here = req.path.split("?")[0]
        req.reply(302, headers={"Location": loop[(loop.index(here) + 1) % len(loop)]})

    with LoopbackServer(app) as srv:
        err = fail(fetcher, srv.url(loop[0]), kind=FetchRefused)
    assert err.reason == "redirect_loop"
    assert len(srv.seen) == len(loop)


def test_redirect_without_location_is_an_http_error(fetcher: FeedFetcher) -> None:
    with LoopbackServer(lambda req: req.reply(302)) as srv:
        err = fail(fetcher, srv.url("/"), kind=FetchRefused)
    assert err.reason == "http_302"


def test_unparseable_location(fetcher: FeedFetcher) -> None:
    with LoopbackServer(lambda req: req.reply(302, headers={"Location": "http://[::1/"})) as srv:
        err = fail(fetcher, srv.url("/"), kind=FetchRefused)
    assert err.reason == "bad_redirect"


SECRETS = {"Authorization": "Bearer s3cr3t", "Cookie": "sid=c00kie", "X-Api-Key": "k3y"}


def test_same_origin_redirect_keeps_auth(fetcher: FeedFetcher) -> None:
    with LoopbackServer(chain_app(1)) as srv:
        fetcher.fetch(srv.url("/r/0"), headers=SECRETS)
    for seen in srv.seen:
        assert seen.headers["authorization"] == "Bearer s3cr3t"
        assert seen.headers["x-api-key"] == "k3y"


@pytest.mark.parametrize("other_host", ["mirror.test", "127.0.0.1"])
def test_cross_origin_redirect_strips_caller_headers(other_host: str) -> None:
    with LoopbackServer(feed_app) as target:

        def app(req: Request) -> None:
            req.reply(302, headers={"Location": target.url("/feed", host=other_host)})

        resolver = FakeResolver({"mirror.test": ["127.0.0.1"]})
        with LoopbackServer(app) as origin, FeedFetcher(settings(), resolver=resolver) as f:
            result = f.fetch(origin.url("/"), headers={**SECRETS, "X-Custom": "1"}, etag='"e"')
    assert result.body == FEED
    assert origin.seen[0].headers["authorization"] == "Bearer s3cr3t"
    hop2 = target.seen[0].headers
    for name in ("authorization", "cookie", "x-api-key", "x-custom"):
        assert name not in hop2
    assert hop2["user-agent"] == IngestSettings().user_agent
    assert hop2["if-none-match"] == '"e"'


@pytest.mark.parametrize(
    ("chain", "with_auth"),
    [
        # http -> https on the same host, default ports: an upgrade, keep.
        (["http://feeds.example/a", "https://feeds.example/b"], [True, True]),
        # https -> http: the credentials would travel in clear text, strip;
        # back on the original origin they are sent again.
        (
            ["https://feeds.example/a", "http://feeds.example/b", "https://feeds.example/c"],
            [True, False, True],
        ),
        # Another port or another host is another origin.
        (["https://feeds.example/a", "https://feeds.example:8443/b"], [True, False]),
        (["https://feeds.example/a", "https://cdn.feeds.example/b"], [True, False]),
    ],
)
def test_caller_headers_follow_only_the_origin(chain: list[str], with_auth: list[bool]) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        here = chain.index(str(request.url))
        if here + 1 < len(chain):
            return httpx.Response(307, headers={"Location": chain[here + 1]})
        return raw_response(200, FEED)

    with FeedFetcher(settings(), transport=httpx.MockTransport(handler)) as f:
        f.fetch(chain[0], headers={"Authorization": "Basic eA==", "X-Api-Key": "k"})
    assert ["authorization" in r.headers for r in seen] == with_auth
    assert ["x-api-key" in r.headers for r in seen] == with_auth


# --- status codes -------------------------------------------------------------------


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 406, 410, 451])
def test_permanent_http_errors(fetcher: FeedFetcher, status: int) -> None:
    with LoopbackServer(lambda req: req.reply(status, b"nope")) as srv:
        err = fail(fetcher, srv.url("/"), kind=FetchRefused)
    assert isinstance(err, PermanentError)
    assert err.reason == f"http_{status}"


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_transient_http_errors(fetcher: FeedFetcher, status: int) -> None:
    with LoopbackServer(lambda req: req.reply(status, b"busy")) as srv:
        err = fail(fetcher, srv.url("/"), kind=FetchFailed)
    assert isinstance(err, TransientError)
    assert err.reason == f"http_{status}"
    assert err.retry_after is None


def test_429_retry_after_seconds(fetcher: FeedFetcher) -> None:
    with LoopbackServer(lambda req: req.reply(429, headers={"Retry-After": "120"})) as srv:
        err = fail(fetcher, srv.url("/"), kind=FetchFailed)
    assert (err.reason, err.retry_after) == ("http_429", 120.0)


def test_429_retry_after_http_date(fetcher: FeedFetcher) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    with LoopbackServer(lambda req: req.reply(429, headers={"Retry-After": when})) as srv:
        err = fail(fetcher, srv.url("/"), kind=FetchFailed)
    assert err.retry_after is not None
    assert 85 <= err.retry_after <= 91


def test_503_retry_after_and_pickling(fetcher: FeedFetcher) -> None:
    with LoopbackServer(lambda req: req.reply(503, headers={"Retry-After": "7"})) as srv:
        err = fail(fetcher, srv.url("/"), kind=FetchFailed)
    clone = pickle.loads(pickle.dumps(err))
    assert type(clone) is FetchFailed
    assert (clone.reason, clone.retry_after, str(clone)) == ("http_503", 7.0, str(err))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", 0.0),
        ("  3600 ", 3600.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # in the past
        ("soon", None),
        ("-5", None),
        ("1.5", None),
        ("", None),
    ],
)
def test_retry_after_parsing(value: str, expected: float | None) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, headers={"Retry-After": value})

    with FeedFetcher(settings(), transport=httpx.MockTransport(handler)) as f:
        err = fail(f, "https://feeds.example/", kind=FetchFailed)
    assert err.retry_after == expected


# --- transport failures and deadlines -----------------------------------------------


def test_connection_refused(fetcher: FeedFetcher, jail: NetworkJail) -> None:
    port = closed_port()
    err = fail(fetcher, f"http://127.0.0.1:{port}/feed", kind=FetchFailed)
    assert err.reason == "connect_error"
    assert isinstance(err.__cause__, httpx.ConnectError)
    assert jail.connects == [("127.0.0.1", port)]


class _TimeoutWire(httpcore.NetworkBackend):
    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectTimeout("timed out")


def test_connect_timeout() -> None:
    resolver = FakeResolver({"slow.example": ["93.184.215.14"]})
    with FeedFetcher(settings(), resolver=resolver, network_backend=_TimeoutWire()) as f:
        err = fail(f, "https://slow.example/", kind=FetchFailed)
    assert err.reason == "connect_timeout"


def test_read_timeout() -> None:
    def app(req: Request) -> None:
        req.stopping.wait(3)

    with LoopbackServer(app) as srv, FeedFetcher(settings(read_timeout=0.3)) as f:
        started = time.monotonic()
        err = fail(f, srv.url("/"), kind=FetchFailed)
    assert err.reason == "read_timeout"
    assert time.monotonic() - started < 1.5


def test_slow_drip_ends_at_the_deadline() -> None:
    """One byte every 0.1 s never trips the read timeout; the total deadline
    ends it."""

    def app(req: Request) -> None:
        req.send_response(200)
        req.send_header("Content-Length", "100000")
        req.end_headers()
        while not req.stopping.is_set():
            req.raw(b"x")
            req.stopping.wait(0.1)

    with LoopbackServer(app) as srv, FeedFetcher(settings(total_timeout=0.8)) as f:
        started = time.monotonic()
        err = fail(f, srv.url("/"), kind=FetchFailed)
        took = time.monotonic() - started
    assert err.reason == "deadline"
    assert 0.7 <= took < 2.0


def test_deadline_cuts_a_single_blocked_read() -> None:
    """Headers never come, read timeout is long: the deadline still wins,
    on time, because it shortens the socket timeout itself."""

    def app(req: Request) -> None:
        req.stopping.wait(4)

    with LoopbackServer(app) as srv, FeedFetcher(settings(total_timeout=0.4)) as f:
        started = time.monotonic()
        err = fail(f, srv.url("/"), kind=FetchFailed)
        took = time.monotonic() - started
    assert err.reason == "deadline"
    assert took < 1.5


def test_deadline_covers_redirect_chains() -> None:
    def app(req: Request) -> None:
        req.stopping.wait(0.15)
        n = int(req.path.rsplit("/", 1)[1])
        req.reply(302, headers={"Location": f"/r/{n + 1}"})

    with (
        LoopbackServer(app) as srv,
        FeedFetcher(settings(total_timeout=0.5, max_redirects=50)) as f,
    ):
        err = fail(f, srv.url("/r/0"), kind=FetchFailed)
    assert err.reason == "deadline"
    assert len(srv.seen) <= 4


# --- Content-Length lies and the size cap -----------------------------------------------


def test_content_length_smaller_than_body(fetcher: FeedFetcher) -> None:
    """The server declares 5 bytes and sends 20 MB: we take 5 and hang up."""

    def app(req: Request) -> None:
        req.raw(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
        for _ in range(20):
            req.raw(b"y" * (1 << 20))

    with LoopbackServer(app) as srv:
        result = fetcher.fetch(srv.url("/"))
        # If the read that ended the 5 bytes held none of the rest, the
        # connection looked clean and went back to the pool; closing the
        # client hangs it up, so the server's writer ends before the server
        # joins it (under load that read split happens, and the join waited)
        fetcher.close()
    assert (result.body, result.wire_bytes) == (b"yyyyy", 5)


def test_content_length_larger_than_body(fetcher: FeedFetcher) -> None:
    def app(req: Request) -> None:
        req.raw(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\nConnection: close\r\n\r\n<rss/>")

    with LoopbackServer(app) as srv:
        err = fail(fetcher, srv.url("/"), kind=FetchFailed)
    assert err.reason == "protocol_error"  # a truncated body is never returned


def test_declared_length_over_cap_refused_without_reading() -> None:
    def app(req: Request) -> None:
        req.raw(b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n")
        req.stopping.wait(3)

    with LoopbackServer(app) as srv, FeedFetcher(settings(max_bytes=1000)) as f:
        err = fail(f, srv.url("/"), kind=FetchRefused)
    assert err.reason == "too_large"


@pytest.mark.parametrize("framing", ["close", "chunked"])
def test_endless_body_is_cut_at_the_cap(framing: str) -> None:
    def app(req: Request) -> None:
        if framing == "close":
            req.raw(b"HTTP/1.0 200 OK\r\n\r\n")
        else:
            req.raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        block = b"z" * 4096
        piece = b"1000\r\n" + block + b"\r\n" if framing == "chunked" else block
        while not req.stopping.is_set():
            req.raw(piece)

    with LoopbackServer(app) as srv, FeedFetcher(settings(max_bytes=64 * 1024)) as f:
        err = fail(f, srv.url("/"), kind=FetchRefused)
    assert err.reason == "too_large"


def test_body_exactly_at_the_cap_is_fine() -> None:
    body = b"a" * 5000
    with LoopbackServer(lambda req: req.reply(200, body)) as srv:
        with FeedFetcher(settings(max_bytes=5000)) as f:
            assert f.fetch(srv.url("/")).body == body
        with FeedFetcher(settings(max_bytes=4999)) as f, pytest.raises(FetchRefused):
            f.fetch(srv.url("/"))


# --- charset and content type -------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "media", "charset"),
    [
        (None, None, None),
        ("text/xml", "text/xml", None),
        ("Application/RSS+XML; Charset=ISO-8859-1", "application/rss+xml", "iso-8859-1"),
        ('text/xml; charset="utf-8"', "text/xml", "utf-8"),
        ("text/xml; charset=bogus-charset-9", "text/xml", "bogus-charset-9"),
        ("text/xml; charset=", "text/xml", None),
        ("text/xml; foo=bar; charset=windows-1252", "text/xml", "windows-1252"),
    ],
)
def test_charset_reported_from_header_only(
    fetcher: FeedFetcher, content_type: str | None, media: str | None, charset: str | None
) -> None:
    # Latin-1 bytes, whatever the header claims: the body is never re-encoded.
    body = "<rss><title>caf\u00e9</title></rss>".encode("latin-1")
    headers = {"Content-Type": content_type} if content_type else {}
    with LoopbackServer(lambda req: req.reply(200, body, headers)) as srv:
        result = fetcher.fetch(srv.url("/"))
    assert (result.body, result.content_type, result.charset) == (body, media, charset)


# --- secrets ------------------------------------------------------------------------------


def test_no_secret_in_errors_or_logs(
    fetcher: FeedFetcher, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with LoopbackServer(chain_app(1)) as srv:
        fetcher.fetch(srv.url("/r/0?token=QTOKEN&format=rss"), headers=SECRETS)
    with LoopbackServer(lambda req: req.reply(404)) as srv:
        err = fail(fetcher, srv.url("/feed?api_key=QTOKEN"), headers=SECRETS, kind=FetchRefused)
    text = caplog.text + str(err) + repr(err)
    for secret in ("QTOKEN", "s3cr3t", "c00kie", "k3y"):
        assert secret not in text
    assert "api_key=***" in str(err)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://u:p@feeds.example/rss?token=abc&x=1#frag",
            "https://feeds.example/rss?token=***&x=***",
        ),
        ("https://feeds.example/rss?SECRET", "https://feeds.example/rss?***"),
        ("https://feeds.example/rss", "https://feeds.example/rss"),
        ("http://u:p@[::1/x?token=abc", "http://[::1/x"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


@pytest.mark.parametrize(
    "headers",
    [{"Host": "evil.example"}, {"Accept-Encoding": "zstd"}, {"If-None-Match": "*"}],
)
def test_fetcher_owned_headers_cannot_be_set(fetcher: FeedFetcher, headers: dict[str, str]) -> None:
    err = fail(fetcher, "http://127.0.0.1:1/", headers=headers, kind=FetchRefused)
    assert err.reason == "invalid_request"


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Token": "s3cr3t\r\nHost: evil"},
        {"X-Token": "s3cr3t\n"},
        {"X-Token": "s3cr3t\x00"},
        {"X-Token": "s3cr3t\u00e9"},
        {"Bad Name": "s3cr3t"},
        {"X-Token:": "s3cr3t"},
    ],
)
def test_malformed_caller_headers_are_refused(
    fetcher: FeedFetcher, headers: dict[str, str]
) -> None:
    with LoopbackServer(feed_app) as srv:
        err = fail(fetcher, srv.url("/"), headers=headers, kind=FetchRefused)
    assert err.reason == "invalid_request"
    assert "s3cr3t" not in str(err)
    assert srv.seen == []


def test_every_raised_error_pickles(fetcher: FeedFetcher) -> None:
    errors: list[WirestreamError] = []
    for url in ("file:///etc/passwd", "http://10.0.0.1/", f"http://127.0.0.1:{closed_port()}/"):
        try:
            fetcher.fetch(url)
        except (FetchRefused, FetchFailed) as exc:
            errors.append(exc)
    assert len(errors) == 3
    for error in errors:
        clone = pickle.loads(pickle.dumps(error))
        assert (type(clone), str(clone), clone.reason) == (type(error), str(error), error.reason)


def test_mock_transport_and_guard_options_are_exclusive() -> None:
    with pytest.raises(ValueError, match="either"):
        FeedFetcher(
            settings(),
            transport=httpx.MockTransport(lambda r: httpx.Response(200)),
            resolver=FakeResolver({}),
        )


def test_no_cookie_jar_between_fetches(fetcher: FeedFetcher) -> None:
    def app(req: Request) -> None:
        req.reply(200, b"x", {"Set-Cookie": "track=1; Path=/"})

    with LoopbackServer(app) as srv:
        fetcher.fetch(srv.url("/"))
        fetcher.fetch(srv.url("/"))
    assert all("cookie" not in s.headers for s in srv.seen)


def test_module_public_surface() -> None:
    assert set(fetch_module.__all__) == {"FeedFetcher", "FetchResult", "fetch_bytes", "redact_url"}
