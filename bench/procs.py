"""What the pipeline benchmarks share: a scratch Redis database and index
prefix for a run, the worker processes' CPU and memory read from /proc, the
bench sources and the queue depths."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["BENCH_DB", "SOURCE_PREFIX", "TICKS", "bench_env", "children", "cpu_reading",
           "depths", "isolated", "machine_busy", "register", "rss_peak_mb", "searchable",
           "tree_cpu"]

ROOT = Path(__file__).resolve().parents[1]
BENCH_DB = 13
SOURCE_PREFIX = "bench"


def bench_env(prefix: str) -> dict[str, str]:
    from shared.settings import Settings

    base = Settings().redis.url.rsplit("/", 1)[0]
    return {
        "WIRESTREAM_ENV_FILE": str(ROOT / "var" / "local.env"),
        "WIRESTREAM_REDIS__URL": f"{base}/{BENCH_DB}",
        "WIRESTREAM_ES__INDEX_PREFIX": prefix,
        "WIRESTREAM_INGEST__ALLOW_LOOPBACK": "true",
        # the feed server is one host: do not let politeness be the bottleneck
        "WIRESTREAM_INGEST__HOST_CONCURRENCY": "8",
        "WIRESTREAM_INGEST__HOST_MIN_DELAY": "0",
        "WIRESTREAM_LOG_LEVEL": "WARNING",
    }


@contextmanager
def isolated(prefix: str, env: dict[str, str] | None = None) -> Iterator[Any]:
    """Settings for a scratch Redis database and index prefix; cleaned after.
    ``env`` adds settings (another Elasticsearch: its URLs)."""
    from services.index.setup import setup_index
    from shared.runtime import es_client, redis_client
    from shared.settings import Settings

    wanted = {**bench_env(prefix), **(env or {})}
    saved = {k: os.environ.get(k) for k in wanted}
    os.environ.update(wanted)
    settings = Settings()
    client = redis_client(settings)
    client.flushdb()
    admin = es_client(settings, role="admin")
    setup_index(admin, prefix)
    try:
        yield settings
    finally:
        names = list(admin.indices.get(index=f"{prefix}-*", allow_no_indices=True))
        if names:
            admin.indices.delete(index=",".join(names))
        admin.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}-v1")
        admin.close()
        client.flushdb()
        client.close()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def searchable(admin: Any, prefix: str) -> int:
    admin.indices.refresh(index=f"{prefix}-*")
    return int(admin.count(index=f"{prefix}-*")["count"])


def rss_peak_mb(pid: int) -> float:
    """Peak RSS (VmHWM) of a process and its children, the largest one."""
    peaks = []
    for p in [pid, *children(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
        except OSError:
            continue
    return max(peaks, default=0.0)


def children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


TICKS = os.sysconf("SC_CLK_TCK")


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process, its reaped children and
    its live descendants. The difference of two readings is what the tree
    spent in between, pool processes recycled meanwhile included."""
    from wirestream.dev.harness import proc_stat

    total, stack = 0.0, [pid]
    while stack:
        p = stack.pop()
        fields = proc_stat(p)
        if fields is None:
            continue
        total += sum(int(x) for x in fields[11:15]) / TICKS
        for task in Path(f"/proc/{p}/task").glob("*/children"):
            try:
                stack.extend(int(c) for c in task.read_text().split())
            except OSError:
                continue
    return total


def machine_busy() -> float:
    """CPU seconds the whole machine spent busy (all cores), from /proc/stat."""
    # cpu  user nice system idle iowait irq softirq steal ...
    ticks = [int(x) for x in Path("/proc/stat").read_text().split()[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / TICKS


def cpu_reading(procs: Any, extra: dict[str, int] | None = None) -> dict[str, float]:
    """CPU seconds so far of each started worker and the scheduler, each
    local service, the processes of ``extra`` (name -> pid) and the whole
    machine."""
    from wirestream.dev.local_services import LocalServices

    reading = {name: tree_cpu(procs.pid(name)) for name in procs.procs}
    pids = {**LocalServices(ROOT, echo=lambda _: None).pids(), **(extra or {})}
    for service, pid in pids.items():
        if pid is not None:
            reading[service] = tree_cpu(pid)
    reading["machine"] = machine_busy()
    return reading


def register(settings: Any, urls: list[str], *, interval: int = 5) -> None:
    """The bench sources, due now, polled again every ``interval`` seconds."""
    from services.ingest.adapters.source_registry import SourceRegistry
    from services.ingest.sources import Source
    from shared.runtime import redis_client

    registry = SourceRegistry(redis_client(settings))
    for n, url in enumerate(urls):
        registry.put(Source(id=f"{SOURCE_PREFIX}-{n}", url=url, type="rss",
                            min_interval=interval, max_interval=interval), due=0.0)


def depths(settings: Any) -> dict[str, int]:
    from shared.runtime import redis_client
    from wirestream.ops.exporter import queue_depth

    client = redis_client(settings)
    try:
        return {q: queue_depth(client, q) for q in ("ingest", "enrich", "index")}
    finally:
        client.close()
