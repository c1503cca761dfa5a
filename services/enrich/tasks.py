"""Celery task of the enrich service, registered by the process's bootstrap
(wirestream.bootstrap) on its app with its runtime."""

from __future__ import annotations

import gc
import logging
import threading
from functools import cached_property
from typing import Any

import httpx
from celery import Celery, Task
from celery.signals import worker_process_init, worker_process_shutdown

from services.enrich.adapters.translation_backends import http_client
from services.enrich.loading import load_models
from services.enrich.stage import Models, enrich_items
from shared.metrics import count_items
from shared.models import Batch
from shared.queues import ENRICH, INDEX, TASK_ENRICH
from shared.runtime import Runtime
from shared.stats import record
from shared.tasking import parse_batch, run_stage

__all__ = ["register"]

log = logging.getLogger(__name__)


class _Enrich:
    """What a pool process loads once (after the fork): its models and the
    one HTTP client for the translator."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._models: Models | None = None
        self._lock = threading.Lock()

    @cached_property
    def translator_client(self) -> httpx.Client:
        return http_client(self.runtime.settings.translator)

    def models(self) -> Models:
        """Loaded once per pool process: by a thread started as the process
        starts (:meth:`load_early`), or by the first task if that is sooner,
        which then waits for it. The loaded models live as long as the
        process, so their objects are moved out of the collector's reach
        (``gc.freeze``): full collections then scan only what documents
        allocate."""
        if self._models is None:
            with self._lock:
                if self._models is None:
                    loaded = load_models(self.runtime.settings, self.runtime.redis,
                                         self.translator_client)
                    gc.collect()
                    gc.freeze()
                    self._models = loaded
        return self._models

    def load_early(self, **_: Any) -> None:
        """A pool process loads its models as soon as it starts, not when its
        first batch arrives: that batch is not held up, and neither is the
        first one after a child is recycled. In a thread, so the process
        reports itself up at once (Celery kills a child that takes longer
        than ``PROC_ALIVE_TIMEOUT`` to do so). A failure here is logged; the
        first task then tries again and fails with the reason, recorded as
        any failure is."""

        def load() -> None:
            try:
                self.models()
            except Exception:
                log.exception("loading the enrich models failed; the first task will retry")

        threading.Thread(target=load, name="load-models", daemon=True).start()

    def close(self, **_: Any) -> None:
        client = self.__dict__.pop("translator_client", None)
        if client is not None:
            client.close()


def register(app: Celery, runtime: Runtime) -> None:
    enrich = _Enrich(runtime)
    worker_process_init.connect(enrich.load_early, weak=False)
    worker_process_shutdown.connect(enrich.close, weak=False)

    @app.task(name=TASK_ENRICH, bind=True)
    def enrich_batch_task(self: Task, payload: dict[str, Any]) -> None:
        def body() -> None:
            batch = parse_batch(payload)
            enriched = enrich_items(batch.items, enrich.models())
            runtime.send(INDEX, Batch(items=enriched, correlation_id=batch.correlation_id,
                                      reenrich=batch.reenrich))
            record(runtime.redis, ENRICH, len(enriched))
            count_items(ENRICH, enriched, "enriched")  # wirestream_items_total
            ids = [i.id for i in enriched]
            log.info("enriched %d item(s)", len(ids), extra={"fields": {"item_ids": ids}})

        run_stage(self, ENRICH, runtime, payload, body)
