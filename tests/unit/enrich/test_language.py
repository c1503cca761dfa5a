# ruff: noqa: RUF001  (multilingual news text: Cyrillic letters are meant)
"""Language identification on real-looking news text."""

from __future__ import annotations

import pytest

from services.enrich.language import build_detector, detect_language
from services.enrich.stage import Models, enrich_items
from tests.unit.test_shared import make_item


@pytest.fixture(scope="module")
def detector() -> object:
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

    [out] = enrich_items([make_item(body_text=EN)], Models(language=Broken()))
    assert out.enrichment is not None
    assert out.enrichment.language is None
    [error] = out.enrichment.errors
    assert (error.step, error.reason) == ("language", "RuntimeError")
    assert "model exploded" in error.message
