"""A wire server on a private network of the test's own: a network namespace
with a veth pair (host side 10.231.<n>.1/30, namespace side
10.231.<n>.2/30), and an HTTP server inside the namespace that serves a feed
and redirects to wherever the test asks. No packet leaves the machine: the
addresses exist only on the veth pair, which ends in the namespace.

Run as a script inside the namespace (``ip netns exec``), this module is the
server: ``/feed.rss`` is an RSS feed of three items, ``/redirect?to=URL``
answers 302 to URL, and every request line is appended to the log file.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

PORT = 8080


def _feed(prefix: str) -> bytes:
    items = "".join(
        f"<item><title>Intranet wire story {n}: port workers strike over pay</title>"
        f"<link>http://wire.intranet/{prefix}/{n}</link>"
        f"<guid isPermaLink=\"false\">urn:intranet:{prefix}:{n}</guid>"
        f"<description>Dock workers walked out on Monday in city {n}, halting container "
        f"traffic for the day.</description><pubDate>{formatdate(1764921600 + n)}</pubDate>"
        "</item>" for n in range(1, 4))
    return (f"<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel>"
            f"<title>Intranet wire</title><link>http://wire.intranet/</link>"
            f"<description>test</description><language>en</language>{items}</channel></rss>"
            ).encode()


def serve(bind: str, log: Path, prefix: str) -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with log.open("a", encoding="utf-8") as out:
                out.write(f"{self.client_address[0]} {self.path}\n")
            parts = urlsplit(self.path)
            if parts.path == "/feed.rss":
                body = _feed(prefix)
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            elif parts.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", parse_qs(parts.query)["to"][0])
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    ThreadingHTTPServer((bind, PORT), Handler).serve_forever()


@dataclass
class Intranet:
    """The namespace, its addresses and the server's request log."""

    namespace: str
    host_side: str  # the address of this (the root) namespace on the pair
    server: str  # the wire server's address, inside the namespace
    log: Path

    def url(self, path: str) -> str:
        return f"http://{self.server}:{PORT}{path}"

    def requests(self) -> list[str]:
        if not self.log.exists():
            return []
        return [line.split(" ", 1)[1] for line in self.log.read_text().splitlines() if line]


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


@contextlib.contextmanager
def intranet(work: Path, prefix: str) -> Iterator[Intranet]:
    """Make the namespace and the veth pair, start the server in it and wait
    until it answers; remove all of it on the way out."""
    n = os.getpid() % 200 + 20  # one /30 per test process: 10.231.<n>.0/30
    name, host_if, ns_if = f"wsnet{n}", f"wsv{n}h", f"wsv{n}n"
    host_side, server = f"10.231.{n}.1", f"10.231.{n}.2"
    with contextlib.suppress(subprocess.CalledProcessError):  # a leftover of a killed run
        _ip("netns", "del", name)
    with contextlib.suppress(subprocess.CalledProcessError):
        _ip("link", "del", host_if)
    _ip("netns", "add", name)
    proc: subprocess.Popen[bytes] | None = None
    try:
        _ip("link", "add", host_if, "type", "veth", "peer", "name", ns_if)
        _ip("link", "set", ns_if, "netns", name)
        _ip("addr", "add", f"{host_side}/30", "dev", host_if)
        _ip("link", "set", host_if, "up")
        _ip("netns", "exec", name, "ip", "addr", "add", f"{server}/30", "dev", ns_if)
        _ip("netns", "exec", name, "ip", "link", "set", ns_if, "up")
        _ip("netns", "exec", name, "ip", "link", "set", "lo", "up")
        log = work / f"intranet-{n}.log"
        log.unlink(missing_ok=True)
        proc = subprocess.Popen(
            ["ip", "netns", "exec", name, sys.executable, __file__, server, str(log), prefix],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        net = Intranet(name, host_side, server, log)
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(net.url("/ready"), timeout=1):
                    pass
            except urllib.error.HTTPError:
                break  # 404: it answers
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the intranet wire server did not start") from None
                time.sleep(0.1)
        log.unlink(missing_ok=True)  # the readiness probe is not the workers'
        yield net
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
        with contextlib.suppress(subprocess.CalledProcessError):
            _ip("link", "del", host_if)
        _ip("netns", "del", name)


if __name__ == "__main__":
    serve(sys.argv[1], Path(sys.argv[2]), sys.argv[3])
