"""Keywords/keyphrases with YAKE (unsupervised, no model weights).

Contract of :func:`extract_keywords`: up to ``top`` keyphrases of one to
three words, best first, from the original text when YAKE has a stop-word
list for its language, else from the English translation, else none. Only
the headline, summary and the first ``MAX_CHARS`` of the body are read: YAKE
builds a co-occurrence graph of the whole input and was half of the stage's
time on full bodies (bench/enrich_speed.py), while the lead carries the
story's key terms.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.models import Keyword, NewsItem, Translation

__all__ = ["KeywordExtractors", "extract_keywords"]

MAX_CHARS = 1500
TOP = 10
NGRAM = 3
# YAKE's own deduplication threshold: 0.7 drops near-repeats such as
# "President Volodymyr Zelenskyy" / "Volodymyr Zelenskyy".
DEDUP = 0.7


def _supported() -> frozenset[str]:
    import yake  # type: ignore[import-untyped]

    folder = Path(yake.__file__).parent / "core" / "StopwordsList"
    return frozenset(p.stem.removeprefix("stopwords_") for p in folder.glob("stopwords_*.txt"))


@dataclass
class KeywordExtractors:
    """One YAKE extractor per language, built on first use (cheap: a
    stop-word list) and kept for the process."""

    top: int = TOP
    languages: frozenset[str] = field(default_factory=_supported)
    _cache: dict[str, Any] = field(default_factory=dict)

    def for_language(self, language: str) -> Any:
        extractor = self._cache.get(language)
        if extractor is None:
            import yake

            extractor = yake.KeywordExtractor(lan=language, n=NGRAM, top=self.top,
                                              dedupLim=DEDUP)
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
    if lang in extractors.languages:
        text = _text(item.headline, item.summary, item.body_text)
    elif translation is not None and (translation.headline or translation.body_text):
        lang = "en"
        text = _text(translation.headline, translation.summary, translation.body_text)
    else:
        return []
    if not text.strip():
        return []
    pairs = extractors.for_language(lang).extract_keywords(text)
    return [Keyword(text=str(phrase), score=round(float(score), 6)) for phrase, score in pairs]
