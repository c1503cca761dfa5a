"""Near-duplicate story clusters: MinHash signatures (datasketch) and
locality-sensitive hashing with its buckets in Redis, so every worker sees
the same index.

Why not datasketch's own ``MinHashLSH(storage_config={"type": "redis"})``:
it opens its own connection (we have one client per process, with our
password and timeouts), cannot expire entries (we keep a story for
``ttl`` seconds, a week by default: wire rewrites arrive within hours), and
writes one key per call. The banding below is the same technique with those
three properties; signatures are datasketch ``MinHash`` objects.

Layout (prefix ``ws:lsh:``), all keys expire after ``ttl``::

    ws:lsh:a32:b:<band>:<hash>  SET  ids of documents whose band <band> hashes to <hash>
    ws:lsh:a32:s:<doc id>       STRING  the signature (num_perm uint32, little endian)
    ws:lsh:a32:c:<doc id>       STRING  the document's cluster id

(``a32``: datasketch's ``affine32`` permutation scheme; signatures of
different schemes are not comparable.)

Contract of :meth:`ClusterIndex.assign`: a document joins the cluster of the
most similar earlier document whose estimated Jaccard similarity of word
3-shingles is at least ``threshold``; otherwise it founds a cluster whose id
is ``c-<its doc id>``. Re-enriching a document keeps its cluster. Documents
of one batch see each other (they are assigned in order). Two near-copies
enriched at the same instant by two workers may found two clusters; the next
copy joins one of them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any

import numpy as np
import redis
from datasketch import MinHash  # type: ignore[import-untyped]

from shared.errors import ServiceUnavailable
from shared.models import NewsItem

__all__ = ["CLUSTER_TTL_SECONDS", "ClusterIndex", "lsh_params", "shingles", "signature"]

P = "ws:lsh:a32:"
NUM_PERM = 128
# datasketch's permutation scheme: 32-bit hash values. Signatures are stored
# as little-endian uint32; a scheme change means a new key prefix.
SCHEME = "affine32"
DTYPE = "<u4"
SHINGLE = 3
# The lead and the first few paragraphs identify a wire story; trailing
# boilerplate and outlet-specific additions only dilute the signature.
MAX_CHARS = 4000
MAX_CANDIDATES = 50
# A story is kept for a week: wire rewrites arrive within hours.
CLUSTER_TTL_SECONDS = 7 * 24 * 3600
_WORD = re.compile(r"\w+", re.UNICODE)


def shingles(text: str, k: int = SHINGLE) -> set[bytes]:
    words = _WORD.findall(text.lower())
    if len(words) < k:
        return {" ".join(words).encode()} if words else set()
    return {" ".join(words[i:i + k]).encode() for i in range(len(words) - k + 1)}


@cache
def _permutations(num_perm: int) -> object:
    """datasketch draws its permutations from a seeded RNG in every MinHash
    it builds (a tenth of a millisecond each); they are the same for a given
    size, so draw them once."""
    return MinHash(num_perm=num_perm, scheme=SCHEME).permutations


def signature(item: NewsItem, num_perm: int = NUM_PERM) -> MinHash | None:
    """MinHash of the headline, summary and body lead; None when the item
    has too little text to compare (fewer than 8 words)."""
    text = " ".join(p for p in (item.headline, item.summary, (item.body_text or "")[:MAX_CHARS])
                    if p)
    if len(_WORD.findall(text)) < 8:
        return None
    minhash = MinHash(num_perm=num_perm, scheme=SCHEME, permutations=_permutations(num_perm))
    minhash.update_batch(list(shingles(text)))
    return minhash


def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) with bands*rows <= num_perm whose S-curve midpoint
    (1/b)^(1/r) is closest to the threshold, preferring more bands (recall)."""
    best = (1, num_perm)
    best_gap = float("inf")
    for rows in range(1, num_perm + 1):
        bands = num_perm // rows
        gap = abs((1 / bands) ** (1 / rows) - threshold)
        if gap < best_gap - 1e-9:
            best, best_gap = (bands, rows), gap
    return best


@dataclass
class ClusterIndex:
    client: redis.Redis
    # Estimated Jaccard of word 3-shingles. 0.4 keeps outlet rewrites (new
    # headline, trimmed or reordered lead) together while different stories
    # on the same subject stay apart: bench/enrich_quality.py measures it.
    threshold: float = 0.4
    num_perm: int = NUM_PERM
    ttl: int = CLUSTER_TTL_SECONDS
    prefix: str = P  # benchmarks use their own prefix and delete it afterwards

    def __post_init__(self) -> None:
        self.bands, self.rows = lsh_params(self.threshold, self.num_perm)

    def _band_keys(self, minhash: MinHash) -> list[str]:
        values = minhash.hashvalues
        keys = []
        for band in range(self.bands):
            chunk = values[band * self.rows:(band + 1) * self.rows]
            digest = hashlib.blake2b(chunk.astype(DTYPE).tobytes(), digest_size=8).hexdigest()
            keys.append(f"{self.prefix}b:{band}:{digest}")
        return keys

    def assign(self, items: Sequence[NewsItem]) -> list[str | None]:
        """Cluster id per item (None for items too short to compare)."""
        try:
            return self._assign_batch(items)
        except redis.RedisError as exc:
            raise ServiceUnavailable(f"cluster index: {exc}", reason="redis_unavailable") from exc

    def _assign_batch(self, items: Sequence[NewsItem]) -> list[str | None]:
        """Three round trips per batch, whatever its size: every item's stored
        cluster and band neighbours (SUNION of its band sets), the candidates'
        signatures and clusters, then one script call writing everything.
        Items are decided in order, each seeing the earlier ones of the batch
        (kept here until the write), so the result is what assigning them
        one by one would give (a test compares the two)."""
        sigs = [signature(item, self.num_perm) for item in items]
        live = [i for i, m in enumerate(sigs) if m is not None]
        if not live:
            return [None] * len(items)
        bands = {i: self._band_keys(sigs[i]) for i in live}
        with self.client.pipeline(transaction=False) as pipe:
            for i in live:
                pipe.get(f"{self.prefix}c:{items[i].id}")
                pipe.sunion(bands[i])
            raw = pipe.execute()
        stored = {i: raw[2 * n] for n, i in enumerate(live)}
        neighbours = {i: {m.decode() for m in raw[2 * n + 1]} - {items[i].id}
                      for n, i in enumerate(live)}
        # Adding this batch's items to a candidate list can only push stored
        # ids out of its first MAX_CANDIDATES, never in: fetching each item's
        # first MAX_CANDIDATES stored ones is enough.
        wanted = sorted({c for i in live if stored[i] is None
                         for c in sorted(neighbours[i])[:MAX_CANDIDATES]})
        known: dict[str, tuple[bytes | None, bytes | None]] = {}
        if wanted:
            with self.client.pipeline(transaction=False) as pipe:
                for doc_id in wanted:
                    pipe.get(f"{self.prefix}s:{doc_id}")
                    pipe.get(f"{self.prefix}c:{doc_id}")
                raw = pipe.execute()
            known = {d: (raw[2 * n], raw[2 * n + 1]) for n, d in enumerate(wanted)}
        out: list[str | None] = [None] * len(items)
        batch_bands: dict[str, set[str]] = {}  # band key -> ids written by this batch
        writes: list[tuple[str, list[str], bytes, str]] = []
        for i in live:
            item, ours = items[i], sigs[i].hashvalues.astype(DTYPE).tobytes()  # type: ignore[union-attr]
            # a stored cluster (or one given earlier in this batch) is kept
            cluster = next((w[3] for w in reversed(writes) if w[0] == item.id), None)
            if cluster is None and stored[i] is not None:
                cluster = stored[i].decode()
            if cluster is None:
                mates = {m for key in bands[i] for m in batch_bands.get(key, ())} - {item.id}
                candidates = sorted(neighbours[i] | mates)[:MAX_CANDIDATES]
                cluster = self._best(ours, candidates, known, writes)
            cluster = cluster or f"c-{item.id}"
            out[i] = cluster
            writes.append((item.id, bands[i], ours, cluster))
            for key in bands[i]:
                batch_bands.setdefault(key, set()).add(item.id)
        keys: list[str] = []
        args: list[bytes | str | int] = [self.ttl]
        for doc_id, band_keys, packed, cluster in writes:
            keys.extend(band_keys)
            keys.extend((f"{self.prefix}s:{doc_id}", f"{self.prefix}c:{doc_id}"))
            args.extend((doc_id, len(band_keys), packed, cluster))
        self._write(keys=keys, args=args, client=self.client)
        return out

    def _best(self, ours: bytes, candidates: list[str],
              known: dict[str, tuple[bytes | None, bytes | None]],
              writes: list[tuple[str, list[str], bytes, str]]) -> str | None:
        """The cluster of the most similar candidate at or above the
        threshold; this batch's own writes override what Redis held."""
        latest = {doc_id: (packed, cluster.encode()) for doc_id, _, packed, cluster in writes}
        mine = np.frombuffer(ours, dtype=DTYPE)
        best = (0.0, "")
        for doc_id in candidates:
            sig, their_cluster = latest.get(doc_id) or known.get(doc_id, (None, None))
            if sig is None or len(sig) != self.num_perm * np.dtype(DTYPE).itemsize:
                continue
            # MinHash.jaccard without building a MinHash per candidate
            theirs = np.frombuffer(sig, dtype=DTYPE)
            similarity = float(np.count_nonzero(mine == theirs)) / self.num_perm
            if similarity >= self.threshold and similarity > best[0]:
                best = (similarity, their_cluster.decode() if their_cluster else f"c-{doc_id}")
        return best[1] or None

    @cached_property
    def _write(self) -> Any:
        return self.client.register_script(_WRITE)


# ARGV: ttl, then per document: id, number of band keys, signature, cluster.
# KEYS: per document, its band keys, then its signature and cluster keys.
_WRITE = """
local ttl = tonumber(ARGV[1])
local k = 1
for a = 2, #ARGV, 4 do
  local id = ARGV[a]
  for _ = 1, tonumber(ARGV[a + 1]) do
    redis.call('SADD', KEYS[k], id)
    redis.call('EXPIRE', KEYS[k], ttl)
    k = k + 1
  end
  redis.call('SET', KEYS[k], ARGV[a + 2], 'EX', ttl)
  redis.call('SET', KEYS[k + 1], ARGV[a + 3], 'EX', ttl)
  k = k + 2
end
return k - 1
"""
