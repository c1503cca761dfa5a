"""The SSRF guard of the feed fetcher.

Every test runs in a network jail (``_servers.install_jail``): a connect or a
name lookup outside 127.0.0.0/8 / ::1 fails the test, and all attempts are
recorded so each refusal is shown to happen before any connection.
Hostnames resolve through a :class:`FakeResolver`, never through DNS.
"""

from __future__ import annotations

import ipaddress
import shutil
import ssl
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpcore
import pytest

from services.ingest.adapters import fetch as fetch_module
from services.ingest.adapters.fetch import FeedFetcher
from services.ingest.adapters.netguard import (
    GuardedBackend,
    address_problem,
    deadline_scope,
    parse_ip_literal,
)
from shared.errors import FetchFailed, FetchRefused
from shared.settings import IngestSettings
from tests.unit.ingest._servers import (
    FakeResolver,
    LoopbackServer,
    NetworkJail,
    Request,
    install_jail,
)

pytestmark = pytest.mark.timeout(5)


@pytest.fixture(autouse=True)
def jail(monkeypatch: pytest.MonkeyPatch) -> Iterator[NetworkJail]:
    jail = install_jail(monkeypatch)
    yield jail
    assert jail.violations == []


def _settings(allow_loopback: bool) -> IngestSettings:
    return IngestSettings(
        allow_loopback=allow_loopback, connect_timeout=2, read_timeout=2, total_timeout=4
    )


def _fetcher(allow_loopback: bool = False, **kwargs: Any) -> FeedFetcher:
    return FeedFetcher(_settings(allow_loopback), **kwargs)


def _refused(fetcher: FeedFetcher, url: str) -> FetchRefused:
    with fetcher, pytest.raises(FetchRefused) as info:
        fetcher.fetch(url)
    return info.value


# Hosts that are never fetched, whatever allow_loopback says.
NEVER = [
    "10.0.0.1",
    "10.255.255.255",
    "172.16.0.1",
    "172.31.255.254",
    "192.168.1.1",
    "169.254.169.254",
    "169.254.0.1",
    "100.64.0.1",
    "100.127.255.254",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "0.0.0.0",
    "0.1.2.3",
    "192.0.2.1",
    "198.18.0.1",
    "[::]",
    "[fe80::1]",
    "[fe80::1%25eth0]",
    "[fc00::1]",
    "[fd12:3456:789a::1]",
    "[fec0::1]",
    "[ff02::1]",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[::ffff:10.0.0.1]",
    "[::ffff:169.254.169.254]",
    "[::127.0.0.1]",  # IPv4-compatible
    "[2002:a00:1::]",  # 6to4 of 10.0.0.1
    "[2002:7f00:1::1]",  # 6to4 of 127.0.0.1
    "[2002:a9fe:a9fe::]",  # 6to4 of 169.254.169.254
    "[64:ff9b::a00:1]",  # NAT64 of 10.0.0.1
    "[64:ff9b::7f00:1]",  # NAT64 of 127.0.0.1
    "[64:ff9b:1::a00:1]",  # local-use NAT64
    "[2001:db8::1]",
    "[2001::1]",  # Teredo
    # Disguised IPv4 spellings, refused as such (even of loopback).
    "2130706433",
    "0x7f000001",
    "017700000001",
    "0x7f.1",
    "0x7f.0.0.1",
    "0177.0.0.1",
    "0177.1",
    "127.1",
    "127.0.1",
    "127.0.0.1.",
    "10.1",
    "167772161",  # 10.0.0.1
    "192.168.257",  # 192.168.1.1
    "0xa9.0xfe.0xa9.0xfe",  # 169.254.169.254
    "0",
]
LOOPBACK = ["127.0.0.1", "127.0.0.2", "127.255.255.254", "[::1]"]


@pytest.mark.parametrize("host", NEVER)
@pytest.mark.parametrize("allow_loopback", [False, True])
def test_non_public_hosts_are_refused_before_any_connect(
    host: str, allow_loopback: bool, jail: NetworkJail
) -> None:
    resolver = FakeResolver({})
    err = _refused(_fetcher(allow_loopback, resolver=resolver), f"http://{host}/feed")
    assert err.reason == "ssrf_blocked"
    assert jail.connects == [] and jail.lookups == [] and resolver.calls == []


@pytest.mark.parametrize("host", LOOPBACK)
def test_loopback_is_refused_unless_allowed(host: str, jail: NetworkJail) -> None:
    err = _refused(_fetcher(False), f"http://{host}:1/")
    assert err.reason == "ssrf_blocked"
    assert jail.connects == []


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "gopher://127.0.0.1:70/_GET",
        "ftp://127.0.0.1/feed.xml",
        "data:text/plain,hello",
        "javascript:alert(1)",
        "dict://127.0.0.1:11211/stat",
        "ws://127.0.0.1/",
        "//127.0.0.1/feed",
        "feed.example/rss",
    ],
)
def test_only_http_and_https_schemes(url: str, jail: NetworkJail) -> None:
    err = _refused(_fetcher(True), url)
    assert err.reason == "scheme_not_allowed"
    assert jail.connects == []


def test_userinfo_is_refused_and_not_echoed(jail: NetworkJail) -> None:
    err = _refused(_fetcher(True), "http://user:hunter2@127.0.0.1:1/feed")
    assert err.reason == "userinfo_not_allowed"
    assert "hunter2" not in str(err)
    # The classic "trusted@evil" confusion is the same case.
    assert _refused(_fetcher(True), "http://feeds.example@127.0.0.1:1/").reason == (
        "userinfo_not_allowed"
    )
    assert jail.connects == []


@pytest.mark.parametrize("url", ["http://127.0.0.1:99999/", "http:///feed", "http://[::1/"])
def test_malformed_urls(url: str) -> None:
    assert _refused(_fetcher(True), url).reason == "invalid_url"


# --- hostnames: the address actually connected to ---------------------------------


@pytest.mark.parametrize(
    "addresses",
    [
        ["10.0.0.7"],
        ["169.254.169.254"],
        ["100.100.100.200"],
        ["fd00:ec2::254"],
        ["fe80::1%eth0"],
        ["::ffff:169.254.169.254"],
        ["64:ff9b::a9fe:a9fe"],
        ["0.0.0.0"],
        ["127.0.0.1"],  # loopback, and this fetcher does not allow it
        # ANY bad address refuses, even next to a public one, and nothing is
        # connected to - not even the public address.
        ["93.184.215.14", "10.0.0.7"],
        ["2606:2800:21f:cb07:6820:80da:af6b:8b2c", "::1"],
    ],
)
def test_hostname_resolving_to_non_public_address(addresses: list[str], jail: NetworkJail) -> None:
    resolver = FakeResolver({"feeds.example": addresses})
    err = _refused(_fetcher(False, resolver=resolver), "https://feeds.example/rss")
    assert err.reason == "ssrf_blocked"
    assert resolver.calls == [("feeds.example", 443)]
    assert jail.connects == [] and jail.lookups == []


class FakeWire(httpcore.NetworkBackend):
    """An inner backend that records where the guard connects and answers
    one canned HTTP response, so no packet leaves the process."""

    def __init__(self) -> None:
        self.connects: list[tuple[str, int]] = []
        self.sni: list[str | None] = []
        self.sent = b""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        self.connects.append((host, port))
        return _FakeStream(self)


class _FakeStream(httpcore.NetworkStream):
    def __init__(self, wire: FakeWire) -> None:
        self._wire = wire
        self._answer = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\n<ok>"

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data, self._answer = self._answer[:max_bytes], self._answer[max_bytes:]
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._wire.sent += buffer

    def close(self) -> None:
        pass

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        self._wire.sni.append(server_hostname)
        return self

    def get_extra_info(self, info: str) -> Any:
        return None


def test_public_host_connects_to_exactly_the_validated_address(jail: NetworkJail) -> None:
    wire = FakeWire()
    resolver = FakeResolver({"news.example": ["93.184.215.14", "2606:2800:21f:cb07::1"]})
    with _fetcher(False, resolver=resolver, network_backend=wire) as fetcher:
        result = fetcher.fetch("https://news.example/feed.xml")
    assert result.body == b"<ok>"
    # The IP we validated, not the name: nothing below the guard can re-resolve.
    assert wire.connects == [("93.184.215.14", 443)]
    assert resolver.calls == [("news.example", 443)]
    # TLS and HTTP still speak to the hostname.
    assert wire.sni == ["news.example"]
    assert b"\r\nHost: news.example\r\n" in wire.sent
    assert jail.connects == [] and jail.lookups == []


def test_public_nat64_and_6to4_forms_are_allowed() -> None:
    for text in ["64:ff9b::5db8:d70e", "2002:5db8:d70e::1", "93.184.215.14", "2606:4700::1"]:
        assert address_problem(ipaddress.ip_address(text)) is None, text


def test_each_connection_resolves_once_and_never_through_the_system(jail: NetworkJail) -> None:
    def app(req: Request) -> None:
        req.reply(200, b"<rss/>")

    with LoopbackServer(app) as srv:
        resolver = FakeResolver({"feed.test": ["127.0.0.1"]})
        with _fetcher(True, resolver=resolver) as fetcher:
            result = fetcher.fetch(srv.url("/rss", host="feed.test"))
        assert result.body == b"<rss/>"
        assert resolver.calls == [("feed.test", srv.port)]
        assert srv.seen[0].headers["host"] == f"feed.test:{srv.port}"
    assert jail.connects == [("127.0.0.1", srv.port)]
    assert "feed.test" not in jail.lookups


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")
def test_tls_speaks_to_the_hostname_while_connecting_to_the_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jail: NetworkJail
) -> None:
    """Real TLS on loopback: the socket goes to the validated 127.0.0.1, while
    SNI and certificate verification use the hostname from the URL."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1",
         "-subj", "/CN=feed.test", "-addext", "subjectAltName=DNS:feed.test"],
        check=True, capture_output=True, timeout=10,
    )  # fmt: skip
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    sni: list[str | None] = []
    server_tls.sni_callback = lambda sock, name, ctx: sni.append(name)
    # Trust only this certificate (the fetcher's shared context is replaced).
    client_tls = ssl.create_default_context(cafile=cert)
    monkeypatch.setattr(fetch_module, "_ssl_context", lambda: client_tls)

    def app(req: Request) -> None:
        req.reply(200, b"<rss/>")

    resolver = FakeResolver({"feed.test": ["127.0.0.1"]})
    with LoopbackServer(app, tls=server_tls) as srv:
        with _fetcher(True, resolver=resolver) as fetcher:
            result = fetcher.fetch(srv.url("/rss", host="feed.test"))
            # The same server by address: the certificate does not name it.
            with pytest.raises(FetchFailed) as info:
                fetcher.fetch(srv.url("/rss"))
        assert srv.seen[0].headers["host"] == f"feed.test:{srv.port}"
    assert result.body == b"<rss/>"
    assert sni == ["feed.test", None]
    assert info.value.reason == "connect_error"
    assert jail.connects == [("127.0.0.1", srv.port)] * 2


def test_rebinding_is_judged_per_connection() -> None:
    """A name that answered loopback once and 10/8 the next time: the second
    connection is refused, because every connect validates what it uses."""

    answers = iter([["127.0.0.1"], ["10.0.0.1"]])

    def app(req: Request) -> None:
        req.reply(200, b"x", {"Connection": "close"})

    with LoopbackServer(app) as srv:
        with _fetcher(True, resolver=lambda host, port: next(answers)) as fetcher:
            assert fetcher.fetch(srv.url("/", host="rebind.test")).body == b"x"
            with pytest.raises(FetchRefused) as info:
                fetcher.fetch(srv.url("/", host="rebind.test"))
        assert info.value.reason == "ssrf_blocked"
        assert len(srv.seen) == 1


# --- redirects: every hop through the guard -------------------------------------------

PRIVATE_HOPS = [
    ("http://169.254.169.254/latest/meta-data/", "ssrf_blocked"),
    ("http://10.0.0.1/", "ssrf_blocked"),
    ("http://[::ffff:10.0.0.1]/", "ssrf_blocked"),
    ("http://[::ffff:7f00:1]/", "ssrf_blocked"),
    ("http://2130706433/", "ssrf_blocked"),
    ("http://0177.0.0.1/", "ssrf_blocked"),
    ("http://0x7f.1/", "ssrf_blocked"),
    ("https://[fd00::1]:8443/", "ssrf_blocked"),
    ("http://metadata.test/computeMetadata/v1/", "ssrf_blocked"),
    ("file:///etc/passwd", "scheme_not_allowed"),
    ("gopher://127.0.0.1:6379/_FLUSHALL", "scheme_not_allowed"),
    ("http://admin:pw@127.0.0.1/", "userinfo_not_allowed"),
]


@pytest.mark.parametrize(("location", "reason"), PRIVATE_HOPS)
def test_redirect_to_forbidden_target_is_refused(
    location: str, reason: str, jail: NetworkJail
) -> None:
    """Hop 1 is loopback (allowed here); hop 2 must be refused before any
    connection to it is even attempted."""

    def app(req: Request) -> None:
        req.reply(302, headers={"Location": location})

    resolver = FakeResolver({"metadata.test": ["169.254.169.254"]})
    with LoopbackServer(app) as srv:
        err = _refused(_fetcher(True, resolver=resolver), srv.url("/feed"))
    assert err.reason == reason
    assert jail.connects == [("127.0.0.1", srv.port)]
    assert len(srv.seen) == 1


# --- the backend on its own ----------------------------------------------------------


def test_backend_refuses_before_calling_inner_backend() -> None:
    wire = FakeWire()
    backend = GuardedBackend(resolver=FakeResolver({"x.test": ["10.1.2.3"]}), inner=wire)
    with pytest.raises(FetchRefused, match=r"10\.1\.2\.3"):
        backend.connect_tcp("x.test", 80)
    with pytest.raises(FetchRefused):
        backend.connect_tcp("169.254.169.254", 80)
    with pytest.raises(FetchRefused):
        backend.connect_unix_socket("/var/run/docker.sock")
    assert wire.connects == []


def test_backend_deadline_already_passed() -> None:
    import time

    wire = FakeWire()
    backend = GuardedBackend(resolver=FakeResolver({"x.test": ["93.184.215.14"]}), inner=wire)
    with deadline_scope(time.monotonic() - 1), pytest.raises(FetchFailed) as info:
        backend.connect_tcp("x.test", 80)
    assert info.value.reason == "deadline"
    assert wire.connects == []


def test_empty_resolution_is_a_dns_failure() -> None:
    backend = GuardedBackend(resolver=FakeResolver({"x.test": []}), inner=FakeWire())
    with pytest.raises(FetchFailed) as info:
        backend.connect_tcp("x.test", 80)
    assert info.value.reason == "dns_error"


@pytest.mark.parametrize(
    ("host", "address", "canonical"),
    [
        ("2130706433", "127.0.0.1", False),
        ("0x7f.1", "127.0.0.1", False),
        ("0177.0.0.1", "127.0.0.1", False),
        ("127.1", "127.0.0.1", False),
        ("0X7F.0.0.01", "127.0.0.1", False),
        ("127.0.0.1.", "127.0.0.1", False),
        ("1.2.3.4", "1.2.3.4", True),
        ("[::ffff:7f00:1]", "::ffff:7f00:1", True),
        ("fe80::1%eth0", "fe80::1", True),
    ],
)
def test_ip_literals_are_read_like_inet_aton(host: str, address: str, canonical: bool) -> None:
    parsed = parse_ip_literal(host)
    assert parsed is not None
    assert parsed == (ipaddress.ip_address(address), canonical)


@pytest.mark.parametrize(
    "host", ["feeds.example", "1.2.3.4.5", "256.1.1.1", "08.0.0.1", "0x.example", "1e3"]
)
def test_hostnames_are_not_literals(host: str) -> None:
    assert parse_ip_literal(host) is None


# ------------------------------------------------- allowed private networks
def test_an_allowed_private_network_admits_its_addresses_and_nothing_else() -> None:
    allowed = IngestSettings(allow_networks=["10.231.0.0/30", "fd00:abcd::/64"]).allowed_networks
    ok = [ipaddress.ip_address(a) for a in ("10.231.0.1", "10.231.0.2", "fd00:abcd::5")]
    assert [address_problem(a, allow_networks=allowed) for a in ok] == [None, None, None]
    for text, why in [("10.231.0.5", "private"), ("127.0.0.1", "loopback"),
                      ("169.254.169.254", "link-local"), ("192.168.0.1", "private"),
                      ("::ffff:10.231.0.2", "IPv4-mapped IPv6"), ("fd00:abce::5", "unique local")]:
        assert address_problem(ipaddress.ip_address(text), allow_networks=allowed) == why, text


@pytest.mark.parametrize("network", ["127.0.0.0/8", "169.254.0.0/16", "0.0.0.0/0", "8.8.8.0/24",
                                     "10.0.0.0/7", "::1/128", "fe80::/10", "not a network"])
def test_only_private_ranges_can_be_allowed(network: str) -> None:
    with pytest.raises(ValueError):
        IngestSettings(allow_networks=[network])


def test_a_hostname_resolving_into_an_allowed_network_passes_the_guard() -> None:
    allowed = IngestSettings(allow_networks=["10.231.0.0/30"]).allowed_networks
    resolver = FakeResolver({"wire.intranet": ["10.231.0.2"], "sneaky.intranet": ["127.0.0.1"],
                             "mixed.intranet": ["10.231.0.2", "169.254.169.254"]})
    guard = GuardedBackend(allow_networks=allowed, resolver=resolver)
    assert guard.validated_addresses("wire.intranet", 80) == [ipaddress.ip_address("10.231.0.2")]
    for host in ("sneaky.intranet", "mixed.intranet", "127.0.0.1", "10.231.0.9"):
        with pytest.raises(FetchRefused) as info:
            guard.validated_addresses(host, 80)
        assert info.value.reason == "ssrf_blocked", host
    # without the setting the intranet host is refused like any private one
    with pytest.raises(FetchRefused):
        GuardedBackend(resolver=resolver).validated_addresses("wire.intranet", 80)
