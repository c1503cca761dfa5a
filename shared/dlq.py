"""The dead-letter store: permanent or exhausted failures, with everything
needed to understand and replay them.

Each entry keeps the payload, the stage, the reason slug, the message, the
number of attempts, the source id and the time. Entries live in Redis (AOF
persisted) in a hash ``wirestream:dlq`` keyed by entry id plus a sorted set by
time, so listing by age is cheap and nothing is ever trimmed silently.
Replay re-sends the payload to its stage's task and removes the entry; the
stages are idempotent, so replaying twice is harmless.

The record, its id and the port a stage writes through are in
:mod:`shared.dead_letters`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import redis

from shared.dead_letters import DeadLetter, entry_id

__all__ = ["DLQ_HASH", "DLQ_INDEX", "DeadLetterStore"]

DLQ_HASH = "wirestream:dlq"
DLQ_INDEX = "wirestream:dlq:by_time"


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
