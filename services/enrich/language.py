"""Language identification with lingua (models ship inside the package).

Contract of :func:`detect_language`:

* it looks at a bounded sample (headline + the first ``SAMPLE_CHARS`` of
  summary/body), so cost does not grow with article length;
* text shorter than ``MIN_CHARS`` letters is ``note="too_short"``; the
  source's hint is used if there is one;
* the hint is a prior, not the truth: it wins only when the detector is
  unsure (top confidence below ``CONFIDENT``) and the hint is among the
  plausible candidates; otherwise a contradicted hint is reported as
  ``note="hint_overruled"``;
* two languages both strongly present give ``note="mixed"``.
"""

from __future__ import annotations

from typing import Any

from shared.models import LanguageResult, NewsItem

__all__ = ["LanguageDetector", "build_detector", "detect_language"]

SAMPLE_CHARS = 1500
MIN_CHARS = 20
CONFIDENT = 0.6
MIXED_SECOND = 0.3

LanguageDetector = Any  # lingua.LanguageDetector (untyped extension module)


def build_detector() -> LanguageDetector:
    """Low-accuracy mode (n-grams up to trigrams): about 80 MB for all 75
    languages and fast on long text; the sample we feed it is long enough
    for the high-accuracy mode not to matter."""
    from lingua import LanguageDetectorBuilder

    return (
        LanguageDetectorBuilder.from_all_languages()
        .with_low_accuracy_mode()
        .with_preloaded_language_models()
        .build()
    )


def _sample(item: NewsItem) -> str:
    parts = [item.headline or "", item.summary or "", item.body_text or ""]
    text = "\n".join(p for p in parts if p)
    return text[:SAMPLE_CHARS]


def detect_language(item: NewsItem, detector: LanguageDetector) -> LanguageResult:
    hint = (item.language or "").split("-")[0].lower() or None
    sample = _sample(item)
    letters = sum(ch.isalpha() for ch in sample)
    if letters < MIN_CHARS:
        return LanguageResult(code=hint, confidence=0.0, method="hint" if hint else "none",
                              hint=hint, note="too_short")
    values = detector.compute_language_confidence_values(sample)
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
