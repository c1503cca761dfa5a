"""The translation cache: a chunk translated once is never translated
again (Redis, keyed by :func:`services.enrich.translate.cache_key`: backend +
route + SHA-256 of the chunk; an in-memory
one for the single-document CLI and tests). A Redis fault is
:class:`shared.errors.ServiceUnavailable` (``redis_unavailable``): transient,
as every Redis fault is."""

from __future__ import annotations

from collections.abc import Sequence

import redis

from shared.errors import ServiceUnavailable

__all__ = ["TRANSLATION_TTL_SECONDS", "MemoryTranslationCache", "RedisTranslationCache"]

# Long enough for the re-polls and corrections of a live story; 90 days made
# the cache the largest key family in Redis (docs/operations.md, "Capacity").
TRANSLATION_TTL_SECONDS = 14 * 24 * 3600

def _cache_down(exc: Exception) -> ServiceUnavailable:
    return ServiceUnavailable(f"translation cache: {exc}", reason="redis_unavailable")


class RedisTranslationCache:
    """The shared translation cache. One MGET per batch and one pipelined
    write; entries expire after ``ttl`` seconds
    (:data:`TRANSLATION_TTL_SECONDS` by default; the workers pass
    ``WIRESTREAM_TRANSLATOR__CACHE_DAYS``)."""

    def __init__(self, client: redis.Redis, *, ttl: int = TRANSLATION_TTL_SECONDS) -> None:
        self.client = client
        self.ttl = ttl

    def get_many(self, keys: Sequence[str]) -> list[str | None]:
        if not keys:
            return []
        try:
            values = self.client.mget(list(keys))
        except redis.RedisError as exc:
            raise _cache_down(exc) from exc
        return [v.decode("utf-8") if isinstance(v, bytes) else v for v in values]

    def put_many(self, values: dict[str, str]) -> None:
        if not values:
            return
        try:
            with self.client.pipeline(transaction=False) as pipe:
                for key, value in values.items():
                    pipe.set(key, value.encode("utf-8"), ex=self.ttl)
                pipe.execute()
        except redis.RedisError as exc:
            raise _cache_down(exc) from exc


class MemoryTranslationCache:
    """In-process cache for the single-document CLI and tests."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get_many(self, keys: Sequence[str]) -> list[str | None]:
        return [self.values.get(k) for k in keys]

    def put_many(self, values: dict[str, str]) -> None:
        self.values.update(values)
