"""In-memory stand-ins for the ports of services/ingest/ports.py, for unit
tests of the poller without Redis or HTTP (the dead letters' stand-in is
shared: tests/unit/fakes.py). They keep the contract, not the
implementation: the real adapters are tested against the real services in
tests/integration/."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.ingest.ports import GateDecision
from services.ingest.sources import SourceState
from shared.errors import WirestreamError
from shared.models import NewsItem


class MemorySources:
    def __init__(self) -> None:
        self.states: dict[str, SourceState] = {}
        self.due: dict[str, float] = {}

    def state(self, source_id: str) -> SourceState:
        return self.states.get(source_id, SourceState()).model_copy()

    def save_state(self, source_id: str, state: SourceState) -> None:
        self.states[source_id] = state.model_copy()

    def schedule(self, source_id: str, due: float) -> None:
        self.due[source_id] = due


class MemoryGate:
    """New the first time, changed when the content hash differs (the version
    goes up), unchanged otherwise; ``forget`` makes the next sight a change."""

    def __init__(self) -> None:
        self.seen: dict[str, tuple[int, str | None]] = {}

    def decide_many(self, items: Sequence[tuple[NewsItem, int | None]],
                    update: Mapping[str, Any] | None = None) -> list[GateDecision]:
        out = []
        for item, _provider_version in items:
            before = self.seen.get(item.id)
            if before is None:
                verdict, version = "new", 1
            elif before[1] == item.content_hash:
                verdict, version = "unchanged", before[0]
            else:
                verdict, version = "changed", before[0] + 1
            self.seen[item.id] = (version, item.content_hash)
            decided = item.model_copy(update={**(update or {}), "version": version})
            out.append(GateDecision(verdict, decided))  # type: ignore[arg-type]
        return out

    def forget(self, item_id: str, source: str) -> None:
        version, _ = self.seen.get(item_id, (0, None))
        self.seen[item_id] = (version, None)


@dataclass
class Answer:
    body: bytes = b""
    not_modified: bool = False
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = "application/rss+xml"
    final_url: str = "https://wire.example/feed.xml"
    retry_after: float | None = None


@dataclass
class ScriptedFetcher:
    """Answers (or raises) in order, and records what it was asked."""

    answers: list[Answer | WirestreamError]
    asked: list[dict[str, Any]] = field(default_factory=list)

    def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
              headers: dict[str, str] | None = None) -> Answer:
        self.asked.append({"url": url, "etag": etag, "last_modified": last_modified,
                           "headers": headers or {}})
        answer = self.answers.pop(0)
        if isinstance(answer, WirestreamError):
            raise answer
        return answer
