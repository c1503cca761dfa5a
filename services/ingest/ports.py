"""What the ingest stage needs from the world, as protocols: the poller
(:class:`services.ingest.poller.Poller`) is written against these, the
adapters that satisfy them in production are

* :class:`services.ingest.adapters.fetch.FeedFetcher` (HTTP, the SSRF guard, decoding);
* :class:`services.ingest.adapters.source_registry.SourceRegistry` (Redis);
* :class:`services.ingest.adapters.gate.VersionGate` (Redis, one Lua call per batch);
* :class:`shared.dlq.DeadLetterStore` (Redis), behind :class:`shared.dead_letters.DeadLetters`;

and the unit tests pass in-memory ones (``tests/unit/ingest/fakes.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from services.ingest.sources import SourceState
from shared.dead_letters import DeadLetters
from shared.models import NewsItem

__all__ = ["DeadLetters", "FetchResultLike", "FetcherLike", "Gate", "GateDecision", "SourceStore",
           "Verdict"]



Verdict = Literal["new", "changed", "unchanged", "stale"]


@dataclass(frozen=True)
class GateDecision:
    verdict: Verdict
    item: NewsItem  # with version, versioncreated, firstcreated as decided

    @property
    def forward(self) -> bool:
        return self.verdict in ("new", "changed")


class FetchResultLike(Protocol):
    not_modified: bool
    body: bytes
    etag: str | None
    last_modified: str | None
    content_type: str | None
    final_url: str
    retry_after: float | None


class FetcherLike(Protocol):
    def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> FetchResultLike: ...


class SourceStore(Protocol):
    """A source's state and its place in the schedule."""

    def state(self, source_id: str) -> SourceState: ...

    def save_state(self, source_id: str, state: SourceState) -> None: ...

    def schedule(self, source_id: str, due: float) -> None: ...


class Gate(Protocol):
    """New, changed, unchanged or stale: the version gate."""

    def decide_many(self, items: Sequence[tuple[NewsItem, int | None]],
                    update: Mapping[str, Any] | None = None) -> list[GateDecision]: ...

    def forget(self, item_id: str, source: str) -> None: ...
