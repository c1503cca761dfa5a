"""The version gate: which parsed items are new, changed, unchanged or stale.

One Redis hash per item id (``wirestream:item:<id>``) remembers, per source
that carried the story, the content hash last sent, and for the story the
pubstatus, version and timestamps of the newest version sent downstream.
Keeping hashes per source means a story reached both as a wire item and as a
web page (see :mod:`services.ingest.adapters.stories`) does not flip-flop into a new
version on every poll of either. The decision and the update run in one Lua script, so two workers
polling the same item at once cannot both send it. One script call decides up to
:data:`PIPELINE_SIZE` items (its keys; every key of a call is an item key, so a
future Redis Cluster would need them hash-tagged into one slot).

* ``new`` — never seen: sent as version ``max(provider version, 1)``.
* ``unchanged`` — same content hash and pubstatus: no downstream work.
* ``changed`` — different content or pubstatus (a kill is a change): sent as
  the next version. If the provider's timestamp did not move (feeds without an
  ``updated`` date), ``versioncreated`` becomes the time we saw the change, so
  the new version always sorts after the old one in Elasticsearch.
* ``stale`` — the provider says it is older (lower version number, or an
  older provider timestamp than the last one seen, without a higher version):
  dropped and counted. The provider's own timestamp is remembered apart from
  the effective one, so a feed that never moves its date is not "older".

``firstcreated`` is pinned to the first version's value so every version of a
story lands in the same monthly index.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import redis

from services.ingest.ports import GateDecision
from shared.models import NewsItem

__all__ = ["GateDecision", "VersionGate"]

ITEM_PREFIX = "wirestream:item:"
# Remember items for 180 days: far longer than any feed keeps an entry.
ITEM_TTL_SECONDS = 180 * 24 * 3600
# Items per script call (one round trip) in VersionGate.decide_many.
PIPELINE_SIZE = 200

# decide() is run for each KEYS[i] with ARGV[8i-7 .. 8i]; the script returns
# one {verdict, version, vc, fc} per key.
_SCRIPT = """
local function decide(key, A)
local hash, status, hfield = A[1], A[2], 'h:' .. A[8]
local pv, vc, fc, fetched, ttl = tonumber(A[3]), tonumber(A[4]), tonumber(A[5]),
    tonumber(A[6]), tonumber(A[7])
-- vc: the effective versioncreated sent downstream; pvc: the provider's own
local cur = redis.call('HMGET', key, hfield, 'status', 'version', 'vc', 'fc', 'pvc')
if not cur[3] then
  local version = math.max(pv, 1)
  redis.call('HSET', key, hfield, hash, 'status', status, 'version', version, 'vc', vc,
             'fc', fc, 'pvc', vc)
  redis.call('EXPIRE', key, ttl)
  return {'new', version, vc, fc}
end
local sv, svc, sfc, spvc = tonumber(cur[3]), tonumber(cur[4]), tonumber(cur[5]),
    tonumber(cur[6] or cur[4])
if cur[1] == hash and cur[2] == status then
  return {'unchanged', sv, svc, sfc}
end
if pv > 0 and pv < sv then
  return {'stale', sv, svc, sfc}
end
if vc < spvc and pv <= sv then
  return {'stale', sv, svc, sfc}
end
local version = sv + 1
if pv > sv then version = pv end
local newvc = vc
if newvc <= svc then newvc = math.max(fetched, svc + 1) end
redis.call('HSET', key, hfield, hash, 'status', status, 'version', version, 'vc', newvc,
           'pvc', vc)
redis.call('EXPIRE', key, ttl)
return {'changed', version, newvc, sfc}
end

local out = {}
for i = 1, #KEYS do
  out[i] = decide(KEYS[i], {unpack(ARGV, (i - 1) * 8 + 1, i * 8)})
end
return out
"""

def _ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def _from_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, UTC)


class VersionGate:
    def __init__(self, client: redis.Redis) -> None:
        self._redis = client
        self._script = client.register_script(_SCRIPT)

    def decide(self, item: NewsItem, *, provider_version: int | None = None) -> GateDecision:
        """``provider_version`` is the version number the provider sent (0 or
        None when the format has none, as in RSS)."""
        [decision] = self.decide_many([(item, provider_version)])
        return decision

    def decide_many(
        self, items: Sequence[tuple[NewsItem, int | None]],
        update: Mapping[str, Any] | None = None,
    ) -> list[GateDecision]:
        """:meth:`decide` for (item, provider version) pairs of distinct item
        ids, one script call (atomic, one round trip) per :data:`PIPELINE_SIZE`
        items. ``update`` (e.g. the poll's correlation id) goes into the same
        copy of each item as the gate's versions and dates."""
        out: list[GateDecision] = []
        for start in range(0, len(items), PIPELINE_SIZE):
            chunk = items[start:start + PIPELINE_SIZE]
            keys: list[str] = []
            args: list[Any] = []
            for item, provider_version in chunk:
                keys.append(ITEM_PREFIX + item.id)
                args.extend(_args(item, provider_version))
            replies = self._script(keys=keys, args=args)
            out.extend(_decision(item, reply, update)
                       for (item, _), reply in zip(chunk, replies, strict=True))
        return out

    def forget(self, item_id: str, source: str) -> None:
        """Mark an item whose hand-over downstream failed: its stored hash no
        longer matches, so the next poll sends it again as a newer version
        (never as an older one, which Elasticsearch would refuse as stale)."""
        self._redis.hset(ITEM_PREFIX + item_id, f"h:{source}", "unsent")


def _args(item: NewsItem, provider_version: int | None) -> list[Any]:
    """The script's 8 arguments for one item, in its A[1..8] order."""
    first = item.firstcreated or item.versioncreated
    return [
        item.content_hash,
        item.pubstatus.value,
        provider_version or 0,
        _ms(item.versioncreated),
        _ms(first),
        _ms(item.fetched_at),
        ITEM_TTL_SECONDS,
        item.source,
    ]


def _decision(item: NewsItem, reply: Any,
              update: Mapping[str, Any] | None = None) -> GateDecision:
    verdict, version, vc, fc = reply
    decided = item.model_copy(
        update={
            **(update or {}),
            "version": int(version),
            "versioncreated": _from_ms(int(vc)),
            "firstcreated": _from_ms(int(fc)),
        }
    )
    name = verdict.decode() if isinstance(verdict, bytes) else str(verdict)
    if name not in ("new", "changed", "unchanged", "stale"):
        raise RuntimeError(f"version gate returned {name!r}")
    return GateDecision(name, decided)  # type: ignore[arg-type]
