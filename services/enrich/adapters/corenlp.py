"""Named-entity spans from the Stanford CoreNLP server, over HTTP.

:class:`CoreNlpClient` takes many texts of one batch and sends them in few
requests: the texts of one language are joined by blank lines (a sentence
break CoreNLP never crosses) into requests of at most ``max_chars``
characters; a longer text is cut at paragraph ends, else at a space, so a
1 MB document is read in several bounded requests and never holds a batch
for longer than its share. Spans come from the token-level ``ner`` tags
(the JSON ``entitymentions`` would add pronouns as people): consecutive
tokens with one tag are one span; ``B-`` starts a new one. CoreNLP counts
offsets in UTF-16 code units; they are turned back into ``str`` indices.

A text whose request failed gets a :class:`services.enrich.ports.NerFailure` instead of spans: the
server was unreachable, timed out or answered 5xx (``ner_unavailable``), or
answered something that is not a CoreNLP document (``ner_refused``). After a
transport failure or timeout, the batch's remaining requests are not sent
(one stuck server must not cost a timeout per request); their texts fail
with the same reason. Request properties per language come from
:mod:`shared.corenlp`, which the services script's health check uses too.
"""

from __future__ import annotations

import json
import logging
import re
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from services.enrich.ports import NerFailure, NerSpan
from shared.corenlp import CORENLP_LANGUAGES, ner_properties
from shared.errors import PermanentError, ServiceUnavailable
from shared.metrics import metrics
from shared.retrying import transient_status

__all__ = ["CoreNlpClient", "corenlp_type", "spans_from_document", "trim_span"]

log = logging.getLogger(__name__)

UNAVAILABLE, REFUSED = "ner_unavailable", "ner_refused"
# Between texts of one request: two newlines end a sentence for CoreNLP's
# splitter (ssplit.newlineIsSentenceBreak=two), so no span crosses it.
JOIN = "\n\n"
_PARAGRAPH_END = re.compile(r"\n\s*\n")


# The tag sets of the five models: English/German/Spanish (PERSON,
# ORGANIZATION, LOCATION, MISC), French (I-PER ...), Italian (PER ...).
_TYPES = {"PERSON": "PERSON", "PER": "PERSON", "ORGANIZATION": "ORG", "ORG": "ORG",
          "LOCATION": "LOC", "LOC": "LOC"}


def corenlp_type(tag: str) -> tuple[str | None, bool]:
    """(normalised type or None, whether the tag begins a new span)."""
    begins = tag.startswith("B-")
    if tag[:2] in ("B-", "I-", "E-", "S-"):
        begins = tag[0] in "BS"
        tag = tag[2:]
    return _TYPES.get(tag), begins


def _utf16_to_index(text: str) -> Callable[[int], int] | None:
    """Map UTF-16 offsets to ``str`` indices; None when they are equal."""
    if text.isascii() or max(text) < "\U00010000":
        return None
    astral = [i for i, ch in enumerate(text) if ord(ch) > 0xFFFF]
    # the UTF-16 offset at which each astral character starts
    starts = [i + n for n, i in enumerate(astral)]

    def convert(offset: int) -> int:
        return offset - bisect_right(starts, offset - 1)

    return convert


def _token_offsets(tokens: list[dict[str, Any]], text: str,
                   convert: Callable[[int], int] | None,
                   realign: bool) -> list[tuple[int, int]]:
    """(start, end) in ``text`` of every token. The server's offsets are
    trusted while they hold the token's text; the Italian tokenizer's drift
    by a character after each multi-word token ("della" -> "di" + "la"), so
    a plain token whose offsets miss its text is looked up just ahead and
    later offsets move by the same amount (``realign``; only there: the
    French and Spanish splitters give both parts the word's own offsets and
    the part's text, "du" -> "de" + "le", which must not be looked up)."""
    out: list[tuple[int, int]] = []
    shift = 0
    cursor = 0
    for token in tokens:
        begin, end = int(token["characterOffsetBegin"]), int(token["characterOffsetEnd"])
        if convert is not None:
            begin, end = convert(begin), convert(end)
        begin, end = begin + shift, end + shift
        original = token.get("originalText")
        if (realign and original and token.get("word") == original
                and text[begin:end] != original):
            found = text.find(original, cursor)
            if found >= 0 and abs(found - begin) <= _MAX_DRIFT:
                shift += found - begin
                begin, end = found, found + len(original)
        out.append((begin, end))
        cursor = max(cursor, end)
    return out


# How far a token may have drifted before we stop trusting a text match
_MAX_DRIFT = 64


# Languages whose tokenizer's offsets drift (see _token_offsets)
_DRIFTING = frozenset({"it"})


def spans_from_document(document: dict[str, Any], text: str,
                        language: str = "") -> list[NerSpan]:
    """Spans of one CoreNLP JSON document whose input was ``text``."""
    sentences = [sentence.get("tokens", []) for sentence in document.get("sentences", [])]
    offsets = iter(_token_offsets([t for s in sentences for t in s], text,
                                  _utf16_to_index(text), language in _DRIFTING))
    spans: list[NerSpan] = []
    for tokens in sentences:
        current: list[Any] | None = None  # [type, start, end]
        for token in tokens:
            start, end = next(offsets)
            kind, begins = corenlp_type(str(token.get("ner", "O")))
            if kind is not None and current is not None and current[0] == kind and not begins:
                current[2] = max(current[2], end)
                continue
            if current is not None:
                spans.append(NerSpan(current[1], current[2], current[0]))
            current = [kind, start, end] if kind is not None else None
        if current is not None:
            spans.append(NerSpan(current[1], current[2], current[0]))
    return spans


# Leading articles the models take into a span ("la France", "l'Irlande",
# "Les Pays-Bas" at a sentence start); names that begin with one ("Le
# Monde", "La Poste") are capitalised mid-sentence and keep it.
_ARTICLES = {
    "fr": ("le ", "la ", "les ", "l'", "l\u2019", "d'", "d\u2019", "du ", "des "),
    "it": ("il ", "lo ", "la ", "i ", "gli ", "le ", "l'", "l\u2019", "dell'", "dell\u2019"),
    "es": ("el ", "la ", "los ", "las "),
    "de": ("der ", "die ", "das ", "dem ", "den ", "des "),
    "en": ("the ",),
}
_EDGE = "\u00ab\u00bb\u201c\u201d\u201e\u2018\u2019\u201a\"'()[],;:\u2039\u203a "
_SENTENCE_END = ".!?\n\u2014\u2013-:"


def trim_span(text: str, start: int, end: int, language: str) -> tuple[int, int]:
    """The span without edge quotes and punctuation and without a leading
    article (lower case anywhere; capitalised at a sentence start)."""
    while start < end and text[start] in _EDGE:
        start += 1
    while end > start and text[end - 1] in _EDGE:
        end -= 1
    surface = text[start:end]
    for article in _ARTICLES.get(language, ()):
        if len(surface) > len(article) + 1 and surface[:len(article)].lower() == article:
            rest = surface[len(article):]
            before = text[:start].rstrip()
            initial = not before or before[-1] in _SENTENCE_END
            if rest[:1].isupper() and (surface[0].islower() or initial):
                start += len(article)
            break
    return start, end


def _pieces(text: str, limit: int) -> list[tuple[int, str]]:
    """``text`` cut into pieces of at most ``limit`` characters, at paragraph
    ends where possible, else at a space; (offset, piece) each."""
    if len(text) <= limit:
        return [(0, text)]
    out: list[tuple[int, str]] = []
    start = 0
    while len(text) - start > limit:
        window = text[start:start + limit]
        cut = -1
        for match in _PARAGRAPH_END.finditer(window):
            cut = match.start()
        if cut <= 0:
            cut = window.rfind(" ")
        if cut <= 0:
            cut = limit
        out.append((start, text[start:start + cut]))
        start += cut
        while start < len(text) and text[start].isspace():
            start += 1
    if start < len(text):
        out.append((start, text[start:]))
    return out


@dataclass
class _Request:
    language: str
    parts: list[tuple[int, int, str]]  # (text index, offset in that text, piece)

    def size(self) -> int:
        return sum(len(p) for _, _, p in self.parts) + len(JOIN) * max(len(self.parts) - 1, 0)


class CoreNlpClient:
    """NER over the CoreNLP server for ``languages`` (some of
    :data:`CORENLP_LANGUAGES`; a related reading may ask for any of them)."""

    def __init__(self, http: httpx.Client, url: str, *, timeout: float = 30.0,
                 max_chars: int = 50_000, attempts: int = 2,
                 languages: Sequence[str] = CORENLP_LANGUAGES) -> None:
        self.languages = frozenset(languages) & frozenset(CORENLP_LANGUAGES)
        self.http = http
        self.url = url.rstrip("/") + "/"
        self.timeout = timeout
        self.max_chars = max_chars
        self.attempts = attempts
        self._params = {lang: {"properties": json.dumps(ner_properties(lang))}
                        for lang in CORENLP_LANGUAGES}
        # Italian's CRF is far slower than the others (its gazette
        # features; figures in BENCHMARKS.md): smaller requests keep each
        # under the server's timeout on a loaded machine.
        self._limits = {lang: max_chars // 5 if lang == "it" else max_chars
                        for lang in CORENLP_LANGUAGES}

    def _plan(self, texts: Sequence[tuple[str, str]]) -> list[_Request]:
        requests: list[_Request] = []
        open_by_language: dict[str, _Request] = {}
        for index, (language, text) in enumerate(texts):
            if not text.strip():
                continue
            limit = self._limits.get(language, self.max_chars)
            for offset, piece in _pieces(text, limit):
                current = open_by_language.get(language)
                if current is None or current.size() + len(JOIN) + len(piece) > limit:
                    current = _Request(language, [])
                    requests.append(current)
                    open_by_language[language] = current
                current.parts.append((index, offset, piece))
        return requests

    def _post(self, request: _Request, body: str) -> dict[str, Any]:
        last: Exception | None = None
        for _ in range(self.attempts):
            try:
                response = self.http.post(self.url, params=self._params[request.language],
                                          content=body.encode("utf-8"), timeout=self.timeout)
            except httpx.TimeoutException as exc:
                raise ServiceUnavailable(f"CoreNLP timed out after {self.timeout:.0f}s",
                                         reason=UNAVAILABLE) from exc
            except httpx.TransportError as exc:  # e.g. refused while restarting
                last = exc
                continue
            if transient_status(response.status_code):
                raise ServiceUnavailable(f"CoreNLP answered {response.status_code}: "
                                         f"{response.text[:200]}", reason=UNAVAILABLE)
            if response.status_code != 200:
                raise PermanentError(f"CoreNLP answered {response.status_code}: "
                                     f"{response.text[:200]}", reason=REFUSED)
            try:
                document = response.json()
            except ValueError as exc:
                raise PermanentError(f"CoreNLP answered with no JSON: {exc}",
                                     reason=REFUSED) from exc
            if not isinstance(document, dict) or "sentences" not in document:
                raise PermanentError("CoreNLP answered JSON without sentences", reason=REFUSED)
            return document
        raise ServiceUnavailable(f"CoreNLP unreachable at {self.url}: {last}",
                                 reason=UNAVAILABLE)

    def recognise(self, texts: Sequence[tuple[str, str]]) -> list[list[NerSpan] | NerFailure]:
        """Spans per (language, text), in input order; texts in a language
        the server has no model for get no spans."""
        out: list[list[NerSpan] | NerFailure] = [[] for _ in texts]
        stopped: NerFailure | None = None
        for request in self._plan([(lang, text) if lang in self._params else ("", "")
                                   for lang, text in texts]):
            indices = {i for i, _, _ in request.parts}
            if stopped is not None:
                for i in indices:
                    out[i] = stopped
                continue
            body = JOIN.join(piece for _, _, piece in request.parts)
            try:
                document = self._post(request, body)
            except (ServiceUnavailable, PermanentError) as exc:
                metrics().ner_request_failures.labels(exc.reason).inc()
                for i in indices:
                    out[i] = NerFailure(exc.reason, exc.message)
                if isinstance(exc, ServiceUnavailable):
                    stopped = NerFailure(exc.reason, exc.message
                                         + " (later requests of the batch skipped)")
                continue
            self._distribute(request, body, document, out)
        return out

    @staticmethod
    def _distribute(request: _Request, body: str, document: dict[str, Any],
                    out: list[list[NerSpan] | NerFailure]) -> None:
        starts: list[int] = []
        position = 0
        for _, _, piece in request.parts:
            starts.append(position)
            position += len(piece) + len(JOIN)
        for span in spans_from_document(document, body, request.language):
            which = bisect_right(starts, span.start) - 1
            index, offset, piece = request.parts[which]
            start, end = span.start - starts[which], span.end - starts[which]
            if end > len(piece):
                continue  # across a join: never seen, a blank line ends a span
            start, end = trim_span(piece, start, end, request.language)
            target = out[index]
            if isinstance(target, list) and start < end:
                target.append(NerSpan(start + offset, end + offset, span.type))
