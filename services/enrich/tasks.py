"""Celery task of the enrich service."""

from __future__ import annotations

from functools import cache
from typing import Any

from celery import Task

from services.enrich.language import build_detector
from services.enrich.stage import Models, enrich_items
from shared.models import Batch
from shared.queues import ENRICH, INDEX, TASK_ENRICH
from shared.stats import record
from shared.tasking import parse_batch, run_stage
from shared.worker import app, runtime


@cache
def models() -> Models:
    """Loaded once per worker process, on first use (after the fork)."""
    return Models(language=build_detector())


@app.task(name=TASK_ENRICH, bind=True)
def enrich_batch_task(self: Task, payload: dict[str, Any]) -> None:
    def body() -> None:
        batch = parse_batch(payload)
        enriched = enrich_items(batch.items, models())
        runtime.send(INDEX, Batch(items=enriched, correlation_id=batch.correlation_id))
        record(runtime.redis, ENRICH, len(enriched))

    run_stage(self, ENRICH, runtime, payload, body)
