"""Keywords/keyphrases with YAKE (unsupervised, no model weights), through
yake-rust: the YAKE algorithm (Campos et al.) ported to Rust, with the
reference implementation's stop-word lists and tokenisation rules.

Why not the reference Python package: on the enrich bench documents it took
~5.5 ms a document, half of what spaCy's NER needs; yake-rust takes ~0.6 ms
and scores as well on our keyword set (P@10 0.59 / R 0.46 against 0.56 /
0.45; bench/enrich_quality.py, bench/data/enrich/keywords_en.jsonl).

Contract of :func:`extract_keywords`: up to ``top`` keyphrases of one to
three words, best (lowest YAKE score) first, from the original text when
there is a stop-word list for its language, else from the English
translation, else none. Only the headline, summary and the first
``MAX_CHARS`` of the body are read: the lead carries the story's key terms.
A failure inside the extension (a Rust panic arrives as a BaseException
that is not an Exception) is raised as :class:`KeywordError`, so the stage
records it like any step failure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.errors import WirestreamError
from shared.models import Keyword, NewsItem, Translation

__all__ = ["SUPPORTED", "KeywordError", "KeywordExtractors", "extract_keywords"]

MAX_CHARS = 1500
TOP = 10
NGRAM = 3
# YAKE's deduplication threshold: 0.7 drops near-repeats such as
# "President Volodymyr Zelenskyy" / "Volodymyr Zelenskyy".
DEDUP = 0.7

# ISO 639-1 -> yake-rust's stop-word list (it names Czech "cz" and has one
# Norwegian list)
SUPPORTED: dict[str, str] = {
    **{code: code for code in (
        "ar", "bg", "da", "de", "el", "en", "es", "et", "fa", "fi", "fr", "hi", "hr", "hu",
        "hy", "id", "it", "ja", "lt", "lv", "nl", "no", "pl", "pt", "ro", "ru", "sk", "sl",
        "sv", "tr", "uk", "zh")},
    "cs": "cz", "nb": "no", "nn": "no",
}  # fmt: skip


class KeywordError(WirestreamError):
    default_reason = "keyword_extractor_failed"


@dataclass
class KeywordExtractors:
    """One extractor per language (a stop-word list), built on first use and
    kept for the process."""

    top: int = TOP
    languages: frozenset[str] = field(default_factory=lambda: frozenset(SUPPORTED))
    _cache: dict[str, Any] = field(default_factory=dict)

    def for_language(self, language: str) -> Any:
        extractor = self._cache.get(language)
        if extractor is None:
            import yake_rust

            extractor = yake_rust.Yake(language=SUPPORTED[language], ngrams=NGRAM,
                                       deduplication_threshold=DEDUP)
            self._cache[language] = extractor
        return extractor


def _text(headline: str | None, summary: str | None, body: str | None) -> str:
    parts = [p for p in (headline, summary, (body or "")[:MAX_CHARS]) if p]
    return "\n\n".join(parts)


def extract_keywords(
    item: NewsItem, language: str | None, translation: Translation | None,
    extractors: KeywordExtractors,
) -> list[Keyword]:
    lang = (language or "").split("-")[0].lower()
    if lang in extractors.languages and lang in SUPPORTED:
        text = _text(item.headline, item.summary, item.body_text)
    elif translation is not None and (translation.headline or translation.body_text):
        lang = "en"
        text = _text(translation.headline, translation.summary, translation.body_text)
    else:
        return []
    if not text.strip():
        return []
    try:
        pairs = extractors.for_language(lang).get_n_best(text, n=extractors.top)
    except BaseException as exc:  # a panic is not an Exception; everything else re-raises
        if not _is_panic(exc):
            raise
        raise KeywordError(f"yake-rust failed: {exc}") from exc
    return [Keyword(text=str(phrase), score=round(float(score), 6)) for phrase, score in pairs]


def _is_panic(exc: BaseException) -> bool:
    """pyo3's PanicException (module ``pyo3_runtime``, created at run time):
    a Rust panic inside the extension, not an interrupt or exit."""
    return type(exc).__name__ == "PanicException"
