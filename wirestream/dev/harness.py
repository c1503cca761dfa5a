"""Run the real pipeline on this machine: a feed server on loopback and the
three workers plus the scheduler as child processes.

Used by ``wirestream demo`` and by the integration tests, so both exercise
exactly what operators run (``wirestream worker <stage>``), against the local
services of ``wirestream services up``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = ["FeedServer", "PipelineProcesses", "wait_for"]

CONTENT_TYPES = {
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".xml": "application/xml",
    ".json": "application/json",
    ".html": "text/html; charset=utf-8",
}


class FeedServer:
    """Serves byte documents by path on 127.0.0.1 with ETag support.

    ``publish(path, data)`` replaces what a path serves, which is how tests
    make an item change between two polls.
    """

    def __init__(self) -> None:
        self._docs: dict[str, tuple[bytes, str]] = {}
        self._lock = threading.Lock()
        self.requests: list[tuple[str, int]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with server._lock:
                    doc = server._docs.get(self.path.split("?")[0])
                if doc is None:
                    self.send_error(404)
                    server.requests.append((self.path, 404))
                    return
                data, ctype = doc
                etag = '"' + hashlib.sha1(data).hexdigest() + '"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    server.requests.append((self.path, 304))
                    return
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("ETag", etag)
                self.end_headers()
                self.wfile.write(data)
                server.requests.append((self.path, 200))

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def publish(self, path: str, data: bytes, content_type: str | None = None) -> str:
        ctype = content_type or CONTENT_TYPES.get(Path(path).suffix, "application/octet-stream")
        with self._lock:
            self._docs[path] = (data, ctype)
        return self.base_url + path

    def publish_file(self, file: Path, path: str | None = None) -> str:
        return self.publish(path or "/" + file.name, file.read_bytes())

    def __enter__(self) -> FeedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


class PipelineProcesses:
    """``wirestream worker ingest|enrich|index`` and ``wirestream scheduler``
    as child processes; logs under ``var/log/`` (or ``log_dir``). Stopping
    sends SIGTERM (a warm shutdown: in-flight tasks finish) and waits.

    ``concurrency`` is one number for every worker or a number per stage;
    ``stage_env`` adds environment variables to one process; ``prefix``
    puts a command before one process's (``ip netns exec NAME``: a worker on
    "another host", tests/cluster/test_hosts.py).
    The fault tests use :meth:`signal`, :meth:`pool_pids` and
    :meth:`start_worker` / :meth:`start_scheduler` to kill and restart them.
    """

    STAGES = ("ingest", "enrich", "index")

    def __init__(
        self,
        root: Path,
        *,
        env: dict[str, str] | None = None,
        scheduler: bool = True,
        concurrency: int | Mapping[str, int] = 1,
        log_dir: Path | None = None,
        metrics_dir: Path | None = None,
        stage_env: Mapping[str, Mapping[str, str]] | None = None,
        prefix: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.root = root
        self.prefix = {k: list(v) for k, v in (prefix or {}).items()}
        self.env = dict(os.environ)
        self.env.setdefault("WIRESTREAM_ENV_FILE", str(root / "var" / "local.env"))
        self.env.update(env or {})
        self.scheduler = scheduler
        self.concurrency = concurrency
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.metrics_ports: dict[str, int] = {}
        self.log_dir = log_dir or root / "var" / "log"
        self.metrics_dir = metrics_dir or root / "var" / "metrics"
        # extra environment of one process ("ingest", ..., "scheduler"); may be
        # changed between a stop and a restart
        self.stage_env: dict[str, dict[str, str]] = {
            k: dict(v) for k, v in (stage_env or {}).items()
        }

    def _spawn(self, name: str, args: list[str], env: dict[str, str] | None = None) -> None:
        running = self.procs.get(name)
        if running is not None and running.poll() is None:
            # A second process under one name would leave the first one
            # unwatched, still holding its unacknowledged messages.
            raise RuntimeError(f"{name} (pid {running.pid}) is still running")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = (self.log_dir / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(
            [*self.prefix.get(name, []), sys.executable, "-m", "wirestream.cli", *args],
            cwd=self.root,
            env={**self.env, **self.stage_env.get(name, {}), **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()

    def start(self) -> None:
        for stage in self.STAGES:
            self.start_worker(stage)
        if self.scheduler:
            self.start_scheduler()

    def start_scheduler(self) -> None:
        self._spawn("scheduler", ["scheduler", "--tick", "0.5"], {"WIRESTREAM_METRICS_PORT": "0"})

    def concurrency_of(self, stage: str) -> int:
        if isinstance(self.concurrency, int):
            return self.concurrency
        return self.concurrency.get(stage, 1)

    def start_worker(self, stage: str) -> None:
        """Each worker serves /metrics on its own loopback port
        (``metrics_ports[stage]``) with its own multiprocess directory."""
        port = self.metrics_ports.setdefault(stage, _free_port())
        self._spawn(
            stage,
            [
                "worker",
                stage,
                "--concurrency",
                str(self.concurrency_of(stage)),
                "--loglevel",
                "WARNING",
            ],
            {
                "WIRESTREAM_METRICS_PORT": str(port),
                "WIRESTREAM_METRICS_ADDR": "127.0.0.1",
                "PROMETHEUS_MULTIPROC_DIR": str(self.metrics_dir / f"{stage}-{port}"),
            },
        )

    def signal(self, name: str, sig: int) -> None:
        proc = self.procs[name]
        # The whole process group: the Celery parent and its pool children.
        os.killpg(proc.pid, sig)

    def pid(self, name: str) -> int:
        return self.procs[name].pid

    def pool_pids(self, name: str) -> list[int]:
        """Pids of the worker's pool processes (children of its main process)."""
        pid = self.procs[name].pid
        try:
            text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
        except OSError:
            return []
        return [int(p) for p in text.split()]

    def pool_settled(self, name: str, pids: list[int]) -> bool:
        """``pids`` (a :meth:`pool_pids` reading) are the worker's full pool
        (``--concurrency`` processes) and none of them is exiting."""
        return len(pids) == self.concurrency_of(name) and all(
            proc_state(pid) not in ("Z", "X", "") for pid in pids
        )

    def wait_exit(self, name: str, timeout: float) -> int | None:
        """Wait for one process to exit and forget it; its exit code, or None
        if it is still running after ``timeout`` seconds."""
        proc = self.procs[name]
        try:
            code = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        del self.procs[name]
        return code

    def kill(self, name: str) -> None:
        """SIGKILL one process and its pool children, wait for it and forget it."""
        proc = self.procs.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)

    def stop(self, timeout: float = 60.0) -> None:
        for _name, proc in self.procs.items():
            if proc.poll() is None:
                try:
                    # The Celery parent only: it drains its pool children.
                    os.kill(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        deadline = time.monotonic() + timeout
        for proc in self.procs.values():
            remaining = max(0.1, deadline - time.monotonic())
            try:
                proc.wait(remaining)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        self.procs.clear()

    def alive(self) -> dict[str, bool]:
        return {name: proc.poll() is None for name, proc in self.procs.items()}

    def restart_dead(self) -> list[str]:
        """Start again every process that has exited; the names restarted."""
        restarted = []
        for name, alive in list(self.alive().items()):
            if not alive:
                self.wait_exit(name, 5)
                if name == "scheduler":
                    self.start_scheduler()
                else:
                    self.start_worker(name)
                restarted.append(name)
        return restarted

    def __enter__(self) -> PipelineProcesses:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def proc_stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name, or None if the
    process is gone: ``[0]`` is the state (stat field 3), ``[11:15]`` are
    utime, stime, cutime, cstime in clock ticks (fields 14-17)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) is in parentheses and may hold spaces or ")"
    return stat.rsplit(")", 1)[1].split()


def proc_state(pid: int) -> str:
    """One letter of /proc/PID/stat (R, S, Z...); empty if it is gone."""
    fields = proc_stat(pid)
    return fields[0] if fields else ""


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Callable[[], bool], timeout: float, interval: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return check()
