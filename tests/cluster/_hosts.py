"""Other hosts on one machine: network namespaces of the test's own, each
joined to a bridge in the root namespace by a veth pair (bridge
10.232.<n>.1/24, host k at 10.232.<n>.<10 + k>), and TCP relays that make
the root namespace's services answer at the bridge address, as if Redis,
Elasticsearch, APy, CoreNLP and the feed server ran on a services host at
10.232.<n>.1. A process in a namespace has a loopback of its own with
nothing on it: whatever it reaches, it reaches by address. No packet leaves
the machine: the addresses exist only on the bridge and the pairs."""

from __future__ import annotations

import contextlib
import os
import socket
import socketserver
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


@dataclass
class Hosts:
    services: str  # the bridge's address: where the services answer
    namespaces: dict[str, str]  # host name -> namespace
    addresses: dict[str, str]  # host name -> its address

    def prefix(self, host: str) -> list[str]:
        """The command prefix that runs a process on ``host``."""
        return ["ip", "netns", "exec", self.namespaces[host]]


@contextlib.contextmanager
def hosts(names: list[str]) -> Iterator[Hosts]:
    n = os.getpid() % 200 + 20
    bridge = f"wsbr{n}"
    services = f"10.232.{n}.1"
    made: list[tuple[str, str]] = []  # (namespace, host-side link)
    for k in range(len(names)):  # leftovers of a killed run
        with contextlib.suppress(subprocess.CalledProcessError):
            _ip("netns", "del", f"wsh{n}x{k}")
        with contextlib.suppress(subprocess.CalledProcessError):
            _ip("link", "del", f"wsh{n}x{k}h")
    with contextlib.suppress(subprocess.CalledProcessError):
        _ip("link", "del", bridge)
    _ip("link", "add", bridge, "type", "bridge")
    try:
        _ip("addr", "add", f"{services}/24", "dev", bridge)
        _ip("link", "set", bridge, "up")
        namespaces, addresses = {}, {}
        for k, name in enumerate(names):
            ns, host_if, ns_if = f"wsh{n}x{k}", f"wsh{n}x{k}h", f"wsh{n}x{k}n"
            _ip("netns", "add", ns)
            made.append((ns, host_if))
            _ip("link", "add", host_if, "type", "veth", "peer", "name", ns_if)
            _ip("link", "set", ns_if, "netns", ns)
            _ip("link", "set", host_if, "master", bridge)
            _ip("link", "set", host_if, "up")
            address = f"10.232.{n}.{10 + k}"
            _ip("netns", "exec", ns, "ip", "addr", "add", f"{address}/24", "dev", ns_if)
            _ip("netns", "exec", ns, "ip", "link", "set", ns_if, "up")
            _ip("netns", "exec", ns, "ip", "link", "set", "lo", "up")
            namespaces[name], addresses[name] = ns, address
        yield Hosts(services, namespaces, addresses)
    finally:
        for ns, host_if in made:
            with contextlib.suppress(subprocess.CalledProcessError):
                _ip("link", "del", host_if)
            with contextlib.suppress(subprocess.CalledProcessError):
                _ip("netns", "del", ns)
        with contextlib.suppress(subprocess.CalledProcessError):
            _ip("link", "del", bridge)


class _Relay(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    target: tuple[str, int]
    connections: int = 0


class _Pipe(socketserver.BaseRequestHandler):
    server: _Relay

    def handle(self) -> None:
        self.server.connections += 1
        try:
            upstream = socket.create_connection(self.server.target, timeout=10)
        except OSError:
            return
        upstream.settimeout(None)
        self.request.settimeout(None)

        def pump(src: socket.socket, dst: socket.socket) -> None:
            with contextlib.suppress(OSError):
                while data := src.recv(65536):
                    dst.sendall(data)
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)

        back = threading.Thread(target=pump, args=(upstream, self.request), daemon=True)
        back.start()
        pump(self.request, upstream)
        back.join()
        upstream.close()


@contextlib.contextmanager
def relay(address: str, target_port: int) -> Iterator[tuple[int, _Relay]]:
    """Listen on ``address`` (a free port) and pass every connection on to
    127.0.0.1:``target_port``; yields the port and the server (which counts
    the connections it relayed)."""
    server = _Relay((address, 0), _Pipe)
    server.target = ("127.0.0.1", target_port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1]), server
    finally:
        server.shutdown()
        server.server_close()
