"""What the index stage needs from the world, as protocols: the stage
(:func:`services.index.stage.index_batch`) is written against these, the
adapters that satisfy them in production are

* :class:`services.index.bulk.BulkIndexer` (Elasticsearch bulk writes with
  external versions, its failures mapped to the exception tree there);
* :class:`shared.dlq.DeadLetterStore` (Redis), behind
  :class:`shared.dlq.DeadLetters`;

and the unit tests pass in-memory ones (``tests/unit/index/fakes.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from services.index.bulk import BulkOutcome
from shared.dlq import DeadLetters
from shared.models import NewsItem

__all__ = ["DeadLetters", "DocumentWriter"]


class DocumentWriter(Protocol):
    """Writes a batch of documents; returns when each is indexed, stale or
    rejected, and raises :class:`shared.errors.ServiceUnavailable` while the
    store cannot take them (the task retries the batch)."""

    def write(self, items: Sequence[NewsItem], *, replace_equal: bool = False
              ) -> BulkOutcome: ...
