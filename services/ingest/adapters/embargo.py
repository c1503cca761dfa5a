"""Embargoed items are held in ingest until their embargo time.

An item whose ``embargoed`` time is in the future is not sent downstream:
it waits in Redis (``wirestream:embargo:items`` holds the payload,
``wirestream:embargo:due`` orders ids by embargo time; both AOF-persisted).
The scheduler calls :meth:`EmbargoHold.release_due` on every tick and hands
what is due to the enrich queue. Nothing of an embargoed story reaches
Elasticsearch before its time, so no search, alias or GET can leak it.

A newer version arriving while an older one is held replaces the held one
(same id, one slot); a version without embargo goes downstream at once, and
the held older version, released later, is refused by external versioning.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import redis

from shared.models import Batch, NewsItem

__all__ = ["EmbargoHold"]

ITEMS_KEY = "wirestream:embargo:items"
DUE_KEY = "wirestream:embargo:due"

_CLAIM = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, id in ipairs(ids) do
  local payload = redis.call('HGET', KEYS[2], id)
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
  if payload then table.insert(out, payload) end
end
return out
"""


class EmbargoHold:
    def __init__(self, client: redis.Redis) -> None:
        self._redis = client
        self._claim = client.register_script(_CLAIM)

    def split(self, items: list[NewsItem], now: datetime) -> tuple[list[NewsItem], int]:
        """Hold the items under embargo; return the others and how many were held."""
        free = [i for i in items if i.embargoed is None or i.embargoed <= now]
        held = [i for i in items if i.embargoed is not None and i.embargoed > now]
        self._put(held)
        return free, len(held)

    def _put(self, items: list[NewsItem]) -> None:
        if not items:
            return
        pipe = self._redis.pipeline(transaction=True)
        for item in items:
            assert item.embargoed is not None
            pipe.hset(ITEMS_KEY, item.id, item.model_dump_json())
            pipe.zadd(DUE_KEY, {item.id: item.embargoed.timestamp()})
        pipe.execute()

    def count(self) -> int:
        return int(self._redis.zcard(DUE_KEY))

    def release_due(
        self, now: float, send: Callable[[Batch], None], *, batch_size: int = 25
    ) -> int:
        """Send every item whose embargo has lifted; returns how many. If the
        hand-over fails, the items go back on hold and the error propagates."""
        released = 0
        while True:
            raw = self._claim(keys=[DUE_KEY, ITEMS_KEY], args=[now, batch_size])
            if not raw:
                return released
            items = [NewsItem.model_validate_json(r) for r in raw]
            try:
                send(Batch(items=items, correlation_id=items[0].correlation_id))
            except Exception:
                self._put(items)
                raise
            released += len(items)
