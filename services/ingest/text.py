"""Text hygiene for ingested documents: HTML to text, Unicode clean-up and
boilerplate removal. Pure functions, no I/O except :func:`load_boilerplate_rules`
reading its YAML files (call it once at start-up and inject the result).

Contract callers may rely on:

* :func:`html_to_text` and :func:`plain_to_text` return paragraphs separated by
  exactly one blank line (``"\\n\\n"``); a single ``"\\n"`` inside a paragraph is
  a line break the source asked for (``<br>``). No paragraph is empty, none has
  leading or trailing spaces, and runs of spaces are collapsed.
* Every returned string is NFC-normalised and free of control characters
  (except ``"\\n"``), lone surrogates, zero-width and other invisible format
  characters; every Unicode space (no-break, thin, ideographic ...) becomes a
  plain ``" "``.
* HTML entities are decoded (by the HTML parser); markup never leaks into text.
  Scripts, styles, forms, navigation, figures/images, ``<header>`` blocks and
  elements whose class marks them as sharing/newsletter/related-content
  widgets are dropped together with their text.
* Boilerplate rules are data (``boilerplate.yaml`` beside this module, plus any
  operator files). A rule removes a whole paragraph (``drop``) or the matched
  part of it (``cut``), anywhere or only in the trailing paragraphs (``tail``).
  Rules are applied to the item's primary language plus the ``"*"`` rules;
  when the language is unknown, every language's rules apply.
"""

from __future__ import annotations

import re
import re._casefix as re_casefix  # type: ignore[import-not-found]  # the regex engine's case classes
import re._parser as re_parser  # type: ignore[import-not-found]  # the stdlib regex parser
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from html.entities import html5 as _HTML5
from pathlib import Path
from typing import Any, Literal

import yaml
from lxml import etree, html

from shared import yaml_data
from shared.errors import ConfigError

__all__ = [
    "DEFAULT_BOILERPLATE_PATH",
    "PARAGRAPH_SEP",
    "BoilerplateRule",
    "BoilerplateRules",
    "clean_text",
    "default_boilerplate_rules",
    "element_to_paragraphs",
    "html_to_paragraphs",
    "html_to_text",
    "join_paragraphs",
    "load_boilerplate_rules",
    "plain_to_paragraphs",
    "plain_to_text",
    "remove_link_markers",
    "remove_shortcodes",
    "single_line",
    "strip_boilerplate",
    "typographic_names",
]

PARAGRAPH_SEP = "\n\n"
DEFAULT_BOILERPLATE_PATH = Path(__file__).with_name("boilerplate.yaml")

# Link text is wrapped in these two private-use characters while paragraphs
# go through the boilerplate rules, so a rule can say "a parenthesised list
# of links" ({link} in a pattern). They are removed before text is returned.
LINK_OPEN = "\ue000"
LINK_CLOSE = "\ue001"
_LINK_MACRO = f"{LINK_OPEN}[^{LINK_OPEN}{LINK_CLOSE}]*{LINK_CLOSE}"
_MARKERS_RE = re.compile(f"[{LINK_OPEN}{LINK_CLOSE}]")
# ends a table cell while a block is collected; a tab once cleaned (cleaning
# collapses tabs with every other space)
_CELL_END = "\ue002"

# C0/C1 controls except \n and \t, lone surrogates, and invisible format
# characters (zero-width space/joiners, word joiner, BOM, soft hyphen,
# bidi controls) that break tokenisation and hashing.
_INVISIBLE_RE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u00ad\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]"
)
# every Unicode space separator plus tab, CR, FF, VT and the line/paragraph separators
_SPACE_RE = re.compile("[ \t\r\f\v\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\u2028\u2029]+")
_SPACE_BUT_TAB_RE = re.compile("[ \r\f\v\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\u2028\u2029]+")
# Anything clean_text would change besides runs of plain spaces: invisible
# and control characters, CR, and every whitespace character but " " and "\n".
_UNCLEAN_RE = re.compile(
    f"{_INVISIBLE_RE.pattern}|[\t\r\f\v\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\u2028\u2029]"
)
_BLANK_LINE_RE = re.compile(r"\n[ \t]*\n")
_XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)

# Elements whose whole subtree is dropped. Names are local names (namespace
# stripped) so XHTML/NITF inline XML works the same as parsed HTML.
_DROP_TAGS = frozenset(
    {
        "script", "style", "noscript", "template", "iframe", "object", "embed",
        "form", "button", "input", "select", "textarea", "nav", "aside", "svg",
        "canvas", "figure", "picture", "video", "audio", "img", "map", "head",
        "header", "footer", "title", "meta", "link",
        # NITF: body.head repeats headline/byline/dateline, body.end holds the
        # tagline; media is an embedded photo/video reference.
        "body.head", "body.end", "media", "docdata",
        # trafilatura's XML: images
        "graphic",
    }
)  # fmt: skip
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


def clean_text(value: str) -> str:
    """NFC, invisible/control characters removed, Unicode spaces made plain,
    runs of spaces collapsed within each line, lines stripped. Newlines are
    kept as they are (use :func:`plain_to_text` to normalise paragraphs)."""
    if (
        # already clean (the usual case, e.g. text from an HTML tree): a few
        # scans in C instead of rebuilding every line
        "  " not in value
        and " \n" not in value
        and "\n " not in value
        and not value.startswith(" ")
        and not value.endswith(" ")
        and _UNCLEAN_RE.search(value) is None
        and unicodedata.is_normalized("NFC", value)
    ):
        return value
    value = _INVISIBLE_RE.sub("", value)
    if not unicodedata.is_normalized("NFC", value):
        value = unicodedata.normalize("NFC", value)
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    # Within a line, str.split() splits on exactly the characters of
    # _SPACE_RE plus the controls _INVISIBLE_RE has already removed (FS..US,
    # NEL), so this collapses every run and strips the line, in C: a regex
    # substitution of every single space was a tenth of a feed item's cost.
    return "\n".join(" ".join(line.split()) for line in value.split("\n"))


def single_line(value: str | None) -> str:
    """A headline-like field: clean, all whitespace (newlines too) collapsed."""
    if not value:
        return ""
    return _SPACE_RE.sub(" ", clean_text(value).replace("\n", " ")).strip()


def join_paragraphs(paragraphs: Iterable[str]) -> str:
    return PARAGRAPH_SEP.join(p for p in paragraphs if p)


def plain_to_paragraphs(value: str) -> list[str]:
    """Split plain text into paragraphs.

    When the text has blank lines, they separate paragraphs and single
    newlines inside a paragraph are hard wraps (joined with a space; dpa's
    7-bit renditions wrap at ~70 columns). Without any blank line, each line
    is a paragraph (TT and NTB put one paragraph per line)."""
    text = clean_text(value)
    if not text.strip():
        return []
    if _BLANK_LINE_RE.search(text) or "\n\n" in text:
        chunks = re.split(r"\n\s*\n", text)
        paragraphs = [" ".join(line for line in chunk.split("\n") if line) for chunk in chunks]
    else:
        paragraphs = text.split("\n")
    return [p for p in (_SPACE_RE.sub(" ", p).strip() for p in paragraphs) if p]


def plain_to_text(value: str | None) -> str:
    return join_paragraphs(plain_to_paragraphs(value or ""))


def _local(tag: object) -> str | None:
    if not isinstance(tag, str):
        return None  # comments, processing instructions, entities
    name = tag.rsplit("}", 1)[1] if tag.startswith("{") else tag
    return name.lower()


@dataclass(frozen=True)
class _HtmlDrop:
    tags: frozenset[str]
    class_tokens: frozenset[str]


class _Collector:
    def __init__(self, drop: _HtmlDrop, mark_links: bool) -> None:
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
        for chunk in _BLANK_LINE_RE.split(text):
            paragraph = "\n".join(line for line in chunk.split("\n") if line)
            if _CELL_END in paragraph:
                paragraph = _cells(paragraph)
            if not _has_markers(paragraph):
                if paragraph:
                    paragraphs.append(paragraph)
            elif _MARKERS_RE.sub("", paragraph).strip():
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


# Characters agencies spell as a bracketed name ("2<endash>3", or escaped
# once more "2&lt;endash&gt;3") where the wire could not carry the character;
# any HTML entity name works too ("<mdash>", "<hellip>").
_TYPOGRAPHIC = {
    "endash": "\u2013", "emdash": "\u2014", "bullet": "\u2022", "ellipsis": "\u2026",
    "degree": "\u00b0", "trademark": "\u2122", "registered": "\u00ae",
    "copyright": "\u00a9", "cent": "\u00a2", "pound": "\u00a3", "euro": "\u20ac",
    "yen": "\u00a5", "half": "\u00bd", "quarter": "\u00bc", "threequarters": "\u00be",
}
_TYPOGRAPHIC_RE = re.compile(r"<([A-Za-z]{2,16})>")


def typographic_names(value: str) -> str:
    """``value`` with bracketed character names ("<endash>") as the
    characters they name; other bracketed words are left alone."""
    if "<" not in value:
        return value

    def named(match: re.Match[str]) -> str:
        name = match.group(1).lower()
        return _TYPOGRAPHIC.get(name) or _HTML5.get(f"{name};") or match.group(0)

    return _TYPOGRAPHIC_RE.sub(named, value)


# WordPress shortcodes ("[caption id=...]<img> A photo[/caption]", "[gallery
# ids=...]"): a caption, an embed or a gallery goes with what it wraps (a
# picture's caption or a URL, not the story); any other shortcode tag - one
# of the common names, or any bracketed name with key="value" attributes -
# goes alone, its content kept.
_SHORTCODE_WRAPS = r"(?:wp_)?caption|embed|gallery|video|audio|playlist"
_SHORTCODE_BLOCK_RE = re.compile(rf"\[({_SHORTCODE_WRAPS})\b[^\]]*\].*?\[/\1\]", re.I | re.S)
_SHORTCODE_TAG_RE = re.compile(
    rf"\[/?(?:{_SHORTCODE_WRAPS}|vc_\w+|et_pb_\w+|su_\w+|fusion_\w+|tweet|youtube|instagram|"
    r"contact-form-7|adsense|dropcap|pullquote|one_half|one_third|two_thirds)\b[^\]]*\]",
    re.I,
)
_SHORTCODE_ATTRIBUTED_RE = re.compile(
    r"\[([a-z][\w-]*)(?:\s+[\w-]+=(?:\"[^\"]*\"|'[^']*'))+\s*/?\]", re.I)


def remove_shortcodes(value: str) -> str:
    """``value`` without WordPress shortcodes (see above); "[sic]" or "[1]"
    are not shortcodes and stay."""
    if "[" not in value:
        return value
    value = _SHORTCODE_TAG_RE.sub(" ", _SHORTCODE_BLOCK_RE.sub(" ", value))
    names = {m.group(1).lower() for m in _SHORTCODE_ATTRIBUTED_RE.finditer(value)}
    if names:  # an attributed opening tag, and the closing tag of the same name
        value = _SHORTCODE_ATTRIBUTED_RE.sub(" ", value)
        value = re.sub(r"\[/(" + "|".join(map(re.escape, names)) + r")\]", " ", value,
                       flags=re.I)
    return _SPACE_BUT_TAB_RE.sub(" ", value).strip()


def _has_markers(value: str) -> bool:
    return LINK_OPEN in value or LINK_CLOSE in value


def _tidy_markers(paragraph: str) -> str:
    # "<a> text </a>" leaves spaces inside the markers; move them outside so
    # patterns can rely on "\ue000text\ue001", and drop empty links.
    paragraph = re.sub(f"{LINK_OPEN}\\s+", f" {LINK_OPEN}", paragraph)
    paragraph = re.sub(f"\\s+{LINK_CLOSE}", f"{LINK_CLOSE} ", paragraph)
    paragraph = paragraph.replace(LINK_OPEN + LINK_CLOSE, "")
    return _SPACE_BUT_TAB_RE.sub(" ", paragraph).strip()


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


def remove_link_markers(value: str) -> str:
    return _MARKERS_RE.sub("", value) if _has_markers(value) else value


# --------------------------------------------------------------------------
# boilerplate rules


@dataclass(frozen=True)
class BoilerplateRule:
    pattern: re.Pattern[str]
    action: Literal["drop", "cut"] = "drop"
    where: Literal["any", "tail"] = "any"
    links: bool = False  # match against text that still has link markers
    # "drop" rules only look at paragraphs up to this length: boilerplate is
    # short, and the cap keeps a bad pattern from scanning megabytes.
    max_chars: int = 400
    origin: str = ""


@dataclass(frozen=True)
class BoilerplateRules:
    by_language: Mapping[str, tuple[BoilerplateRule, ...]] = field(default_factory=dict)
    html_drop: _HtmlDrop = field(
        default_factory=lambda: _HtmlDrop(tags=_DROP_TAGS, class_tokens=frozenset())
    )

    def for_language(self, language: str | None) -> tuple[BoilerplateRule, ...]:
        primary = (language or "").split("-")[0].split("_")[0].lower()
        if primary and primary in self.by_language:
            return self.by_language.get("*", ()) + self.by_language[primary]
        if primary:
            return self.by_language.get("*", ())
        # unknown language: every rule (they are anchored and specific)
        rules: list[BoilerplateRule] = list(self.by_language.get("*", ()))
        for lang, lang_rules in sorted(self.by_language.items()):
            if lang != "*":
                rules.extend(lang_rules)
        return tuple(rules)


def _rule_from_data(entry: Any, origin: str) -> BoilerplateRule:
    if isinstance(entry, str):
        entry = {"pattern": entry}
    if not isinstance(entry, dict) or not isinstance(entry.get("pattern"), str):
        raise ConfigError(f"{origin}: each rule needs a 'pattern' string, got {entry!r}")
    action = entry.get("action", "drop")
    where = entry.get("where", "any")
    if action not in ("drop", "cut") or where not in ("any", "tail"):
        raise ConfigError(f"{origin}: bad action/where in rule {entry!r}")
    source = entry["pattern"].replace("{link}", _LINK_MACRO)
    try:
        compiled = re.compile(source, re.IGNORECASE)
    except re.error as exc:
        raise ConfigError(f"{origin}: bad pattern {entry['pattern']!r}: {exc}") from exc
    return BoilerplateRule(
        pattern=compiled,
        action=action,
        where=where,
        links=bool(entry.get("links", "{link}" in entry["pattern"])),
        max_chars=int(entry.get("max_chars", 400)),
        origin=origin,
    )


def load_boilerplate_rules(
    extra_paths: Sequence[Path | str] = (), *, base: Path | None = DEFAULT_BOILERPLATE_PATH
) -> BoilerplateRules:
    """Read the shipped rules plus operator files (same schema, merged: rules
    are appended per language, HTML drop lists are unioned). Bad files raise
    :class:`ConfigError`, so a worker with a broken rule file fails at boot."""
    by_language: dict[str, list[BoilerplateRule]] = {}
    tags = set(_DROP_TAGS)
    classes: set[str] = set()
    paths = ([base] if base is not None else []) + [Path(p) for p in extra_paths]
    for path in paths:
        try:
            data = yaml_data.load_table(path.read_text(encoding="utf-8"), str(path))
        except (OSError, yaml.YAMLError, UnicodeDecodeError, yaml_data.TableError) as exc:
            raise ConfigError(f"cannot read boilerplate rules {path}: {exc}") from exc
        html_part = data.get("html") or {}
        tags.update(str(t).lower() for t in html_part.get("drop_tags") or [])
        classes.update(str(c).lower() for c in html_part.get("drop_classes") or [])
        languages = data.get("languages") or {}
        if not isinstance(languages, dict):
            raise ConfigError(f"{path}: 'languages' must be a mapping")
        for lang, entries in languages.items():
            key = str(lang).lower()
            for i, entry in enumerate(entries or []):
                rule = _rule_from_data(entry, f"{path.name}:{key}[{i}]")
                by_language.setdefault(key, []).append(rule)
    return BoilerplateRules(
        by_language={k: tuple(v) for k, v in by_language.items()},
        html_drop=_HtmlDrop(tags=frozenset(tags), class_tokens=frozenset(classes)),
    )


@lru_cache(maxsize=1)
def default_boilerplate_rules() -> BoilerplateRules:
    """The shipped rules, read once per process."""
    return load_boilerplate_rules()


def _drops(rule: BoilerplateRule, text: str) -> bool:
    subject = text if rule.links else remove_link_markers(text)
    return len(subject) <= rule.max_chars and rule.pattern.search(subject) is not None


def _apply(rule: BoilerplateRule, paragraph: str) -> str | None:
    """The paragraph after the rule: unchanged, cut, or None when dropped.
    Drop rules look at each line of a multi-line paragraph on its own (a
    "Quelle: ..." line under a table, a promo line after a <br>)."""
    if rule.action == "drop":
        if "\n" not in paragraph:
            return None if _drops(rule, paragraph) else paragraph
        lines = paragraph.split("\n")
        kept = [line for line in lines if not _drops(rule, line)]
        if len(kept) == len(lines):
            return paragraph
        return "\n".join(kept) or None
    subject = paragraph if rule.links else remove_link_markers(paragraph)
    cut = rule.pattern.sub("", subject)
    if cut == subject:
        return paragraph
    cut = _SPACE_RE.sub(" ", cut).strip()
    return cut or None


@dataclass(frozen=True)
class _Plan:
    """The active rules of one language, compiled for speed: the drop rules
    that ignore link markers are merged into one alternation per length cap
    and anchoring (one regex call per short line instead of one per rule;
    the rules anchored at the start with ``^`` are tried at position 0 only,
    ``re.match``, instead of at every position; the rules that can only match
    a line with a Cyrillic or Greek letter run only on lines that have one),
    the others run one by one, in file order, each behind a gate (None: no
    gate) that skips it when the text lacks the script or every one of the
    literal strings that any match of the rule needs: a cheap ``in`` test
    instead of a regex scan that tries the rule at every position."""

    merged_drops: tuple[tuple[int, re.Pattern[str] | None,
                              Callable[[str], re.Match[str] | None]], ...]
    other_anywhere: tuple[tuple[BoilerplateRule, _Gate | None], ...]
    tail: tuple[tuple[BoilerplateRule, _Gate | None], ...]


# rules object id -> (the rules, kept alive so the id stays theirs; plans by language)
_PLANS: dict[int, tuple[BoilerplateRules, dict[str | None, _Plan]]] = {}


def _plan(rules: BoilerplateRules, language: str | None) -> _Plan:
    entry = _PLANS.get(id(rules))
    if entry is None or entry[0] is not rules:
        if len(_PLANS) > 32:  # rule sets are built once per process; stay bounded
            _PLANS.clear()
        entry = _PLANS[id(rules)] = (rules, {})
    plans = entry[1]
    if language not in plans:
        plans[language] = _build_plan(rules, language)
    return plans[language]


def _build_plan(rules: BoilerplateRules, language: str | None) -> _Plan:
    active = rules.for_language(language)
    anywhere = [r for r in active if r.where == "any"]
    by_cap: dict[tuple[int, bool, str], list[str]] = {}
    others: list[BoilerplateRule] = []
    for rule in anywhere:
        if rule.action == "drop" and not rule.links:
            pattern = rule.pattern.pattern
            key = (rule.max_chars, _anchored(pattern), required_script(pattern) or "")
            by_cap.setdefault(key, []).append(pattern)
        else:
            others.append(rule)
    merged = []
    for (cap, anchored, script), patterns in sorted(by_cap.items()):
        compiled = re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)
        gate = _SCRIPT_LETTERS[script] if script else None
        merged.append((cap, gate, compiled.match if anchored else compiled.search))
    return _Plan(tuple(merged), tuple((r, _gate(r)) for r in others),
                 tuple((r, _gate(r)) for r in active if r.where == "tail"))


@dataclass(frozen=True)
class _Gate:
    """What every match of a rule needs: a letter of ``script`` and/or one of
    the ``literals`` (case-folded). Link markers hold no letters, so testing
    the paragraph with its markers is safe."""

    script: re.Pattern[str] | None
    literals: tuple[str, ...]

    def may_match(self, text: str, folded: str | None = None) -> bool:
        """``folded`` is ``fold_case(text)`` when the caller has it."""
        if self.script is not None and (text.isascii() or self.script.search(text) is None):
            return False
        if self.literals:
            folded = fold_case(text) if folded is None else folded
            return any(literal in folded for literal in self.literals)
        return True


def _gate(rule: BoilerplateRule) -> _Gate | None:
    script = required_script(rule.pattern.pattern)
    literals = required_literals(rule.pattern.pattern) or ()
    if not script and not literals:
        return None
    return _Gate(_SCRIPT_LETTERS[script] if script else None, literals)


def _apply_all(gated: Sequence[tuple[BoilerplateRule, _Gate | None]],
               paragraph: str) -> str | None:
    """Each rule in turn (:func:`_apply`), skipping those the paragraph cannot
    match; the paragraph is case-folded once for all the gates and again
    only after a rule changed it."""
    current: str | None = paragraph
    folded: str | None = None
    for rule, gate in gated:
        if current is None:
            return None
        if gate is not None:
            if gate.literals and folded is None:
                folded = fold_case(current)
            if not gate.may_match(current, folded):
                continue
        changed = _apply(rule, current)
        if changed is not current:
            folded = None
        current = changed
    return current


# The regex engine matches a character against a literal, case ignored, when
# their simple lower cases are equal or in one of a few extra classes (long s
# and s, micro and mu, final and plain sigma ...). str.lower() is the simple
# lower case for every character except U+0130 (which it turns into two).
_CASE_CLASSES = {
    chr(code): chr(min(code, *others))
    for code, others in re_casefix._EXTRA_CASES.items()
    if min(others) < code
}
_CASE_CLASS_RE = re.compile("[" + "".join(sorted(_CASE_CLASSES)) + "]")


def fold_case(value: str) -> str:
    """A case folding under which ``literal`` (case ignored) matches somewhere
    in ``text`` exactly when ``fold_case(literal) in fold_case(text)``, as
    Python's regex engine decides it with ``re.IGNORECASE``."""
    if value.isascii():
        return value.lower()
    value = value.replace("\u0130", "i").lower()
    if _CASE_CLASS_RE.search(value) is None:
        return value
    return _CASE_CLASS_RE.sub(lambda m: _CASE_CLASSES[m.group()], value)


# Letters of a script, with every character outside its main block that
# case-folds to one of them (re.IGNORECASE): Cyrillic Extended-B/C/D,
# Greek Extended, MICRO SIGN, OHM SIGN, COMBINING YPOGEGRAMMENI.
_SCRIPT_LETTERS = {
    "cyrillic": re.compile("[\u0400-\u052f\u1c80-\u1c8f\u2de0-\u2dff\ua640-\ua69f]"),
    "greek": re.compile("[\u0370-\u03ff\u1f00-\u1fff\u00b5\u0345\u2126]"),
}


def _script_of(code: int) -> str | None:
    if 0x0400 <= code <= 0x052F:
        return "cyrillic"
    if 0x0370 <= code <= 0x03FF:
        return "greek"
    return None


def required_script(pattern: str) -> str | None:
    """``"cyrillic"`` or ``"greek"`` when every match of ``pattern`` (case
    ignored) contains a letter of that script, found conservatively from the
    parsed pattern: a literal or character class of that script that no
    match can skip (not optional, not in a lookaround; in a branch, in every
    alternative). None when unsure."""
    try:
        parsed = re_parser.parse(pattern, re.IGNORECASE)
    except re.error:
        return None
    return _sequence_script(list(parsed))


def _sequence_script(items: Sequence[tuple[Any, Any]]) -> str | None:
    for op, av in items:
        found = _item_script(str(op), av)
        if found:
            return found
    return None


def _item_script(op: str, av: Any) -> str | None:
    if op == "LITERAL":
        return _script_of(av)
    if op == "IN":
        scripts = set()
        for member_op, member in av:
            if str(member_op) == "LITERAL":
                scripts.add(_script_of(member))
            elif str(member_op) == "RANGE":
                low, high = _script_of(member[0]), _script_of(member[1])
                scripts.add(low if low == high else None)
            else:  # NEGATE, CATEGORY ...: any script
                return None
        return scripts.pop() if len(scripts) == 1 else None
    part = _required_part(op, av)
    if part is not None:
        return _sequence_script(part)
    if op == "BRANCH":
        found = {_sequence_script(list(alternative)) for alternative in av[1]}
        return found.pop() if len(found) == 1 else None
    return None


# A literal gate is worth its ``in`` tests only when its strings are this long.
_MIN_LITERAL = 3


def required_literals(pattern: str) -> tuple[str, ...] | None:
    """Case-folded strings of which every match of ``pattern`` (case ignored)
    contains at least one, found conservatively from the parsed pattern: the
    first run of literal characters (or branch whose every alternative has
    one) that no match can skip, each string at least three characters.
    The strings are folded with :func:`fold_case`, so a text that could match
    has ``literal in fold_case(text)`` for one of them. None when unsure."""
    try:
        parsed = re_parser.parse(pattern, re.IGNORECASE)
    except re.error:
        return None
    found = _sequence_literals(list(parsed))
    return tuple(sorted(found)) if found else None


def _sequence_literals(items: Sequence[tuple[Any, Any]]) -> set[str] | None:
    run: list[str] = []
    for op, av in items:
        if str(op) == "LITERAL":
            run.append(chr(av))
            continue
        if len(run) >= _MIN_LITERAL:
            return {fold_case("".join(run))}
        run = []
        found = _item_literals(str(op), av)
        if found:
            return found
    return {fold_case("".join(run))} if len(run) >= _MIN_LITERAL else None


def _required_part(op: str, av: Any) -> list[tuple[Any, Any]] | None:
    """The items every match of a parsed group goes through: a group's body,
    or that of a repeat that runs at least once; None for other items."""
    if op == "SUBPATTERN":
        return list(av[-1])
    if op == "ATOMIC_GROUP":
        return list(av)
    if op in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        low, _, sub = av
        return list(sub) if low >= 1 else None
    return None


def _item_literals(op: str, av: Any) -> set[str] | None:
    part = _required_part(op, av)
    if part is not None:
        return _sequence_literals(part)
    if op == "BRANCH":
        found: set[str] = set()
        for alternative in av[1]:
            literals = _sequence_literals(list(alternative))
            if not literals:
                return None
            found |= literals
        return found
    return None


def _anchored(pattern: str) -> bool:
    """True when every match of ``pattern`` starts at position 0: it begins
    with ``^`` and has no top-level ``|`` (whose other branch could match
    anywhere). Escapes and character classes are skipped."""
    if not pattern.startswith("^"):
        return False
    depth, in_class, i = 0, False, 1
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            if pattern[i + 1:i + 2] == "^":
                i += 1
            if pattern[i + 1:i + 2] == "]":  # "[]...]", "[^]...]": that "]" is a member
                i += 1
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            return False
        i += 1
    return True


def _merged_drop(plan: _Plan, paragraph: str) -> str | None:
    """Apply the merged drop rules line by line (like :func:`_apply`)."""
    if not plan.merged_drops:
        return paragraph
    lines = paragraph.split("\n")
    kept = []
    for line in lines:
        subject = remove_link_markers(line)
        dropped = any(
            len(subject) <= cap
            and (gate is None or (not subject.isascii() and gate.search(subject) is not None))
            and find(subject) is not None
            for cap, gate, find in plan.merged_drops
        )
        if not dropped:
            kept.append(line)
    if len(kept) == len(lines):
        return paragraph
    return "\n".join(kept) or None


def strip_boilerplate(
    paragraphs: Sequence[str], language: str | None, rules: BoilerplateRules | None = None
) -> list[str]:
    """Apply the rules; returns paragraphs without link markers."""
    plan = _plan(rules or default_boilerplate_rules(), language)
    kept: list[str] = []
    for paragraph in paragraphs:
        current: str | None = _merged_drop(plan, paragraph)
        before = current
        if current is not None and plan.other_anywhere:
            current = _apply_all(plan.other_anywhere, current)
        if current is not None and current != before:
            # a cut may leave a short line that a drop rule now matches
            current = _merged_drop(plan, current)
        if current is not None:
            kept.append(current)
    # Tail rules peel paragraphs off the end while any rule still matches the
    # last one (a bio after a "read more" link after a share line ...).
    tail = plan.tail
    budget = 4 * len(kept) + 16  # every pass shortens the text; this is a backstop
    while kept and tail and budget > 0:
        budget -= 1
        last = kept[-1]
        changed = _apply_all(tail, last)
        if changed is None:
            kept.pop()
            continue
        if changed != last:
            kept[-1] = changed
            continue
        break
    cleaned = [
        _SPACE_BUT_TAB_RE.sub(" ", remove_link_markers(p)).strip() if _has_markers(p)
        else p.strip()
        for p in kept
    ]
    return [p for p in cleaned if p]
