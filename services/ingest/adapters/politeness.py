"""Being a polite client: per-host limits shared by every worker, and the
publisher's own hints about when to come back.

:class:`HostLimiter` keeps, in Redis, for each host: the leases of fetches in
flight (at most ``concurrency`` at once, each lease expiring after
``lease_seconds`` so a killed worker cannot hold one forever) and the earliest
time the next request may start (``min_delay`` after the previous start). A
poll that cannot get a slot is not an error: the source is simply rescheduled
for when the host is free.

The publisher's hints (RSS ``ttl``, ``skipHours``, ``skipDays``) are read by
:func:`services.ingest.stage.feed_hints_delay`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import redis

__all__ = ["HostLimiter", "Lease"]

HOST_PREFIX = "wirestream:host:"

_ACQUIRE = """
local leases, gate = KEYS[1], KEYS[2]
local now, limit, lease_for, delay, token = tonumber(ARGV[1]), tonumber(ARGV[2]),
    tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
redis.call('ZREMRANGEBYSCORE', leases, '-inf', now)
local next_at = tonumber(redis.call('GET', gate) or '0')
if next_at > now then return {0, tostring(next_at - now)} end
if redis.call('ZCARD', leases) >= limit then
  local first = redis.call('ZRANGE', leases, 0, 0, 'WITHSCORES')
  local wait = 1
  if first[2] then wait = math.max(0.1, tonumber(first[2]) - now) end
  return {0, tostring(math.min(wait, 5))}
end
redis.call('ZADD', leases, now + lease_for, token)
redis.call('EXPIRE', leases, math.ceil(lease_for) + 60)
redis.call('SET', gate, tostring(now + delay), 'EX', math.ceil(delay) + 60)
return {1, '0'}
"""


@dataclass(frozen=True)
class Lease:
    host: str
    token: str


class HostLimiter:
    def __init__(
        self,
        client: redis.Redis,
        *,
        concurrency: int = 2,
        min_delay: float = 1.0,
        lease_seconds: float = 120.0,
    ) -> None:
        self._redis = client
        self._acquire = client.register_script(_ACQUIRE)
        self.concurrency = concurrency
        self.min_delay = min_delay
        self.lease_seconds = lease_seconds

    def acquire(self, host: str, now: float) -> tuple[Lease | None, float]:
        """A lease, or None and the seconds to wait before trying again."""
        token = uuid.uuid4().hex
        ok, wait = self._acquire(
            keys=[f"{HOST_PREFIX}{host}:leases", f"{HOST_PREFIX}{host}:next"],
            args=[now, self.concurrency, self.lease_seconds, self.min_delay, token],
        )
        if int(ok):
            return Lease(host, token), 0.0
        return None, float(wait)

    def release(self, lease: Lease) -> None:
        self._redis.zrem(f"{HOST_PREFIX}{lease.host}:leases", lease.token)
