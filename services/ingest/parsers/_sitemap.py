"""Sitemaps (https://www.sitemaps.org/protocol.html) with the Google News
extension (``news:`` namespace): ``urlset`` -> :class:`SitemapUrl` entries,
``sitemapindex`` -> :class:`SitemapRef` children. Articles themselves are
fetched later, so a sitemap yields no :class:`NewsItem`. Elements are
matched by local name; a ``<url>`` without ``<loc>`` is an ``missing_loc``
error and does not stop the rest."""

from __future__ import annotations

from typing import Any

from services.ingest.dates import parse_date
from services.ingest.identity import canonical_url
from services.ingest.text import single_line

from ._model import ItemError, SitemapRef, SitemapUrl

__all__ = ["parse_sitemap"]


def _local(el: Any) -> str | None:
    return el.tag.rsplit("}", 1)[-1] if isinstance(el.tag, str) else None


def _find(el: Any, *path: str) -> Any | None:
    current = el
    for name in path:
        current = next((c for c in current if _local(c) == name), None)
        if current is None:
            return None
    return current


def _text(el: Any | None) -> str | None:
    if el is None:
        return None
    value = single_line("".join(el.itertext()))
    return value or None


def parse_sitemap(
    root: Any, base_url: str | None
) -> tuple[str, list[SitemapUrl], list[SitemapRef], list[ItemError]]:
    """(kind, urls, children, errors) where kind is ``urlset`` or ``sitemapindex``."""
    kind = _local(root) or ""
    urls: list[SitemapUrl] = []
    children: list[SitemapRef] = []
    errors: list[ItemError] = []
    entry_name = "url" if kind == "urlset" else "sitemap"
    index = -1
    for entry in root:
        if _local(entry) != entry_name:
            continue
        index += 1
        loc = _text(_find(entry, "loc"))
        if not loc:
            errors.append(
                ItemError(
                    index=index, reason="missing_loc", message=f"<{entry_name}> without <loc>"
                )
            )
            continue
        lastmod = parse_date(_text(_find(entry, "lastmod")))
        if kind == "sitemapindex":
            children.append(SitemapRef(loc=loc, lastmod=lastmod))
            continue
        keywords_raw = _text(_find(entry, "news", "keywords"))
        urls.append(
            SitemapUrl(
                loc=loc,
                canonical_url=canonical_url(loc, base_url=base_url),
                lastmod=lastmod,
                title=_text(_find(entry, "news", "title")),
                publication_date=parse_date(_text(_find(entry, "news", "publication_date"))),
                language=_text(_find(entry, "news", "publication", "language")),
                publication_name=_text(_find(entry, "news", "publication", "name")),
                keywords=[k.strip() for k in (keywords_raw or "").split(",") if k.strip()],
            )
        )
    return kind, urls, children, errors
