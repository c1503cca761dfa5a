"""The shared-state exporter: what no single worker knows.

``wirestream exporter`` serves these gauges on /metrics, computed from Redis,
Elasticsearch and the translator at scrape time (a custom collector, so values
are never stale and there is no polling loop to die):

* ``wirestream_queue_depth{queue}`` — messages waiting per Celery queue;
* ``wirestream_queue_unacked`` — messages delivered but not yet acked;
* ``wirestream_dead_letters`` — entries in the dead-letter store, and
  ``wirestream_dead_letters_oldest_age_seconds`` (absent when empty);
* ``wirestream_source_*{source}`` — per source: enabled, seconds since the last
  successful poll and since the last new item, consecutive failures, items in
  the last poll, current poll interval;
* ``wirestream_redis_memory_used_bytes``, ``wirestream_redis_memory_max_bytes``
  (0: no limit), ``wirestream_redis_errors_total{error}`` (error replies by
  code: ``OOM`` is a write refused when full) and
  ``wirestream_redis_rejected_connections_total`` — Redis itself, which
  answers PING while it refuses every write;
* ``wirestream_service_up{service}`` — redis, elasticsearch, translator, ner
  (the CoreNLP server's ``/ready``)
  (every other gauge is read from Redis and is absent while Redis cannot be
  read: never a zero that is no value);
* ``wirestream_schedulers_alive`` — schedulers that looked at the schedule in
  the last minute, ``wirestream_scheduler_heartbeat_age_seconds`` (the
  freshest; absent when none ever ran) and
  ``wirestream_scheduler_polls_enqueued_total``.

:func:`collect_state` is the same data as plain values, used by
``wirestream status``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import redis

from shared.queues import QUEUES, queue_depth
from shared.settings import Settings

__all__ = [
    "PipelineState",
    "SourceHealth",
    "StateCollector",
    "collect_state",
    "dead_letters_oldest",
]

UNACKED_KEY = "unacked"


@dataclass
class SourceHealth:
    id: str
    enabled: bool
    interval: float | None
    since_success: float | None
    since_new_item: float | None
    consecutive_failures: int
    items_last_poll: int
    last_error: str | None

    @property
    def stale(self) -> bool:
        """No successful poll for longer than three of its intervals (and at
        least ten minutes); the same test as the WirestreamSourceStale alert."""
        if not self.enabled or self.since_success is None or self.interval is None:
            return False
        return self.since_success > max(600.0, 3 * self.interval)

    @property
    def quiet(self) -> bool:
        """Quiet for longer than usual: no new item for more than four times
        its current interval (and at least an hour)."""
        if self.since_new_item is None or self.interval is None:
            return False
        return self.since_new_item > max(3600.0, 4 * self.interval)


@dataclass
class PipelineState:
    queues: dict[str, int] = field(default_factory=dict)
    unacked: int = 0
    dead_letters: int = 0
    dead_letters_oldest: float | None = None
    sources: list[SourceHealth] = field(default_factory=list)
    services: dict[str, bool] = field(default_factory=dict)
    # scheduler name (host:pid) -> seconds since its last look at the schedule
    schedulers: dict[str, float] = field(default_factory=dict)
    polls_enqueued: int = 0
    # Redis itself: memory used and its limit (0: none), error replies by
    # error code since it started (OOM: a write refused under noeviction),
    # connections refused (maxclients)
    redis_memory_used: int = 0
    redis_memory_max: int = 0
    redis_errors: dict[str, int] = field(default_factory=dict)
    redis_rejected_connections: int = 0

    @property
    def schedulers_alive(self) -> int:
        from services.ingest.scheduler import HEARTBEAT_FRESH_SECONDS

        return sum(1 for age in self.schedulers.values() if age <= HEARTBEAT_FRESH_SECONDS)


def dead_letters_oldest(client: redis.Redis) -> float | None:
    """Time (epoch seconds) of the oldest dead letter, None if there is none."""
    from shared.dlq import DLQ_INDEX

    first = client.zrange(DLQ_INDEX, 0, 0, withscores=True)
    return float(first[0][1]) if first else None


def _es_up(settings: Settings) -> bool:
    from elastic_transport import TransportError
    from elasticsearch import ApiError

    from shared.runtime import es_client

    es = es_client(settings)
    try:
        return bool(es.options(request_timeout=3).cluster.health().get("status") != "red")
    except (ApiError, TransportError):
        return False
    finally:
        es.close()


def _translator_up(settings: Settings) -> bool:
    tr = settings.translator
    if tr.backend == "none":
        return True
    url = (
        f"{tr.apertium_url}/listPairs"
        if tr.backend == "apertium"
        else f"{tr.libretranslate_url}/languages"
    )
    try:
        return httpx.get(url, timeout=3).status_code == 200
    except httpx.HTTPError:
        return False


def _ner_up(settings: Settings) -> bool:
    """The CoreNLP server answers ``/ready`` (the workers' NER for English,
    German, French, Spanish, Italian and the related languages); True when
    the enrich workers run spaCy instead."""
    if settings.ner.backend != "corenlp":
        return True
    try:
        return httpx.get(f"{settings.ner.corenlp_url}/ready", timeout=3).status_code == 200
    except httpx.HTTPError:
        return False


def collect_state(settings: Settings, client: redis.Redis, *, probe: bool = True) -> PipelineState:
    """What the pipeline's shared state says now. With Redis unreachable,
    ``services["redis"]`` is False and nothing else read from Redis is set
    (no zeros that look like values)."""
    state = PipelineState()
    try:
        _read_redis(state, client)
        state.services["redis"] = True
    except redis.RedisError:
        # down, refusing the login, or lost half-way: nothing read from it
        # stands (a zero would read as "the dead letters are gone")
        state = PipelineState(services={"redis": False})
    if probe:
        state.services["elasticsearch"] = _es_up(settings)
        state.services["translator"] = _translator_up(settings)
        state.services["ner"] = _ner_up(settings)
    return state


def _read_redis(state: PipelineState, client: redis.Redis) -> None:
    from services.ingest.adapters.source_registry import SourceRegistry
    from services.ingest.scheduler import scheduler_heartbeats, scheduler_stats
    from shared.dlq import DeadLetterStore

    client.ping()
    with client.pipeline(transaction=False) as pipe:  # one round trip
        for section in ("memory", "stats", "errorstats"):
            pipe.info(section)
        memory, stats, errorstats = pipe.execute()
    state.redis_memory_used = int(memory.get("used_memory", 0))
    state.redis_memory_max = int(memory.get("maxmemory", 0))
    state.redis_rejected_connections = int(stats.get("rejected_connections", 0))
    state.redis_errors = {name.removeprefix("errorstat_"): int(value.get("count", 0))
                          for name, value in errorstats.items() if isinstance(value, dict)}
    state.queues = {q: queue_depth(client, q) for q in QUEUES}
    state.unacked = int(client.hlen(UNACKED_KEY))
    state.dead_letters = DeadLetterStore(client).count()
    state.dead_letters_oldest = dead_letters_oldest(client)
    state.schedulers = scheduler_heartbeats(client)
    state.polls_enqueued = scheduler_stats(client).get("polls_enqueued", 0)
    registry = SourceRegistry(client)
    now = time.time()
    for source in registry.all():
        s = registry.state(source.id)
        state.sources.append(
            SourceHealth(
                id=source.id,
                enabled=source.enabled,
                interval=s.interval or float(source.min_interval),
                since_success=now - s.last_success if s.last_success else None,
                since_new_item=now - s.last_new_item if s.last_new_item else None,
                consecutive_failures=s.consecutive_failures,
                items_last_poll=s.items_last_poll,
                last_error=s.last_error,
            )
        )


class StateCollector:
    """A prometheus_client collector that reads the state on every scrape."""

    def __init__(self, settings: Settings, client: redis.Redis) -> None:
        self._settings = settings
        self._redis = client

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        state = collect_state(self._settings, self._redis)
        up = GaugeMetricFamily(
            "wirestream_service_up", "1 if the service answers.", labels=["service"]
        )
        for name, ok in state.services.items():
            up.add_metric([name], 1.0 if ok else 0.0)
        yield up
        if not state.services.get("redis"):
            # every other gauge is read from Redis: absent, not zero, while
            # it cannot be read (a dip to zero would fire growth alerts)
            return
        yield GaugeMetricFamily("wirestream_redis_memory_used_bytes",
                                "Memory Redis uses (INFO memory used_memory).",
                                value=state.redis_memory_used)
        yield GaugeMetricFamily("wirestream_redis_memory_max_bytes",
                                "Redis's maxmemory; 0 when it has no limit.",
                                value=state.redis_memory_max)
        errors = CounterMetricFamily(
            "wirestream_redis_errors", "Error replies Redis sent since it started, by error "
            "code (OOM: a write refused at maxmemory under noeviction).", labels=["error"])
        for code, count in sorted(state.redis_errors.items()):
            errors.add_metric([code], count)
        yield errors
        yield CounterMetricFamily("wirestream_redis_rejected_connections",
                                  "Connections Redis refused (maxclients) since it started.",
                                  value=state.redis_rejected_connections)
        depth = GaugeMetricFamily(
            "wirestream_queue_depth", "Messages waiting per queue.", labels=["queue"]
        )
        for queue, n in state.queues.items():
            depth.add_metric([queue], n)
        yield depth
        yield GaugeMetricFamily(
            "wirestream_queue_unacked",
            "Messages delivered to workers and not yet acked.",
            value=state.unacked,
        )
        yield GaugeMetricFamily(
            "wirestream_dead_letters", "Entries in the dead-letter store.", value=state.dead_letters
        )
        oldest = GaugeMetricFamily(
            "wirestream_dead_letters_oldest_age_seconds",
            "Age of the oldest dead letter (absent: none).",
        )
        if state.dead_letters_oldest is not None:
            oldest.add_metric([], max(0.0, time.time() - state.dead_letters_oldest))
        yield oldest
        yield GaugeMetricFamily(
            "wirestream_schedulers_alive",
            "Schedulers that looked at the schedule in the last minute.",
            value=state.schedulers_alive,
        )
        beat = GaugeMetricFamily(
            "wirestream_scheduler_heartbeat_age_seconds",
            "Seconds since the freshest scheduler heartbeat (absent: none ever ran).",
        )
        if state.schedulers:
            beat.add_metric([], min(state.schedulers.values()))
        yield beat
        yield CounterMetricFamily(
            "wirestream_scheduler_polls_enqueued",
            "Polls enqueued by all schedulers.",
            value=state.polls_enqueued,
        )
        families = {
            "enabled": GaugeMetricFamily(
                "wirestream_source_enabled", "1 if the source is polled.", labels=["source"]
            ),
            "success": GaugeMetricFamily(
                "wirestream_source_seconds_since_success",
                "Seconds since the last successful poll (absent: never).",
                labels=["source"],
            ),
            "new": GaugeMetricFamily(
                "wirestream_source_seconds_since_new_item",
                "Seconds since a poll last found a new or changed item.",
                labels=["source"],
            ),
            "failures": GaugeMetricFamily(
                "wirestream_source_consecutive_failures",
                "Failed polls in a row.",
                labels=["source"],
            ),
            "items": GaugeMetricFamily(
                "wirestream_source_items_last_poll",
                "Items in the source's last document.",
                labels=["source"],
            ),
            "interval": GaugeMetricFamily(
                "wirestream_source_interval_seconds",
                "Current adaptive poll interval.",
                labels=["source"],
            ),
        }
        for s in state.sources:
            families["enabled"].add_metric([s.id], 1.0 if s.enabled else 0.0)
            if s.since_success is not None:
                families["success"].add_metric([s.id], s.since_success)
            if s.since_new_item is not None:
                families["new"].add_metric([s.id], s.since_new_item)
            families["failures"].add_metric([s.id], s.consecutive_failures)
            families["items"].add_metric([s.id], s.items_last_poll)
            if s.interval is not None:
                families["interval"].add_metric([s.id], s.interval)
        yield from families.values()
