"""The scheduler: enqueue a poll for every source that is due.

State is the ``wirestream:schedule`` sorted set (source id → due time). A due
source is *claimed* atomically by moving its due time one lease ahead before
its poll is enqueued, so several schedulers can run side by side without
double-polling; the poll itself then sets the real next due time. If a poll
message is lost, the lease runs out and the source is claimed again.

Every ``WIRESTREAM_RECONCILE__INTERVAL`` seconds the scheduler also runs a
pass of the reconciler (:mod:`services.ingest.reconciler`), which re-drives
items accepted by the version gate that never became searchable.

Each scheduler writes a heartbeat after every look at the schedule
(``wirestream:scheduler:heartbeat``, field ``<host>:<pid>``, value the
time) and adds to ``wirestream:scheduler:stats`` (polls enqueued, ticks,
reconcile passes): ``wirestream health scheduler`` (the compose
healthcheck), ``wirestream status`` and the exporter's
``wirestream_schedulers_alive`` read them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable

import redis
from kombu.exceptions import OperationalError

from services.ingest.adapters.source_registry import SCHEDULE_KEY
from shared.errors import WirestreamError

__all__ = [
    "HEARTBEAT_FRESH_SECONDS",
    "HEARTBEAT_KEY",
    "STATS_KEY",
    "Scheduler",
    "scheduler_heartbeats",
    "scheduler_stats",
]

log = logging.getLogger(__name__)

# Long enough for any poll (fetch deadline 60 s plus queueing), short enough
# that a lost poll message delays a source by minutes, not hours.
CLAIM_LEASE_SECONDS = 300

HEARTBEAT_KEY = "wirestream:scheduler:heartbeat"
STATS_KEY = "wirestream:scheduler:stats"
# A scheduler whose last look at the schedule is older than this is not alive.
HEARTBEAT_FRESH_SECONDS = 60.0
# Heartbeats of schedulers gone for longer than this are forgotten.
_HEARTBEAT_FORGET_SECONDS = 86400.0


def scheduler_heartbeats(client: redis.Redis, now: float | None = None) -> dict[str, float]:
    """Seconds since each known scheduler (``<host>:<pid>``) last looked at
    the schedule; heartbeats older than a day are removed."""
    now = time.time() if now is None else now
    ages: dict[str, float] = {}
    gone: list[bytes | str] = []
    for name, value in client.hgetall(HEARTBEAT_KEY).items():
        try:
            age = max(0.0, now - float(value))
        except ValueError:
            age = _HEARTBEAT_FORGET_SECONDS + 1
        if age > _HEARTBEAT_FORGET_SECONDS:
            gone.append(name)
            continue
        ages[name.decode() if isinstance(name, bytes) else str(name)] = age
    if gone:
        client.hdel(HEARTBEAT_KEY, *gone)
    return ages


def scheduler_stats(client: redis.Redis) -> dict[str, int]:
    """Totals of every scheduler since the Redis data began: polls_enqueued,
    ticks, reconcile_passes."""
    raw = client.hgetall(STATS_KEY)
    return {(k.decode() if isinstance(k, bytes) else str(k)): int(v) for k, v in raw.items()}


_CLAIM = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(due) do
  redis.call('ZADD', KEYS[1], ARGV[2], id)
end
return due
"""


class Scheduler:
    def __init__(
        self,
        client: redis.Redis,
        enqueue: Callable[[str], None],
        *,
        tick: float = 1.0,
        batch: int = 200,
        on_tick: Callable[[float], object] | None = None,
        clock: Callable[[], float] = time.time,
        reconcile: Callable[[float], object] | None = None,
        reconcile_every: float = 300.0,
        auto_reconcile: bool = True,
    ) -> None:
        self._client = client
        self._claim = client.register_script(_CLAIM)
        self._enqueue = enqueue
        self._tick = tick
        self._batch = batch
        self._on_tick = on_tick
        self._clock = clock
        self._stop = threading.Event()
        # The reconciler pass, if any; run_forever builds the configured one
        # (WIRESTREAM_RECONCILE__*) when none was given and auto_reconcile.
        self._reconcile = reconcile
        self._reconcile_every = reconcile_every
        self._auto_reconcile = auto_reconcile and reconcile is None
        self._last_reconcile = 0.0
        self.name = f"{socket.gethostname()}:{os.getpid()}"

    def run_once(self) -> list[str]:
        """Claim and enqueue every due source; returns their ids."""
        now = self._clock()
        claimed: list[str] = []
        while True:
            due = self._claim(
                keys=[SCHEDULE_KEY], args=[now, now + CLAIM_LEASE_SECONDS, self._batch]
            )
            ids = [d.decode() if isinstance(d, bytes) else str(d) for d in due]
            for source_id in ids:
                self._enqueue(source_id)
            claimed.extend(ids)
            if len(ids) < self._batch:
                return claimed

    def stop(self, *_: object) -> None:
        self._stop.set()

    def maybe_reconcile(self, now: float) -> None:
        """Run the reconciler if its interval has passed since the last pass."""
        if self._reconcile is None or now - self._last_reconcile < self._reconcile_every:
            return
        self._last_reconcile = now
        self._reconcile(now)
        self._client.hincrby(STATS_KEY, "reconcile_passes", 1)

    def beat(self, enqueued: int) -> None:
        """Record a completed look at the schedule (heartbeat and totals)."""
        pipe = self._client.pipeline(transaction=False)
        pipe.hset(HEARTBEAT_KEY, self.name, repr(self._clock()))
        pipe.hincrby(STATS_KEY, "ticks", 1)
        if enqueued:
            pipe.hincrby(STATS_KEY, "polls_enqueued", enqueued)
        pipe.execute()

    def run_forever(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        if self._auto_reconcile:
            from services.ingest.reconciler_cli import scheduler_hook
            from shared.settings import load_settings

            hook = scheduler_hook(load_settings(), self._client)
            if hook is not None:
                self._reconcile, self._reconcile_every = hook
        log.info("scheduler started")
        while not self._stop.is_set():
            try:
                claimed = self.run_once()
                if claimed:
                    log.info("enqueued %d polls", len(claimed))
                if self._on_tick is not None:
                    # e.g. releasing embargoed items whose time has come
                    self._on_tick(self._clock())
                self.maybe_reconcile(self._clock())
                self.beat(len(claimed))
            except (redis.RedisError, OperationalError) as exc:
                # Redis down: keep the scheduler alive and try again; held
                # items and due sources stay in Redis, nothing is lost.
                log.warning("scheduler cannot reach redis: %s", exc)
            except WirestreamError as exc:
                # Elasticsearch down during a reconcile pass: the next pass
                # looks again; polling goes on meanwhile.
                log.warning("reconcile pass failed: %s", exc)
            self._stop.wait(self._tick)
        with contextlib.suppress(redis.RedisError):  # else the heartbeat ages out
            self._client.hdel(HEARTBEAT_KEY, self.name)
        log.info("scheduler stopped")
