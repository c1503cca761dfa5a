"""The pure parsing layer of the ingest service: fetched bytes in,
:class:`~shared.models.NewsItem` out. No network, no Redis, no clock.

Entry point: :func:`parse_document`. Formats, detected by content (BOM, root
element, JSON keys; never by file name or Content-Type):

==============  ==========================================================
``rss``         RSS 0.9x / 1.0 (RDF) / 2.0, via feedparser
``atom``        Atom 0.3 / 1.0, via feedparser
``jsonfeed``    JSON Feed 1.0 / 1.1
``ninjs``       IPTC ninjs 1.x / 2.x / 3.x (object, list or wrapped list)
``newsml-g2``   IPTC NewsML-G2 newsMessage / newsItem / packageItem
``newsml-1``    IPTC NewsML 1.x (``<NewsML>``; AFP, Business Wire)
``nitf``        IPTC NITF 3.x (``<nitf>``)
``sitemap``     sitemap ``urlset`` (with Google News tags) / ``sitemapindex``
``html``        an article page, via trafilatura
``anpa1312``    ANPA 1312 wire messages (``SOH`` ... ``EOT``; AP, CP, Reuters)
``iptc7901``    IPTC 7901 wire messages (``SOH`` ... ``EOT``; dpa, KNA, Belga)
==============  ==========================================================

Outcomes (see the house style's "three explicit outcomes"):

* a :class:`ParseResult` - possibly with no items (an empty feed) and with
  one :class:`ItemError` per entry that could not become an item; one bad
  entry never drops the others;
* :class:`shared.errors.ParseError` when the document as a whole is
  unusable: empty, unknown format, malformed JSON/XML (for the strict
  formats), hostile XML (entity declarations), or a forced
  ``fmt`` the content does not match. ``reason`` says which.

No other exception escapes for any input bytes; anything else is a bug.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.ingest import dates as dates_mod
from services.ingest.text import BoilerplateRules, default_boilerplate_rules
from shared.errors import ParseError
from shared.models import NewsItem, utc

from . import (
    _detect,
    _feed,
    _html,
    _jsonfeed,
    _newsml,
    _newsml1,
    _ninjs,
    _nitf,
    _sitemap,
    _wire,
)
from ._build import Context, Draft, Rejected, build_item, finish_items
from ._model import (
    FORMATS,
    FeedMeta,
    Format,
    ItemError,
    ParseResult,
    SitemapRef,
    SitemapUrl,
    SourceRef,
)
from ._xml import check_entities, check_prolog, parse_xml

__all__ = [
    "FORMATS",
    "FeedMeta",
    "Format",
    "ItemError",
    "ParseResult",
    "SitemapRef",
    "SitemapUrl",
    "SourceRef",
    "detect_format",
    "parse_document",
]

_FEED_CT = ("rss", "atom", "rdf", "xml")
_FAMILY = {
    "rss": "feed",
    "atom": "feed",
    "newsml-g2": "newsml-g2",
    "newsml-1": "newsml-1",
    "nitf": "nitf",
    "sitemap": "sitemap",
    "html": "html",
}


def detect_format(data: bytes) -> str:
    """The format :func:`parse_document` would pick for ``fmt="auto"``;
    raises ParseError when there is none."""
    return _detect.detect(data).format


def _ct_mismatch(content_type: str | None, fmt: str) -> str | None:
    if not content_type:
        return None
    ctype = content_type.split(";")[0].strip().lower()
    served_feed = any(k in ctype for k in _FEED_CT)
    served_json = "json" in ctype
    served_html = "html" in ctype and "xhtml" not in ctype
    markup_feed = fmt in ("rss", "atom", "newsml-g2", "newsml-1", "nitf", "sitemap")
    if (
        (served_feed and fmt in ("html", "jsonfeed", "ninjs"))
        or (served_json and fmt not in ("jsonfeed", "ninjs"))
        or (served_html and markup_feed)
    ):
        return f"content_type_mismatch: served as {ctype} but the content is {fmt}"
    return None


def _decoded_for_checks(data: bytes) -> str | None:
    encoding, _ = _detect.bom_encoding(data)
    if encoding and encoding.startswith("utf-") and encoding != "utf-8":
        return _detect.sniff_text(data, limit=None)
    return None


MAX_ITEMS = 10_000  # entries read from one document
MAX_ITEM_CHARS = 1_000_000  # text characters of one item


def _build_all(
    drafts: Sequence[Draft | Rejected], ctx: Context, warnings: list[str],
    max_items: int = 10_000,
) -> tuple[list[NewsItem], list[ItemError]]:
    built: list[tuple[int, NewsItem]] = []
    errors: list[ItemError] = []
    if len(drafts) > max_items:  # formats read whole (JSON, NewsML): the rest is refused
        errors.append(_too_many(max_items, len(drafts) - max_items))
        drafts = drafts[:max_items]
    for index, draft in enumerate(drafts):
        if isinstance(draft, Rejected):
            if draft.expected:
                warnings.append(f"{draft.reason}: entry {index}: {draft.message}")
            else:
                errors.append(
                    ItemError(
                        index=index, guid=draft.guid, reason=draft.reason, message=draft.message
                    )
                )
            continue
        try:
            built.append((index, build_item(draft, ctx)))
        except ParseError as exc:  # this entry only
            guid = draft.guid.strip() if draft.guid else None
            errors.append(ItemError(index=index, guid=guid, reason=exc.reason, message=exc.message))
    items, duplicate_warnings = finish_items(built)
    warnings.extend(duplicate_warnings)
    return items, errors


def parse_document(
    data: bytes,
    *,
    source: SourceRef,
    fetched_at: datetime,
    content_type: str | None = None,
    base_url: str | None = None,
    fmt: str = "auto",
    boilerplate: BoilerplateRules | None = None,
    max_items: int = MAX_ITEMS,
    max_item_chars: int = MAX_ITEM_CHARS,
) -> ParseResult:
    """Parse one fetched document.

    ``fetched_at`` is "now" for every date rule (nothing reads the clock);
    ``content_type`` is the HTTP Content-Type (its charset is used for
    decoding; it never decides the format); ``base_url`` resolves relative
    links; ``fmt`` forces a format (one of :data:`FORMATS` or ``"auto"``);
    ``boilerplate`` defaults to the shipped rules, read from the package once
    per process (:func:`services.ingest.text.default_boilerplate_rules`):
    inject rules built at start-up to keep every call free of I/O.

    Every item has ``id == item_id(source.id, key)`` (key: the provider's
    guid, else ``url:<canonical link>``, else a title/date hash - see
    :mod:`services.ingest.identity`) and ``uri`` = the guid, else the
    canonical link, else ``urn:wirestream:<source>:<id>``.

    Bounds: the first ``max_items`` entries are read and the rest refused
    with one ``too_many_entries`` error (a feed is cut before it is parsed,
    so a document of 300,000 tiny items costs what 10,000 do); an item whose
    text (headline, summary and body) passes ``max_item_chars`` is refused
    (``item_too_large``), the others kept.

    Raises ParseError for documents that are unusable as a whole (see the
    module docstring); ValueError for an unknown ``fmt`` (a caller bug).
    """
    if fmt != "auto" and fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected 'auto' or one of {FORMATS}")
    sniffed = _detect.detect(data, forced=fmt)
    fmt_used = sniffed.format if fmt == "auto" else fmt
    feeds = ("rss", "atom")
    if fmt != "auto" and not (fmt == sniffed.format or (fmt in feeds and sniffed.format in feeds)):
        raise ParseError(
            f"document was forced to {fmt} but its content is {sniffed.format}",
            reason="format_mismatch",
        )
    warnings: list[str] = []
    if mismatch := _ct_mismatch(content_type, sniffed.format):
        warnings.append(mismatch)
    family = _FAMILY.get(fmt_used)
    if family is not None and family != "html" and sniffed.prolog is not None:
        check_entities(data, _decoded_for_checks(data))
        check_prolog(sniffed.prolog)
    ctx = Context(
        source=source,
        fetched_at=utc(fetched_at),
        rules=boilerplate or default_boilerplate_rules(),
        base_url=base_url,
        max_item_chars=max_item_chars,
    )
    doc = _Doc(data=data, sniffed=sniffed, content_type=content_type, warnings=warnings,
               forced=fmt != "auto", max_items=max_items)
    if fmt_used in ("rss", "atom"):
        doc.data, doc.cut_entries = _cut_feed(data, max_items)
    with dates_mod.naive_zone(source.timezone):
        result = _PARSERS[fmt_used](doc, ctx)
    if doc.cut_entries:
        result.errors.append(_too_many(max_items, doc.cut_entries))
    return result


# <item ...> / <entry ...> start tags (RSS 0.9x-2.0, RSS 1.0, Atom), with or
# without a namespace prefix
_ENTRY_START_RE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:item|entry)(?=[\s/>])")


def _cut_feed(data: bytes, max_items: int) -> tuple[bytes, int]:
    """``data`` cut before its entry number ``max_items`` + 1 (the parser
    recovers the unclosed rest) and how many entries were cut off; ``data``
    itself when it has no more than ``max_items``. Entry start tags are
    found in the raw bytes (an ASCII-compatible encoding is assumed; a
    UTF-16 feed is never cut, its 10 MB byte cap holds it)."""
    starts = _ENTRY_START_RE.finditer(data)
    for number, match in enumerate(starts, 1):
        if number > max_items:
            rest = 1 + sum(1 for _ in starts)
            return data[:match.start()], rest
    return data, 0


def _too_many(max_items: int, refused: int) -> ItemError:
    return ItemError(index=max_items, guid=None, reason="too_many_entries",
                     message=f"the document has {max_items + refused:,} entries: the first "
                             f"{max_items:,} were read, the other {refused:,} refused")


@dataclass
class _Doc:
    data: bytes
    sniffed: _detect.Sniffed
    content_type: str | None
    warnings: list[str]
    forced: bool = False  # the caller named the format (not detected)
    charset_repaired: bool = False  # read as UTF-8 against its declared charset
    max_items: int = 10_000
    cut_entries: int = 0  # entries cut off a feed before parsing (max_items)


def _parse_feed(doc: _Doc, ctx: Context) -> ParseResult:
    parsed = _feed.parse_feed(doc.data, content_type=doc.content_type, base_url=ctx.base_url)
    version = str(parsed.get("version") or "")
    if guessed := parsed.get("wirestream_charset_guess"):
        doc.warnings.append(
            f"charset: none declared and windows-1252 read as mojibake; decoded as {guessed}"
        )
    if parsed.get("bozo"):
        exc = parsed.get("bozo_exception")
        doc.warnings.append(f"bozo: {type(exc).__name__}: {exc}")
        if not version and not parsed.get("entries"):
            raise ParseError(
                f"not a feed: feedparser recovered nothing ({type(exc).__name__}: {exc})",
                reason="not_a_feed",
            )
    meta = _feed.feed_meta(parsed, doc.data)
    ctx.feed_updated = meta.updated
    ctx.feed_language = meta.language
    items, errors = _build_all(_feed.iter_drafts(parsed, ctx), ctx, doc.warnings, doc.max_items)
    return ParseResult(
        format="atom" if version.startswith("atom") else "rss",
        format_version=version or None,
        items=items,
        errors=errors,
        warnings=doc.warnings,
        feed=meta,
    )


def _parse_jsonfeed(doc: _Doc, ctx: Context) -> ParseResult:
    value: Any = doc.sniffed.json_value
    meta = _jsonfeed.feed_meta(value)
    ctx.feed_language = meta.language
    items, errors = _build_all(_jsonfeed.iter_drafts(value, ctx), ctx, doc.warnings, doc.max_items)
    return ParseResult(
        format="jsonfeed",
        format_version=doc.sniffed.version,
        items=items,
        errors=errors,
        warnings=doc.warnings,
        feed=meta,
    )


def _parse_ninjs(doc: _Doc, ctx: Context) -> ParseResult:
    drafts = _ninjs.iter_drafts(doc.sniffed.json_value, ctx, forced=doc.forced)
    items, errors = _build_all(drafts, ctx, doc.warnings, doc.max_items)
    return ParseResult(
        format="ninjs",
        format_version=doc.sniffed.version,
        items=items,
        errors=errors,
        warnings=doc.warnings,
    )


def _parse_newsml(doc: _Doc, ctx: Context) -> ParseResult:
    root = parse_xml(doc.data, encoding=_xml_encoding(doc))
    meta = _newsml.feed_meta(root)
    ctx.feed_updated = meta.updated
    items, errors = _build_all(_newsml.iter_drafts(root, ctx, doc.warnings), ctx, doc.warnings,
                               doc.max_items)
    _flag_repaired(doc, items)
    return ParseResult(
        format="newsml-g2",
        format_version=root.get("standardversion") or _first_item_version(root),
        items=items,
        errors=errors,
        warnings=doc.warnings,
        feed=meta,
    )


def _parse_newsml1(doc: _Doc, ctx: Context) -> ParseResult:
    root = parse_xml(doc.data, encoding=_xml_encoding(doc))
    meta = _newsml1.feed_meta(root)
    ctx.feed_updated = meta.updated
    items, errors = _build_all(_newsml1.iter_drafts(root, ctx), ctx, doc.warnings, doc.max_items)
    _flag_repaired(doc, items)
    version = root.get("Version")
    return ParseResult(format="newsml-1", format_version=version.strip() if version else None,
                       items=items, errors=errors, warnings=doc.warnings, feed=meta)


def _parse_nitf(doc: _Doc, ctx: Context) -> ParseResult:
    root = parse_xml(doc.data, encoding=_xml_encoding(doc))
    items, errors = _build_all(_nitf.iter_drafts(root, ctx), ctx, doc.warnings, doc.max_items)
    _flag_repaired(doc, items)
    version = root.get("version") or ""  # "-//IPTC//DTD NITF 3.6//EN"
    label = version.split("NITF", 1)[1].split("//", 1)[0].strip() if "NITF" in version else ""
    return ParseResult(format="nitf", format_version=label or None, items=items, errors=errors,
                       warnings=doc.warnings)


def _parse_sitemap(doc: _Doc, ctx: Context) -> ParseResult:
    root = parse_xml(doc.data, encoding=_xml_encoding(doc))
    kind, urls, children, errors = _sitemap.parse_sitemap(root, ctx.base_url)
    return ParseResult(
        format="sitemap",
        format_version=kind,
        errors=errors,
        warnings=doc.warnings,
        sitemap_urls=urls,
        child_sitemaps=children,
    )


def _parse_html(doc: _Doc, ctx: Context) -> ParseResult:
    markup = _html.decode_html(doc.data, doc.content_type)
    drafts, meta = _html.iter_drafts(markup, ctx)
    items, errors = _build_all(drafts, ctx, doc.warnings, doc.max_items)
    return ParseResult(format="html", items=items, errors=errors, warnings=doc.warnings, feed=meta)


def _parse_wire(doc: _Doc, ctx: Context) -> ParseResult:
    fmt = doc.sniffed.format
    items, errors = _build_all(_wire.iter_drafts(doc.data, fmt, ctx), ctx, doc.warnings,
                               doc.max_items)
    return ParseResult(format=fmt, items=items, errors=errors,  # type: ignore[arg-type]
                       warnings=doc.warnings)


# one parser per format (FORMATS); "rss" and "atom" share feedparser
_PARSERS: dict[str, Callable[[_Doc, Context], ParseResult]] = {
    "rss": _parse_feed,
    "atom": _parse_feed,
    "jsonfeed": _parse_jsonfeed,
    "ninjs": _parse_ninjs,
    "newsml-g2": _parse_newsml,
    "newsml-1": _parse_newsml1,
    "nitf": _parse_nitf,
    "sitemap": _parse_sitemap,
    "html": _parse_html,
    "anpa1312": _parse_wire,
    "iptc7901": _parse_wire,
}


def _first_item_version(root: Any) -> str | None:
    for el in root.iter():
        if isinstance(el.tag, str) and el.get("standardversion"):
            value: str = el.get("standardversion")
            return value
    return None


_XML_ENCODING_RE = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"']")
# single-byte charsets a server or a newsroom system declares by habit
_SINGLE_BYTE = re.compile(r"^(?:iso[-_]?8859[-_]?\d+|latin[-_]?\d|l\d|(?:windows|cp)[-_]?125\d|"
                          r"us-ascii|ascii|ansi_x3\.4-1968)$")


def _xml_encoding(doc: _Doc) -> str | None:
    """The encoding lxml must read ``doc`` with, or None to follow the
    document. Bytes that are valid UTF-8 with non-ASCII text but declare a
    single-byte charset (``encoding="iso-8859-1"``, or only an HTTP
    charset) are UTF-8: real ISO-8859-1 text is almost never valid UTF-8,
    while the opposite is a common misconfiguration. Such a document is
    read as UTF-8, with a warning, and its items are flagged
    ``charset_repaired``."""
    data = doc.data
    match = _XML_ENCODING_RE.match(data[:300])
    http = _http_charset_if_undeclared(data, doc.content_type)
    declared = match.group(1).decode("ascii").lower() if match else http
    if declared and _SINGLE_BYTE.match(declared) and not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return http
        doc.charset_repaired = True
        doc.warnings.append(f"declared charset {declared} but the bytes are UTF-8: read as UTF-8")
        return "utf-8"
    return http


def _flag_repaired(doc: _Doc, items: list[NewsItem]) -> None:
    if doc.charset_repaired:
        for item in items:
            if "charset_repaired" not in item.ingest_flags:
                item.ingest_flags.append("charset_repaired")


def _http_charset_if_undeclared(data: bytes, content_type: str | None) -> str | None:
    """The HTTP charset, used only when the XML itself says nothing (no BOM,
    no encoding in the XML declaration)."""
    if not content_type or "charset" not in content_type.lower():
        return None
    if _detect.bom_encoding(data)[0] is not None:
        return None
    head = data[:200].lstrip()
    if head.startswith(b"<?xml") and b"encoding" in head.split(b"?>", 1)[0]:
        return None
    charset = content_type.lower().split("charset", 1)[1].lstrip(" =\"'").split(";")[0]
    charset = charset.strip(" \"'")
    try:
        "".encode(charset)
    except LookupError:
        return None
    return charset or None
