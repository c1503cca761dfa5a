"""Re-enrichment and single-document input for the ``wirestream enrich``
command.

* :func:`from_document` turns an indexed document (its ``_source``) back
  into a :class:`NewsItem`: the indexer stores every editorial and provider
  field, so nothing the enrich steps read is lost. Derived and enrichment
  fields are dropped; the enrich stage recomputes them.
* :class:`Reenricher` pages through the read alias with a Lucene
  ``query_string`` (``enrichment_errors.reason:translator_unavailable``,
  ``pipeline_version:enrich-1``, ``entity_ids:person-3f2a...``, ``*``) and
  sends the items through the enrich queue in batches, slowing down when the
  queue is long (the same back-pressure rule as the producers).
* :func:`plain_text_item` wraps plain text as an item (first line =
  headline).

The read alias hides kills and stories under embargo, so those are never
re-enriched.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from shared.errors import PayloadError
from shared.models import NewsItem, content_hash, item_id

__all__ = ["Reenricher", "from_document", "looks_like_plain_text", "plain_text_item"]

log = logging.getLogger(__name__)

# ES document field -> NewsItem field, where the names differ.
_RENAMED = {
    "published": "firstcreated",
    "updated": "versioncreated",
    "fetched": "fetched_at",
    "provider_places": "places",
    "provider_people": "people",
    "provider_organisations": "organisations",
}
# Taken over unchanged.
_SAME = (
    "id", "uri", "guid", "source", "url", "canonical_url", "type", "urgency", "content_hash",
    "correlation_id", "headline", "summary", "body_text", "byline", "byline_role", "version",
    "pubstatus", "embargoed", "subjects", "genres", "provider_keywords", "associations",
    "ingest_flags", "rights",
)


def from_document(source: dict[str, Any]) -> NewsItem:
    """The item an indexed document was made from, without its enrichment.
    The language is the one the provider declared (``language_declared``),
    so detection runs afresh. Raises PayloadError for a document that is
    not a story (a tombstone, a foreign document)."""
    data: dict[str, Any] = {k: source[k] for k in _SAME if source.get(k) is not None}
    for es_name, field_name in _RENAMED.items():
        if source.get(es_name) is not None:
            data[field_name] = source[es_name]
    data["language"] = source.get("language_declared")
    data.setdefault("headline", "")
    try:
        return NewsItem.model_validate(data)
    except ValidationError as exc:
        raise PayloadError(f"document {source.get('id')!r} is not a story: {exc}") from exc


def looks_like_plain_text(data: bytes) -> bool:
    """Not markup and not JSON: what the parsers would refuse."""
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return head not in (b"<", b"{", b"[")


def plain_text_item(text: str, *, language: str | None = None,
                    now: datetime | None = None) -> NewsItem:
    """First non-empty line as the headline, the rest as the body."""
    moment = now or datetime.now(UTC)
    lines = text.strip().splitlines()
    headline = lines[0].strip() if lines else ""
    body = "\n".join(lines[1:]).strip() or None
    digest = content_hash(headline, body)
    return NewsItem(
        id=item_id("cli", digest), uri=f"cli:{digest[:16]}", source="cli", headline=headline,
        body_text=body, language=language, versioncreated=moment, fetched_at=moment,
        content_hash=digest,
    )


Search = Callable[..., Any]
Send = Callable[[list[NewsItem]], None]


@dataclass
class Reenricher:
    """Pages through the read alias and re-sends what matches."""

    search: Search  # Elasticsearch.search of a reader (or admin) client
    index: str  # the read alias
    send: Send
    queue_depth: Callable[[], int]
    # the pager over the index (services.index.search.each_document: the
    # composition root passes it; enrich imports no other service)
    walk: Callable[..., Iterator[dict[str, Any]]]
    batch_size: int = 25
    page_size: int = 500
    # Above this many waiting messages on the enrich queue, wait: a re-enrich
    # of the whole index must not starve fresh news.
    max_queue: int = 200
    sleep: Callable[[float], None] = time.sleep

    def documents(self, query: str, limit: int | None = None) -> Iterator[dict[str, Any]]:
        return self.walk(self.search, self.index, {"query_string": {"query": query}},
                             limit=limit, page_size=self.page_size)

    def run(self, query: str, *, limit: int | None = None) -> tuple[int, int]:
        """(sent, skipped): documents re-sent, and ones that were not stories."""
        sent = skipped = 0
        batch: list[NewsItem] = []
        for source in self.documents(query, limit):
            try:
                batch.append(from_document(source))
            except PayloadError as exc:
                log.warning("skipped: %s", exc)
                skipped += 1
                continue
            if len(batch) >= self.batch_size:
                self._send(batch)
                sent += len(batch)
                batch = []
        if batch:
            self._send(batch)
            sent += len(batch)
        return sent, skipped

    def _send(self, batch: list[NewsItem]) -> None:
        while self.queue_depth() > self.max_queue:
            self.sleep(1.0)
        self.send(batch)
