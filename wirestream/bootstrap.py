"""Each process's one bootstrap: settings, then the Celery app, then the
runtime that makes the clients (Redis, Elasticsearch) after a fork, then a
stage's tasks, and the hooks that close what it built.

Nothing here runs at import. A worker (``wirestream worker STAGE``) calls
:func:`build_worker`; the scheduler and the operators' commands that talk to
the queues call :func:`build_process`. The services' task modules only
define a ``register(app, runtime)``; they build nothing themselves.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from typing import Any

from celery import Celery
from celery.signals import worker_process_init, worker_process_shutdown

from shared.celery_app import create_app
from shared.metrics import mark_process_dead
from shared.runtime import Runtime
from shared.settings import Settings, load_settings
from shared.tasking import connect_failure_handler
from shared.telemetry import setup_logging

__all__ = ["STAGE_MODULES", "Process", "build_process", "build_worker"]

# The task module of each stage; each defines register(app, runtime).
STAGE_MODULES = {
    "ingest": "services.ingest.tasks",
    "enrich": "services.enrich.tasks",
    "index": "services.index.tasks",
}


@dataclass(frozen=True)
class Process:
    settings: Settings
    app: Celery
    runtime: Runtime


def build_process() -> Process:
    """Settings (a bad configuration fails here, at start), the app and the
    runtime: what the scheduler and the operators' commands need."""
    settings = load_settings()
    app = create_app(settings)
    return Process(settings, app, Runtime(settings, app))


def build_worker(stage: str) -> Process:
    """:func:`build_process` plus one stage's tasks and the pool processes'
    hooks. The hooks connected here run before the stage's own (Celery calls
    a signal's receivers in the order they were connected), so a pool
    process drops the clients it inherited before its stage loads anything."""
    process = build_process()
    runtime, settings = process.runtime, process.settings

    def after_fork(**_: Any) -> None:
        # never share sockets with the parent: drop anything made before fork
        runtime.close()
        setup_logging(settings.log_level, settings.log_json)

    def on_exit(pid: int | None = None, **_: Any) -> None:
        runtime.close()
        # live gauges of a recycled child must not linger; counters are kept
        mark_process_dead(pid or os.getpid())

    worker_process_init.connect(after_fork, weak=False)
    worker_process_shutdown.connect(on_exit, weak=False)
    connect_failure_handler(runtime)
    importlib.import_module(STAGE_MODULES[stage]).register(process.app, runtime)
    return process
