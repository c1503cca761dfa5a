"""Translation of non-English documents into English: the plan of a batch.

Backends (chosen by :class:`shared.settings.TranslatorSettings.backend`; the
HTTP adapters are in :mod:`services.enrich.adapters.translation_backends`):

* ``ApertiumBackend`` - Apertium APy: ``GET /listPairs``,
  ``POST /translate`` (form: ``langpair=spa|eng``, ``q``, ``markUnknown=no``);
  ISO 639-3 codes. A language without a pair into English goes through a
  pivot when APy has the two legs (``por|spa|eng``: Portuguese to Spanish,
  then Spanish to English; see :mod:`services.enrich._translation_routes`).
* ``LibreTranslateBackend`` - the LibreTranslate API: ``GET /languages``,
  ``POST /translate`` (JSON: ``q`` as a list, ``source``, ``target``,
  ``format=text``, ``api_key``); ISO 639-1 codes.

Contract of :meth:`Translator.translate_batch` (what the stage relies on):

* supported pairs (or routes through a pivot) are discovered from the
  backend and cached for ``pairs_ttl`` seconds per process, never
  hard-coded; ``Translation.pair`` names the route (``spa|eng``,
  ``por|spa|eng``), and a failure of any leg fails the route;
* English documents are ``not_needed``; a language without a pair into
  English is ``untranslated_no_pair`` (not an error); an unknown language is
  ``untranslated_unknown_language``;
* text is split at paragraph boundaries into chunks of at most
  ``backend.max_chars`` characters (a longer paragraph is split at sentence
  ends, then at spaces); each chunk is looked up in the translation cache
  (Redis, keyed by backend + route + SHA-256 of the chunk) first, so unchanged
  text is never translated twice;
* transient failures (transport errors, timeouts, 408/429/5xx) are retried
  with capped exponential backoff; when retries run out the affected
  documents get status ``failed`` and a :class:`TranslationFailure` with
  reason ``translator_unavailable``; a refusal (other 4xx, a malformed
  answer) gives reason ``translator_refused``. Other documents of the batch
  are unaffected.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from services.enrich._translation_split import split_text
from services.enrich.langcodes import base_code, candidates_639_3, to_639_1
from services.enrich.ports import TranslationBackend as Backend
from services.enrich.ports import TranslationCache
from shared.errors import PermanentError, WirestreamError
from shared.models import NewsItem, Translation, TranslationStatus

# The package's modules, by job: the backends and the cache are adapters
# (services.enrich.adapters.translation_backends, .translation_cache), the
# chunking is _translation_split, the routes through a pivot
# _translation_routes; this module plans and runs a batch.
__all__ = [
    "REFUSED",
    "TARGET",
    "UNAVAILABLE",
    "NullBackend",
    "TranslationFailure",
    "Translator",
    "cache_key",
    "split_text",
]

TARGET = "en"
UNAVAILABLE = "translator_unavailable"
REFUSED = "translator_refused"


def cache_key(backend: str, pair: str, text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return f"ws:enrich:tr:{backend}:{pair}:{digest}"


class NullBackend:
    """Backend ``none``: translation switched off."""

    name = "none"
    max_chars = 1

    def pairs(self) -> dict[str, str]:
        return {}

    def translate(self, pair: str, texts: Sequence[str]) -> list[str]:
        raise PermanentError("translation is disabled", reason="translator_disabled")


log = logging.getLogger(__name__)

FIELDS = ("headline", "summary", "body_text")


@dataclass(frozen=True)
class TranslationFailure:
    """Why a document stayed untranslated; becomes a StepError."""

    reason: str
    message: str






































# --------------------------------------------------------------- translator
@dataclass
class _Job:
    """One document's translation in progress."""

    status: TranslationStatus
    language: str | None
    pair: str | None = None
    failure: TranslationFailure | None = None
    # field -> its chunks, and their cache keys in the same order
    chunks: dict[str, list[str]] = field(default_factory=dict)
    keys: dict[str, list[str]] = field(default_factory=dict)


class Translator:
    """Pairs discovery with a TTL, the cache, and batch translation."""

    def __init__(
        self,
        backend: Backend,
        cache: TranslationCache | None,
        *,
        pairs_ttl: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.backend = backend
        self.cache = cache
        # Pairs change only when an operator installs a package: an hour's
        # staleness is fine and saves one request per batch.
        self.pairs_ttl = pairs_ttl
        self.clock = clock
        self._pairs: dict[str, str] | None = None
        self._pairs_at = 0.0

    def pairs(self) -> dict[str, str]:
        """Source language -> pair id, asked of the backend at most once per
        ``pairs_ttl``. Raises ServiceUnavailable/PermanentError from the
        backend when it must ask and cannot."""
        now = self.clock()
        if self._pairs is None or now - self._pairs_at >= self.pairs_ttl:
            self._pairs = self.backend.pairs()
            self._pairs_at = now
        return self._pairs

    def pair_for(self, language: str) -> str | None:
        """The backend's pair from ``language`` (ISO 639-1) into English."""
        pairs = self.pairs()
        code = base_code(language)
        if code in pairs:
            return pairs[code]
        for candidate in candidates_639_3(code):
            if candidate in pairs:
                return pairs[candidate]
            alt = to_639_1(candidate)
            if alt and alt in pairs:
                return pairs[alt]
        return None

    def _plan(self, item: NewsItem, language: str | None) -> _Job:
        if isinstance(self.backend, NullBackend):
            return _Job(TranslationStatus.disabled, language)
        if not language:
            return _Job(TranslationStatus.unknown_language, None)
        if base_code(language) == TARGET:
            return _Job(TranslationStatus.not_needed, language)
        try:
            pair = self.pair_for(language)
        except WirestreamError as exc:  # the pair list itself is out of reach
            return _Job(TranslationStatus.failed, language,
                        failure=TranslationFailure(exc.reason, exc.message))
        if pair is None:
            return _Job(TranslationStatus.no_pair, language)
        job = _Job(TranslationStatus.translated, language, pair)
        for name in FIELDS:
            text = getattr(item, name) or ""
            if text.strip():
                chunks = split_text(text, self.backend.max_chars)
                job.chunks[name] = chunks
                job.keys[name] = [cache_key(self.backend.name, pair, c) for c in chunks]
        return job

    def _lookup(self, keys: list[str]) -> tuple[dict[str, str], TranslationFailure | None]:
        if self.cache is None or not keys:
            return {}, None
        try:
            values = self.cache.get_many(keys)
        except WirestreamError as exc:
            return {}, TranslationFailure(exc.reason, exc.message)
        return {k: v for k, v in zip(keys, values, strict=True) if v is not None}, None

    def translate_batch(
        self, items: Sequence[NewsItem], languages: Sequence[str | None]
    ) -> list[tuple[Translation, TranslationFailure | None]]:
        """One :class:`Translation` per item, with the failure that kept it
        (partly) untranslated. Backend trouble never raises: each item gets
        its own outcome, and items of other pairs or fully cached ones are
        unaffected."""
        jobs = [self._plan(item, lang) for item, lang in zip(items, languages, strict=True)]
        all_keys = sorted({k for job in jobs for keys in job.keys.values() for k in keys})
        known, cache_failure = self._lookup(all_keys)
        from_cache = set(known)
        # still missing, grouped by pair and deduplicated across the batch
        missing: dict[str, dict[str, str]] = {}
        for job in jobs:
            for name, keys in job.keys.items():
                for key, chunk in zip(keys, job.chunks[name], strict=True):
                    if key not in known and job.pair is not None:
                        missing.setdefault(job.pair, {})[key] = chunk
        failures: dict[str, TranslationFailure] = {}
        fresh: dict[str, str] = {}
        for pair, wanted in missing.items():
            keys = list(wanted)
            try:
                translated = self.backend.translate(pair, [wanted[k] for k in keys])
            except WirestreamError as exc:
                failures[pair] = TranslationFailure(exc.reason, exc.message)
                log.warning("translation %s failed: %s", pair, exc)
                continue
            fresh.update(zip(keys, translated, strict=True))
        if fresh and self.cache is not None and cache_failure is None:
            try:
                self.cache.put_many(fresh)
            except WirestreamError as exc:
                # the translation itself succeeded; next time it is redone
                log.warning("translation cache write failed: %s", exc)
        known.update(fresh)
        out: list[tuple[Translation, TranslationFailure | None]] = []
        for job in jobs:
            failure = job.failure or failures.get(job.pair or "")
            if failure is None and cache_failure is not None and any(
                k not in known for keys in job.keys.values() for k in keys
            ):
                failure = cache_failure
            cached = sum(1 for keys in job.keys.values() for k in keys if k in from_cache)
            out.append((self._done(job, known, cached), failure))
        return out

    def _done(self, job: _Job, known: dict[str, str], cached: int) -> Translation:
        texts: dict[str, str] = {}
        for name, keys in job.keys.items():
            if all(k in known for k in keys):
                texts[name] = "\n\n".join(known[k] for k in keys)
        status = job.status
        if status is TranslationStatus.translated and len(texts) < len(job.keys):
            status = TranslationStatus.partial if texts else TranslationStatus.failed
        return Translation(
            status=status,
            source_language=base_code(job.language) if job.language else None,
            backend=self.backend.name,
            pair=job.pair,
            headline=texts.get("headline"),
            summary=texts.get("summary"),
            body_text=texts.get("body_text"),
            chunks=sum(len(keys) for keys in job.keys.values()),
            cached_chunks=cached,
        )
