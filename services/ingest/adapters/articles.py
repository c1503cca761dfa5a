"""From sitemaps and summary-only feeds to article pages.

* **News sitemaps**: a ``sitemapindex`` is followed one level down (children
  whose ``lastmod`` changed since the last poll, at most
  ``max_child_sitemaps``); each URL of a ``urlset`` is fetched as an article
  page unless it was already fetched with the same ``lastmod``/publication
  date (remembered in Redis for 30 days), at most ``max_articles`` a poll —
  the rest waits for the next poll. The sitemap's Google News title, date and
  language fill what the page lacks.
* **Full text** for feeds that carry only summaries (the source's
  ``fulltext`` setting): each new or changed item's link is fetched and the
  extracted article text becomes the body when it is longer than what the
  feed gave. A page that cannot be fetched leaves the item as the feed gave
  it, flagged ``fulltext_failed``.

Every page goes through the same guarded fetcher (SSRF guard, size cap,
deadline) and the trafilatura-based HTML parser as any other document.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import redis

from services.ingest.parsers import ParseResult, SitemapUrl, SourceRef
from services.ingest.sources import Source
from shared.errors import FetchFailed, WirestreamError
from shared.models import NewsItem

__all__ = ["ArticleExpander", "ExpandReport"]

log = logging.getLogger(__name__)

SEEN_PREFIX = "wirestream:seen_url:"
SEEN_TTL_SECONDS = 30 * 24 * 3600


@dataclass
class ExpandReport:
    fetched: int = 0
    skipped_seen: int = 0
    deferred: int = 0
    errors: list[tuple[str, str, str]] = field(default_factory=list)  # (url, reason, message)


class ArticleExpander:
    def __init__(
        self,
        *,
        fetcher: Any,
        parse: Callable[..., ParseResult],
        client: redis.Redis,
        max_articles: int = 50,
        max_child_sitemaps: int = 10,
    ) -> None:
        self._fetcher = fetcher
        self._parse = parse
        self._redis = client
        self.max_articles = max_articles
        self.max_child_sitemaps = max_child_sitemaps

    # ------------------------------------------------------------ seen set
    def _key(self, source: Source, url: str) -> str:
        return f"{SEEN_PREFIX}{source.id}:{hashlib.sha1(url.encode()).hexdigest()}"

    def _unseen(self, source: Source, pairs: list[tuple[str, str]]) -> list[int]:
        """Indexes of (url, marker) pairs not fetched before with that marker."""
        if not pairs:
            return []
        current = self._redis.mget([self._key(source, url) for url, _ in pairs])
        return [
            i
            for i, ((_, marker), seen) in enumerate(zip(pairs, current, strict=True))
            if seen is None or seen.decode() != marker  # type: ignore[union-attr]
        ]

    def _mark(self, source: Source, url: str, marker: str) -> None:
        self._redis.set(self._key(source, url), marker, ex=SEEN_TTL_SECONDS)

    # ------------------------------------------------------------- sitemaps
    def sitemap_items(
        self, source: Source, parsed: ParseResult, fetched_at: datetime
    ) -> tuple[list[NewsItem], ExpandReport]:
        report = ExpandReport()
        urls = list(parsed.sitemap_urls)
        children = [
            (c.loc, c.lastmod.isoformat() if c.lastmod else "-") for c in parsed.child_sitemaps
        ]
        for index in self._unseen(source, children)[: self.max_child_sitemaps]:
            loc, marker = children[index]
            try:
                child = self._fetch_parse(source, loc, fetched_at, fmt="sitemap")
            except WirestreamError as exc:
                report.errors.append((loc, exc.reason, str(exc)))
                continue
            urls.extend(child.sitemap_urls)
            self._mark(source, loc, marker)
        pairs = [(u.loc, _marker(u)) for u in urls]
        todo = self._unseen(source, pairs)
        report.skipped_seen = len(pairs) - len(todo)
        report.deferred = max(0, len(todo) - self.max_articles)
        items: list[NewsItem] = []
        for index in todo[: self.max_articles]:
            entry = urls[index]
            try:
                page = self._fetch_parse(source, entry.loc, fetched_at, fmt="html")
            except FetchFailed as exc:
                report.errors.append((entry.loc, exc.reason, str(exc)))
                continue  # transient: not marked, tried again next poll
            except WirestreamError as exc:
                report.errors.append((entry.loc, exc.reason, str(exc)))
                self._mark(source, entry.loc, pairs[index][1])
                continue
            report.fetched += 1
            self._mark(source, entry.loc, pairs[index][1])
            for item in page.items:
                items.append(_fill_from_sitemap(item, entry))
            for error in page.errors:
                report.errors.append((entry.loc, error.reason, error.message))
        return items, report

    # ------------------------------------------------------------ full text
    def add_fulltext(
        self, source: Source, items: list[NewsItem], fetched_at: datetime
    ) -> tuple[list[NewsItem], ExpandReport]:
        report = ExpandReport()
        out: list[NewsItem] = []
        for n, item in enumerate(items):
            if n >= self.max_articles or not item.url:
                if item.url:
                    report.deferred += 1
                out.append(item)
                continue
            try:
                page = self._fetch_parse(source, item.url, fetched_at, fmt="html")
            except WirestreamError as exc:
                report.errors.append((item.url, exc.reason, str(exc)))
                out.append(
                    item.model_copy(
                        update={"ingest_flags": [*item.ingest_flags, "fulltext_failed"]}
                    )
                )
                continue
            report.fetched += 1
            body = page.items[0].body_text if page.items else None
            if body and len(body) > len(item.body_text or ""):
                out.append(
                    item.model_copy(
                        update={
                            "body_text": body,
                            "ingest_flags": [*item.ingest_flags, "fulltext"],
                        }
                    )
                )
            else:
                out.append(
                    item.model_copy(update={"ingest_flags": [*item.ingest_flags, "fulltext_empty"]})
                )
        return out, report

    def _fetch_parse(
        self, source: Source, url: str, fetched_at: datetime, *, fmt: str
    ) -> ParseResult:
        result = self._fetcher.fetch(url)
        return self._parse(
            result.body,
            source=SourceRef(id=source.id, language=source.language, timezone=source.timezone),
            fetched_at=fetched_at,
            content_type=result.content_type,
            base_url=result.final_url,
            fmt=fmt,
        )


def _marker(entry: SitemapUrl) -> str:
    when = entry.lastmod or entry.publication_date
    return when.isoformat() if when else "-"


def _fill_from_sitemap(item: NewsItem, entry: SitemapUrl) -> NewsItem:
    update: dict[str, Any] = {}
    if not item.headline and entry.title:
        update["headline"] = entry.title
    if entry.publication_date and not item.firstcreated:
        update["firstcreated"] = entry.publication_date
    if entry.language and not item.language:
        update["language"] = entry.language
    if entry.keywords:
        update["provider_keywords"] = [*item.provider_keywords, *entry.keywords]
    return item.model_copy(update=update) if update else item
