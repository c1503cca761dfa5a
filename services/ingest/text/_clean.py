"""Unicode clean-up and plain text: what every returned string of
:mod:`services.ingest.text` is made of (the package docstring states the
contract), and the private-use link markers the boilerplate rules read."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from html.entities import html5 as _HTML5

__all__ = [
    "BLANK_LINE_RE", "LINK_CLOSE", "LINK_MACRO", "LINK_OPEN", "MARKERS_RE", "PARAGRAPH_SEP",
    "SPACE_BUT_TAB_RE", "SPACE_RE",
    "clean_text", "has_markers", "join_paragraphs", "plain_to_paragraphs",
    "plain_to_text", "remove_link_markers", "remove_shortcodes", "single_line",
    "typographic_names",
]


PARAGRAPH_SEP = "\n\n"


# Link text is wrapped in these two private-use characters while paragraphs
# go through the boilerplate rules, so a rule can say "a parenthesised list
# of links" ({link} in a pattern). They are removed before text is returned.
LINK_OPEN = "\ue000"


LINK_CLOSE = "\ue001"


LINK_MACRO = f"{LINK_OPEN}[^{LINK_OPEN}{LINK_CLOSE}]*{LINK_CLOSE}"


MARKERS_RE = re.compile(f"[{LINK_OPEN}{LINK_CLOSE}]")


# C0/C1 controls except \n and \t, lone surrogates, and invisible format
# characters (zero-width space/joiners, word joiner, BOM, soft hyphen,
# bidi controls) that break tokenisation and hashing.
_INVISIBLE_RE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u00ad\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]"
)


# every Unicode space separator plus tab, CR, FF, VT and the line/paragraph separators
SPACE_RE = re.compile("[ \t\r\f\v\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\u2028\u2029]+")


SPACE_BUT_TAB_RE = re.compile("[ \r\f\v\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\u2028\u2029]+")


# Anything clean_text would change besides runs of plain spaces: invisible
# and control characters, CR, and every whitespace character but " " and "\n".
_UNCLEAN_RE = re.compile(
    f"{_INVISIBLE_RE.pattern}|[\t\r\f\v\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\u2028\u2029]"
)


BLANK_LINE_RE = re.compile(r"\n[ \t]*\n")


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
    # SPACE_RE plus the controls _INVISIBLE_RE has already removed (FS..US,
    # NEL), so this collapses every run and strips the line, in C: a regex
    # substitution of every single space was a tenth of a feed item's cost.
    return "\n".join(" ".join(line.split()) for line in value.split("\n"))


def single_line(value: str | None) -> str:
    """A headline-like field: clean, all whitespace (newlines too) collapsed."""
    if not value:
        return ""
    return SPACE_RE.sub(" ", clean_text(value).replace("\n", " ")).strip()


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
    if BLANK_LINE_RE.search(text) or "\n\n" in text:
        chunks = re.split(r"\n\s*\n", text)
        paragraphs = [" ".join(line for line in chunk.split("\n") if line) for chunk in chunks]
    else:
        paragraphs = text.split("\n")
    return [p for p in (SPACE_RE.sub(" ", p).strip() for p in paragraphs) if p]


def plain_to_text(value: str | None) -> str:
    return join_paragraphs(plain_to_paragraphs(value or ""))


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
    return SPACE_BUT_TAB_RE.sub(" ", value).strip()


def has_markers(value: str) -> bool:
    return LINK_OPEN in value or LINK_CLOSE in value


def remove_link_markers(value: str) -> str:
    return MARKERS_RE.sub("", value) if has_markers(value) else value
