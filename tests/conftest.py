"""Test tiers and the guard that keeps unit tests away from real services.

* Unit tests (unmarked) must not touch Redis, Elasticsearch or the
  translator: an autouse fixture makes any connection to their ports fail the
  test at once.
* Integration tests (``@pytest.mark.integration``) talk to the real services
  started by ``wirestream services up``; they get an isolated Redis database
  and index prefix per session (see tests/integration/conftest.py).
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _service_ports() -> set[int]:
    ports = {6379, 9200, 9300, 2737, 5000, 16379, 19200, 19300, 12737}
    env = ROOT / "var" / "local.env"
    if env.exists():
        for line in env.read_text().splitlines():
            if "_URL=" in line:
                tail = line.rsplit(":", 1)[-1].split("/")[0]
                if tail.isdigit():
                    ports.add(int(tail))
    return ports


SERVICE_PORTS = _service_ports()


class ServiceAccessError(AssertionError):
    pass


@pytest.fixture(autouse=True)
def _block_services(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("integration"):
        return
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def _check(address: Any) -> None:
        if isinstance(address, tuple) and len(address) >= 2 and address[1] in SERVICE_PORTS:
            raise ServiceAccessError(
                f"unit test tried to connect to a service at {address[0]}:{address[1]}; "
                "mark it @pytest.mark.integration"
            )

    def guarded_connect(self: socket.socket, address: Any) -> None:
        try:
            _check(address)
        except ServiceAccessError:
            self.close()  # no ResourceWarning from the client's dangling socket
            raise
        real_connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: Any) -> int:
        try:
            _check(address)
        except ServiceAccessError:
            self.close()
            raise
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)


CARRIED_FIXTURES = ROOT / "tests" / "fixtures"


def fixtures_dir() -> Path | None:
    """The real wire samples the tests read: ``$WIRESTREAM_FIXTURES`` when
    set (None when that folder does not exist, so the tests that need it
    skip and say why), else the repository's own ``tests/fixtures`` (README
    there: provenance and licences), which a fresh clone carries."""
    import os

    configured = os.environ.get("WIRESTREAM_FIXTURES")
    candidate = Path(configured) if configured else CARRIED_FIXTURES
    return candidate.resolve() if candidate.is_dir() else None
