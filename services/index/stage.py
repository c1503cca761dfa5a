"""The index stage: write a batch, dead-letter what Elasticsearch refused."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from services.index.ports import BulkOutcome, DeadLetters, DocumentWriter
from shared.metrics import metrics
from shared.models import Batch

__all__ = ["index_batch"]


def _observe(batch: Batch, outcome: BulkOutcome) -> None:
    m = metrics()
    now = datetime.now(UTC)
    indexed = set(outcome.indexed)
    for item in batch.items:
        if item.id in indexed:
            m.items.labels("index", item.source, "indexed").inc()
            m.latency.labels("fetched").observe(max(0.0, (now - item.fetched_at).total_seconds()))
            if item.firstcreated and item.version == 1:
                # published -> searchable, first versions only: an update's
                # latency is measured from when it was fetched.
                m.latency.labels("published").observe(
                    max(0.0, (now - item.firstcreated).total_seconds())
                )
    for item_id in outcome.stale:
        m.items.labels("index", _source_of(batch, item_id), "stale_version").inc()
    for rejection in outcome.rejected:
        m.items.labels("index", rejection.item.source, "rejected").inc()
        m.es_errors.labels("bulk", f"http_{rejection.status}").inc()


def _source_of(batch: Batch, item_id: str) -> str:
    return next((i.source for i in batch.items if i.id == item_id), "unknown")


log = logging.getLogger(__name__)


def index_batch(batch: Batch, indexer: DocumentWriter, dlq: DeadLetters) -> BulkOutcome:
    """Write ``batch``; each document Elasticsearch refused becomes one dead
    letter holding that item alone (replayable on its own). A store that
    cannot take the batch raises, and nothing is dead-lettered."""
    outcome = indexer.write(batch.items, replace_equal=batch.reenrich)
    _observe(batch, outcome)
    for rejection in outcome.rejected:
        single = Batch(items=[rejection.item], correlation_id=batch.correlation_id)
        dlq.add(
            stage="index",
            reason="es_rejected",
            message=f"{rejection.status} {rejection.reason}",
            error_type="DocumentRejected",
            payload=single.model_dump(mode="json"),
            attempts=1,
            source=rejection.item.source,
            item_ids=[rejection.item.id],
        )
    log.info(
        "indexed %d, stale %d, rejected %d (bulk retries %d)",
        len(outcome.indexed),
        len(outcome.stale),
        len(outcome.rejected),
        outcome.retries,
    )
    return outcome
