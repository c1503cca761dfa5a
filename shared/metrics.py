"""Prometheus metrics of the pipeline.

What each worker exports (its main process serves ``/metrics``; the
shared-state gauges of queues, dead letters and sources come from
``wirestream exporter``, see :mod:`wirestream.ops.exporter`):

* ``wirestream_items_total{stage, source, outcome}`` — ingest poller, enrich
  task, index stage;
* ``wirestream_polls_total{source, status}``,
  ``wirestream_poll_failures_total{source, reason}`` and the histogram
  ``wirestream_poll_items{source}`` (items per poll) — ingest poller;
* ``wirestream_stage_duration_seconds{stage}``,
  ``wirestream_dead_letters_total{stage, reason}``,
  ``wirestream_task_retries_total{stage, reason}`` — every task (run_stage);
* ``wirestream_end_to_end_latency_seconds{since}`` (``published`` or
  ``fetched`` to written) — index stage;
* ``wirestream_es_request_duration_seconds{operation}`` and
  ``wirestream_es_errors_total{operation, reason}`` — bulk writer
  (:func:`es_request`) and per-item rejections in the index stage;
* ``wirestream_translator_request_duration_seconds{backend}`` and
  ``wirestream_translator_errors_total{backend, reason}`` — translator backends;
* ``wirestream_enrich_step_failures_total{step, reason}`` — enrich steps;
* ``wirestream_worker_last_task_seconds{stage}`` — when the worker last
  finished a task (or started): a hung consumer stops it, its metrics
  thread cannot fake it;
* ``wirestream_worker_cpu_seconds_total``, ``..._resident_memory_bytes``,
  ``..._resident_memory_max_bytes``, ``..._open_fds``, ``..._processes``
  (``{stage}``) — the worker's process tree, from /proc
  (:class:`ProcessTreeCollector`).
* ``wirestream_ner_request_failures_total{reason}`` — requests to the NER
  server that failed (``ner_unavailable``, ``ner_refused``);
  ``wirestream_enrich_entities_status_total{status}`` — how each document got
  its entities (``native``, ``translated``, ``no_model``, ``failed``).

Outcomes of ``wirestream_items_total``: ingest ``new``, ``changed`` (passed
the version gate), ``unchanged``, ``stale`` (deduplicated), ``parse_failed``;
enrich ``enriched``; index ``indexed``, ``stale_version`` (redelivery or an
older version), ``rejected`` (dead-lettered). Items fetched per source are the
``wirestream_poll_items`` histogram (``_sum``); items that failed anywhere
else are ``wirestream_dead_letters_total`` by stage and reason.

Names follow Prometheus conventions: ``wirestream_<what>_total`` for counters,
``_seconds`` for durations, base units, and only bounded label values (stage,
source id, outcome, reason slugs; never URLs or item ids).

Under Celery's prefork pool every child process writes its own values to
memory-mapped files in ``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's
multiprocess mode), and the worker's main process serves the sum on
``/metrics``; counts of recycled children are kept. :func:`prepare_multiprocess`
must run before ``prometheus_client`` is first imported, which is why this
module imports it lazily, inside its functions.
"""

from __future__ import annotations

import os
import shutil
import time
from collections import Counter as Tally
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from functools import cache
from pathlib import Path
from typing import Any, Protocol

__all__ = ["count_items", "es_request", "metrics", "prepare_multiprocess", "serve_metrics"]

# Seconds; news latencies range from sub-second to hours (embargo, slow feeds).
LATENCY_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400)
STAGE_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


def prepare_multiprocess(directory: Path) -> None:
    """Point prometheus_client at a fresh directory (call before any import
    of prometheus_client in a worker's main process)."""
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)


class Metrics:
    def __init__(self) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        self.items = Counter(
            "wirestream_items_total",
            "Items by stage, source and outcome (ingest: new, changed, unchanged, stale, "
            "parse_failed; enrich: enriched; index: indexed, stale_version, rejected).",
            ["stage", "source", "outcome"],
        )
        self.polls = Counter(
            "wirestream_polls_total",
            "Polls by source and status (ok, not_modified, deferred, failed).",
            ["source", "status"],
        )
        self.poll_failures = Counter(
            "wirestream_poll_failures_total",
            "Failed polls by source and reason (fetch_failed, http_404, timeout, ...).",
            ["source", "reason"],
        )
        self.poll_items = Histogram(
            "wirestream_poll_items",
            "Items found per poll.",
            ["source"],
            buckets=(0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
        )
        self.stage_seconds = Histogram(
            "wirestream_stage_duration_seconds",
            "Time one task of a stage took.",
            ["stage"],
            buckets=STAGE_BUCKETS,
        )
        self.latency = Histogram(
            "wirestream_end_to_end_latency_seconds",
            "From published (or fetched) to written to Elasticsearch.",
            ["since"],
            buckets=LATENCY_BUCKETS,
        )
        self.dead_letters = Counter(
            "wirestream_dead_letters_total", "Messages dead-lettered.", ["stage", "reason"]
        )
        self.retries = Counter(
            "wirestream_task_retries_total", "Task retries scheduled.", ["stage", "reason"]
        )
        self.es_seconds = Histogram(
            "wirestream_es_request_duration_seconds",
            "Elasticsearch request time.",
            ["operation"],
            buckets=STAGE_BUCKETS,
        )
        self.es_errors = Counter(
            "wirestream_es_errors_total",
            "Elasticsearch errors (request or per item).",
            ["operation", "reason"],
        )
        self.translator_seconds = Histogram(
            "wirestream_translator_request_duration_seconds",
            "Translation request time.",
            ["backend"],
            buckets=STAGE_BUCKETS,
        )
        self.translator_errors = Counter(
            "wirestream_translator_errors_total", "Translation failures.", ["backend", "reason"]
        )
        self.enrich_step_failures = Counter(
            "wirestream_enrich_step_failures_total",
            "Enrichment steps that failed.",
            ["step", "reason"],
        )
        self.ner_request_failures = Counter(
            "wirestream_ner_request_failures_total",
            "Requests to the NER server that failed.",
            ["reason"],
        )
        self.entities_status = Counter(
            "wirestream_enrich_entities_status_total",
            "Documents by how they got their entities.",
            ["status"],
        )
        # Liveness a hung consumer cannot fake: set when a task finishes
        # (done, retried or dead-lettered) and when the worker starts; the
        # newest of all its processes (the metrics thread never sets it).
        self.last_task = Gauge(
            "wirestream_worker_last_task_seconds",
            "Unix time the worker last finished a task (or started).",
            ["stage"],
            multiprocess_mode="max",
        )


@cache
def metrics() -> Metrics:
    return Metrics()


class _HasSource(Protocol):
    @property
    def source(self) -> str: ...


def count_items(stage: str, items: Iterable[_HasSource], outcome: str) -> None:
    """Add items to ``wirestream_items_total`` by their source."""
    for source, n in Tally(item.source for item in items).items():
        metrics().items.labels(stage, source, outcome).inc(n)


def _es_reason(exc: BaseException) -> str:
    status = getattr(getattr(exc, "meta", None), "status", None)
    if isinstance(status, int):
        return f"http_{status}"
    name = type(exc).__name__
    return {"ConnectionTimeout": "timeout", "ConnectionError": "connection"}.get(name, name)


@contextmanager
def es_request(operation: str) -> Iterator[None]:
    """Time one Elasticsearch request into
    ``wirestream_es_request_duration_seconds{operation}`` and count a failure
    into ``wirestream_es_errors_total{operation, reason}`` (``http_<status>``,
    ``connection``, ``timeout``); the exception propagates unchanged."""
    m = metrics()
    started = time.monotonic()
    try:
        yield
    except Exception as exc:
        m.es_errors.labels(operation, _es_reason(exc)).inc()
        raise
    finally:
        m.es_seconds.labels(operation).observe(time.monotonic() - started)


def serve_metrics(port: int, addr: str = "127.0.0.1", stage: str = "") -> Any:
    """Serve /metrics from this (main) process, summing the children's files
    in multiprocess mode, with the process tree's own figures
    (:class:`ProcessTreeCollector`) when ``stage`` is given. Returns the
    server (or None when port is 0)."""
    if not port:
        return None
    from prometheus_client import REGISTRY, CollectorRegistry, start_http_server

    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    if stage:
        registry.register(ProcessTreeCollector(stage))
    server, _ = start_http_server(port, addr=addr, registry=registry)
    return server


PROC = Path("/proc")


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (field 3 on), or
    None for a process that is gone."""
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2:].split()


def process_tree(root: int) -> list[int]:
    """``root`` and every process below it (Celery's pool children, their
    helpers), from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(parents.get(pid, []))
    return tree


class ProcessTreeCollector:
    """CPU, memory and open files of a worker: its main process and every
    child, read from /proc at scrape time (prometheus_client's own process
    collector sees the main process only, and not at all in multiprocess
    mode). Linux only; elsewhere it exports nothing."""

    def __init__(self, stage: str, root: int | None = None) -> None:
        self.stage = stage
        self.root = root or os.getpid()
        self._tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self._page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        if not PROC.is_dir():
            return
        cpu = rss = biggest = fds = 0.0
        count = 0
        for pid in process_tree(self.root):
            fields = _stat(pid)
            if fields is None:
                continue
            count += 1
            # utime, stime (fields 14, 15) and the waited-for children's
            # cutime, cstime (16, 17): a recycled child's CPU is not lost
            cpu += sum(int(f) for f in fields[11:15]) / self._tick
            resident = int(fields[21]) * self._page
            rss += resident
            biggest = max(biggest, resident)
            with suppress(OSError):
                fds += len(os.listdir(PROC / str(pid) / "fd"))
        labels = ["stage"]
        families = (
            (CounterMetricFamily, "wirestream_worker_cpu_seconds",
             "CPU time of the worker's processes (user and system).", cpu),
            (GaugeMetricFamily, "wirestream_worker_resident_memory_bytes",
             "Resident memory of all the worker's processes.", rss),
            (GaugeMetricFamily, "wirestream_worker_resident_memory_max_bytes",
             "Resident memory of the worker's largest process.", biggest),
            (GaugeMetricFamily, "wirestream_worker_open_fds",
             "Open file descriptors of all the worker's processes.", fds),
            (GaugeMetricFamily, "wirestream_worker_processes",
             "Processes of the worker (main and pool).", count),
        )
        for kind, name, documentation, value in families:
            family = kind(name, documentation, labels=labels)
            family.add_metric([self.stage], value)
            yield family


def mark_process_dead(pid: int) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
