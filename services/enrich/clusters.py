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
from functools import cache

import numpy as np
import redis
from datasketch import MinHash  # type: ignore[import-untyped]

from shared.errors import ServiceUnavailable
from shared.models import NewsItem

__all__ = ["ClusterIndex", "lsh_params", "shingles", "signature"]

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
    ttl: int = 7 * 24 * 3600
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
            return [self._assign_one(item) for item in items]
        except redis.RedisError as exc:
            raise ServiceUnavailable(f"cluster index: {exc}", reason="redis_unavailable") from exc

    def _assign_one(self, item: NewsItem) -> str | None:
        minhash = signature(item, self.num_perm)
        if minhash is None:
            return None
        band_keys = self._band_keys(minhash)
        with self.client.pipeline(transaction=False) as pipe:
            pipe.get(f"{self.prefix}c:{item.id}")
            for key in band_keys:
                pipe.smembers(key)
            existing_raw, *members = pipe.execute()
        existing = existing_raw.decode() if existing_raw else None
        candidates = sorted({m.decode() for ids in members for m in ids} - {item.id})
        candidates = candidates[:MAX_CANDIDATES]
        cluster = existing
        if candidates and existing is None:
            with self.client.pipeline(transaction=False) as pipe:
                for doc_id in candidates:
                    pipe.get(f"{self.prefix}s:{doc_id}")
                    pipe.get(f"{self.prefix}c:{doc_id}")
                raw = pipe.execute()
            best = (0.0, "")
            ours = minhash.hashvalues.astype(DTYPE)
            for doc_id, sig, their_cluster in zip(candidates, raw[::2], raw[1::2], strict=True):
                if sig is None or len(sig) != self.num_perm * np.dtype(DTYPE).itemsize:
                    continue
                # MinHash.jaccard without building a MinHash per candidate
                theirs = np.frombuffer(sig, dtype=DTYPE)
                similarity = float(np.count_nonzero(ours == theirs)) / self.num_perm
                if similarity >= self.threshold and similarity > best[0]:
                    best = (similarity, their_cluster.decode() if their_cluster
                            else f"c-{doc_id}")
            cluster = best[1] or None
        cluster = cluster or f"c-{item.id}"
        with self.client.pipeline(transaction=False) as pipe:
            for key in band_keys:
                pipe.sadd(key, item.id)
                pipe.expire(key, self.ttl)
            packed = minhash.hashvalues.astype(DTYPE).tobytes()
            pipe.set(f"{self.prefix}s:{item.id}", packed, ex=self.ttl)
            pipe.set(f"{self.prefix}c:{item.id}", cluster, ex=self.ttl)
            pipe.execute()
        return cluster
