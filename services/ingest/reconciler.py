"""The reconciler: items the version gate accepted that never became
searchable are sent again, and if that does not help, dead-lettered.

Why it exists: the gate records an item as sent *before* the item reaches the
enrich queue, and a message can be lost after that - an ingest worker killed
between the two, a Redis that loses its last second of writes (AOF
``everysec``), a message acked by a crash path that could not dead-letter it.
Such an item is "unchanged" on every later poll, so nothing else would ever
send it again. The reconciler closes that gap and keeps the promise of
docs/guarantees.md: every accepted item ends up searchable (at the version
the gate accepted last) or in the dead-letter store.

One pass (:meth:`Reconciler.run_once`), run by the scheduler every
``WIRESTREAM_RECONCILE__INTERVAL`` seconds and by ``wirestream reconcile``:

1. walks the gate's items (``wirestream:item:<id>``, SCAN). When an item was
   last accepted is read from the key's remaining time to live: the gate
   sets it to :data:`~services.ingest.adapters.gate.ITEM_TTL_SECONDS` on every
   acceptance (new or changed) and on nothing else;
2. keeps those accepted more than ``deadline`` seconds ago and less than
   ``horizon`` ago, not already verified for that acceptance, not held under
   embargo, not a kill (the reader cannot see tombstones through the read
   alias) and not in the dead-letter store;
3. asks Elasticsearch (the read alias, an ``ids`` query with versions) which
   of them are indexed at an external version at least the one the gate
   accepted; those are verified and remembered;
4. re-drives the others: marks them unsent in the gate (as the poller does
   when a hand-over fails), clears the source's conditional-GET validators
   and makes the source due now, so the next poll sends the item again as
   the next version. An item still missing ``deadline`` seconds after its
   last re-drive is re-driven again, up to ``max_redrives`` times; then it is
   dead-lettered (stage ``ingest``, reason ``reconcile:not_indexed``, payload
   ``{"source_id", "item_id", ...}``: ``wirestream dlq replay`` polls the
   source again).

A re-drive of an item that was only slow is harmless: both versions travel,
external versioning keeps the newer, and nothing is duplicated. Passes of
several schedulers are serialised by a lock in Redis.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis
from elasticsearch import Elasticsearch

from services.ingest.adapters.embargo import ITEMS_KEY as EMBARGO_ITEMS_KEY
from services.ingest.adapters.gate import ITEM_PREFIX, ITEM_TTL_SECONDS, VersionGate
from services.ingest.adapters.source_registry import SourceRegistry
from shared.dlq import DeadLetterStore
from shared.errors import ServiceUnavailable

__all__ = ["ReconcileReport", "Reconciler", "es_version_lookup"]

log = logging.getLogger(__name__)

PREFIX = "wirestream:reconcile:"
VERIFIED_KEY = PREFIX + "verified"  # zset: item id -> acceptance time verified (s)
REDRIVEN_KEY = PREFIX + "redriven"  # hash: item id -> {"count", "at", "accepted"}
LOCK_KEY = PREFIX + "lock"
STATS_KEY = PREFIX + "stats"  # hash of counters, for operators and tests
KILLS = frozenset({"withheld", "canceled"})

VersionLookup = Callable[[Sequence[str]], dict[str, int]]
"""``lookup(ids) -> {id: external version}`` of the documents indexed now;
raises :class:`ServiceUnavailable` when the index cannot be asked."""


def es_version_lookup(es: Elasticsearch, read_alias: str) -> VersionLookup:
    """Versions through the read alias with an ``ids`` query (all the reader
    role may do; a GET by id is not granted)."""

    def lookup(ids: Sequence[str]) -> dict[str, int]:
        try:
            response = es.search(
                index=read_alias,
                query={"ids": {"values": list(ids)}},
                size=2 * len(ids),
                source=False,
                version=True,
                ignore_unavailable=True,
                allow_no_indices=True,
            )
        except Exception as exc:  # transport or API error: skip this pass
            raise ServiceUnavailable(
                f"reconciler cannot search {read_alias}: {exc}", reason="es_unavailable"
            ) from exc
        found: dict[str, int] = {}
        for hit in response["hits"]["hits"]:
            found[hit["_id"]] = max(found.get(hit["_id"], 0), int(hit.get("_version", 0)))
        return found

    return lookup


@dataclass
class _Candidate:
    item_id: str
    accepted_at: float
    version: int
    es_version: int
    sources: list[str] = field(default_factory=list)


@dataclass
class ReconcileReport:
    scanned: int = 0
    checked: int = 0
    verified: int = 0
    missing: int = 0
    redriven: list[str] = field(default_factory=list)
    dead_lettered: list[str] = field(default_factory=list)
    waiting: int = 0  # re-driven, deadline not over yet
    skipped: str | None = None  # why the pass did nothing (locked, disabled ...)


class Reconciler:
    def __init__(
        self,
        client: redis.Redis,
        lookup: VersionLookup,
        *,
        deadline: float,
        horizon: float,
        max_redrives: int,
        clock: Callable[[], float] = time.time,
        scan_count: int = 1000,
        chunk: int = 500,
    ) -> None:
        self._redis = client
        self._lookup = lookup
        self._deadline = deadline
        self._horizon = horizon
        self._max_redrives = max_redrives
        self._clock = clock
        self._scan_count = scan_count
        self._chunk = chunk
        self._registry = SourceRegistry(client)
        self._gate = VersionGate(client)
        self._dlq = DeadLetterStore(client)

    # ------------------------------------------------------------ one pass
    def run_once(self, *, dry_run: bool = False) -> ReconcileReport:
        """One pass; see the module docstring. ``dry_run`` finds and counts,
        changes nothing."""
        report = ReconcileReport()
        # One pass at a time across schedulers; the lock outlives a crashed
        # holder by at most a deadline.
        lock_ttl = max(1, int(self._deadline))
        if not dry_run and not self._redis.set(LOCK_KEY, "1", nx=True, ex=lock_ttl):
            report.skipped = "locked"
            return report
        try:
            self._pass(report, dry_run)
        finally:
            if not dry_run:
                self._redis.delete(LOCK_KEY)
        if not dry_run:
            pipe = self._redis.pipeline(transaction=False)
            pipe.hincrby(STATS_KEY, "passes", 1)
            pipe.hincrby(STATS_KEY, "redriven", len(report.redriven))
            pipe.hincrby(STATS_KEY, "dead_lettered", len(report.dead_lettered))
            pipe.hset(STATS_KEY, mapping={"last_pass_at": self._clock(),
                                          "last_missing": report.missing})
            pipe.execute()
        return report

    def _pass(self, report: ReconcileReport, dry_run: bool) -> None:
        now = self._clock()
        # verified acceptances older than the horizon are not looked at again
        self._redis.zremrangebyscore(VERIFIED_KEY, "-inf", now - self._horizon)
        dead = self._dead_lettered_ids()
        candidates: list[_Candidate] = []
        for candidate in self._accepted(now, report):
            if candidate.item_id in dead:
                continue
            candidates.append(candidate)
        for start in range(0, len(candidates), self._chunk):
            chunk = candidates[start : start + self._chunk]
            held = self._held([c.item_id for c in chunk])
            chunk = [c for c in chunk if c.item_id not in held]
            if not chunk:
                continue
            indexed = self._lookup([c.item_id for c in chunk])
            report.checked += len(chunk)
            verified = {c.item_id: c.accepted_at for c in chunk
                        if indexed.get(c.item_id, 0) >= c.es_version}
            report.verified += len(verified)
            if verified and not dry_run:
                pipe = self._redis.pipeline(transaction=False)
                pipe.zadd(VERIFIED_KEY, verified)
                pipe.hdel(REDRIVEN_KEY, *verified)
                pipe.execute()
            for candidate in chunk:
                if candidate.item_id not in verified:
                    report.missing += 1
                    self._stuck(candidate, now, report, dry_run)

    def _accepted(self, now: float, report: ReconcileReport) -> Iterator[_Candidate]:
        """Gate items accepted between ``horizon`` and ``deadline`` ago, not
        verified yet for that acceptance, not kills."""
        batch: list[bytes] = []
        for key in self._redis.scan_iter(match=ITEM_PREFIX + "*", count=self._scan_count):
            batch.append(key)
            if len(batch) >= self._scan_count:
                yield from self._examine(batch, now, report)
                batch = []
        if batch:
            yield from self._examine(batch, now, report)

    def _examine(
        self, keys: list[bytes], now: float, report: ReconcileReport
    ) -> Iterator[_Candidate]:
        pipe = self._redis.pipeline(transaction=False)
        for key in keys:
            pipe.pttl(key)
            pipe.hmget(key, "version", "vc", "status")
        replies = pipe.execute()
        ids = [k.decode()[len(ITEM_PREFIX):] for k in keys]
        report.scanned += len(keys)
        young_limit, old_limit = now - self._deadline, now - self._horizon
        maybe: list[_Candidate] = []
        for item_id, pttl, (version, vc, status) in zip(
            ids, replies[0::2], replies[1::2], strict=True
        ):
            if pttl is None or int(pttl) < 0 or version is None or vc is None:
                continue  # no expiry (not written by the gate) or gone meanwhile
            accepted_at = now - (ITEM_TTL_SECONDS - int(pttl) / 1000.0)
            if accepted_at > young_limit or accepted_at < old_limit:
                continue
            if status is not None and status.decode() in KILLS:
                continue
            number = int(version)
            maybe.append(_Candidate(item_id, accepted_at, number,
                                    int(vc) * 1000 + max(0, min(number, 999))))
        if not maybe:
            return
        scores = self._redis.zmscore(VERIFIED_KEY, [c.item_id for c in maybe])
        for candidate, score in zip(maybe, scores, strict=True):
            # verified for this acceptance (the time read back from a TTL
            # wobbles by milliseconds between passes)
            if score is not None and abs(float(score) - candidate.accepted_at) < 2.0:
                continue
            yield candidate

    def _held(self, ids: list[str]) -> set[str]:
        pipe = self._redis.pipeline(transaction=False)
        for item_id in ids:
            pipe.hexists(EMBARGO_ITEMS_KEY, item_id)
        return {i for i, held in zip(ids, pipe.execute(), strict=True) if held}

    def _dead_lettered_ids(self) -> set[str]:
        return {i for entry in self._dlq.iter() for i in entry.item_ids}

    # --------------------------------------------------------- stuck items
    def _stuck(
        self, candidate: _Candidate, now: float, report: ReconcileReport, dry_run: bool
    ) -> None:
        raw = self._redis.hget(REDRIVEN_KEY, candidate.item_id)
        state: dict[str, Any] = json.loads(raw) if raw else {"count": 0, "at": 0.0}
        if now - float(state["at"]) < self._deadline:
            report.waiting += 1
            return
        sources = self._sources(candidate.item_id)
        if int(state["count"]) >= self._max_redrives or not sources:
            report.dead_lettered.append(candidate.item_id)
            if not dry_run:
                self._give_up(candidate, sources, int(state["count"]))
            return
        report.redriven.append(candidate.item_id)
        if dry_run:
            return
        for source_id in sources:
            self._gate.forget(candidate.item_id, source_id)
            state_of_source = self._registry.state(source_id)
            state_of_source.etag = None
            state_of_source.last_modified = None
            self._registry.save_state(source_id, state_of_source)
            self._registry.schedule(source_id, now)
        self._redis.hset(REDRIVEN_KEY, candidate.item_id, json.dumps(
            {"count": int(state["count"]) + 1, "at": now, "accepted": candidate.accepted_at}))
        log.warning(
            "reconcile: item %s (version %d, accepted %.0fs ago) is not searchable; "
            "re-driven through %s (re-drive %d of %d)",
            candidate.item_id, candidate.version, now - candidate.accepted_at,
            ", ".join(sources), int(state["count"]) + 1, self._max_redrives,
        )

    def _sources(self, item_id: str) -> list[str]:
        fields: Iterable[bytes] = self._redis.hkeys(ITEM_PREFIX + item_id)  # type: ignore[assignment]
        names = [f.decode() for f in fields]
        return sorted(n[2:] for n in names if n.startswith("h:"))

    def _give_up(self, candidate: _Candidate, sources: list[str], redrives: int) -> None:
        entry = self._dlq.add(
            stage="ingest",
            reason="reconcile:not_indexed",
            message=(
                f"accepted as version {candidate.version} but not searchable "
                f"{self._clock() - candidate.accepted_at:.0f}s later, after {redrives} "
                "re-drive(s); the source may no longer carry it"
            ),
            error_type="NotIndexed",
            payload={
                "source_id": sources[0] if sources else None,
                "item_id": candidate.item_id,
                "version": candidate.version,
                "sources": sources,
            },
            attempts=redrives + 1,
            source=sources[0] if sources else None,
            item_ids=[candidate.item_id],
        )
        self._redis.hdel(REDRIVEN_KEY, candidate.item_id)
        log.error("reconcile: item %s dead-lettered as %s (not indexed after %d re-drives)",
                  candidate.item_id, entry.id, redrives)
