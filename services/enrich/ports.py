"""What the enrich stage needs from the world, as protocols: the stage
(:func:`services.enrich.stage.enrich_items`) and the entity step are written
against these; the in-memory models (language detector, gazetteer, topic
rules and model, keyword extractors, natasha) are plain objects of
:class:`services.enrich.stage.Models`. The adapters that satisfy the ports in
production, each mapping its client's failures to the exception tree
(shared.errors) at its own boundary:

==========================  ==================================================
port                        adapter
==========================  ==================================================
:class:`NerServer`          :class:`services.enrich.adapters.corenlp.CoreNlpClient`
                            (HTTP; a failure is a per-text ``NerFailure``)
:class:`TranslationBackend` ``ApertiumBackend``, ``LibreTranslateBackend``
                            (HTTP, services.enrich.adapters.translation_backends)
:class:`TranslationCache`   ``RedisTranslationCache`` (Redis,
                            services.enrich.adapters.translation_cache)
:class:`Resolver`           :class:`services.enrich.adapters.entity_registry.EntityRegistry`
                            (Redis, one round trip per batch)
:class:`NearDuplicates`     :class:`services.enrich.adapters.clusters.ClusterIndex`
                            (Redis, three round trips per batch)
==========================  ==================================================

The unit tests pass in-memory ones (``tests/unit/enrich/fakes.py``); the
adapters are tested against the real services in tests/integration/.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from services.enrich.aliases import Resolver
from shared.models import NewsItem

__all__ = ["NearDuplicates", "NerFailure", "NerServer", "NerSpan", "Resolver",
           "TranslationBackend", "TranslationCache"]


@dataclass(frozen=True)
class NerSpan:
    start: int
    end: int
    type: str  # PERSON, ORG, LOC


@dataclass(frozen=True)
class NerFailure:
    reason: str  # ner_unavailable, ner_refused
    message: str


class NerServer(Protocol):
    """Named entities of texts in the languages it has models for."""

    languages: frozenset[str]

    def recognise(self, texts: Sequence[tuple[str, str]]) -> list[list[NerSpan] | NerFailure]:
        """Spans per (language, text), in input order; a text it could not
        read gets a :class:`NerFailure` (the others keep their spans)."""
        ...


class NearDuplicates(Protocol):
    """Groups rewrites of one story across outlets and versions."""

    def assign(self, items: Sequence[NewsItem]) -> list[str | None]:
        """A cluster id per item (None for an item too short to compare);
        raises :class:`shared.errors.ServiceUnavailable` when its store is
        down."""
        ...


class TranslationBackend(Protocol):
    """A translation service. ``pairs()`` asks the service; the
    :class:`services.enrich.translate.Translator` caches the answer."""

    name: str
    # Largest chunk sent in one piece (characters).
    max_chars: int

    def pairs(self) -> dict[str, str]:
        """Source language (ISO 639-1) -> the backend's pair id (or route)
        into English."""
        ...

    def translate(self, pair: str, texts: Sequence[str]) -> list[str]:
        """Translate each text along a pair id (or route) that ``pairs()``
        gave; same length and order as ``texts``."""
        ...


class TranslationCache(Protocol):
    """Chunks translated before, by :func:`services.enrich.translate.cache_key`."""

    def get_many(self, keys: Sequence[str]) -> list[str | None]: ...

    def put_many(self, values: dict[str, str]) -> None: ...
