"""Celery task of the index service."""

from __future__ import annotations

from typing import Any

from celery import Task

from services.index.bulk import BulkIndexer
from services.index.stage import index_batch
from shared.queues import INDEX, TASK_INDEX
from shared.stats import record
from shared.tasking import parse_batch, run_stage
from shared.worker import app, runtime


@app.task(name=TASK_INDEX, bind=True)
def index_batch_task(self: Task, payload: dict[str, Any]) -> None:
    def body() -> None:
        indexer = BulkIndexer(runtime.es, runtime.settings.es.index_prefix)
        outcome = index_batch(parse_batch(payload), indexer, runtime.dlq)
        record(runtime.redis, INDEX, len(outcome.indexed))

    run_stage(self, INDEX, runtime, payload, body)
