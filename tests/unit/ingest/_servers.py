"""Loopback HTTP servers and a network jail for the fetcher tests.

:class:`LoopbackServer` runs a ``ThreadingHTTPServer`` on 127.0.0.1, port 0,
calling one handler function per request; :func:`install_jail` makes any
connection or name lookup outside 127.0.0.0/8 and ::1 fail the test (and
records every attempt, so a test can prove a refusal came before any connect).
"""

from __future__ import annotations

import ipaddress
import socket
import socketserver
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import pytest


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]  # lower-cased names


Handler = Callable[["Request"], None]


class Request(BaseHTTPRequestHandler):
    """Per-request handler; ``self.server.app`` decides the answer."""

    server: _Server

    def do_GET(self) -> None:
        self.server.seen.append(
            Seen("GET", self.path, {k.lower(): v for k, v in self.headers.items()})
        )
        self.server.app(self)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # -- helpers for handlers ----------------------------------------------------
    @property
    def stopping(self) -> threading.Event:
        return self.server.stopping

    def reply(
        self,
        status: int = 200,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        *,
        length: bool = True,
    ) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if length and not any(k.lower() == "content-length" for k in headers or {}):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def raw(self, data: bytes) -> None:
        """Write bytes verbatim (a hand-made status line and headers)."""
        self.wfile.write(data)
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    # Handler threads are joined on close, so no socket outlives its test.
    daemon_threads = False
    block_on_close = True

    def __init__(self, app: Handler) -> None:
        self.app = app
        self.seen: list[Seen] = []
        self.stopping = threading.Event()
        super().__init__(("127.0.0.1", 0), Request)

    def server_bind(self) -> None:
        # HTTPServer.server_bind would call getfqdn(): a name lookup we don't need.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "127.0.0.1", self.server_address[1]

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hang up on purpose (size cap, deadline): not an error here.
        pass


class LoopbackServer:
    """``with LoopbackServer(handler) as srv: srv.url("/feed")``."""

    def __init__(self, app: Handler, *, tls: ssl.SSLContext | None = None) -> None:
        self._server = _Server(app)
        self._scheme = "https" if tls else "http"
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        # A short poll interval keeps shutdown() (and so each test) fast.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def seen(self) -> list[Seen]:
        return self._server.seen

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        return f"{self._scheme}://{host}:{self.port}{path}"

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the jail -------------------------------------------------------------------------


class JailBreak(AssertionError):
    """A test tried to reach beyond loopback. Not an OSError, so no client
    code can mistake it for an ordinary network failure and swallow it."""


@dataclass
class NetworkJail:
    connects: list[tuple[str, int]] = field(default_factory=list)
    lookups: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    def connects_to(self, port: int) -> list[tuple[str, int]]:
        return [c for c in self.connects if c[1] == port]


def _is_loopback(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return False
    return address.is_loopback


def install_jail(monkeypatch: pytest.MonkeyPatch) -> NetworkJail:
    """Patch socket connects and name lookups for the current test."""
    jail = NetworkJail()
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def check_connect(sock: socket.socket, address: Any) -> None:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return
        host, port = str(address[0]), int(address[1])
        jail.connects.append((host, port))
        if not _is_loopback(host):
            jail.violations.append(f"connect to {host}:{port}")
            sock.close()
            raise JailBreak(f"test tried to connect to {host}:{port}")

    def connect(self: socket.socket, address: Any) -> None:
        check_connect(self, address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check_connect(self, address)
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None:
            jail.lookups.append(str(name))
            if not _is_loopback(str(name)):
                jail.violations.append(f"name lookup of {name!r}")
                raise JailBreak(f"test tried to look up {name!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    def no_lookup(name: Any, *args: Any, **kwargs: Any) -> Any:
        jail.violations.append(f"name lookup of {name!r}")
        raise JailBreak(f"test tried to look up {name!r}")

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    for name in ("gethostbyname", "gethostbyname_ex", "gethostbyaddr", "getnameinfo"):
        monkeypatch.setattr(socket, name, no_lookup)
    return jail


class FakeResolver:
    """A resolver for :class:`FeedFetcher` that never touches DNS."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.calls: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append((host, port))
        if host not in self.table:
            raise AssertionError(f"unexpected resolution of {host!r}")
        return list(self.table[host])
