"""Free loopback ports for the topologies of the cluster suite."""

from __future__ import annotations

import socket
from collections.abc import Sequence


def is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_base(offsets: Sequence[int], *, start: int = 21201, step: int = 17) -> int:
    """A base port such that base + each offset is free on loopback."""
    for base in range(start, 60000 - max(offsets), step):
        if all(is_free(base + offset) for offset in offsets):
            return base
    raise RuntimeError(f"no free loopback ports for offsets {list(offsets)}")
