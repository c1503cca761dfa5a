"""IPTC NewsML-G2: ``newsMessage``, ``newsItem`` and ``packageItem``, with or
without the ``http://iptc.org/std/nar/2006-10-01/`` namespace (TT sends
none). Elements are matched by local name.

Mapping of a ``newsItem``:

* ``@guid``, ``@version``, ``@xml:lang``; ``itemMeta``: ``itemClass``
  (``ninat:text`` -> type ``text`` ...), ``versionCreated``, ``firstCreated``,
  ``embargoed``, ``pubStatus`` (``stat:usable`` ...);
* ``contentMeta``: ``urgency``, ``contentCreated`` (publication date when
  ``firstCreated`` is absent), ``headline`` (the one without a rank or with
  the lowest rank), ``description`` (summary/teaser/caption roles; for a text
  item with no description, none), ``by``, else the names of the
  ``creator`` elements (not an editing-system account such as dpa's
  ``stahlberg.leo``), ``language/@tag``, ``genre``, ``keyword``,
  ``located``; ``subject`` by its ``@type``: ``cpnat:geoArea``/``cpnat:poi``
  -> places, ``cpnat:person`` -> people, ``cpnat:organisation`` ->
  organisations, anything else -> subjects (qcode, keeping the scheme
  prefix; a subject without qcode/uri/literal becomes a keyword);
* ``rightsInfo``: ``copyrightHolder``, ``copyrightNotice``, ``usageTerms``
  (the entry in the item's language when there are several),
  ``link/@href`` as linked rights;
* ``contentSet``: ``inlineXML`` (XHTML/HTML/NITF; NITF ``body.head`` and
  ``body.end`` are skipped) is preferred, else an ``inlineData`` text
  rendition; ``remoteContent`` (pictures, video) has no text.

A ``packageItem`` becomes an item of type ``composite`` whose
``associations`` are the ``itemRef/@residref`` of its groups. Concept,
knowledge, planning and catalog items are not news: inside a newsMessage
they are skipped with a warning; as the whole document they raise
ParseError(reason="unsupported_item_class").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from services.ingest import text as textmod
from services.ingest.dates import parse_date
from shared.errors import ParseError
from shared.models import Concept, Rights, Subject

from ._build import Body, Context, Draft, Rejected
from ._model import FeedMeta

__all__ = ["feed_meta", "iter_drafts"]

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_ITEM_TAGS = ("newsItem", "packageItem")
_OTHER_ITEMS = ("conceptItem", "knowledgeItem", "planningItem", "catalogItem")
_PLACE_TYPES = frozenset({"cpnat:geoarea", "cpnat:poi"})
_PERSON_TYPES = frozenset({"cpnat:person"})
_ORG_TYPES = frozenset({"cpnat:organisation", "cpnat:organization"})
_SUMMARY_ROLES = ("summary", "teaser", "abstract", "lead", "", "caption", "caption-extended")
_TEXT_RENDITION_SKIP = ("nonpublic", "public", "headline", "notepad")


def _local(el: Any) -> str | None:
    tag = el.tag
    if not isinstance(tag, str):
        return None
    return tag.rsplit("}", 1)[-1]


def _children(el: Any, name: str) -> Iterator[Any]:
    if el is None:
        return
    for child in el:
        if _local(child) == name:
            yield child


def _child(el: Any, name: str) -> Any | None:
    return next(_children(el, name), None)


def _text(el: Any | None) -> str | None:
    if el is None:
        return None
    value = " ".join("".join(el.itertext()).split())
    return value or None


def _attr(el: Any | None, name: str) -> str | None:
    """An attribute's value, stripped; None when absent or blank."""
    if el is None:
        return None
    value = el.get(name)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _date(el: Any | None) -> datetime | None:
    return parse_date(_text(el))


def _qcode_value(el: Any | None) -> str | None:
    if el is None:
        return None
    value = el.get("qcode") or el.get("uri") or el.get("literal")
    return str(value) if value else None


def _scheme(code: str | None) -> str | None:
    if not code:
        return None
    if "://" in code:
        return code.rstrip("/").rsplit("/", 1)[0] + "/"
    if ":" in code:
        return code.split(":", 1)[0]
    return None


def _lang_of(el: Any) -> str | None:
    value = el.get(XML_LANG)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _pick_by_lang(elements: list[Any], language: str | None) -> Any | None:
    if not elements:
        return None
    if language:
        primary = language.split("-")[0].lower()
        for el in elements:
            lang = _lang_of(el)
            if lang and lang.split("-")[0].lower() == primary:
                return el
    return elements[0]


def _name(el: Any, language: str | None) -> str | None:
    names = list(_children(el, "name"))
    preferred = [
        n for n in names if (n.get("role") or "").split(":")[-1] in ("", "display", "full")
    ]
    picked = _pick_by_lang(preferred or names, language)
    return _text(picked)


def _rights(item: Any, language: str | None) -> Rights | None:
    info = _child(item, "rightsInfo")
    if info is None:
        return None
    holder_el = _child(info, "copyrightHolder")
    holder = None
    if holder_el is not None:
        holder = _name(holder_el, language) or _qcode_value(holder_el)
    link = _child(info, "link")
    rights = Rights(
        holder=holder,
        notice=_text(_pick_by_lang(list(_children(info, "copyrightNotice")), language)),
        usage_terms=_text(_pick_by_lang(list(_children(info, "usageTerms")), language)),
        linked_rights=link.get("href") if link is not None else None,
        encoded_rights=_text(_child(info, "rightsExpressionData")),
    )
    return rights if any(rights.model_dump().values()) else None


def _headline(meta: Any) -> str | None:
    headlines = list(_children(meta, "headline"))
    if not headlines:
        return None

    def rank(el: Any) -> int:
        value = el.get("rank")
        return int(value) if value and value.isdigit() else 0

    main = [h for h in headlines if (h.get("role") or "").split(":")[-1] in ("", "main")]
    return _text(min(main or headlines, key=rank))


def _summary(meta: Any, language: str | None) -> str | None:
    descriptions = list(_children(meta, "description"))

    def role(el: Any) -> str:
        return (el.get("role") or "").split(":")[-1].lower()

    for wanted in _SUMMARY_ROLES:
        matching = [d for d in descriptions if role(d) == wanted]
        if matching:
            return _text(_pick_by_lang(matching, language))
    return None


def _byline(meta: Any, language: str | None) -> str | None:
    by = _text(_child(meta, "by"))
    if by:
        return by
    names = [_name(c, language) for c in _children(meta, "creator")]
    return ", ".join(n for n in names if n and not _account_name(n)) or None


_ACCOUNT_RE = re.compile(r"\S*[._@]\S*")


def _account_name(name: str) -> bool:
    """A creator named by an editing-system account, not a byline: dpa's
    ``stahlberg.leo``, ``clasmann``, ``load`` (all lower case, or one word
    with a dot, underscore or at sign)."""
    return name == name.lower() or _ACCOUNT_RE.fullmatch(name) is not None


def _classify_subjects(meta: Any, language: str | None, draft: Draft) -> None:
    for el in _children(meta, "subject"):
        kind = (el.get("type") or "").lower()
        code = _qcode_value(el)
        name = _name(el, language)
        scheme = _scheme(code) or el.get("typeuri")
        rel = el.get("rel")
        if kind in _PLACE_TYPES:
            draft.places.append(Concept(name=name, code=code, scheme=scheme, rel=rel))
        elif kind in _PERSON_TYPES:
            draft.people.append(Concept(name=name, code=code, scheme=scheme, rel=rel))
        elif kind in _ORG_TYPES:
            draft.organisations.append(Concept(name=name, code=code, scheme=scheme, rel=rel))
        elif code:
            draft.subjects.append(Subject(code=code, name=name, scheme=_scheme(code)))
        elif name:
            draft.keywords.append(name)
    for el in _children(meta, "located"):
        code = _qcode_value(el)
        name = _name(el, language)
        if name or code:
            draft.places.append(Concept(name=name, code=code, scheme=_scheme(code), rel="located"))
    for el in _children(meta, "genre"):
        code = _qcode_value(el)
        if code:
            draft.genres.append(Subject(code=code, name=_name(el, language), scheme=_scheme(code)))
    for el in _children(meta, "keyword"):
        if value := _text(el):
            draft.keywords.append(value)


def _body(item: Any) -> Body | None:
    content_set = _child(item, "contentSet")
    if content_set is None:
        return None
    for el in _children(content_set, "inlineXML"):
        ctype = (el.get("contenttype") or "").lower()
        if ctype and not any(k in ctype for k in ("html", "nitf")):
            continue  # SportsML, event XML ...: structured data, not prose
        paragraphs = textmod.element_to_paragraphs(el, mark_links=True)
        if paragraphs:
            return Body(paragraphs, "paragraphs")
    candidates = []
    for el in _children(content_set, "inlineData"):
        ctype = (el.get("contenttype") or "text/plain").lower()
        rendition = (el.get("rendition") or "").lower()
        if not ctype.startswith("text/") or any(s in rendition for s in _TEXT_RENDITION_SKIP):
            continue
        candidates.append(el)
    for el in candidates:
        value = "".join(el.itertext())
        if value.strip():
            kind = "html" if "html" in (el.get("contenttype") or "") else "text"
            return Body(value, "html" if kind == "html" else "text")
    return None


def _news_item(item: Any) -> Draft | Rejected:
    guid = item.get("guid")
    guid = guid.strip() if isinstance(guid, str) and guid.strip() else None
    item_meta = _child(item, "itemMeta")
    content_meta = _child(item, "contentMeta")
    language = None
    if content_meta is not None:
        lang_el = _child(content_meta, "language")
        language = lang_el.get("tag") if lang_el is not None else None
    language = language or _lang_of(item)
    version_attr = item.get("version")
    item_class = _qcode_value(_child(item_meta, "itemClass"))
    kind = (item_class or "ninat:text").split(":")[-1].lower()
    if _local(item) == "packageItem":
        kind = "composite"
    draft = Draft(
        guid=guid,
        language=language,
        version=int(version_attr) if version_attr and version_attr.strip().isdigit() else None,
        type=kind,
        rights=_rights(item, language),
    )
    if item_meta is not None:
        draft.updated = _date(_child(item_meta, "versionCreated"))
        draft.published = _date(_child(item_meta, "firstCreated"))
        draft.embargoed = _date(_child(item_meta, "embargoed"))
        status = _qcode_value(_child(item_meta, "pubStatus"))
        draft.pubstatus = status
        title = _text(_child(item_meta, "title"))
        if title:
            draft.headline = Body(title, "text")
        for link in _children(item_meta, "link"):
            rel = (link.get("rel") or "").split(":")[-1].lower()
            if rel in ("self", "alternate", "canonical") and link.get("href"):
                draft.link = link.get("href")
                break
    if content_meta is not None:
        if not draft.published:
            draft.published = _date(_child(content_meta, "contentCreated"))
        urgency = _text(_child(content_meta, "urgency"))
        draft.urgency = int(urgency) if urgency and urgency.isdigit() else None
        headline = _headline(content_meta) or _nitf_headline(item)
        if headline:
            draft.headline = Body(headline, "text")
        if draft.updated is None:
            # versionCreated is when this version was made; without it, the
            # time the content last changed is the next best
            draft.updated = _date(_child(content_meta, "contentModified"))
        summary = _summary(content_meta, language)
        if summary:
            draft.summary = Body(summary, "text")
        draft.byline = _byline(content_meta, language)
        _classify_subjects(content_meta, language, draft)
    draft.body = _body(item)
    if _local(item) == "packageItem":
        seen: list[str] = []
        for ref in item.iter():
            residref = ref.get("residref") if _local(ref) == "itemRef" else None
            if residref and residref not in seen:
                seen.append(residref)
        draft.associations = seen
    return draft


def _nitf_headline(item: Any) -> str | None:
    """The headline of an inline NITF body (``body.head/hedline/hl1``, else
    ``head/title``), for items whose contentMeta has none."""
    content_set = _child(item, "contentSet")
    for inline in _children(content_set, "inlineXML"):
        for nitf in inline.iter():
            if _local(nitf) != "nitf":
                continue
            body_head = _child(_child(nitf, "body"), "body.head")
            hl1 = _text(_child(_child(body_head, "hedline"), "hl1"))
            return hl1 or _text(_child(_child(nitf, "head"), "title"))
    return None


def feed_meta(root: Any) -> FeedMeta:
    if _local(root) != "newsMessage":
        return FeedMeta()
    header = _child(root, "header")
    return FeedMeta(updated=_date(_child(header, "sent")) if header is not None else None)


def iter_drafts(root: Any, ctx: Context, warnings: list[str]) -> list[Draft | Rejected]:
    name = _local(root)
    if name in _ITEM_TAGS:
        return [_news_item(root)]
    if name in _OTHER_ITEMS:
        raise ParseError(
            f"NewsML-G2 {name} carries no news content", reason="unsupported_item_class"
        )
    if name != "newsMessage":
        raise ParseError(f"not a NewsML-G2 item or message: <{name}>", reason="unknown_format")
    out: list[Draft | Rejected] = []
    item_set = _child(root, "itemSet")
    for child in item_set if item_set is not None else []:
        child_name = _local(child)
        if child_name in _ITEM_TAGS:
            out.append(_news_item(child))
        elif child_name in _OTHER_ITEMS:
            warnings.append(f"skipped_item_class: {child_name} in a newsMessage carries no news")
    return out
