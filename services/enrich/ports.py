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
:class:`NerServer`          :class:`services.enrich.ner_client.CoreNlpClient`
                            (HTTP; a failure is a per-text ``NerFailure``)
:class:`TranslationBackend` ``ApertiumBackend``, ``LibreTranslateBackend``
                            (HTTP, services.enrich._translation_backends)
:class:`TranslationCache`   ``RedisTranslationCache`` (Redis)
:class:`Resolver`           :class:`services.enrich.aliases.EntityRegistry`
                            (Redis, one round trip per batch)
:class:`NearDuplicates`     :class:`services.enrich.clusters.ClusterIndex`
                            (Redis, three round trips per batch)
==========================  ==================================================

The unit tests pass in-memory ones (``tests/unit/enrich/fakes.py``); the
adapters are tested against the real services in tests/integration/.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from services.enrich._translation_backends import Backend as TranslationBackend
from services.enrich._translation_cache import TranslationCache
from services.enrich.aliases import Resolver
from services.enrich.ner_client import NerFailure, NerSpan
from shared.models import NewsItem

__all__ = ["NearDuplicates", "NerServer", "Resolver", "TranslationBackend", "TranslationCache"]


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
