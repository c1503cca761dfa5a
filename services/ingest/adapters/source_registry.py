"""The source registry in Redis (layout in :mod:`services.ingest.sources`)."""

from __future__ import annotations

import time

import redis

from services.ingest.sources import Source, SourceState

__all__ = ["SCHEDULE_KEY", "SOURCES_KEY", "STATE_PREFIX", "SourceRegistry"]

SOURCES_KEY = "wirestream:sources"
STATE_PREFIX = "wirestream:source_state:"
SCHEDULE_KEY = "wirestream:schedule"


class SourceRegistry:
    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    def put(self, source: Source, *, due: float | None = None) -> None:
        """Add or replace a source; a new or re-enabled source is due now."""
        pipe = self._redis.pipeline(transaction=True)
        pipe.hset(SOURCES_KEY, source.id, source.model_dump_json())
        if source.enabled:
            pipe.zadd(
                SCHEDULE_KEY, {source.id: due if due is not None else time.time()}, nx=due is None
            )
        else:
            pipe.zrem(SCHEDULE_KEY, source.id)
        pipe.execute()

    def get(self, source_id: str) -> Source | None:
        raw = self._redis.hget(SOURCES_KEY, source_id)
        return Source.model_validate_json(raw) if raw else None

    def all(self) -> list[Source]:
        return sorted(
            (Source.model_validate_json(v) for v in self._redis.hvals(SOURCES_KEY)),
            key=lambda s: s.id,
        )

    def remove(self, source_id: str) -> bool:
        pipe = self._redis.pipeline(transaction=True)
        pipe.hdel(SOURCES_KEY, source_id)
        pipe.zrem(SCHEDULE_KEY, source_id)
        pipe.delete(STATE_PREFIX + source_id)
        removed = pipe.execute()[0]
        return bool(removed)

    def state(self, source_id: str) -> SourceState:
        raw: dict[bytes, bytes] = self._redis.hgetall(STATE_PREFIX + source_id)  # type: ignore[assignment]
        return SourceState.model_validate({k.decode(): v.decode() for k, v in raw.items()})

    def save_state(self, source_id: str, state: SourceState) -> None:
        values = {k: str(v) for k, v in state.model_dump().items() if v is not None}
        stale = [k for k, v in state.model_dump().items() if v is None]
        pipe = self._redis.pipeline(transaction=True)
        if values:
            pipe.hset(STATE_PREFIX + source_id, mapping=values)  # type: ignore[arg-type]
        if stale:
            pipe.hdel(STATE_PREFIX + source_id, *stale)
        pipe.execute()

    def schedule(self, source_id: str, due: float) -> None:
        # XX: never resurrect a source removed while it was being polled.
        self._redis.zadd(SCHEDULE_KEY, {source_id: due}, xx=True)

    def poll_now(self, source_id: str, now: float | None = None) -> bool:
        """Make an enabled source due at once, whatever its interval or
        failure backoff says (the poll then sets its next due time as any
        poll does). False for a source that is not scheduled: unknown or
        disabled."""
        self._redis.zadd(SCHEDULE_KEY, {source_id: now or time.time()}, xx=True)
        return self.next_due(source_id) is not None

    def next_due(self, source_id: str) -> float | None:
        score = self._redis.zscore(SCHEDULE_KEY, source_id)
        return float(score) if score is not None else None
