"""The process-wide Celery app and runtime that task modules register with.

Importing this module builds the settings (a bad configuration fails here, at
boot) and the app. Worker processes import the task modules of their role;
see :func:`wirestream.cli.worker`.
"""

from __future__ import annotations

import os
from typing import Any

from celery.signals import worker_process_init, worker_process_shutdown

from shared.celery_app import create_app
from shared.metrics import mark_process_dead
from shared.runtime import Runtime
from shared.settings import load_settings
from shared.telemetry import setup_logging

__all__ = ["app", "runtime"]

settings = load_settings()
app = create_app(settings)
runtime = Runtime(settings, app)


@worker_process_init.connect
def _after_fork(**_: Any) -> None:
    # Never share sockets with the parent: drop anything created before fork.
    runtime.close()
    setup_logging(settings.log_level, settings.log_json)


@worker_process_shutdown.connect
def _on_shutdown(pid: int | None = None, **_: Any) -> None:
    runtime.close()
    # Live gauges of a recycled child must not linger; counters are kept.
    mark_process_dead(pid or os.getpid())
