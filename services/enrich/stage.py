"""The enrich stage: run every step on a batch; a failing step records an
error on the document and the document goes on without that step."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from services.enrich.language import LanguageDetector, detect_language
from shared.models import Enrichment, NewsItem, StepError

__all__ = ["PIPELINE_VERSION", "Models", "enrich_items"]

log = logging.getLogger(__name__)

# Recorded on every document so a search can find what older rules produced.
PIPELINE_VERSION = "enrich-1"


@dataclass
class Models:
    """Everything the steps load once per worker process."""

    language: LanguageDetector


def _step(item: NewsItem, enrichment: Enrichment, name: str, fn: Callable[[], None]) -> None:
    try:
        fn()
    except Exception as exc:  # one step's failure must not block the document
        log.warning("enrich step %s failed for %s: %s", name, item.id, exc)
        enrichment.errors.append(
            StepError(step=name, reason=type(exc).__name__, message=str(exc)[:500],
                      at=datetime.now(UTC))
        )


def enrich_items(items: list[NewsItem], models: Models) -> list[NewsItem]:
    out: list[NewsItem] = []
    for item in items:
        enrichment = Enrichment(pipeline_version=PIPELINE_VERSION)

        def language(item: NewsItem = item, enrichment: Enrichment = enrichment) -> None:
            enrichment.language = detect_language(item, models.language)

        _step(item, enrichment, "language", language)
        enrichment.enriched_at = datetime.now(UTC)
        out.append(item.model_copy(update={"enrichment": enrichment}))
    return out
