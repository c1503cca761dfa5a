"""Celery task of the index service, registered by the process's bootstrap
(wirestream.bootstrap) on its app with its runtime."""

from __future__ import annotations

from typing import Any

from celery import Celery, Task
from elasticsearch import Elasticsearch

from services.index.adapters.bulk import BulkIndexer
from services.index.stage import index_batch
from shared.queues import INDEX, TASK_INDEX
from shared.runtime import Runtime
from shared.stats import record
from shared.tasking import parse_batch, run_stage

__all__ = ["register"]


class _Indexers:
    """One BulkIndexer per Elasticsearch client, i.e. per pool process (the
    runtime makes its client after the fork): the indexer caches the live
    index generation, which would otherwise be looked up for every batch."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._for: tuple[Elasticsearch, BulkIndexer] | None = None

    def get(self) -> BulkIndexer:
        es = self.runtime.es
        if self._for is None or self._for[0] is not es:
            self._for = (es, BulkIndexer(es, self.runtime.settings.es.index_prefix))
        return self._for[1]


def register(app: Celery, runtime: Runtime) -> None:
    indexers = _Indexers(runtime)

    @app.task(name=TASK_INDEX, bind=True)
    def index_batch_task(self: Task, payload: dict[str, Any]) -> None:
        def body() -> None:
            outcome = index_batch(parse_batch(payload), indexers.get(), runtime.dlq)
            record(runtime.redis, INDEX, len(outcome.indexed))

        run_stage(self, INDEX, runtime, payload, body)
