"""The dead-letter store: permanent or exhausted failures, with everything
needed to understand and replay them.

Each entry keeps the payload, the stage, the reason slug, the message, the
number of attempts, the source id and the time. Entries live in Redis (AOF
persisted) in a hash ``wirestream:dlq`` keyed by entry id plus a sorted set by
time, so listing by age is cheap and nothing is ever trimmed silently.
Replay re-sends the payload to its stage's task and removes the entry; the
stages are idempotent, so replaying twice is harmless.

An entry's id is a digest of what failed (:func:`entry_id`): one entry per
stage, reason and item version (id, version, content hash), or per payload
where there are no items; a redelivered message that fails the same way
finds its entry already there and adds none.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from typing import Any, Protocol

import redis
from pydantic import BaseModel

__all__ = ["DeadLetter", "DeadLetterStore", "DeadLetters", "entry_id"]

DLQ_HASH = "wirestream:dlq"
DLQ_INDEX = "wirestream:dlq:by_time"


class DeadLetter(BaseModel):
    id: str
    stage: str
    reason: str
    message: str
    error_type: str
    attempts: int
    source: str | None = None
    item_ids: list[str] = []
    at: float
    payload: dict[str, Any]


def entry_id(stage: str, reason: str, payload: dict[str, Any], item_ids: list[str]) -> str:
    """The id of the dead letter of this failure: the same for the same
    stage, reason and item versions (or, without items, the same payload)."""
    items = payload.get("items") if isinstance(payload, dict) else None
    if item_ids and isinstance(items, list) and all(isinstance(i, dict) for i in items):
        what: Any = sorted((str(i.get("id")), str(i.get("version")), str(i.get("content_hash")))
                           for i in items)
    else:
        what = payload
    basis = json.dumps([stage, reason, what], sort_keys=True, default=str)
    return hashlib.sha256(basis.encode()).hexdigest()[:32]


class DeadLetters(Protocol):
    """What a stage needs of the dead-letter store: to add an entry.
    :class:`DeadLetterStore` is the Redis adapter; the unit tests pass an
    in-memory one (``tests/unit/fakes.py``)."""

    def add(self, *, stage: str, reason: str, message: str, error_type: str,
            payload: dict[str, Any], attempts: int, source: str | None = None,
            item_ids: list[str] | None = None) -> DeadLetter: ...


class DeadLetterStore:
    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    def add(
        self,
        *,
        stage: str,
        reason: str,
        message: str,
        error_type: str,
        payload: dict[str, Any],
        attempts: int,
        source: str | None = None,
        item_ids: list[str] | None = None,
    ) -> DeadLetter:
        entry = DeadLetter(
            id=entry_id(stage, reason, payload, item_ids or []),
            stage=stage,
            reason=reason,
            message=message[:2000],
            error_type=error_type,
            attempts=attempts,
            source=source,
            item_ids=item_ids or [],
            at=time.time(),
            payload=payload,
        )
        # the first failure stands: a redelivery that fails again adds nothing
        pipe = self._redis.pipeline(transaction=True)
        pipe.hsetnx(DLQ_HASH, entry.id, entry.model_dump_json())
        pipe.zadd(DLQ_INDEX, {entry.id: entry.at}, nx=True)
        pipe.hget(DLQ_HASH, entry.id)
        stored = pipe.execute()[-1]
        return DeadLetter.model_validate_json(stored) if stored else entry

    def count(self) -> int:
        return int(self._redis.zcard(DLQ_INDEX))

    def get(self, entry_id: str) -> DeadLetter | None:
        raw = self._redis.hget(DLQ_HASH, entry_id)
        return DeadLetter.model_validate_json(raw) if raw else None

    def iter(
        self,
        *,
        stage: str | None = None,
        reason: str | None = None,
        source: str | None = None,
        older_than: float | None = None,
        newer_than: float | None = None,
    ) -> Iterator[DeadLetter]:
        """Entries oldest first, filtered. Ages are seconds before now."""
        now = time.time()
        high = now - older_than if older_than is not None else "+inf"
        low = now - newer_than if newer_than is not None else "-inf"
        ids: list[bytes] = self._redis.zrangebyscore(DLQ_INDEX, low, high)  # type: ignore[assignment]
        for chunk_start in range(0, len(ids), 500):
            chunk = ids[chunk_start : chunk_start + 500]
            for raw in self._redis.hmget(DLQ_HASH, chunk):
                if raw is None:
                    continue
                entry = DeadLetter.model_validate(json.loads(raw))
                if stage and entry.stage != stage:
                    continue
                if reason and not entry.reason.startswith(reason):
                    continue
                if source and entry.source != source:
                    continue
                yield entry

    def remove(self, entry_id: str) -> bool:
        pipe = self._redis.pipeline(transaction=True)
        pipe.hdel(DLQ_HASH, entry_id)
        pipe.zrem(DLQ_INDEX, entry_id)
        removed, _ = pipe.execute()
        return bool(removed)
