"""Result types of the parsing layer."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.models import NewsItem, UtcDatetime

__all__ = [
    "FORMATS",
    "FeedMeta",
    "Format",
    "ItemError",
    "ParseResult",
    "SitemapRef",
    "SitemapUrl",
    "SourceRef",
]

Format = Literal["rss", "atom", "jsonfeed", "ninjs", "newsml-g2", "newsml-1", "nitf", "sitemap",
                 "html", "anpa1312", "iptc7901"]
FORMATS: tuple[str, ...] = ("rss", "atom", "jsonfeed", "ninjs", "newsml-g2", "newsml-1", "nitf",
                            "sitemap", "html", "anpa1312", "iptc7901")


class SourceRef(BaseModel):
    """Where the bytes came from: our source id and an optional language
    hint used when the document declares none."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    language: str | None = None
    # IANA zone of the source's times that carry none (default UTC)
    timezone: str | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        from services.ingest.dates import zone_of

        zone_of(value)  # ValueError for an unknown name
        return value


class ItemError(BaseModel):
    """One entry that could not become a :class:`NewsItem` (or a sitemap
    URL). The rest of the document is unaffected. ``index`` is the entry's
    position among the document's entries (items, ninjs objects, G2
    news/package items, sitemap ``<url>``s). ``reason`` is a slug for metrics
    and dead letters: ``invalid_item``, ``empty_item``,
    ``no_article_content``, ``missing_loc``.

    Expected drops are not errors: duplicate ids and non-news entries (ninjs
    events, G2 concept items in a message) only add a warning."""

    model_config = ConfigDict(extra="forbid")

    index: int
    guid: str | None = None
    reason: str
    message: str


class FeedMeta(BaseModel):
    """Document-level facts the poller uses to schedule the next fetch."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = None
    link: str | None = None
    language: str | None = None
    updated: UtcDatetime | None = None
    ttl: int | None = None  # minutes, RSS <ttl>
    skip_hours: list[int] = Field(default_factory=list)  # 0-23, GMT
    skip_days: list[str] = Field(default_factory=list)  # "Monday" ... "Sunday"


class SitemapUrl(BaseModel):
    """One ``<url>`` of a (news) sitemap: the article is fetched afterwards."""

    model_config = ConfigDict(extra="forbid")

    loc: str
    canonical_url: str | None = None
    lastmod: UtcDatetime | None = None
    title: str | None = None  # news:title
    publication_date: UtcDatetime | None = None  # news:publication_date
    language: str | None = None  # news:publication/news:language
    publication_name: str | None = None  # news:publication/news:name
    keywords: list[str] = Field(default_factory=list)  # news:keywords


class SitemapRef(BaseModel):
    """One ``<sitemap>`` of a sitemap index."""

    model_config = ConfigDict(extra="forbid")

    loc: str
    lastmod: UtcDatetime | None = None


class ParseResult(BaseModel):
    """Everything one document yielded. ``items`` are validated
    :class:`NewsItem` with unique ids, in document order; ``errors`` has one
    entry per broken entry; ``warnings`` are notes as ``"slug: message"``
    strings: ``bozo`` (feedparser recovered from bad XML/encoding),
    ``duplicate_id``, ``skipped_type``/``skipped_item_class`` (non-news
    entries), ``content_type_mismatch``."""

    model_config = ConfigDict(extra="forbid")

    format: Format
    format_version: str | None = None  # "rss20", "atom10", "ninjs-3", "1.1", "2.28" ...
    items: list[NewsItem] = Field(default_factory=list)
    errors: list[ItemError] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    feed: FeedMeta = Field(default_factory=FeedMeta)
    sitemap_urls: list[SitemapUrl] = Field(default_factory=list)
    child_sitemaps: list[SitemapRef] = Field(default_factory=list)
