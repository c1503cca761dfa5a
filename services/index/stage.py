"""The index stage: write a batch, dead-letter what Elasticsearch refused."""

from __future__ import annotations

import logging

from services.index.bulk import BulkIndexer, BulkOutcome
from shared.dlq import DeadLetterStore
from shared.models import Batch

__all__ = ["index_batch"]

log = logging.getLogger(__name__)


def index_batch(batch: Batch, indexer: BulkIndexer, dlq: DeadLetterStore) -> BulkOutcome:
    outcome = indexer.write(batch.items)
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
        len(outcome.indexed), len(outcome.stale), len(outcome.rejected), outcome.retries,
    )
    return outcome
