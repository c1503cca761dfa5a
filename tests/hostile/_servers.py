"""Loopback servers for the hostile-input suite.

* :class:`HostileServer` answers each path with a behaviour registered by the
  test (``server.route("/bomb", handler)``): bombs, lies, drips, redirects.
* :class:`Canary` must never be reached: the SSRF tests point disguised
  addresses of it at the fetcher, and a request here (or a connect recorded
  by the workers' network jail) is a bypass.
* :func:`bomb` builds compression bombs once per session, streaming, so the
  test process never holds the inflated bytes.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable
from functools import cache
from types import TracebackType
from typing import Any

import brotli  # type: ignore[import-untyped]

from tests.unit.ingest._servers import LoopbackServer, Request

Behaviour = Callable[[Request], None]

# Decompressed size of the bombs: a hundred times the 10 MB cap.
BOMB_BYTES = 1024 * 1024 * 1024


class HostileServer:
    def __init__(self) -> None:
        self.routes: dict[str, Behaviour] = {}
        self.hits: list[str] = []
        self._lock = threading.Lock()
        self._server = LoopbackServer(self._dispatch)

    def _dispatch(self, req: Request) -> None:
        path = req.path.split("?", 1)[0]
        with self._lock:
            self.hits.append(req.path)
            behaviour = self.routes.get(path)
        if behaviour is None:
            req.reply(404, b"not here")
            return
        behaviour(req)

    def route(self, path: str, behaviour: Behaviour) -> str:
        with self._lock:
            self.routes[path] = behaviour
        return self.url(path)

    def serve(self, path: str, body: bytes, content_type: str = "application/rss+xml",
              headers: dict[str, str] | None = None) -> str:
        def answer(req: Request) -> None:
            req.reply(200, body, {"Content-Type": content_type, **(headers or {})})

        return self.route(path, answer)

    def url(self, path: str) -> str:
        return self._server.url(path)

    @property
    def port(self) -> int:
        return self._server.port

    def __enter__(self) -> HostileServer:
        self._server.__enter__()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._server.__exit__(exc_type, exc, tb)


class Canary:
    """Records every request; the tests assert it saw none."""

    def __init__(self) -> None:
        self.hits: list[str] = []

        def app(req: Request) -> None:
            self.hits.append(req.path)
            req.reply(200, b"<rss version='2.0'><channel><title>canary</title></channel></rss>")

        self._server = LoopbackServer(app)

    @property
    def port(self) -> int:
        return self._server.port

    def __enter__(self) -> Canary:
        self._server.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.__exit__(None, None, None)


@cache
def bomb(encoding: str) -> bytes:
    """BOMB_BYTES of spaces, compressed with ``gzip``, ``deflate`` or ``br``."""
    chunk = b" " * (1024 * 1024)
    if encoding == "br":
        compressor = brotli.Compressor(quality=1)
        parts = [compressor.process(chunk) for _ in range(BOMB_BYTES // len(chunk))]
        return b"".join(parts) + compressor.finish()
    wbits = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}[encoding]
    z = zlib.compressobj(9, zlib.DEFLATED, wbits)
    parts = [z.compress(chunk) for _ in range(BOMB_BYTES // len(chunk))]
    return b"".join(parts) + z.flush()
