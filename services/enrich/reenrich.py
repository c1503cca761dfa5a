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

from shared.errors import PayloadError, ServiceUnavailable
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
WAIT_REPORT = 10  # seconds between reports while waiting for the queue
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
    # Waiting longer than this for the queue to drain is a failure (no enrich
    # worker takes the messages), not a reason to wait for ever.
    max_wait: float = 600.0
    sleep: Callable[[float], None] = time.sleep
    # Told after each batch sent (documents sent so far), and every
    # WAIT_REPORT seconds of waiting (queue depth, seconds waited).
    progress: Callable[[int], None] = lambda sent: None
    waiting: Callable[[int, float], None] = lambda depth, waited: None

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
                sent = self._send(batch, sent)
                batch = []
        if batch:
            sent = self._send(batch, sent)
        return sent, skipped

    def _send(self, batch: list[NewsItem], sent: int) -> int:
        """Send ``batch`` once the queue is short enough; the new count sent.
        Raises ServiceUnavailable after ``max_wait`` seconds of waiting."""
        waited = 0.0
        while (depth := self.queue_depth()) > self.max_queue:
            if waited >= self.max_wait:
                raise ServiceUnavailable(
                    f"the enrich queue held more than {self.max_queue} messages for "
                    f"{waited:.0f} s: no enrich worker is taking them (see `wirestream "
                    f"status`); {sent} document(s) were re-sent before", reason="no_consumer")
            if waited % WAIT_REPORT == 0:
                self.waiting(depth, waited)
            self.sleep(1.0)
            waited += 1.0
        self.send(batch)
        self.progress(sent + len(batch))
        return sent + len(batch)
