"""Safe XML: the prolog check every XML format goes through, and the one
lxml parser configuration we use.

Refused with :class:`ParseError` before any parser sees the document:

* any ``<!ENTITY`` declaration, anywhere (billion laughs, quadratic blow-up,
  external entities such as ``file:///etc/passwd``), and parameter-entity
  references in a DOCTYPE; reason ``xml_entities``.

A DOCTYPE naming an external DTD (``<!DOCTYPE nitf SYSTEM
"nitf-3-2.dtd">``, common in NITF and old feeds) is accepted and the DTD is
never read: lxml parses with ``resolve_entities=False, no_network=True,
load_dtd=False, huge_tree=False`` (so even a declaration that slipped past
the check would be neither expanded nor fetched), and feedparser drops the
DOCTYPE. The named character references such a DTD declares (``&nbsp;``,
``&mdash;``) become their HTML characters (:func:`_named_references`); a
name HTML does not know is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.entities import html5
from typing import Any

from lxml import etree

from shared.errors import ParseError

__all__ = [
    "Prolog",
    "check_entities",
    "check_prolog",
    "parse_xml",
    "parse_xml_lenient",
    "scan_prolog",
]

_WS_RE = re.compile(r"\s+")
_NAME_RE = re.compile(r"<([A-Za-z_][\w.:-]*)")
_DOCTYPE_RE = re.compile(
    r"<!DOCTYPE\s+(?P<name>[^\s\[>]+)\s*"
    r"(?:(?:SYSTEM\s+(?P<sys1>\"[^\"]*\"|'[^']*'))"
    r"|(?:PUBLIC\s+(?P<pub>\"[^\"]*\"|'[^']*')(?:\s+(?P<sys2>\"[^\"]*\"|'[^']*'))?))?"
    r"\s*(?P<subset>\[.*?\])?\s*>",
    re.DOTALL | re.IGNORECASE,
)
_ENTITY_RE = re.compile(rb"<!ENTITY", re.IGNORECASE)
_UTF7_DECL_RE = re.compile(rb"\s*<\?xml[^>]*encoding\s*=\s*[\"']?utf-?7", re.IGNORECASE)
_ENTITY_TEXT_RE = re.compile(r"<!ENTITY", re.IGNORECASE)


@dataclass(frozen=True)
class Prolog:
    """What precedes the root element of a markup document."""

    root: str | None  # qualified name of the root element, as written
    doctype: str | None  # the DOCTYPE declaration text, if any
    complete: bool  # False when the sniffed window ended inside the prolog


def scan_prolog(text: str) -> Prolog:
    """Skip whitespace, XML declaration, PIs, comments and the DOCTYPE and
    return the root element's name. ``text`` is the decoded start of the
    document."""
    pos = 0
    doctype: str | None = None
    n = len(text)
    while pos < n:
        m = _WS_RE.match(text, pos)
        if m:
            pos = m.end()
            continue
        if text.startswith("<?", pos):
            end = text.find("?>", pos + 2)
            if end < 0:
                return Prolog(None, doctype, False)
            pos = end + 2
        elif text.startswith("<!--", pos):
            end = text.find("-->", pos + 4)
            if end < 0:
                return Prolog(None, doctype, False)
            pos = end + 3
        elif text[pos : pos + 9].upper() == "<!DOCTYPE":
            end = _doctype_end(text, pos)
            if end < 0:
                return Prolog(None, text[pos:], False)
            doctype = text[pos:end]
            pos = end
        else:
            m = _NAME_RE.match(text, pos)
            return Prolog(m.group(1) if m else None, doctype, True)
    return Prolog(None, doctype, True)


def _doctype_end(text: str, start: int) -> int:
    """Index after the DOCTYPE's closing '>' (skipping an internal subset and
    quoted literals), or -1 when it does not end inside ``text``."""
    pos = start + 9
    depth = 0
    quote: str | None = None
    while pos < len(text):
        ch = text[pos]
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == ">" and depth <= 0:
            return pos + 1
        pos += 1
    return -1


def check_entities(data: bytes, decoded: str | None = None) -> None:
    """Refuse any entity declaration anywhere in the document, and UTF-7
    (which could hide one from this byte-level check)."""
    if _UTF7_DECL_RE.match(data[:256]):
        raise ParseError("UTF-7 XML is refused", reason="xml_encoding")
    if decoded is not None:
        found = _ENTITY_TEXT_RE.search(decoded) is not None
    elif b"\x00" in data[:64]:
        # UTF-16/32 without a byte-order mark: look at the bytes without NULs
        found = _ENTITY_RE.search(data.replace(b"\x00", b"")) is not None
    else:
        found = _ENTITY_RE.search(data) is not None
    if found:
        raise ParseError(
            "document declares XML entities; refused (entity expansion and external "
            "entities are never processed)",
            reason="xml_entities",
        )


def check_prolog(prolog: Prolog) -> None:
    """Refuse DOCTYPEs with entity declarations or parameter entities, or
    that cannot be read (see the module docstring); an external DTD is
    accepted and never read."""
    if not prolog.complete and prolog.doctype is not None:
        raise ParseError("DOCTYPE does not end within the first 64 KiB", reason="xml_doctype")
    if prolog.doctype is None:
        return
    doctype = prolog.doctype
    if _ENTITY_TEXT_RE.search(doctype):
        raise ParseError("DOCTYPE declares entities; refused", reason="xml_entities")
    m = _DOCTYPE_RE.match(doctype)
    if m is None:
        raise ParseError("unreadable DOCTYPE declaration; refused", reason="xml_doctype")
    if "%" in (m.group("subset") or ""):
        # parameter-entity references pull in declarations from elsewhere
        raise ParseError("DOCTYPE uses parameter entities; refused", reason="xml_entities")
class _Unread(etree.Resolver):  # type: ignore[misc]
    """Every external resource libxml2 asks for is empty. With
    ``load_dtd=False`` it still opens a DOCTYPE's external DTD to look up
    attribute defaults (seen with libxml2 2.14: a local path is opened and
    read, an http URL fails the parse): this answers first, so no file is
    ever opened and nothing is fetched."""

    def resolve(self, url: str | None, public_id: str | None, context: Any) -> Any:
        return self.resolve_string("", context)


def _parser(*, recover: bool, encoding: str | None) -> Any:
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
        recover=recover,
        encoding=encoding,
    )
    parser.resolvers.add(_Unread())
    return parser


def _guard_tree(root: Any) -> Any:
    docinfo = root.getroottree().docinfo
    dtd = docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise ParseError("document declares XML entities; refused", reason="xml_entities")
    if docinfo.system_url or docinfo.public_id:
        _named_references(root)
    return root


def _named_references(root: Any) -> None:
    """Replace each reference to an entity of the unread external DTD by
    its HTML character ("&nbsp;" -> U+00A0, "&eacute;" -> "é"), or by
    nothing when HTML has no such name: lxml keeps them as nodes, which
    would otherwise come out of the text as "&nbsp;"."""
    for node in list(root.iter(etree.Entity)):
        parent = node.getparent()
        if parent is None:
            continue
        text = html5.get(f"{node.name};", "") + (node.tail or "")
        previous = node.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + text
        else:
            parent.text = (parent.text or "") + text
        parent.remove(node)


def parse_xml(data: bytes, *, encoding: str | None = None) -> Any:
    """Strict, safe parse; malformed XML raises ParseError(reason="xml_syntax").
    An external DTD is never loaded."""
    try:
        root = etree.fromstring(data, _parser(recover=False, encoding=encoding))
    except etree.XMLSyntaxError as exc:
        if "failed to load" in str(exc) or "network entity" in str(exc):
            # libxml2 refusing (no_network) to load an external DTD/entity
            raise ParseError(
                f"external DTD or entity refused: {exc}", reason="xml_external_dtd"
            ) from exc
        raise ParseError(f"not well-formed XML: {exc}", reason="xml_syntax") from exc
    except (LookupError, ValueError) as exc:  # unknown encoding name and friends
        raise ParseError(f"cannot decode XML: {exc}", reason="xml_encoding") from exc
    if root is None:
        raise ParseError("XML document has no root element", reason="xml_syntax")
    return _guard_tree(root)


def parse_xml_lenient(data: bytes) -> Any | None:
    """Best-effort safe parse for reading side facts (skipHours ...); None if
    even recovery finds no element."""
    try:
        root = etree.fromstring(data, _parser(recover=True, encoding=None))
    except (etree.XMLSyntaxError, LookupError, ValueError):
        return None
    if root is None:
        return None
    return _guard_tree(root)
