"""Format detection by content: byte-order mark, root element, JSON keys.
File names and Content-Type never decide (a Content-Type that disagrees
with the content only produces a warning)."""

from __future__ import annotations

import codecs
import json
import re
from dataclasses import dataclass
from typing import Any

from shared.errors import ParseError

from . import _jsonfeed, _ninjs, _wire
from ._xml import Prolog, scan_prolog

__all__ = ["Sniffed", "decode_json", "detect", "sniff_text"]

SNIFF_BYTES = 64 * 1024

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_HTML_ROOTS = frozenset(
    {"html", "head", "body", "meta", "title", "div", "p", "span", "table", "script", "style",
     "link", "a", "h1", "h2", "h3", "br", "center", "iframe", "form", "noscript"}
)  # fmt: skip
_G2_ROOTS = frozenset(
    {"newsmessage", "newsitem", "packageitem", "conceptitem", "knowledgeitem", "planningitem",
     "catalogitem"}
)  # fmt: skip
_HTML_DOCTYPE_RE = re.compile(r"<!DOCTYPE\s+html\b", re.IGNORECASE)


def bom_encoding(data: bytes) -> tuple[str | None, int]:
    """(encoding, BOM length) from a byte-order mark, or from the UTF-16/32
    patterns of a document starting with '<' without one."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name, len(bom)
    if data.startswith(b"\x00\x00\x00<"):
        return "utf-32-be", 0
    if data.startswith(b"<\x00\x00\x00"):
        return "utf-32-le", 0
    if data.startswith(b"\x00<"):
        return "utf-16-be", 0
    if data.startswith(b"<\x00"):
        return "utf-16-le", 0
    return None, 0


def sniff_text(data: bytes, limit: int | None = SNIFF_BYTES) -> str:
    """The start of the document decoded well enough to read markup
    structure (ASCII-compatible encodings read as Latin-1)."""
    encoding, skip = bom_encoding(data)
    chunk = data[skip:] if limit is None else data[skip : skip + limit]
    if encoding is None:
        return chunk.decode("latin-1")
    return chunk.decode(encoding, errors="replace")


@dataclass(frozen=True)
class Sniffed:
    format: str  # one of FORMATS
    prolog: Prolog | None = None  # markup formats
    json_value: Any = None  # JSON formats: the decoded document
    version: str | None = None


def decode_json(data: bytes) -> Any:
    """json.loads with ParseError for every way it can fail."""
    encoding, skip = bom_encoding(data)
    try:
        text = data[skip:].decode(encoding or "utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError(f"JSON is not valid UTF-8: {exc}", reason="json_encoding") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"not valid JSON: {exc}", reason="json_syntax") from exc
    except RecursionError as exc:
        raise ParseError("JSON nested too deeply", reason="json_syntax") from exc
    except ValueError as exc:  # e.g. integers beyond the digit limit
        raise ParseError(f"not valid JSON: {exc}", reason="json_syntax") from exc


def _local(name: str) -> str:
    return name.rsplit(":", 1)[-1]


_JSON_FORMATS = ("jsonfeed", "ninjs")


def detect(data: bytes, forced: str | None = None) -> Sniffed:
    """Decide the format from the content, or raise ParseError. A JSON
    document ``forced`` to a JSON format (``--type ninjs``, a source's
    ``type``) is that format, whatever its shape suggests."""
    if not data or not data.strip(b" \t\r\n\x00\xef\xbb\xbf\xfe\xff"):
        raise ParseError("empty document", reason="empty_document")
    wire = _wire.detect(data)
    if wire is not None:
        return Sniffed(wire)
    if _wire.starts_a_message(data):
        raise ParseError("starts with SOH but its header is neither ANPA 1312 nor IPTC 7901",
                         reason="unknown_format")
    head = sniff_text(data)
    stripped = head.lstrip("\ufeff \t\r\n")
    if stripped[:1] in ("{", "["):
        value = decode_json(data)
        if forced == "ninjs":
            return Sniffed("ninjs", json_value=value, version=_ninjs.version_of(value))
        if forced == "jsonfeed":
            return Sniffed("jsonfeed", json_value=value, version=_jsonfeed.version_of(value))
        if _jsonfeed.is_jsonfeed(value):
            return Sniffed("jsonfeed", json_value=value, version=_jsonfeed.version_of(value))
        if _ninjs.looks_like_ninjs(value):
            return Sniffed("ninjs", json_value=value, version=_ninjs.version_of(value))
        raise ParseError("JSON document is neither a JSON Feed nor ninjs", reason="unknown_format")
    prolog = scan_prolog(stripped)
    if prolog.root is None:
        if prolog.doctype and _HTML_DOCTYPE_RE.match(prolog.doctype):
            return Sniffed("html", prolog=prolog)
        if not prolog.complete:
            raise ParseError("no root element in the first 64 KiB", reason="unknown_format")
        raise ParseError("no root element: not a markup or JSON document", reason="unknown_format")
    root = _local(prolog.root).lower()
    if root in ("rss", "rdf", "channel"):
        return Sniffed("rss", prolog=prolog)
    if root == "feed":
        return Sniffed("atom", prolog=prolog)
    if root in _G2_ROOTS:
        return Sniffed("newsml-g2", prolog=prolog)
    if root == "newsml":
        return Sniffed("newsml-1", prolog=prolog)
    if root == "nitf":
        return Sniffed("nitf", prolog=prolog)
    if root in ("urlset", "sitemapindex"):
        return Sniffed("sitemap", prolog=prolog)
    if root in _HTML_ROOTS or (prolog.doctype and _HTML_DOCTYPE_RE.match(prolog.doctype)):
        return Sniffed("html", prolog=prolog)
    raise ParseError(f"unrecognised root element <{prolog.root}>", reason="unknown_format")
