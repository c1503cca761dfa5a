"""The translation backends, HTTP clients of Apertium APy and LibreTranslate
(the port is services.enrich.ports.TranslationBackend): each lists its pairs and
translates a list of chunks, mapping its server's errors to the exception
tree (transient: :class:`shared.errors.ServiceUnavailable`; a refusal or a
malformed answer: :class:`shared.errors.PermanentError`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import httpx

from services.enrich._translation_routes import legs, plan_routes
from services.enrich.langcodes import base_code, to_639_1
from services.enrich.ports import TranslationBackend
from services.enrich.translate import REFUSED, TARGET, UNAVAILABLE, NullBackend
from shared.errors import PermanentError, ServiceUnavailable
from shared.metrics import metrics
from shared.retrying import backoff, transient_status
from shared.settings import TranslatorSettings

__all__ = ["ApertiumBackend", "LibreTranslateBackend", "Sleep", "build_backend", "http_client"]

log = logging.getLogger("services.enrich.translate")


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


def build_backend(settings: TranslatorSettings, client: httpx.Client) -> TranslationBackend:
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
