"""Per-minute item counts per stage in Redis, for ``wirestream status``.

Prometheus holds the real time series; this is the small, always-available
answer to "how many items went through each stage in the last hour", which an
operator needs even where no Prometheus runs. Keys expire after two hours.
"""

from __future__ import annotations

import time

import redis

__all__ = ["last_hour", "record"]

PREFIX = "wirestream:stats:"
KEEP_SECONDS = 2 * 3600


def record(client: redis.Redis, stage: str, count: int, *, now: float | None = None) -> None:
    if count <= 0:
        return
    minute = int((now or time.time()) // 60)
    key = f"{PREFIX}{stage}:{minute}"
    pipe = client.pipeline(transaction=False)
    pipe.incrby(key, count)
    pipe.expire(key, KEEP_SECONDS)
    pipe.execute()


def last_hour(
    client: redis.Redis, stages: tuple[str, ...], *, now: float | None = None
) -> dict[str, int]:
    minute = int((now or time.time()) // 60)
    totals: dict[str, int] = {}
    for stage in stages:
        keys = [f"{PREFIX}{stage}:{m}" for m in range(minute - 59, minute + 1)]
        values = client.mget(keys)
        totals[stage] = sum(int(v) for v in values if v)
    return totals
