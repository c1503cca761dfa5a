"""Keywords (YAKE) and the pure parts of near-duplicate clustering."""

from __future__ import annotations

import pytest

from services.enrich.adapters.clusters import lsh_params, shingles, signature
from services.enrich.keywords import KeywordExtractors, extract_keywords
from shared.models import Translation, TranslationStatus
from tests.unit.test_shared import make_item

BODY = ("The European Central Bank kept interest rates unchanged on Thursday. ECB President "
        "Christine Lagarde said inflation in the euro zone was falling towards the target, "
        "and the European Central Bank would decide on cuts meeting by meeting.")


def test_keywords_come_from_the_text_best_first() -> None:
    keywords = extract_keywords(make_item(headline="ECB holds rates", body_text=BODY), "en",
                                None, KeywordExtractors())
    assert 0 < len(keywords) <= 10
    assert any("European Central Bank" in k.text for k in keywords)
    assert [k.score for k in keywords] == sorted(k.score for k in keywords)


def test_keywords_fall_back_to_the_english_translation() -> None:
    item = make_item(headline="ECB:n korot ennallaan", body_text="Suomenkielinen teksti.")
    tr = Translation(status=TranslationStatus.translated, headline="ECB holds rates",
                     body_text=BODY)
    extractors = KeywordExtractors(languages=frozenset({"en", "es"}))
    keywords = extract_keywords(item, "fi", tr, extractors)
    assert keywords and all(k.text for k in keywords)
    assert extract_keywords(item, "fi", None, extractors) == []


def test_shingles_and_signatures() -> None:
    assert shingles("A b c d") == {b"a b c", b"b c d"}
    assert signature(make_item(headline="Too short")) is None
    one = signature(make_item(headline="ECB", body_text=BODY))
    same = signature(make_item(headline="ECB", body_text=BODY))
    other = signature(make_item(headline="Floods", body_text="Heavy rain flooded the valley "
                                "overnight and rescuers evacuated hundreds of residents."))
    assert one is not None and same is not None and other is not None
    assert one.jaccard(same) == 1.0
    assert one.jaccard(other) < 0.2


def test_lsh_bands_put_the_s_curve_near_the_threshold() -> None:
    for threshold in (0.3, 0.4, 0.5, 0.6):
        bands, rows = lsh_params(threshold, 128)
        assert bands * rows <= 128
        assert abs((1 / bands) ** (1 / rows) - threshold) < 0.05


def test_signatures_with_shared_permutations_equal_fresh_minhashes() -> None:
    """Drawing datasketch's permutations once changes no signature: stored
    signatures of earlier documents stay comparable."""
    from datasketch import MinHash  # type: ignore[import-untyped]

    item = make_item(headline="Floods close roads across the north",
                     body_text="Heavy rain flooded roads and homes across the north on Monday, "
                               "officials said, and more rain is expected tomorrow.")
    ours = signature(item)
    assert ours is not None
    text = " ".join(p for p in (item.headline, item.summary, item.body_text) if p)
    fresh = MinHash(num_perm=len(ours.hashvalues), scheme="affine32")
    fresh.update_batch(list(shingles(text)))
    assert (ours.hashvalues == fresh.hashvalues).all()


def test_a_panic_inside_the_extension_is_a_recorded_step_failure() -> None:
    """yake-rust reports a Rust panic as pyo3's PanicException, which is a
    BaseException and would pass an ``except Exception``: the step turns it
    into a KeywordError, recorded on the document, and the batch goes on."""
    from services.enrich.keywords import KeywordError
    from services.enrich.stage import Models, enrich_items

    PanicException = type("PanicException", (BaseException,), {})

    class Panicking:
        def get_n_best(self, text: str, *, n: int) -> list[tuple[str, float]]:
            raise PanicException("called `Option::unwrap()` on a `None` value")

    extractors = KeywordExtractors()
    extractors._cache["en"] = Panicking()
    item = make_item(headline="ECB holds rates", body_text=BODY, language="en")
    with pytest.raises(KeywordError) as info:
        extract_keywords(item, "en", None, extractors)
    assert info.value.reason == "keyword_extractor_failed"

    from services.enrich.language import build_detector

    [out] = enrich_items([item], Models(language=build_detector(), keywords=extractors))
    assert out.enrichment is not None and out.enrichment.language is not None
    [error] = out.enrichment.errors
    assert (error.step, error.reason) == ("keywords", "keyword_extractor_failed")


def test_every_supported_language_has_a_stop_word_list() -> None:
    extractors = KeywordExtractors()
    for language in sorted(extractors.languages):
        keywords = extract_keywords(
            make_item(headline="Headline", body_text=BODY), language, None, extractors)
        assert keywords, language  # the Latin text still yields phrases with any list
    assert {"en", "es", "ru", "de", "fr", "cs", "nb"} <= extractors.languages
