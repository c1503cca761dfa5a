"""From a format-neutral draft to a validated :class:`NewsItem`.

Every format parser maps its entries to :class:`Draft` (raw strings, HTML or
text, provider dates) and hands them to :func:`build_item`, which applies the
same hygiene everywhere: text clean-up and boilerplate removal, canonical URL,
identity key, date rules, content hash, model validation.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import datetime
from itertools import zip_longest
from typing import Any, Literal
from urllib.parse import urljoin

from ftfy import fix_encoding
from ftfy.badness import is_bad
from pydantic import ValidationError

from services.ingest import dates as dates_mod
from services.ingest import identity
from services.ingest import text as textmod
from services.ingest.text import BoilerplateRules
from shared.errors import ParseError
from shared.mediatopics import media_topics, subjectcode_parents
from shared.models import Concept, NewsItem, PubStatus, Rights, Subject

from ._model import SourceRef

__all__ = [
    "Body",
    "Context",
    "Draft",
    "Rejected",
    "build_item",
    "finish_items",
    "legacy_status",
    "looks_like_html",
    "normalise_language",
    "str_or_none",
]

_HTML_RE = re.compile(
    r"<(?:p|div|br|span|section|article|h[1-6]|ul|ol|li|a|b|i|em|strong|html|body|img|table)\b",
    re.IGNORECASE,
)
_ENTITY_RE = re.compile(r"&(?:#[0-9]{2,7}|#[xX][0-9a-fA-F]{2,6}|[A-Za-z][A-Za-z0-9]{1,31});")
# What every common mojibake contains: the lead byte of a UTF-8 sequence
# (U+00C2-U+00EF read as Latin-1) followed by a continuation byte (0x80-0xBF
# read as Latin-1, or as windows-1252 maps 0x80-0x9F): "Ã©", "â€œ", "Â£",
# "Ð¿". Text without such a pair (nearly all text) is not looked at further.
_CONTINUATION = ("\u0080-\u00bf\u20ac\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030"
                 "\u0160\u2039\u0152\u017d\u2018\u2019\u201c\u201d\u2022\u2013\u2014"
                 "\u02dc\u2122\u0161\u203a\u0153\u017e\u0178")
_MOJIBAKE_HINT = re.compile(f"[\u00c2-\u00ef][{_CONTINUATION}]")
# A tag (or comment) in a field that should be plain text: a feed's title
# carrying "<b>" or, escaped once more, "&lt;b&gt;".
_TAG_RE = re.compile(r"<(?:[A-Za-z][\w:.-]*(?:\s[^<>]*)?/?|/[A-Za-z][\w:.-]*\s*|!--.*?--)>", re.S)
# C0 and C1 controls and DEL: never part of an identifier
_ID_CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f]")
# schemes that must never become an item's uri (what a consumer may follow)
_UNSAFE_SCHEMES = ("javascript:", "data:", "vbscript:", "file:")
_LANG_RE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*$")
_PUBSTATUS = {
    "usable": PubStatus.usable,
    "withheld": PubStatus.withheld,
    "canceled": PubStatus.canceled,
    "cancelled": PubStatus.canceled,
}


@dataclass(frozen=True)
class Rejected:
    """An entry a format parser did not map. It becomes an ItemError, or,
    with ``expected`` (an event in a ninjs list: not news, not broken), only
    a document warning."""

    reason: str
    message: str
    guid: str | None = None
    expected: bool = False


@dataclass
class Body:
    """A piece of text as the provider sent it. ``kind`` says how to read
    ``value``: ``html`` (HTML or XHTML markup), ``text`` (plain text), or
    ``paragraphs`` (already split, e.g. from an XML tree; link text may carry
    the text module's link markers)."""

    value: str | list[str]
    kind: Literal["html", "text", "paragraphs"] = "text"


@dataclass
class Context:
    source: SourceRef
    fetched_at: datetime
    rules: BoilerplateRules
    base_url: str | None = None
    feed_updated: datetime | None = None
    feed_language: str | None = None
    # bounds (services.ingest.parsers.parse_document): text characters of one
    # item (headline + summary + body)
    max_item_chars: int = 1_000_000


@dataclass
class Draft:
    guid: str | None = None
    link: str | None = None
    headline: Body | None = None
    summary: Body | None = None
    body: Body | None = None
    byline: str | None = None
    byline_role: str | None = None  # when the format marks it (NITF <byttl>)
    language: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    embargoed: datetime | None = None
    version: int | None = None
    pubstatus: str | None = None
    type: str | None = None
    urgency: int | None = None
    subjects: list[Subject] = field(default_factory=list)
    genres: list[Subject] = field(default_factory=list)
    places: list[Concept] = field(default_factory=list)
    people: list[Concept] = field(default_factory=list)
    organisations: list[Concept] = field(default_factory=list)
    rights: Rights | None = None
    keywords: list[str] = field(default_factory=list)
    associations: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)


def legacy_status(value: str | None) -> str | None:
    """NewsML 1 ``Status`` / NITF ``management-status``: as pubstatus, with
    "embargoed" usable (the embargo time is carried on its own)."""
    status = (value or "").strip().lower()
    return "usable" if status == "embargoed" else status or None


def looks_like_html(value: str) -> bool:
    """For text whose type nobody declared: does it carry HTML markup?"""
    return bool(_HTML_RE.search(value))


def normalise_language(value: str | None) -> str | None:
    """BCP 47-ish casing: ``en-gb`` -> ``en-GB``, ``IT-it`` -> ``it-IT``,
    ``en_US`` -> ``en-US``; None for values that are not language tags."""
    if not value:
        return None
    value = value.strip()
    if not _LANG_RE.match(value):
        return None
    parts = value.replace("_", "-").split("-")
    out = [parts[0].lower()]
    for part in parts[1:]:
        if len(part) == 2 and part.isalpha():
            out.append(part.upper())
        elif len(part) == 4 and part.isalpha():
            out.append(part.title())
        else:
            out.append(part.lower())
    return "-".join(out)


def _paragraphs(part: Body | None, ctx: Context, language: str | None) -> list[str]:
    if part is None:
        return []
    if part.kind == "html":
        value = part.value if isinstance(part.value, str) else "\n".join(part.value)
        paragraphs = textmod.html_to_paragraphs(value, rules=ctx.rules, mark_links=True)
    elif part.kind == "paragraphs":
        paragraphs = list(part.value) if isinstance(part.value, list) else [part.value]
    else:
        value = part.value if isinstance(part.value, str) else "\n\n".join(part.value)
        value = textmod.typographic_names(_unescape_leftovers(value))
        if _TAG_RE.search(value):  # "plain" text that carries markup after all
            paragraphs = textmod.html_to_paragraphs(value, rules=ctx.rules, mark_links=True)
        else:
            paragraphs = textmod.plain_to_paragraphs(value)
    paragraphs = [textmod.remove_shortcodes(textmod.typographic_names(p)) for p in paragraphs]
    return textmod.strip_boilerplate([p for p in paragraphs if p], language, ctx.rules)


def _unescape_leftovers(value: str) -> str:
    """Plain text should hold no entities; a complete one (``&quot;``,
    ``&#8217;``) in it is a publisher's double escape, so decode it."""
    return html.unescape(value) if _ENTITY_RE.search(value) else value


def _line(part: Body | None, ctx: Context) -> str:
    if part is None:
        return ""
    if part.kind == "html":
        value = part.value if isinstance(part.value, str) else " ".join(part.value)
        return textmod.single_line(" ".join(textmod.html_to_paragraphs(value, rules=ctx.rules)))
    value = part.value if isinstance(part.value, str) else " ".join(part.value)
    return plain_line(textmod.remove_link_markers(value), ctx.rules)


def plain_line(value: str | None, rules: BoilerplateRules | None = None) -> str:
    """A one-line field (headline, byline, keyword) as plain text: entities a
    publisher escaped twice decoded, and markup that came with it - "<b>",
    "&lt;a href=...&gt;" - read as HTML (tags gone, script and style with
    their content)."""
    value = textmod.typographic_names(_unescape_leftovers(value or ""))
    if _TAG_RE.search(value):
        value = " ".join(textmod.html_to_paragraphs(value, rules=rules))
    return textmod.single_line(textmod.typographic_names(value))


def clean_guid(value: str | None) -> str | None:
    """A provider's id without control characters or surrounding space;
    None when nothing is left."""
    if not value:
        return None
    value = _ID_CONTROL_RE.sub("", value).strip()
    return value or None


_WORD_RE = re.compile(r"\S+")


def _same(a: str, b: str) -> bool:
    """Equal once whitespace runs are one space and case is folded, i.e.
    ``" ".join(a.split()).casefold() == " ".join(b.split()).casefold()``,
    decided word by word so that two different texts (the usual case: a
    summary and a 4 KB body) stop at their first different word."""
    for x, y in zip_longest(_WORD_RE.finditer(a), _WORD_RE.finditer(b)):
        if x is None or y is None or x.group().casefold() != y.group().casefold():
            return False
    return True


def _unique(values: list[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for value in values:
        cleaned = plain_line(value)
        if cleaned and cleaned.casefold() not in seen:
            seen.add(cleaned.casefold())
            out.append(cleaned)
    return out


# "By" in the languages whose wires print it before the names (a word that
# is also a name - Italian "Di" - is not on the list)
_BY_RE = re.compile(r"^(?:by|von|par|por|door|av|af)\s*:?\s+(?=\S)", re.I)
# what makes the last comma-separated part of a one-line byline a role
_ROLE_RE = re.compile(
    r"\b(?:writer|correspondent|editor|reporter|columnist|staff|bureau|chief|contributor|"
    r"critic|analyst|journalist|associated press|press association|reuters|afp|agence|"
    r"bloomberg|dpa|ansa|efe|redakteur|korrespondent|correspondant|corresponsal|"
    r"rédact\w*|redacci\w*)\b", re.I)


def split_byline(value: str | None, role: str | None = None) -> tuple[str | None, str | None]:
    """(names, role) of a byline as wires print it: "By JOSH BOAK" over "AP
    Economics Writer", "By Jane Doe, Reuters", "Von Anna Schmidt, dpa".
    ``role`` is the role when the format marks it (NITF ``<byttl>``); the
    names lose their "By". A byline that is a list of names stays whole."""
    if not value or not value.strip():
        return None, plain_line(role) or None
    lines = [line for line in (plain_line(part) for part in value.splitlines()) if line]
    names = lines[0] if lines else ""
    roles = [plain_line(role)] if role else []
    roles += lines[1:]
    if role and names.endswith(roles[0]):  # the role's text came with the names
        names = names[: -len(roles[0])].rstrip(" ,;-\u2013\u2014")
    names, prefixed = _BY_RE.subn("", names, count=1)
    # "By Jane Doe, Reuters": after a "By" only (without one, "A. Writer,
    # B. Writer" is a list of names)
    if prefixed and not roles and "," in names:
        head, _, tail = names.rpartition(",")
        if head.strip() and _ROLE_RE.search(tail):
            names, roles = head.strip(), [tail.strip()]
    return names or None, ", ".join(r for r in roles if r) or None


def repair_mojibake(value: str | None) -> tuple[str | None, bool]:
    """``value`` with text that was decoded with the wrong charset put
    right ("DÃ©cÃ¨s" -> "Décès", "â€œ" -> the quote; bytes in UTF-8 declared
    as ISO-8859-1, or UTF-8 encoded twice), and whether anything changed.
    ftfy decides, and only for text it finds bad: a correct "PÃO" or
    "ÂNGELA" stays, and so does text a repair would not make clean (CJK
    decoded with the wrong charset: other garbage is no repair)."""
    if not value or not _MOJIBAKE_HINT.search(value) or not is_bad(value):
        return value, False
    fixed = fix_encoding(value)
    if fixed == value or is_bad(fixed):
        return value, False
    return fixed, True


def _repair_part(part: Body | None) -> tuple[Body | None, bool]:
    if part is None:
        return None, False
    if isinstance(part.value, str):
        value, changed = repair_mojibake(part.value)
        return (Body(value or "", part.kind) if changed else part), changed
    values = [repair_mojibake(v) for v in part.value]
    if not any(changed for _, changed in values):
        return part, False
    return Body([v or "" for v, _ in values], part.kind), True


def build_item(draft: Draft, ctx: Context) -> NewsItem:
    """Turn a draft into a validated item, or raise ParseError for this one
    entry (the caller turns it into an ItemError and goes on)."""
    language = (
        normalise_language(draft.language)
        or normalise_language(ctx.feed_language)
        or normalise_language(ctx.source.language)
    )
    # before any cleaning: cleaning drops what a repair needs (the soft
    # hyphen U+00AD that "í" read as Latin-1 ends in)
    parts, repaired = [], False
    for part in (draft.headline, draft.summary, draft.body):
        fixed, changed = _repair_part(part)
        parts.append(fixed)
        repaired |= changed
    raw_byline, changed = repair_mojibake(draft.byline)
    repaired |= changed
    headline = _line(parts[0], ctx)
    summary_paras = _paragraphs(parts[1], ctx, language)
    body_paras = _paragraphs(parts[2], ctx, language)
    # A body that starts by repeating the headline (TT's <h1>, dpa's plain
    # text rendition) loses that first paragraph.
    if headline and body_paras and _same(body_paras[0], headline):
        body_paras = body_paras[1:]
    summary = textmod.join_paragraphs(summary_paras) or None
    # ... and a body that starts with the whole summary (dpa's <p class="teaser">,
    # Yandex full-text repeating the lead) loses that too: summary + body
    # together are the story, without repeats.
    if summary and len(body_paras) > 1 and _same(body_paras[0], summary):
        body_paras = body_paras[1:]
    body = textmod.join_paragraphs(body_paras) or None
    if summary and body and _same(summary, body):
        body = None  # feeds often repeat the description as content:encoded
    if summary and headline and _same(summary, headline):
        summary = None

    size = len(headline) + len(summary or "") + len(body or "")
    if size > ctx.max_item_chars:
        raise ParseError(f"item text is {size:,} characters, more than the "
                         f"{ctx.max_item_chars:,} an item may have", reason="item_too_large")

    link = "".join(draft.link.split()) if draft.link else ""
    url = urljoin(ctx.base_url, link) if link and ctx.base_url else link or None
    canonical = identity.canonical_url(url)
    if canonical is None:
        url = None  # only absolute http(s) links are kept

    provider_date = draft.updated or draft.published
    provider_guid = clean_guid(draft.guid)
    key = identity.identity_key(
        guid=provider_guid,
        canonical=canonical,
        headline=headline,
        provider_date=provider_date,
        summary=summary,
        body=body,
    )
    if key is None:
        raise ParseError("entry has no id, link, headline or text", reason="empty_item")
    resolved = dates_mod.resolve_item_dates(
        published=draft.published,
        updated=draft.updated,
        feed_updated=ctx.feed_updated,
        fetched_at=ctx.fetched_at,
    )
    pubstatus = PubStatus.usable
    flags = list(draft.flags)
    if draft.pubstatus:
        status = draft.pubstatus.strip().lower().rsplit(":", 1)[-1]
        if status in _PUBSTATUS:
            pubstatus = _PUBSTATUS[status]
        else:
            flags.append(f"pubstatus_unknown:{status[:40]}")
    # a guid that is a script or inline-data URI identifies the item (the
    # key above) but is never shown as its guid or uri
    guid = provider_guid
    if guid and guid.lower().replace(" ", "").startswith(_UNSAFE_SCHEMES):
        guid = None
        flags.append("guid_unsafe_scheme")
    item_id = identity.make_item_id(ctx.source.id, key)
    uri = guid or canonical or f"urn:wirestream:{ctx.source.id}:{item_id}"
    byline, byline_role = split_byline(raw_byline, draft.byline_role)
    if repaired:
        flags.append("charset_repaired")
    try:
        return NewsItem(
            id=item_id,
            uri=uri,
            source=ctx.source.id,
            url=url,
            headline=headline,
            summary=summary,
            body_text=body,
            byline=byline,
            byline_role=byline_role,
            language=language,
            firstcreated=resolved.firstcreated,
            versioncreated=resolved.versioncreated,
            version=draft.version if draft.version is not None and draft.version >= 0 else 1,
            pubstatus=pubstatus,
            embargoed=draft.embargoed,
            subjects=with_hierarchy(_dedupe_subjects(draft.subjects), language),
            fetched_at=ctx.fetched_at,
            content_hash=identity.make_content_hash(headline, summary, body),
            guid=guid,
            canonical_url=canonical,
            type=(draft.type or "text").strip().lower() or "text",
            urgency=draft.urgency,
            genres=_dedupe_subjects(draft.genres),
            places=_dedupe_concepts(draft.places),
            people=_dedupe_concepts(draft.people),
            organisations=_dedupe_concepts(draft.organisations),
            rights=draft.rights,
            provider_keywords=_unique(draft.keywords),
            associations=_unique(draft.associations),
            ingest_flags=flags + resolved.flags,
        )
    except ValidationError as exc:
        raise ParseError(_short(exc), reason="invalid_item") from exc


def _short(exc: ValidationError) -> str:
    errors = exc.errors()
    parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors[:3]]
    return "; ".join(parts)


_IPTC_DIGITS_RE = re.compile(r"(?<!\d)(\d{8})$")


def _iptc_kind(subject: Subject) -> tuple[str, str] | None:
    """("medtop" | "subj", its 8 digits) for an IPTC Media Topic or Subject
    Code, as agencies write them (``medtop:``/``subj:`` qcodes, the
    cv.iptc.org URIs, a scheme naming either)."""
    match = _IPTC_DIGITS_RE.search(subject.code.strip())
    if match is None:
        return None
    code, scheme = subject.code.lower(), (subject.scheme or "").lower()
    if code.startswith("medtop:") or "mediatopic" in code or scheme == "medtop" \
            or "mediatopic" in scheme:
        return "medtop", match.group(1)
    if code.startswith(("subj:", "iptc:")) or "subjectcode" in code or scheme == "subj" \
            or "subjectcode" in scheme:
        return "subj", match.group(1)
    return None


def with_hierarchy(subjects: list[Subject], language: str | None) -> list[Subject]:
    """The agency's subjects, each IPTC code with its name from the
    vocabulary when the agency sent none, followed by what the vocabulary
    adds (``origin`` ``vocabulary``): a Media Topic's parents up to the top
    level; a Subject Code's parent codes (by its digits) and the Media Topic
    it maps to, with that topic's parents."""
    vocabulary = media_topics()
    out = list(subjects)
    have = {(s.scheme, s.code) for s in subjects}

    def add(code: str, scheme: str, name: str | None) -> None:
        if (scheme, code) not in have:
            have.add((scheme, code))
            out.append(Subject(code=code, name=name, scheme=scheme, origin="vocabulary"))

    for index, subject in enumerate(subjects):
        kind = _iptc_kind(subject)
        if kind is None:
            continue
        family, digits = kind
        if family == "medtop":
            topic = vocabulary.get(digits)
            if topic is None:
                continue
            if not subject.name:
                out[index] = subject.model_copy(update={"name": topic.name(language)})
        else:
            for parent in subjectcode_parents(digits):
                add(f"subj:{parent}", "subj", None)
            topic = vocabulary.for_subjectcode(digits)
            if topic is None:
                continue
            add(topic.code, "medtop", topic.name(language))
        for ancestor in vocabulary.ancestors(topic.code):
            add(ancestor.code, "medtop", ancestor.name(language))
    return out


def _dedupe_subjects(subjects: list[Subject]) -> list[Subject]:
    seen: set[tuple[str, str | None]] = set()
    out: list[Subject] = []
    for subject in subjects:
        key = (subject.code, subject.scheme)
        if key not in seen:
            seen.add(key)
            out.append(subject)
    return out


def _dedupe_concepts(concepts: list[Concept]) -> list[Concept]:
    seen: set[tuple[str | None, str | None, str | None]] = set()
    out: list[Concept] = []
    for concept in concepts:
        key = (concept.name, concept.code, concept.rel)
        if key not in seen and (concept.name or concept.code):
            seen.add(key)
            out.append(concept)
    return out


def finish_items(built: list[tuple[int, NewsItem]]) -> tuple[list[NewsItem], list[str]]:
    """Drop duplicate ids (an expected drop, not an error): the version with
    the latest ``versioncreated`` (then the highest ``version``, then the
    first in the document) is kept. Returns the items in document order and
    one warning per dropped copy."""
    best: dict[str, tuple[int, NewsItem]] = {}
    for index, item in built:
        current = best.get(item.id)
        if current is None or (item.versioncreated, item.version) > (
            current[1].versioncreated,
            current[1].version,
        ):
            best[item.id] = (index, item)
    items: list[NewsItem] = []
    warnings: list[str] = []
    for index, item in built:
        kept = best[item.id][0]
        if kept == index:
            items.append(item)
        else:
            warnings.append(
                f"duplicate_id: entry {index} has the same id as entry {kept} ({item.uri})"
            )
    return items, warnings


def str_or_none(value: Any) -> str | None:
    """Defensive accessor for JSON-ish data: strings only, stripped."""
    if isinstance(value, str):
        stripped = value.strip()
        return stripped or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None
