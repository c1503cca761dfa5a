"""The bulk writer: one bulk request per batch, per-item results walked.

Outcomes per item:

* ``indexed``: created or replaced by a newer version;
* ``stale``: 409 from external versioning — an equal or newer version is
  already indexed (a redelivery or a late older version). Counted, not an error;
* ``retry``: 429/502/503/504 — retried here on the rejected subset only, with
  capped exponential backoff; whatever is still rejected afterwards raises
  :class:`~shared.errors.ServiceUnavailable` so the task retries later;
* ``rejected``: any other 4xx (mapping or parse error) — returned with the ES
  reason for the dead-letter store.

Elasticsearch unreachable raises ServiceUnavailable before anything is acked.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import ApiError, Elasticsearch

from services.index.documents import index_for, to_document
from shared.errors import ServiceUnavailable
from shared.models import NewsItem

__all__ = ["BulkIndexer", "BulkOutcome", "Rejection"]

RETRYABLE_STATUS = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class Rejection:
    item: NewsItem
    status: int
    reason: str


@dataclass
class BulkOutcome:
    indexed: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    retries: int = 0


class BulkIndexer:
    """Writes batches of items with external versioning and deterministic ids."""

    def __init__(
        self,
        es: Elasticsearch,
        prefix: str,
        *,
        max_attempts: int = 4,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._es = es
        self._prefix = prefix
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._sleep = sleep

    def _actions(self, items: Sequence[NewsItem]) -> list[dict[str, Any]]:
        now = datetime.now(UTC)
        operations: list[dict[str, Any]] = []
        for item in items:
            operations.append(
                {
                    "index": {
                        "_index": index_for(item, self._prefix),
                        "_id": item.id,
                        "version": item.es_version,
                        "version_type": "external",
                    }
                }
            )
            operations.append(to_document(item, indexed_at=now))
        return operations

    def write(self, items: Sequence[NewsItem]) -> BulkOutcome:
        outcome = BulkOutcome()
        pending = list(items)
        attempt = 0
        while pending:
            try:
                response = self._es.bulk(operations=self._actions(pending), refresh=False)
            except (TransportConnectionError, ConnectionTimeout) as exc:
                raise ServiceUnavailable(
                    f"elasticsearch unreachable: {exc}", reason="es_unavailable"
                ) from exc
            except ApiError as exc:
                if exc.meta.status in RETRYABLE_STATUS:
                    retry = pending
                else:
                    raise ServiceUnavailable(
                        f"bulk request failed with {exc.meta.status}: {exc}", reason="es_error"
                    ) from exc
            else:
                retry = []
                for item, result in zip(pending, response["items"], strict=True):
                    op = result["index"]
                    status = int(op.get("status", 500))
                    if status < 300:
                        outcome.indexed.append(item.id)
                    elif status == 409:
                        outcome.stale.append(item.id)
                    elif status in RETRYABLE_STATUS:
                        retry.append(item)
                    else:
                        error = op.get("error") or {}
                        reason = f"{error.get('type', 'error')}: {error.get('reason', '')}"
                        outcome.rejected.append(Rejection(item, status, reason))
            if not retry:
                break
            attempt += 1
            outcome.retries += 1
            if attempt >= self._max_attempts:
                raise ServiceUnavailable(
                    f"{len(retry)} documents still rejected after {attempt} attempts",
                    reason="es_backpressure",
                )
            self._sleep(min(self._backoff_cap, self._backoff_base * 2**attempt))
            pending = retry
        return outcome
