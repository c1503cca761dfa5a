"""NewsItem → Elasticsearch document, and the index a document belongs to.

A document goes to the monthly index of its *first* creation, so every later
version of the same story lands in the same index and replaces the earlier
one there (external versioning works per index). Readers use the alias.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.index.mapping import MAPPING_VERSION
from shared.models import NewsItem

__all__ = ["index_for", "to_document"]


def index_for(item: NewsItem, prefix: str) -> str:
    created = item.firstcreated or item.versioncreated
    return f"{prefix}-v{MAPPING_VERSION}-{created:%Y.%m}"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def to_document(item: NewsItem, *, indexed_at: datetime | None = None) -> dict[str, Any]:
    """The document body. Only mapped fields, so the strict mapping holds."""
    enrichment = item.enrichment
    language = enrichment.language if enrichment else None
    doc: dict[str, Any] = {
        "id": item.id,
        "uri": item.uri,
        "source": item.source,
        "url": item.url,
        "headline": item.headline,
        "summary": item.summary,
        "body_text": item.body_text,
        "byline": item.byline,
        "language": (language.code if language and language.code else item.language),
        "language_confidence": language.confidence if language else None,
        "language_note": language.note if language else None,
        "version": item.version,
        "pubstatus": item.pubstatus.value,
        "embargoed": _iso(item.embargoed),
        "subjects": [s.model_dump() for s in item.subjects],
        "published": _iso(item.firstcreated),
        "updated": _iso(item.versioncreated),
        "fetched": _iso(item.fetched_at),
        "enriched": _iso(enrichment.enriched_at) if enrichment else None,
        "indexed": _iso(indexed_at or datetime.now(UTC)),
        "content_hash": item.content_hash,
        "correlation_id": item.correlation_id or None,
        "pipeline_version": enrichment.pipeline_version if enrichment else None,
        "enrichment_errors": [e.model_dump(mode="json") for e in enrichment.errors]
        if enrichment
        else [],
    }
    return {k: v for k, v in doc.items() if v is not None}
