"""Document conversion against the strict mapping: every emitted field is
mapped, tombstones carry no content, derived fields are recomputable."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.index.documents import derive, index_month, normalise_language, to_document
from services.index.mapping import AnalysisPlan, index_template, mappings
from shared.models import (
    Concept,
    Enrichment,
    Entity,
    GeoPoint,
    Keyword,
    LanguageResult,
    Mention,
    Place,
    PubStatus,
    Rights,
    StepError,
    Subject,
    TopicScore,
    Translation,
    TranslationStatus,
)
from tests.unit.test_shared import make_item

AT = datetime(2026, 11, 1, 12, 6, tzinfo=UTC)


def enrichment(language: str = "en", **over: Any) -> Enrichment:
    base: dict[str, Any] = {
        "language": LanguageResult(code=language, confidence=0.9, method="lingua"),
        "enriched_at": AT,
        "pipeline_version": "enrich-1",
        "errors": [StepError(step="x", reason="ValueError", message="m", at=AT)],
        "entities": [
            Entity(id="Q22686", type="PERSON", name="Donald Trump",
                   variants=["Trump", "Donald Trump"],
                   mentions=[Mention(field="headline", start=0, end=5, surface="Trump")]),
            Entity(id="geo:FR", type="GPE", name="France", variants=["Frankreich"],
                   country_code="FR", geonames_id=3017382),
        ],
        "places": [
            Place(name="Paris", kind="city", country_code="FR", geonames_id=2988507,
                  location=GeoPoint(lat=48.85, lon=2.35), primary=True, mentions=2, score=0.9),
            Place(name="Lyon", kind="city", country_code="FR",
                  location=GeoPoint(lat=45.76, lon=4.83)),
        ],
        "topics": [TopicScore(code="medtop:11000000", label="politics", score=0.8)],
        "keywords": [Keyword(text="state of the union", score=0.7)],
        "cluster_id": "c-1",
    }
    base.update(over)
    return Enrichment(**base)


def full_item(**over: Any) -> Any:
    base: dict[str, Any] = {
        "url": "https://example.org/a",
        "canonical_url": "https://example.org/a",
        "guid": "g-1",
        "summary": "s",
        "body_text": "b",
        "byline": "By X",
        "language": "en-GB",
        "urgency": 3,
        "firstcreated": datetime(2026, 10, 31, 23, 0, tzinfo=UTC),
        "embargoed": datetime(2026, 11, 2, tzinfo=UTC),
        "subjects": [Subject(code="medtop:04000000", name="economy", scheme="medtop")],
        "genres": [Subject(code="genre:Current", scheme="genre")],
        "places": [Concept(name="Paris", code="geo:paris", rel="about")],
        "people": [Concept(name="X Y")],
        "organisations": [Concept(code="org:1")],
        "rights": Rights(holder="Example", notice="(c)"),
        "provider_keywords": ["politics"],
        "associations": ["urn:x"],
        "ingest_flags": ["date_missing"],
        "enrichment": enrichment(),
    }
    base.update(over)
    return make_item(**base)


def assert_mapped(doc: dict[str, Any], properties: dict[str, Any], path: str = "") -> None:
    for key, value in doc.items():
        where = f"{path}{key}"
        assert key in properties, f"{where} is not mapped"
        spec = properties[key]
        if spec.get("enabled") is False:
            continue
        if spec.get("type") in ("object", "nested"):
            for entry in value if isinstance(value, list) else [value]:
                assert_mapped(entry, spec["properties"], f"{where}.")
        elif spec.get("type") == "geo_point":
            assert set(value) == {"lat", "lon"}


@pytest.mark.parametrize(
    "item",
    [
        full_item(),
        full_item(language="de", enrichment=enrichment(
            "de",
            translation=Translation(status=TranslationStatus.translated, source_language="de",
                                    backend="apertium", pair="deu|eng", headline="H en",
                                    summary="S en", body_text="B en"),
        )),
        full_item(pubstatus=PubStatus.canceled),
        make_item(),
    ],
    ids=["english", "german-translated", "tombstone", "minimal"],
)
def test_every_emitted_field_is_mapped(item: Any) -> None:
    assert_mapped(to_document(item, indexed_at=AT), mappings()["properties"])


def test_the_mapping_is_strict_at_every_level() -> None:
    def walk(spec: dict[str, Any], where: str) -> None:
        if spec.get("type") in ("object", "nested") and spec.get("enabled", True):
            assert spec.get("dynamic") == "strict", where
        for name, sub in spec.get("properties", {}).items():
            walk(sub, f"{where}.{name}")

    top = mappings()
    assert top["dynamic"] == "strict"
    walk({"type": "object", "dynamic": "strict", **top}, "")


def test_template_hides_kills_and_embargo_and_names_both_aliases() -> None:
    template = index_template("p", "p-write", "p-v3-*", 3, AnalysisPlan())
    aliases = template["template"]["aliases"]
    assert set(aliases) == {"p", "p-write"}
    must_not = aliases["p"]["filter"]["bool"]["must_not"]
    assert {"terms": {"pubstatus": ["withheld", "canceled"]}} in must_not
    assert {"range": {"embargoed": {"gt": "now"}}} in must_not
    assert aliases["p-write"] == {}
    assert template["index_patterns"] == ["p-v3-*"]
    assert template["_meta"]["generation"] == 3


def test_document_goes_to_the_month_of_first_creation() -> None:
    item = full_item()
    assert index_month(item) == "2026.10"
    later = item.model_copy(update={"versioncreated": datetime(2026, 12, 5, tzinfo=UTC)})
    assert index_month(later) == "2026.10"
    undated = make_item(versioncreated=datetime(2025, 3, 1, tzinfo=UTC))
    assert index_month(undated) == "2025.03"


def test_detected_language_wins_and_codes_are_normalised() -> None:
    doc = to_document(full_item(language="de-DE"))
    assert doc["language"] == "en"
    assert doc["language_declared"] == "de-DE"
    assert doc["language_confidence"] == 0.9
    assert normalise_language("nb-NO") == "no"
    assert normalise_language("pt_BR") == "pt"
    assert normalise_language(None) is None


def test_a_kill_is_a_tombstone_without_content() -> None:
    doc = to_document(full_item(pubstatus=PubStatus.withheld, version=3), indexed_at=AT)
    assert doc["pubstatus"] == "withheld"
    assert doc["version"] == 3
    assert set(doc) <= {"id", "uri", "source", "version", "pubstatus", "published", "updated",
                        "fetched", "indexed", "correlation_id"}


def test_english_original_fills_the_english_fields() -> None:
    doc = to_document(full_item(headline="Trump speaks"))
    assert doc["headline_en"] == "Trump speaks" and doc["summary_en"] == "s"
    assert not any(key.startswith("text_") for key in doc)


def test_other_languages_get_their_analysed_copy_and_the_translation() -> None:
    item = full_item(language="de", headline="Wahlen", enrichment=enrichment(
        "de",
        translation=Translation(status=TranslationStatus.partial, source_language="de",
                                backend="apertium", headline="Elections"),
    ))
    doc = to_document(item)
    assert doc["text_de"] == {"headline": "Wahlen", "summary": "s", "body_text": "b"}
    assert doc["headline_en"] == "Elections" and "summary_en" not in doc
    assert doc["translation"] == {"status": "partial", "backend": "apertium", "source_lang": "de"}


def test_a_failed_translation_leaves_no_english_text() -> None:
    item = full_item(language="de", enrichment=enrichment(
        "de", translation=Translation(status=TranslationStatus.failed, headline="x")))
    doc = to_document(item)
    assert "headline_en" not in doc and doc["translation"]["status"] == "failed"


def test_languages_without_analysis_keep_the_neutral_fields_only() -> None:
    doc = to_document(full_item(language="zh", enrichment=enrichment("zh")))
    assert doc["language"] == "zh"
    assert not any(key.startswith("text_") or key.endswith("_en") for key in doc)


def test_enrichment_fields_and_their_derived_arrays() -> None:
    doc = to_document(full_item())
    assert doc["entities"][0] == {
        "id": "Q22686", "name": "Donald Trump", "type": "PERSON",
        "variants": ["Trump", "Donald Trump"], "mentions": 1,
    }
    assert doc["entity_ids"] == ["Q22686", "geo:FR"]
    assert doc["entities_person"] == ["Donald Trump"]
    assert doc["entities_gpe"] == ["France"]
    assert doc["topic_codes"] == ["medtop:11000000"]
    assert doc["primary_location"] == {"lat": 48.85, "lon": 2.35}
    assert doc["country_codes"] == ["FR"]
    assert doc["cluster_id"] == "c-1"
    assert doc["keywords"] == [{"text": "state of the union", "score": 0.7}]
    assert doc["provider_organisations"] == [{"code": "org:1"}]


def test_derive_is_idempotent_and_rebuilds_from_stored_fields() -> None:
    doc = to_document(full_item(language="de", headline="Wahlen", enrichment=enrichment("de")))
    assert derive(doc) == doc
    stripped = {k: v for k, v in doc.items()
                if not k.startswith(("text_", "entities_", "entity_ids", "topic_codes",
                                     "primary_location", "country_codes"))}
    assert derive(stripped) == doc
    # a document stored before the English fields existed
    legacy = {"id": "x", "headline": "Hello", "language": "en-GB"}
    assert derive(legacy) == {"id": "x", "headline": "Hello", "headline_en": "Hello",
                              "language": "en"}
