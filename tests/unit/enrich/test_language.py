# ruff: noqa: RUF001  (multilingual news text: Cyrillic letters are meant)
"""Language identification on real-looking news text."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from services.enrich.language import (
    FAST_MIN_LETTERS,
    LanguageDetector,
    build_detector,
    detect_language,
)
from services.enrich.stage import Models, enrich_items
from tests.unit.test_shared import make_item


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return build_detector()


EN = ("The president met reporters in Washington on Tuesday and said the budget talks "
      "would continue through the weekend.")
ES = ("El presidente se reunió el martes con los periodistas en Madrid y dijo que las "
      "negociaciones del presupuesto continuarán durante el fin de semana.")
RU = ("Президент во вторник встретился с журналистами в Москве и заявил, что переговоры "
      "о бюджете продолжатся в выходные.")


@pytest.mark.parametrize(("text", "code"), [(EN, "en"), (ES, "es"), (RU, "ru")])
def test_detects_the_language_of_the_body(detector: object, text: str, code: str) -> None:
    result = detect_language(make_item(headline="", body_text=text), detector)
    assert result.code == code
    assert result.confidence > 0.6
    assert result.note is None


def test_a_wrong_hint_is_overruled_and_reported(detector: object) -> None:
    result = detect_language(make_item(headline="", body_text=ES, language="en"), detector)
    assert result.code == "es"
    assert result.note == "hint_overruled"
    assert result.hint == "en"


def test_too_short_text_falls_back_to_the_hint(detector: object) -> None:
    result = detect_language(make_item(headline="Brexit", language="en-GB"), detector)
    assert (result.code, result.note, result.method) == ("en", "too_short", "hint")


def test_a_failing_step_is_recorded_and_the_item_goes_on() -> None:
    class Broken:
        def compute_language_confidence_values(self, text: str) -> list[object]:
            raise RuntimeError("model exploded")

    [out] = enrich_items([make_item(body_text=EN)],
                         Models(language=LanguageDetector(lingua=Broken())))
    assert out.enrichment is not None
    assert out.enrichment.language is None
    [error] = out.enrichment.errors
    assert (error.step, error.reason) == ("language", "RuntimeError")
    assert "model exploded" in error.message


def test_confident_long_text_is_decided_by_fasttext(detector: LanguageDetector) -> None:
    result = detect_language(make_item(headline="", body_text=ES), detector)
    assert (result.code, result.method) == ("es", "fasttext")
    assert result.confidence >= 0.9


def test_short_text_goes_to_lingua(detector: LanguageDetector) -> None:
    text = "Die Regierung trat heute zurück"
    assert 20 <= sum(c.isalpha() for c in text) < FAST_MIN_LETTERS
    result = detect_language(make_item(headline="", body_text=text), detector)
    assert (result.code, result.method) == ("de", "lingua")


def _with_fasttext_answer(detector: LanguageDetector, lang: str,
                          score: float) -> LanguageDetector:
    """The real lingua behind a first stage that always gives this answer."""

    class Fixed:
        def detect(self, text: str, **kw: object) -> list[dict[str, object]]:
            return [{"lang": lang, "score": score}]

    return LanguageDetector(lingua=detector.lingua, fast=Fixed(), known=detector.known)


def test_a_fasttext_answer_lingua_does_not_know_goes_to_lingua(
        detector: LanguageDetector) -> None:
    only_lingua = _with_fasttext_answer(detector, "sh", 0.99)  # outside lingua's 75
    result = detect_language(make_item(headline="", body_text=RU), only_lingua)
    assert (result.code, result.method) == ("ru", "lingua")


def test_an_unsure_fasttext_answer_goes_to_lingua(detector: LanguageDetector) -> None:
    unsure = _with_fasttext_answer(detector, "en", 0.5)
    result = detect_language(make_item(headline="", body_text=EN), unsure)
    assert (result.code, result.method) == ("en", "lingua")


def test_the_fast_path_reports_an_overruled_hint(detector: LanguageDetector) -> None:
    result = detect_language(make_item(headline="", body_text=RU, language="en"), detector)
    assert (result.code, result.method, result.note, result.hint) == (
        "ru", "fasttext", "hint_overruled", "en")


def test_real_feeds_get_the_language_of_their_publisher(detector: LanguageDetector) -> None:
    """Every item of the nine-language real feeds in tests/fixtures, hint
    removed, gets the feed's language, both through the two-stage detector
    and through lingua alone (the fallback must be as good)."""
    from services.ingest.parsers import parse_document
    from services.ingest.parsers._model import SourceRef
    from tests.unit.ingest._parsing import fixtures

    lingua_only = LanguageDetector(lingua=detector.lingua)
    checked, methods = 0, set()
    for path in sorted((fixtures() / "feeds" / "real").iterdir()):
        expected = re.search(r"_(en|ru|zh|de|it|pt|fr|el|hi|uk)[_.-]", path.name)
        assert expected is not None, path.name
        result = parse_document(path.read_bytes(), source=SourceRef(id="t"),
                                fetched_at=datetime(2026, 11, 28, tzinfo=UTC))
        for item in result.items:
            item = item.model_copy(update={"language": None})
            two_stage = detect_language(item, detector)
            if two_stage.note == "too_short":
                continue
            assert two_stage.code == expected.group(1), (path.name, item.headline)
            assert detect_language(item, lingua_only).code == expected.group(1)
            methods.add(two_stage.method)
            checked += 1
    assert checked > 150
    assert methods == {"fasttext", "lingua"}
