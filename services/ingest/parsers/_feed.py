"""RSS 0.9x/1.0/2.0 and Atom 0.3/1.0 through feedparser.

feedparser gets the bytes in a BytesIO (a bytes *string* could make it
open a URL or a file) plus the Content-Type/Content-Location we were given
as ``response_headers``, so HTTP charsets and relative links work. Its HTML
sanitiser stays on. When it sets ``bozo`` (ill-formed XML, wrong declared
encoding) the entries it recovered are kept and the reason becomes a
warning. The caller has already refused entity declarations and external
DTDs (see ``_xml``) before feedparser runs.

Entry mapping: ``id`` (RSS guid / Atom id) -> guid; ``link``; ``title``;
``summary`` (description) -> summary (not feedparser's copy of an Atom
entry's content when the entry has no summary); the first HTML ``content``
(content:encoded, Atom content), else Yandex ``full-text``, else Yandex
Turbo ``turbo:content`` -> body; ``author``/``authors``/dc:creator ->
byline; ``published``/``updated`` (parsed by our date rules, feedparser's
own parse as the last resort); ``tags`` -> provider keywords; entry or feed
``rights``/dc:rightsHolder -> rights.
"""

from __future__ import annotations

import io
import re
from datetime import datetime
from typing import Any

import charset_normalizer
import feedparser

from services.ingest import text as textmod
from services.ingest.dates import from_struct_time, parse_date
from shared.errors import ParseError
from shared.models import Rights

from ._build import (
    Body,
    Context,
    Draft,
    Rejected,
    looks_like_html,
    normalise_language,
    str_or_none,
)
from ._detect import bom_encoding
from ._model import FeedMeta
from ._xml import parse_xml_lenient

__all__ = ["feed_meta", "iter_drafts", "parse_feed"]


def _get(mapping: Any, key: str) -> Any:
    """dict.get without FeedParserDict's key aliasing: asking it for a
    missing ``updated`` returns ``published`` with a DeprecationWarning."""
    return dict.get(mapping, key) if isinstance(mapping, dict) else None


_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_FULLTEXT_KEYS = ("yandex_full-text", "full-text", "fulltext", "yandex_fulltext")


_CT_CHARSET_RE = re.compile(rb"charset\s*=", re.I)
_XML_DECL_ENCODING_RE = re.compile(rb"^\s*<\?xml[^>]*?\sencoding\s*=", re.I)
# A windows-1252 reading of single-byte Cyrillic/Greek/... text turns every
# word of that script into a run of accented Latin letters; real Latin-script
# text has hardly a word of four or more letters with no ASCII letter in it.
_MOJIBAKE_WORD_RE = re.compile(r"\b[^\W\d_a-zA-Z]{4,}\b")
_MOJIBAKE_WORDS = 3


def parse_feed(data: bytes, *, content_type: str | None, base_url: str | None) -> Any:
    parsed = _parse(data, content_type=content_type, base_url=base_url)
    guessed = _undeclared_charset_guess(parsed, data, content_type)
    if guessed is None:
        return parsed
    text = data.decode(guessed, errors="replace")
    utf8 = text.encode("utf-8")
    ct = "application/xml; charset=utf-8"
    reparsed = _parse(utf8, content_type=ct, base_url=base_url)
    reparsed["wirestream_charset_guess"] = guessed
    return reparsed


def _undeclared_charset_guess(parsed: Any, data: bytes, content_type: str | None) -> str | None:
    """The encoding to read a feed in when nothing declared one (no BOM, no
    HTTP charset, no encoding in the XML declaration), feedparser fell back
    to windows-1252 and the result looks like mojibake; else None."""
    if not isinstance(parsed.get("bozo_exception"), feedparser.CharacterEncodingOverride):
        return None
    if bom_encoding(data)[0] is not None:
        return None
    if content_type and _CT_CHARSET_RE.search(content_type.encode("latin-1", "replace")):
        return None
    if _XML_DECL_ENCODING_RE.match(data[:512]):
        return None
    as_cp1252 = data.decode("cp1252", errors="replace")
    if len(_MOJIBAKE_WORD_RE.findall(as_cp1252, 0, 200_000)) < _MOJIBAKE_WORDS:
        return None
    best = charset_normalizer.from_bytes(data).best()
    if best is None or best.encoding in ("ascii", "utf_8", "cp1252", "latin_1"):
        return None
    return str(best.encoding)


def _parse(data: bytes, *, content_type: str | None, base_url: str | None) -> Any:
    headers: dict[str, str] = {}
    if content_type:
        headers["content-type"] = content_type
    if base_url:
        headers["content-location"] = base_url
    try:
        return feedparser.parse(
            io.BytesIO(data),
            response_headers=headers,
            # Our HTML-to-text conversion (lxml, dropping script/style/embeds and
            # every tag) is the sanitising step; feedparser's would run twice the
            # work for markup we throw away.
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except (UnicodeError, LookupError, ValueError, TypeError, IndexError, KeyError) as exc:
        # feedparser has a few crash paths on garbage bytes (a non-UTF-8 byte
        # inside the XML declaration's encoding name raises UnicodeDecodeError
        # from its encoding sniffer): the document is unreadable, not a bug of ours.
        raise ParseError(
            f"feedparser could not read the document: {type(exc).__name__}: {exc}",
            reason="feed_unreadable",
        ) from exc


def _detail_body(value: Any, detail: Any) -> Body | None:
    text = value if isinstance(value, str) else None
    if not text or not text.strip():
        return None
    if isinstance(detail, dict) and _get(detail, "type"):
        html = "html" in str(_get(detail, "type"))
    else:
        # feedparser copies Atom 0.3 content into ``summary`` without a detail
        html = looks_like_html(text)
    return Body(text, "html" if html else "text")


def _date(entry: Any, key: str, languages: list[str] | None) -> datetime | None:
    raw = str_or_none(_get(entry, key))
    return parse_date(raw, languages=languages) or from_struct_time(_get(entry, f"{key}_parsed"))


def _byline(entry: Any) -> str | None:
    authors = _get(entry, "authors")
    names: list[str] = []
    if isinstance(authors, list):
        for author in authors:
            if isinstance(author, dict) and (name := str_or_none(_get(author, "name"))):
                names.append(name)
    if names:
        return ", ".join(dict.fromkeys(names))
    return str_or_none(_get(entry, "author"))


def _rights(entry: Any, feed: Any) -> Rights | None:
    holder = str_or_none(_get(entry, "dc_rightsholder")) or str_or_none(
        _get(feed, "dc_rightsholder")
    )
    notice = str_or_none(_get(entry, "rights")) or str_or_none(_get(feed, "rights"))
    if holder or notice:
        return Rights(holder=holder, notice=notice)
    return None


def _body(entry: Any) -> Body | None:
    contents = _get(entry, "content")
    if isinstance(contents, list) and contents:
        # text/*, HTML and XHTML only: Atom allows any media type (base64 for binary)
        readable = [
            c
            for c in contents
            if isinstance(c, dict)
            and (
                str(_get(c, "type") or "text/plain").startswith("text/")
                or "html" in str(_get(c, "type"))
            )
        ]
        html = [c for c in readable if "html" in str(_get(c, "type") or "")]
        for chosen in (html or readable)[:1]:
            if body := _detail_body(_get(chosen, "value"), chosen):
                return body
    for key in _FULLTEXT_KEYS:
        if value := str_or_none(_get(entry, key)):
            return Body(value, "html")
    if value := str_or_none(_get(entry, "turbo_content")):
        return Body(value, "html")
    return None


def _keywords(entry: Any) -> list[str]:
    out: list[str] = []
    tags = _get(entry, "tags")
    if isinstance(tags, list):
        for tag in tags:
            if isinstance(tag, dict):
                value = str_or_none(_get(tag, "label")) or str_or_none(_get(tag, "term"))
                if value:
                    out.append(value)
    return out


def iter_drafts(parsed: Any, ctx: Context) -> list[Draft | Rejected]:
    feed = _get(parsed, "feed") or {}
    languages = [ctx.feed_language.split("-")[0]] if ctx.feed_language else None
    out: list[Draft | Rejected] = []
    atom = str(_get(parsed, "version") or "").startswith("atom")
    for entry in _get(parsed, "entries") or []:
        title_detail = _get(entry, "title_detail")
        summary = _detail_body(_get(entry, "summary"), _get(entry, "summary_detail"))
        body = _body(entry)
        if atom and summary is not None and body is not None and summary.value == body.value:
            # feedparser copies an Atom entry's <content> into ``summary``
            # when the entry has none: the content is the body
            summary = None
        entry_language = None
        for detail_key in ("title_detail", "summary_detail"):
            detail = _get(entry, detail_key)
            if isinstance(detail, dict) and _get(detail, "language"):
                entry_language = str(detail["language"])
                break
        out.append(
            Draft(
                guid=str_or_none(_get(entry, "id")),
                link=str_or_none(_get(entry, "link")),
                headline=_detail_body(_get(entry, "title"), title_detail),
                summary=summary,
                body=body,
                byline=_byline(entry),
                language=entry_language,
                published=_date(entry, "published", languages),
                updated=_date(entry, "updated", languages),
                rights=_rights(entry, feed),
                keywords=_keywords(entry),
            )
        )
    return out


def _skip_lists(data: bytes) -> tuple[list[int], list[str]]:
    try:
        root = parse_xml_lenient(data)
    except ParseError:
        # a tolerated DOCTYPE (Netscape RSS 0.91) trips the lenient parser's
        # belt-and-braces guard; the schedule hints are not worth failing for
        return [], []
    if root is None:
        return [], []
    hours: list[int] = []
    days: list[str] = []
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        name = el.tag.rsplit("}", 1)[-1]
        if name == "skipHours":
            for hour in el:
                value = (hour.text or "").strip()
                if value.isdigit() and 0 <= int(value) <= 24:
                    hours.append(int(value) % 24)
        elif name == "skipDays":
            for day in el:
                value = (day.text or "").strip().capitalize()
                if value in _DAYS:
                    days.append(value)
    return sorted(set(hours)), [d for d in _DAYS if d in days]


def feed_meta(parsed: Any, data: bytes) -> FeedMeta:
    feed = _get(parsed, "feed") or {}
    language = str_or_none(_get(feed, "language"))
    languages = [language.split("-")[0]] if language else None
    updated = _date(feed, "updated", languages) or _date(feed, "published", languages)
    ttl_raw = str_or_none(_get(feed, "ttl"))
    ttl = int(ttl_raw) if ttl_raw and ttl_raw.isdigit() and int(ttl_raw) < 10**6 else None
    title_body = _detail_body(_get(feed, "title"), _get(feed, "title_detail"))
    title = None
    if title_body is not None and isinstance(title_body.value, str):
        title = (
            textmod.single_line(textmod.html_to_text(title_body.value))
            if title_body.kind == "html"
            else textmod.single_line(title_body.value)
        ) or None
    skip_hours, skip_days = _skip_lists(data)
    return FeedMeta(
        title=title,
        link=str_or_none(_get(feed, "link")),
        language=normalise_language(language),
        updated=updated,
        ttl=ttl,
        skip_hours=skip_hours,
        skip_days=skip_days,
    )
