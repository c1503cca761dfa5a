"""Celery task of the index service."""

from __future__ import annotations

import weakref
from typing import Any

from celery import Task
from elasticsearch import Elasticsearch

from services.index.bulk import BulkIndexer
from services.index.stage import index_batch
from shared.queues import INDEX, TASK_INDEX
from shared.stats import record
from shared.tasking import parse_batch, run_stage
from shared.worker import app, runtime

# One BulkIndexer per Elasticsearch client, i.e. per worker process (the
# runtime makes its client after the fork): the indexer caches the live index
# generation, which would otherwise be looked up again for every batch.
_indexers: weakref.WeakKeyDictionary[Elasticsearch, BulkIndexer] = weakref.WeakKeyDictionary()


def _indexer() -> BulkIndexer:
    es = runtime.es
    indexer = _indexers.get(es)
    if indexer is None:
        indexer = _indexers[es] = BulkIndexer(es, runtime.settings.es.index_prefix)
    return indexer


@app.task(name=TASK_INDEX, bind=True)
def index_batch_task(self: Task, payload: dict[str, Any]) -> None:
    def body() -> None:
        outcome = index_batch(parse_batch(payload), _indexer(), runtime.dlq)
        record(runtime.redis, INDEX, len(outcome.indexed))

    run_stage(self, INDEX, runtime, payload, body)
