"""HTML (and XHTML, NITF, trafilatura's XML) to paragraphs: block elements
make paragraphs, dropped elements take their text with them (the rules'
``html`` part), tables keep their cells apart, links can keep markers for
the boilerplate rules."""

from __future__ import annotations

import re
from typing import Any

from lxml import etree, html

from services.ingest.text._clean import (
    BLANK_LINE_RE,
    LINK_CLOSE,
    LINK_OPEN,
    MARKERS_RE,
    PARAGRAPH_SEP,
    SPACE_BUT_TAB_RE,
    clean_text,
    has_markers,
    join_paragraphs,
)
from services.ingest.text._rules import BoilerplateRules, HtmlDrop, default_boilerplate_rules

__all__ = ["element_to_paragraphs", "html_to_paragraphs", "html_to_text"]


# ends a table cell while a block is collected; a tab once cleaned (cleaning
# collapses tabs with every other space)
_CELL_END = "\ue002"


_XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)


# Elements that start and end a paragraph.
_BLOCK_TAGS = frozenset(
    {
        "p", "div", "section", "article", "main", "blockquote", "pre", "ul", "ol",
        "li", "dl", "dt", "dd", "table", "thead", "tbody", "tfoot", "tr", "caption",
        "h1", "h2", "h3", "h4", "h5", "h6", "hr", "address", "details", "summary",
        "figcaption", "body", "html",
        # NITF
        "hl1", "hl2", "block", "body.content", "nitf-table", "bq", "note", "fn",
        # trafilatura's XML
        "head", "list", "item", "quote", "row", "doc", "comments",
    }
)  # fmt: skip


_CELL_TAGS = frozenset({"td", "th", "cell"})


_BREAK_TAGS = frozenset({"br", "lb"})


_MAX_DEPTH = 400


def _local(tag: object) -> str | None:
    if not isinstance(tag, str):
        return None  # comments, processing instructions, entities
    name = tag.rsplit("}", 1)[1] if tag.startswith("{") else tag
    return name.lower()


class _Collector:
    def __init__(self, drop: HtmlDrop, mark_links: bool) -> None:
        self.drop = drop
        self.mark_links = mark_links
        self._blocks: list[str] = []
        self._buf: list[str] = []

    def text(self, value: str | None) -> None:
        if value:
            self._buf.append(value.replace(LINK_OPEN, "").replace(LINK_CLOSE, ""))

    def raw(self, value: str) -> None:
        self._buf.append(value)

    def flush(self) -> None:
        """End a block: its text, with a line break for every <br>."""
        if not self._buf:
            return
        raw = "".join(self._buf)
        self._buf = []
        # inside a block, source newlines are just whitespace; "\x00" marks <br>
        self._blocks.append(raw.replace("\n", " ").replace("\x00", "\n"))

    def paragraphs(self) -> list[str]:
        """The blocks as paragraphs: a blank line (two <br>) also ends one.
        The blocks are cleaned in one call, joined by blank lines: cleaning
        works line by line and NFC never composes across a newline, so this
        is the same as cleaning each block, without a call per block."""
        self.flush()
        text = clean_text(PARAGRAPH_SEP.join(self._blocks))  # spaces collapsed, lines stripped
        self._blocks = []
        paragraphs = []
        for chunk in BLANK_LINE_RE.split(text):
            paragraph = "\n".join(line for line in chunk.split("\n") if line)
            if _CELL_END in paragraph:
                paragraph = _cells(paragraph)
            if not has_markers(paragraph):
                if paragraph:
                    paragraphs.append(paragraph)
            elif MARKERS_RE.sub("", paragraph).strip():
                paragraphs.append(_tidy_markers(paragraph))
        return paragraphs

    def dropped(self, el: Any, tag: str) -> bool:
        if tag == "head" and el.get("rend") is not None:
            return False  # trafilatura's heading element, not the HTML <head>
        if tag in self.drop.tags:
            return True
        classes = el.get("class")
        if classes and self.drop.class_tokens:
            return any(token.lower() in self.drop.class_tokens for token in classes.split())
        return False

    def walk(self, el: Any, depth: int = 0) -> None:
        tag = _local(el.tag)
        if tag is None or depth > _MAX_DEPTH or self.dropped(el, tag):
            self.text(el.tail)
            return
        block = tag in _BLOCK_TAGS
        if block:
            self.flush()
        if tag in _BREAK_TAGS:
            self.raw("\x00")
        # <a href> in HTML, <ref target> in trafilatura's XML
        link = self.mark_links and (
            (tag == "a" and el.get("href") is not None)
            or (tag == "ref" and el.get("target") is not None)
        )
        if link:
            self.raw(LINK_OPEN)
        self.text(el.text)
        for child in el:
            self.walk(child, depth + 1)
        if link:
            self.raw(LINK_CLOSE)
        if tag in _CELL_TAGS:
            self.raw(_CELL_END)
        if block:
            self.flush()
        self.text(el.tail)


def _cells(paragraph: str) -> str:
    """A table row as its cells separated by tabs (every line of it)."""
    rows = []
    for line in paragraph.split("\n"):
        cells = [cell.strip() for cell in line.split(_CELL_END)]
        while cells and not cells[-1]:
            cells.pop()
        if cells:
            rows.append("\t".join(cells))
    return "\n".join(rows)


def _tidy_markers(paragraph: str) -> str:
    # "<a> text </a>" leaves spaces inside the markers; move them outside so
    # patterns can rely on "\ue000text\ue001", and drop empty links.
    paragraph = re.sub(f"{LINK_OPEN}\\s+", f" {LINK_OPEN}", paragraph)
    paragraph = re.sub(f"\\s+{LINK_CLOSE}", f"{LINK_CLOSE} ", paragraph)
    paragraph = paragraph.replace(LINK_OPEN + LINK_CLOSE, "")
    return SPACE_BUT_TAB_RE.sub(" ", paragraph).strip()


def element_to_paragraphs(
    element: Any, *, rules: BoilerplateRules | None = None, mark_links: bool = False
) -> list[str]:
    """Paragraphs of an lxml element tree (HTML, XHTML, NITF or trafilatura
    XML). With ``mark_links`` link text keeps its private-use markers (for
    :func:`strip_boilerplate`); callers must strip them with
    :func:`strip_boilerplate` or :func:`remove_link_markers`."""
    rules = rules or default_boilerplate_rules()
    collector = _Collector(rules.html_drop, mark_links)
    collector.walk(element)
    return collector.paragraphs()


def _parse_html(markup: str) -> Any | None:
    markup = _XML_DECL_RE.sub("", markup, count=1)
    if not markup.strip():
        return None
    parser = html.HTMLParser(
        no_network=True, remove_comments=True, remove_pis=True, default_doctype=False
    )
    try:
        return html.document_fromstring(markup, parser=parser)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        # "Document is empty" (only comments/whitespace) and friends: no text.
        return None


def html_to_paragraphs(
    markup: str | None, *, rules: BoilerplateRules | None = None, mark_links: bool = False
) -> list[str]:
    if not markup:
        return []
    root = _parse_html(markup)
    if root is None:
        return []
    return element_to_paragraphs(root, rules=rules, mark_links=mark_links)


def html_to_text(markup: str | None, *, rules: BoilerplateRules | None = None) -> str:
    return join_paragraphs(html_to_paragraphs(markup, rules=rules))
