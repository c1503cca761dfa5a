"""HTML article pages: main text and metadata with trafilatura.

* text: trafilatura's main-content extraction (comments excluded, tables
  kept), converted to paragraphs by the same walker as every other HTML;
* headline: trafilatura's title (``og:title``/``<title>``/``<h1>``);
* author: trafilatura's author, else ``<meta name="author">``;
* dates: ``article:published_time``/``article:modified_time`` meta, else
  the first ``<time datetime>``, else trafilatura's (htmldate's) date;
* language: ``<html lang>``, ``<meta http-equiv="content-language">``,
  ``og:locale``; else the feed/source hint;
* link: ``<link rel="canonical">``, ``og:url``, else the base URL.

The page has no provider guid: its id comes from the canonical link (see
:mod:`services.ingest.identity`). A page without extractable main content
(less than :data:`MIN_ARTICLE_CHARS` characters: error pages, paywall stubs)
gives no item and one ``no_article_content`` error.
"""

from __future__ import annotations

import re
from typing import Any

import charset_normalizer
import trafilatura
from lxml import html as lxml_html

from services.ingest import text as textmod
from services.ingest.dates import parse_date
from shared.errors import ParseError

from ._build import Body, Context, Draft, Rejected, normalise_language, str_or_none
from ._detect import bom_encoding
from ._model import FeedMeta

__all__ = ["decode_html", "iter_drafts"]

# Less main text than this is an error page, a paywall stub or a landing
# page, not an article (a one-line "Try again later." must not be indexed).
MIN_ARTICLE_CHARS = 200
_META_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_CT_CHARSET_RE = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", re.I)


def _try_decode(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except (LookupError, UnicodeDecodeError):
        return None


def decode_html(data: bytes, content_type: str | None) -> str:
    """BOM, then the HTTP charset, then ``<meta charset>``, then UTF-8, then
    charset-normalizer's best guess, then windows-1252 (never fails)."""
    encoding, skip = bom_encoding(data)
    if encoding:
        return data[skip:].decode(encoding, errors="replace")
    declared: list[str] = []
    if content_type and (m := _CT_CHARSET_RE.search(content_type)):
        declared.append(m.group(1))
    if m2 := _META_CHARSET_RE.search(data[:4096]):
        declared.append(m2.group(1).decode("ascii", "replace"))
    for name in [*declared, "utf-8"]:
        if (decoded := _try_decode(data, name)) is not None:
            return decoded
    best = charset_normalizer.from_bytes(data).best()
    if best is not None:
        return str(best)
    return data.decode("cp1252", errors="replace")


def _meta(tree: Any, *names: str) -> str | None:
    for name in names:
        for el in tree.iter("meta"):
            key = (el.get("property") or el.get("name") or el.get("http-equiv") or "").lower()
            if key == name and (content := str_or_none(el.get("content"))):
                return content
    return None


def _language(tree: Any) -> str | None:
    root_lang = str_or_none(tree.get("lang")) or str_or_none(
        tree.get("{http://www.w3.org/XML/1998/namespace}lang")
    )
    return root_lang or _meta(tree, "content-language", "og:locale", "language", "dc.language")


def _canonical(tree: Any) -> str | None:
    for el in tree.iter("link"):
        rels = (el.get("rel") or "").lower().split()
        if "canonical" in rels and (href := str_or_none(el.get("href"))):
            return href
    return _meta(tree, "og:url")


def _first_time(tree: Any) -> str | None:
    for el in tree.iter("time"):
        if value := str_or_none(el.get("datetime")):
            return value
    return None


def iter_drafts(markup: str, ctx: Context) -> tuple[list[Draft | Rejected], FeedMeta]:
    try:
        tree = lxml_html.document_fromstring(
            markup, parser=lxml_html.HTMLParser(no_network=True, remove_comments=True)
        )
    except (ValueError, lxml_html.etree.ParserError, lxml_html.etree.XMLSyntaxError):
        return [Rejected("no_article_content", "HTML document is empty")], FeedMeta()
    language = _language(tree)
    languages = [language.split("-")[0].split("_")[0]] if language else None
    try:
        doc = trafilatura.bare_extraction(
            markup,
            url=ctx.base_url,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            include_links=True,
            include_images=False,
            deduplicate=False,
            date_extraction_params={"extensive_search": False, "original_date": True},
        )
    except (UnicodeError, LookupError, ValueError, TypeError, IndexError, KeyError) as exc:
        # mapped at the boundary like feedparser's crash paths: unreadable page
        raise ParseError(
            f"trafilatura could not read the page: {type(exc).__name__}: {exc}",
            reason="html_unreadable",
        ) from exc
    meta = FeedMeta(
        title=str_or_none(getattr(doc, "sitename", None)) if doc is not None else None,
        link=ctx.base_url,
        language=normalise_language(language),
    )
    body_el = getattr(doc, "body", None) if doc is not None else None
    paragraphs = (
        textmod.element_to_paragraphs(body_el, rules=ctx.rules, mark_links=True)
        if body_el is not None
        else []
    )
    if doc is None or sum(len(p) for p in paragraphs) < MIN_ARTICLE_CHARS:
        return [Rejected("no_article_content", "no main text found in the HTML page")], meta
    published = parse_date(
        _meta(tree, "article:published_time", "og:article:published_time", "date", "dc.date"),
        languages=languages,
    ) or parse_date(_first_time(tree), languages=languages)
    updated = parse_date(
        _meta(tree, "article:modified_time", "og:updated_time", "last-modified"),
        languages=languages,
    )
    if published is None and updated is None:
        published = parse_date(str_or_none(getattr(doc, "date", None)), languages=languages)
    title = str_or_none(getattr(doc, "title", None))
    description = str_or_none(getattr(doc, "description", None))
    tags = [t for t in (getattr(doc, "tags", None) or []) if isinstance(t, str)]
    categories = [c for c in (getattr(doc, "categories", None) or []) if isinstance(c, str)]
    draft = Draft(
        link=_canonical(tree) or str_or_none(getattr(doc, "url", None)) or ctx.base_url,
        headline=Body(title, "text") if title else None,
        summary=Body(description, "text") if description else None,
        body=Body(paragraphs, "paragraphs"),
        byline=str_or_none(getattr(doc, "author", None)) or _meta(tree, "author"),
        language=language,
        published=published,
        updated=updated,
        keywords=categories + tags,
    )
    return [draft], meta
