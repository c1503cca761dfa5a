"""Fault injection inside the real worker processes, for the fault, hostile
and security suites only.

The suites put this directory on ``PYTHONPATH`` of the ``wirestream worker``
and ``scheduler`` processes they start, so Python imports this module at
start-up (``sitecustomize``). Nothing here runs in production. It does two
things, each only when its environment variable is set:

* **Network jail** (``WIRESTREAM_FAULT_JAIL_LOG=<file>``): an audit hook
  refuses every ``connect`` to an address outside 127.0.0.0/8 and ::1 and
  every name lookup other than numeric addresses and ``localhost``, and
  writes one JSON line per refused attempt - and per attempt to a port listed
  in ``WIRESTREAM_FAULT_JAIL_WATCH`` (comma-separated) - to the file. The
  addresses in ``WIRESTREAM_FAULT_JAIL_ALLOW`` (comma-separated) may be
  connected to as well: a wire server in a network namespace a test made. No
  packet leaves the machine whatever the code under test does, and a test can
  prove a refusal came before any connection.
* **Faulty items** in the enrich and index stages:
  ``services.enrich.stage.enrich_items`` and ``services.index.stage.index_batch``
  are wrapped right after they are imported. A batch with an item whose
  headline contains the text in

  - ``WIRESTREAM_FAULT_CRASH`` raises ``RuntimeError`` (a poison item);
  - ``WIRESTREAM_FAULT_KILL`` SIGKILLs its own pool process (a segfault/OOM);
  - ``WIRESTREAM_FAULT_SLOW`` sleeps until the soft time limit interrupts it;
  - ``WIRESTREAM_FAULT_STUCK`` sleeps through the soft time limit, like code
    stuck in C, until the hard limit kills the process;

  and ``WIRESTREAM_FAULT_BUSY_DIR=<dir>`` makes every batch create
  ``<dir>/<pid>`` while it runs (and ``WIRESTREAM_FAULT_BATCH_DELAY`` seconds
  of extra work), so a test can kill a process in the middle of a batch.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import sys
import time
from typing import Any

_JAIL_LOG = os.environ.get("WIRESTREAM_FAULT_JAIL_LOG")
_WATCH = {int(p) for p in os.environ.get("WIRESTREAM_FAULT_JAIL_WATCH", "").split(",") if p}
# addresses besides loopback a test lets the workers reach: hosts inside a
# network namespace the test made (tests/hostile/test_ssrf_intranet.py)
_ALLOW = {h for h in os.environ.get("WIRESTREAM_FAULT_JAIL_ALLOW", "").split(",") if h}


def _loopback(host: str) -> bool:
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def _numeric(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _record(event: str, detail: Any, refused: bool) -> None:
    assert _JAIL_LOG is not None
    line = json.dumps({"pid": os.getpid(), "event": event, "detail": detail,
                       "refused": refused, "at": time.time()})
    with open(_JAIL_LOG, "a", encoding="utf-8") as out:
        out.write(line + "\n")


def _jail(event: str, args: tuple[Any, ...]) -> None:
    if event == "socket.connect":
        _sock, address = args
        if not isinstance(address, tuple) or len(address) < 2:
            return  # unix sockets
        host, port = str(address[0]), int(address[1])
        refused = not _loopback(host) and host not in _ALLOW
        if refused or port in _WATCH:
            _record("connect", [host, port], refused)
        if refused:
            raise PermissionError(f"network jail: connect to {host}:{port} refused")
    elif event == "socket.getaddrinfo":
        host = args[0]
        name = host.decode() if isinstance(host, bytes) else host
        if name is None or _numeric(str(name)) or str(name).lower() == "localhost":
            return
        _record("getaddrinfo", str(name), True)
        raise PermissionError(f"network jail: name lookup of {name!r} refused")
    elif event in ("socket.gethostbyname", "socket.gethostbyaddr"):
        name = str(args[0])
        if _numeric(name) or name.lower() == "localhost":
            return
        _record(event.split(".", 1)[1], name, True)
        raise PermissionError(f"network jail: name lookup of {name!r} refused")


if _JAIL_LOG:
    sys.addaudithook(_jail)


# --------------------------------------------------------------- faulty items
_MARKERS = {
    name: os.environ.get(f"WIRESTREAM_FAULT_{name.upper()}", "")
    for name in ("crash", "kill", "slow", "stuck")
}
_BUSY_DIR = os.environ.get("WIRESTREAM_FAULT_BUSY_DIR", "")
_DELAY = float(os.environ.get("WIRESTREAM_FAULT_BATCH_DELAY", "0") or 0)


def _fault_of(items: Any) -> str | None:
    for item in items:
        headline = getattr(item, "headline", "") or ""
        for name, marker in _MARKERS.items():
            if marker and marker in headline:
                return name
    return None


def _faulty(original: Any, items_of: Any) -> Any:
    def wrapper(*args: Any) -> Any:
        items = items_of(*args)
        busy = os.path.join(_BUSY_DIR, str(os.getpid())) if _BUSY_DIR else None
        if busy:
            with open(busy, "w") as out:
                out.write(str(len(items)))
        try:
            if _DELAY:
                time.sleep(_DELAY)
            fault = _fault_of(items)
            if fault == "crash":
                raise RuntimeError("injected poison item")
            if fault == "kill":
                os.kill(os.getpid(), 9)
            if fault == "slow":
                time.sleep(3600)  # the soft time limit interrupts this
            if fault == "stuck":
                from celery.exceptions import SoftTimeLimitExceeded

                until = time.monotonic() + 3600
                while time.monotonic() < until:
                    # stuck in C: only the hard limit ends this
                    with contextlib.suppress(SoftTimeLimitExceeded):
                        time.sleep(0.5)
            return original(*args)
        finally:
            if busy and os.path.exists(busy):
                os.unlink(busy)

    return wrapper


def _wrap_enrich(module: Any) -> None:
    module.enrich_items = _faulty(module.enrich_items, lambda items, models: items)


def _wrap_index(module: Any) -> None:
    module.index_batch = _faulty(module.index_batch, lambda batch, *_: batch.items)


_PATCHES = {"services.enrich.stage": _wrap_enrich, "services.index.stage": _wrap_index}

if any(_MARKERS.values()) or _BUSY_DIR or _DELAY:
    import importlib.abc
    import importlib.machinery

    class _PatchAfterImport(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
            patch = _PATCHES.get(fullname)
            if patch is None:
                return None
            spec = importlib.machinery.PathFinder.find_spec(fullname, path)
            if spec is None or spec.loader is None:
                return spec
            loader = spec.loader
            run = loader.exec_module

            def exec_module(module: Any) -> None:
                run(module)
                patch(module)

            loader.exec_module = exec_module  # type: ignore[method-assign]
            return spec

    sys.meta_path.insert(0, _PatchAfterImport())
