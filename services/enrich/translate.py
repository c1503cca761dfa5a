"""Translation of non-English documents into English over HTTP.

Backends (chosen by :class:`shared.settings.TranslatorSettings.backend`):

* :class:`ApertiumBackend` - Apertium APy: ``GET /listPairs``,
  ``POST /translate`` (form: ``langpair=spa|eng``, ``q``, ``markUnknown=no``);
  ISO 639-3 codes. A language without a pair into English goes through a
  pivot when APy has the two legs (``por|spa|eng``: Portuguese to Spanish,
  then Spanish to English; see :mod:`services.enrich._translation_routes`).
* :class:`LibreTranslateBackend` - the LibreTranslate API: ``GET /languages``,
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
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
import redis

from services.enrich._translation_routes import legs, plan_routes
from services.enrich.langcodes import base_code, candidates_639_3, to_639_1
from shared.errors import PermanentError, ServiceUnavailable, WirestreamError
from shared.metrics import metrics
from shared.models import NewsItem, Translation, TranslationStatus
from shared.retrying import backoff, transient_status
from shared.settings import TranslatorSettings

__all__ = [
    "ApertiumBackend",
    "Backend",
    "LibreTranslateBackend",
    "NullBackend",
    "RedisTranslationCache",
    "TranslationCache",
    "TranslationFailure",
    "Translator",
    "build_backend",
    "split_text",
]

log = logging.getLogger(__name__)

TARGET = "en"
FIELDS = ("headline", "summary", "body_text")
UNAVAILABLE = "translator_unavailable"
REFUSED = "translator_refused"


@dataclass(frozen=True)
class TranslationFailure:
    """Why a document stayed untranslated; becomes a StepError."""

    reason: str
    message: str


# ---------------------------------------------------------------- splitting
_PARAGRAPH = re.compile(r"\n\s*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?…;])\s+")


def _split_long(paragraph: str, max_chars: int) -> list[str]:
    """A paragraph over the limit: sentence ends first, then spaces, then a
    hard cut (a single 'word' longer than the limit is not language)."""
    pieces: list[str] = []
    current = ""
    for sentence in _SENTENCE_END.split(paragraph):
        while len(sentence) > max_chars:
            cut = sentence.rfind(" ", 0, max_chars)
            cut = cut if cut > 0 else max_chars
            if current:
                pieces.append(current)
                current = ""
            pieces.append(sentence[:cut].strip())
            sentence = sentence[cut:].strip()
        if current and len(current) + 1 + len(sentence) > max_chars:
            pieces.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}" if current else sentence
    if current:
        pieces.append(current)
    return [p for p in pieces if p]


def split_text(text: str, max_chars: int) -> list[str]:
    """Chunks of at most ``max_chars`` characters, cut at paragraph
    boundaries; consecutive short paragraphs share a chunk (joined by a blank
    line) so a long article is a few requests, not one per paragraph. The
    split is deterministic, which keeps cache keys stable across re-polls."""
    if max_chars < 1:
        raise ValueError("max_chars must be positive")
    paragraphs = [p.strip() for p in _PARAGRAPH.split(text) if p.strip()]
    chunks: list[str] = []
    current = ""
    for paragraph in paragraphs:
        parts = [paragraph] if len(paragraph) <= max_chars else _split_long(paragraph, max_chars)
        for part in parts:
            if current and len(current) + 2 + len(part) <= max_chars:
                current = f"{current}\n\n{part}"
            else:
                if current:
                    chunks.append(current)
                current = part
    if current:
        chunks.append(current)
    return chunks


# ------------------------------------------------------------------- cache
class TranslationCache(Protocol):
    def get_many(self, keys: Sequence[str]) -> list[str | None]: ...

    def put_many(self, values: dict[str, str]) -> None: ...


def cache_key(backend: str, pair: str, text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return f"ws:enrich:tr:{backend}:{pair}:{digest}"


def _cache_down(exc: Exception) -> ServiceUnavailable:
    return ServiceUnavailable(f"translation cache: {exc}", reason="redis_unavailable")


class RedisTranslationCache:
    """The shared translation cache. One MGET per batch and one pipelined
    write; entries expire after ``ttl`` seconds (90 days by default: long
    enough for any re-poll or re-enrich of a live story, short enough that
    the cache does not grow forever)."""

    def __init__(self, client: redis.Redis, *, ttl: int = 90 * 24 * 3600) -> None:
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


# ----------------------------------------------------------------- backends
class Backend(Protocol):
    """A translation service. ``pairs()`` asks the service; the
    :class:`Translator` caches the answer."""

    name: str
    # Largest chunk sent in one piece (characters).
    max_chars: int

    def pairs(self) -> dict[str, str]:
        """Source language (ISO 639-1) -> the backend's pair id (or route)
        into English."""
        ...

    def translate(self, pair: str, texts: Sequence[str]) -> list[str]:
        """Translate each text along a pair id (or route) that ``pairs()``
        gave; same length and order as ``texts``."""
        ...


Sleep = Callable[[float], None]


class _HttpBackend:
    name = "http"
    max_chars = 2000

    def __init__(
        self,
        client: httpx.Client,
        base_url: str,
        *,
        attempts: int = 3,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        sleep: Sleep = time.sleep,
    ) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.attempts = attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.sleep = sleep

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        """One call with retries; returns the decoded JSON body."""
        url = f"{self.base_url}{path}"
        last = ""
        for attempt in range(self.attempts):
            if attempt:
                self.sleep(backoff(attempt - 1, base=self.backoff_base, cap=self.backoff_cap))
            started = time.monotonic()
            try:
                response = self.client.request(method, url, **kwargs)
            except httpx.TransportError as exc:  # connect/read errors and timeouts
                last = f"{type(exc).__name__}: {exc}"
                metrics().translator_errors.labels(self.name, "transport").inc()
                continue
            finally:
                metrics().translator_seconds.labels(self.name).observe(
                    time.monotonic() - started
                )
            if transient_status(response.status_code):
                last = f"HTTP {response.status_code}: {response.text[:200]}"
                metrics().translator_errors.labels(self.name, f"http_{response.status_code}").inc()
                continue
            if response.status_code >= 400:
                metrics().translator_errors.labels(self.name, f"http_{response.status_code}").inc()
                raise PermanentError(
                    f"{self.name} refused {path}: HTTP {response.status_code}: "
                    f"{response.text[:200]}",
                    reason=REFUSED,
                )
            try:
                return response.json()
            except ValueError as exc:
                raise PermanentError(
                    f"{self.name} answered {path} with non-JSON: {response.text[:200]}",
                    reason=REFUSED,
                ) from exc
        raise ServiceUnavailable(
            f"{self.name} at {self.base_url} unavailable after {self.attempts} attempts: {last}",
            reason=UNAVAILABLE,
        )


def _refused(backend: str, what: str, body: Any) -> PermanentError:
    return PermanentError(f"{backend}: unexpected {what}: {str(body)[:200]}", reason=REFUSED)


class ApertiumBackend(_HttpBackend):
    """Apertium APy. Pairs are ISO 639-3 (``spa|eng``); a variant target
    (``eng_US``) is used only when the plain ``eng`` is not installed. A
    language without a pair into English gets a route through a pivot
    (``por|spa|eng``); :meth:`translate` runs its legs one after the other,
    each batched like a single pair."""

    name = "apertium"
    # APy has no hard limit, but its pipeline is slow on long inputs and a
    # request must finish well within the client timeout.
    max_chars = 3000

    def pairs(self) -> dict[str, str]:
        return self.routes("eng")

    def routes(self, target: str) -> dict[str, str]:
        """Source language (ISO 639-1 when it has one) -> the shortest route
        into ``target`` (ISO 639-3). ``routes("rus")`` gives Ukrainian its
        ``ukr|rus`` pair, for a reader of Russian; nothing here calls it
        English."""
        body = self._request("GET", "/listPairs")
        try:
            listed = [(str(e.get("sourceLanguage", "")), str(e.get("targetLanguage", "")))
                      for e in body["responseData"]]
        except (KeyError, TypeError, AttributeError) as exc:
            raise _refused(self.name, "/listPairs answer", body) from exc
        return {to_639_1(source) or source: route
                for source, route in plan_routes(listed, target).items()}

    # Several chunks travel in one request, joined by a paragraph holding only
    # a full stop: Apertium carries no rule, word order or capitalisation
    # across a sentence end, so each chunk comes back as it would alone (an
    # integration test compares the two on headline-like fragments). APy's
    # cost is mostly per request, so this saves it ~3/4 of its work on
    # news items (a headline, a summary, body chunks). Its answers to
    # inputs of ~40 KB and more come back cut short; requests stay far below.
    separator = "\n\n.\n\n"
    max_request_chars = 10_000

    def translate(self, pair: str, texts: Sequence[str]) -> list[str]:
        out = list(texts)
        for leg in legs(pair):
            out = [part for group in _groups(out, self.max_request_chars)
                   for part in self._translate_group(leg, group)]
        return out

    def _translate_group(self, pair: str, group: list[str]) -> list[str]:
        if len(group) > 1 and not any(self.separator in text for text in group):
            parts = self._translate_one(pair, self.separator.join(group)).split(self.separator)
            if len(parts) == len(group):
                return parts
            # never seen; if a pair ever rewrites the separator, each chunk alone is still right
            log.warning("%s %s: joined request came back with %d parts for %d chunks; "
                        "sending them one by one", self.name, pair, len(parts), len(group))
            metrics().translator_errors.labels(self.name, "separator_lost").inc()
        return [self._translate_one(pair, text) for text in group]

    def _translate_one(self, pair: str, text: str) -> str:
        body = self._request(
            "POST",
            "/translate",
            # markUnknown=no: no '*' before words the dictionary lacks.
            data={"langpair": pair, "q": text, "markUnknown": "no"},
        )
        try:
            status = int(body.get("responseStatus", 200))
            translated = body["responseData"]["translatedText"]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise _refused(self.name, "/translate answer", body) from exc
        if status != 200 or not isinstance(translated, str):
            raise _refused(self.name, "/translate status", body)
        return translated


class LibreTranslateBackend(_HttpBackend):
    """The LibreTranslate API; one request carries a list of chunks."""

    name = "libretranslate"
    # LibreTranslate's own default per-request limit is unlimited, but
    # public and self-hosted instances commonly set char_limit 5000: keep
    # one chunk and one request under it.
    max_chars = 2000
    max_request_chars = 5000

    def __init__(self, client: httpx.Client, base_url: str, *, api_key: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(client, base_url, **kwargs)
        self.api_key = api_key

    def pairs(self) -> dict[str, str]:
        body = self._request("GET", "/languages")
        if not isinstance(body, list):
            raise _refused(self.name, "/languages answer", body)
        out: dict[str, str] = {}
        for entry in body:
            if not isinstance(entry, dict):
                continue
            code = str(entry.get("code", ""))
            targets = [base_code(str(t)) for t in entry.get("targets", [])]
            if code and base_code(code) != TARGET and TARGET in targets:
                out.setdefault(base_code(code), f"{code}|{TARGET}")
        return out

    def _payload(self, source: str, texts: list[str]) -> dict[str, Any]:
        payload: dict[str, Any] = {"q": texts, "source": source, "target": TARGET,
                                   "format": "text"}
        if self.api_key:
            payload["api_key"] = self.api_key
        return payload

    def translate(self, pair: str, texts: Sequence[str]) -> list[str]:
        source = pair.split("|", 1)[0]
        out: list[str] = []
        for group in _groups(texts, self.max_request_chars):
            body = self._request("POST", "/translate", json=self._payload(source, group))
            translated = body.get("translatedText") if isinstance(body, dict) else None
            if isinstance(translated, str) and len(group) == 1:
                translated = [translated]
            if (not isinstance(translated, list) or len(translated) != len(group)
                    or not all(isinstance(t, str) for t in translated)):
                raise _refused(self.name, "/translate answer", body)
            out.extend(translated)
        return out


def _groups(texts: Iterable[str], max_chars: int) -> Iterable[list[str]]:
    group: list[str] = []
    size = 0
    for text in texts:
        if group and size + len(text) > max_chars:
            yield group
            group, size = [], 0
        group.append(text)
        size += len(text)
    if group:
        yield group


class NullBackend:
    """Backend ``none``: translation switched off."""

    name = "none"
    max_chars = 1

    def pairs(self) -> dict[str, str]:
        return {}

    def translate(self, pair: str, texts: Sequence[str]) -> list[str]:
        raise PermanentError("translation is disabled", reason="translator_disabled")


def build_backend(settings: TranslatorSettings, client: httpx.Client) -> Backend:
    if settings.backend == "apertium":
        return ApertiumBackend(client, settings.apertium_url)
    if settings.backend == "libretranslate":
        key = settings.libretranslate_api_key
        return LibreTranslateBackend(
            client, settings.libretranslate_url,
            api_key=key.get_secret_value() if key is not None else None,
        )
    return NullBackend()


def http_client(settings: TranslatorSettings) -> httpx.Client:
    """The one client of a worker process for the translator."""
    return httpx.Client(
        # Connecting to a loopback/cluster-local service is instant or dead;
        # reads may legitimately take a while on a long chunk.
        timeout=httpx.Timeout(settings.timeout, connect=5.0),
        # A worker process translates one batch at a time, sequentially.
        limits=httpx.Limits(max_connections=4, max_keepalive_connections=2),
        headers={"User-Agent": "wirestream-enrich/0.1"},
    )


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
