"""In-memory stand-ins for the ports of services/index/ports.py, for unit
tests of the index stage without Elasticsearch (the dead letters' stand-in
is shared: tests/unit/fakes.py). They keep the contract, not the
implementation: the real adapter (services.index.adapters.bulk.BulkIndexer) is
tested against the real Elasticsearch in tests/integration/."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from services.index.ports import BulkOutcome, Rejection
from shared.models import NewsItem

__all__ = ["MemoryWriter"]


@dataclass
class MemoryWriter:
    """Keeps the newest version of each document, as external versioning
    does: an older version is stale, an equal one is stale unless
    ``replace_equal``; ids in ``refuse`` are rejected with ``status``; while
    ``down`` is set every write raises it and stores nothing."""

    refuse: dict[str, str] = field(default_factory=dict)  # id -> reason
    status: int = 400
    down: Exception | None = None
    stored: dict[str, NewsItem] = field(default_factory=dict)

    def write(self, items: Sequence[NewsItem], *, replace_equal: bool = False) -> BulkOutcome:
        if self.down is not None:
            raise self.down
        outcome = BulkOutcome(requests=1)
        for item in items:
            if item.id in self.refuse:
                outcome.rejected.append(Rejection(item, self.status, self.refuse[item.id]))
                continue
            held = self.stored.get(item.id)
            if held is not None and (held.version > item.version
                                     or (held.version == item.version and not replace_equal)):
                outcome.stale.append(item.id)
                continue
            self.stored[item.id] = item
            outcome.indexed.append(item.id)
        return outcome
