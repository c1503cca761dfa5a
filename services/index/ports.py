"""What the index stage needs from the world, as protocols: the stage
(:func:`services.index.stage.index_batch`) is written against these, the
adapters that satisfy them in production are

* :class:`services.index.adapters.bulk.BulkIndexer` (Elasticsearch bulk writes with
  external versions, its failures mapped to the exception tree there);
* :class:`shared.dlq.DeadLetterStore` (Redis), behind
  :class:`shared.dead_letters.DeadLetters`;

and the unit tests pass in-memory ones (``tests/unit/index/fakes.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from shared.dead_letters import DeadLetters
from shared.models import NewsItem

__all__ = ["BulkOutcome", "DeadLetters", "DocumentWriter", "Rejection"]



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
    retries: int = 0  # rounds that re-sent a rejected subset
    retried_items: int = 0  # items re-sent, summed over rounds
    requests: int = 0  # bulk requests sent

    def merge(self, other: BulkOutcome) -> None:
        self.indexed += other.indexed
        self.stale += other.stale
        self.rejected += other.rejected
        self.retries += other.retries
        self.retried_items += other.retried_items
        self.requests += other.requests

    def counts(self) -> dict[str, int]:
        return {
            "indexed": len(self.indexed),
            "stale": len(self.stale),
            "rejected": len(self.rejected),
            "retries": self.retries,
            "retried_items": self.retried_items,
            "requests": self.requests,
        }


class DocumentWriter(Protocol):
    """Writes a batch of documents; returns when each is indexed, stale or
    rejected, and raises :class:`shared.errors.ServiceUnavailable` while the
    store cannot take them (the task retries the batch)."""

    def write(self, items: Sequence[NewsItem], *, replace_equal: bool = False
              ) -> BulkOutcome: ...
