"""IPTC NewsML 1.x (the XML wire format before NewsML-G2, still sent by AFP
and Business Wire): a ``<NewsML>`` document whose ``NewsItem`` children are
one item each. Elements are matched by local name.

Mapping of a ``NewsItem``:

* ``Identification/NewsIdentifier``: ``PublicIdentifier`` (the item's URN)
  -> guid, ``RevisionId`` -> version;
* ``NewsManagement``: ``FirstCreated`` -> published, ``ThisRevisionCreated``
  -> updated, ``Status/@FormalName`` (Usable, Embargoed, Withheld, Canceled)
  -> pubstatus, an Embargoed status's ``StatusWillChange/DateAndTime`` ->
  embargoed, ``Urgency/@FormalName`` -> urgency;
* the item's ``NewsComponent`` tree, first occurrence in document order:
  ``NewsLines``: ``HeadLine`` -> headline, ``SubHeadLine`` -> summary,
  ``ByLine`` (else ``AdministrativeMetadata/Creator/Party/@FormalName``) ->
  byline, ``CopyrightLine`` -> rights notice; ``DescriptiveMetadata``:
  ``Language/@FormalName`` (else ``@xml:lang``) -> language,
  ``SubjectCode/*/@FormalName`` (IPTC subject codes) -> subjects
  ``subj:NNNNNNNN``, ``Genre`` -> genres, ``Property[@FormalName=Keyword]``
  without a ``Role`` -> keywords, ``Location`` (``City``/``Country``
  properties) -> places;
* text: the ``ContentItem``s of the component whose ``Role`` is ``Body``,
  else every text ContentItem (``MediaType`` Text, a NITF/XHTML/text
  ``Format`` or a ``text/*`` MIME type) outside the components with a
  non-story role (style sheet, headline rendering, logo, photo, video,
  contact...). ``DataContent`` holding NITF gives its ``body.content``,
  XHTML its body, anything else its text; ``Href``-only items (pictures)
  have none. A ``SubHeadLine`` component's text is the summary when
  ``NewsLines`` has none.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from services.ingest import text as textmod
from services.ingest.dates import parse_date
from shared.errors import ParseError
from shared.models import Concept, Rights, Subject

from ._build import Body, Context, Draft, Rejected, legacy_status, looks_like_html
from ._model import FeedMeta
from ._newsml import XML_LANG, _attr, _child, _children, _int, _local, _text

__all__ = ["feed_meta", "iter_drafts"]

_SKIP_ROLES = frozenset({"stylesheet", "headline", "subheadline", "logo", "photo", "picture",
                         "graphic", "video", "audio", "thumbnail", "preview", "contact",
                         "caption", "icon"})
_TEXT_FORMATS = ("nitf", "xhtml", "html", "text", "plain")


def _formal(el: Any | None) -> str | None:
    return _attr(el, "FormalName")


def _first(item: Any, name: str) -> Any | None:
    return next((el for el in item.iter() if _local(el) == name), None)


def _all(item: Any, name: str) -> Iterator[Any]:
    return (el for el in item.iter() if _local(el) == name)


def _role(component: Any) -> str:
    return (_formal(_child(component, "Role")) or "").lower().replace(" ", "")


def _is_text(content_item: Any) -> bool:
    media = (_formal(_child(content_item, "MediaType")) or "").lower()
    fmt = (_formal(_child(content_item, "Format")) or "").lower()
    mime = (_formal(_child(content_item, "MimeType")) or "").lower()
    if media and media != "text":
        return False
    return (media == "text" or mime.startswith("text/") or fmt.startswith(_TEXT_FORMATS)) \
        and "css" not in mime and fmt != "css"


def _content_paragraphs(content_item: Any) -> list[str]:
    data = _child(content_item, "DataContent")
    if data is None:
        return []
    for child in data:
        name = (_local(child) or "").lower()
        if name == "nitf":
            body = _child(_child(child, "body"), "body.content")
            return textmod.element_to_paragraphs(body if body is not None else child,
                                                 mark_links=True)
        if name in ("html", "body", "div", "p"):
            html_body = _child(child, "body") if name == "html" else child
            return textmod.element_to_paragraphs(html_body if html_body is not None else child,
                                                 mark_links=True)
    text = "".join(data.itertext())
    if not text.strip():
        return []
    fmt = (_formal(_child(content_item, "Format")) or "").lower()
    mime = (_formal(_child(content_item, "MimeType")) or "").lower()
    if "html" in fmt or "html" in mime or looks_like_html(text):
        # HTML sent as text (escaped or in CDATA): read as HTML, not as "<P>"
        return textmod.html_to_paragraphs(text, mark_links=True)
    return textmod.plain_to_paragraphs(text)


def _components(component: Any, skipped: bool = False) -> Iterator[tuple[Any, bool]]:
    """Every NewsComponent under ``component`` (itself included) with
    whether it or an ancestor has a non-story role."""
    skipped = skipped or _role(component) in _SKIP_ROLES
    yield component, skipped
    for child in _children(component, "NewsComponent"):
        yield from _components(child, skipped)


def _story_paragraphs(root_component: Any) -> list[str]:
    pieces = list(_components(root_component))
    body = [c for c, _ in pieces if _role(c) in ("body", "main", "maintext")]
    if body:  # the Body component and every part under it
        chosen = [sub for component in body for sub, _ in _components(component)]
    else:
        chosen = [c for c, skipped in pieces if not skipped]
    out: list[str] = []
    seen: set[int] = set()
    for component in chosen:
        for content_item in _children(component, "ContentItem"):
            if id(content_item) not in seen and _is_text(content_item):
                seen.add(id(content_item))
                out.extend(_content_paragraphs(content_item))
    return out


def _role_paragraphs(root_component: Any, role: str) -> list[str]:
    for component, _ in _components(root_component):
        if _role(component) == role:
            out: list[str] = []
            for content_item in _children(component, "ContentItem"):
                if _is_text(content_item):
                    out.extend(_content_paragraphs(content_item))
            return out
    return []


def _describe(item: Any, draft: Draft) -> None:
    for code_el in _all(item, "SubjectCode"):
        for subject in code_el:
            code = _formal(subject)
            if code and code.isdigit():
                draft.subjects.append(Subject(code=f"subj:{code}", scheme="subj"))
    for genre in _all(item, "Genre"):
        if name := _formal(genre):
            draft.genres.append(Subject(code=f"genre:{name}", name=name, scheme="genre"))
    for prop in _all(item, "Property"):
        value = (prop.get("Value") or "").strip()
        if (_formal(prop) or "").lower() == "keyword" and prop.get("Role") is None and value:
            draft.keywords.append(value)
    for location in _all(item, "Location"):
        props = {(_formal(p) or "").lower(): (p.get("Value") or "").strip()
                 for p in _children(location, "Property")}
        name = props.get("city") or props.get("region") or props.get("country")
        code = props.get("country") or None
        if name or code:
            draft.places.append(Concept(name=name or None, code=code,
                                        scheme="iso3166" if code else None,
                                        rel=(location.get("HowPresent") or None)))


def _news_item(item: Any) -> Draft | Rejected:
    identifier = _first(item, "NewsIdentifier")
    guid = _text(_child(identifier, "PublicIdentifier"))
    if guid is None and identifier is not None:
        parts = [_text(_child(identifier, n)) for n in ("ProviderId", "DateId", "NewsItemId")]
        guid = "urn:newsml:" + ":".join(p for p in parts if p) if all(parts) else None
    revision = _text(_child(identifier, "RevisionId"))
    management = _first(item, "NewsManagement")
    language_el = _first(item, "Language")
    draft = Draft(
        guid=guid,
        version=_int(revision),
        language=_formal(language_el) or item.get(XML_LANG),
    )
    if management is not None:
        draft.published = parse_date(_text(_child(management, "FirstCreated")))
        draft.updated = parse_date(_text(_child(management, "ThisRevisionCreated")))
        status = _formal(_child(management, "Status"))
        draft.pubstatus = legacy_status(status)
        if (status or "").lower() == "embargoed":
            change = _child(management, "StatusWillChange")
            draft.embargoed = parse_date(_text(_child(change, "DateAndTime")))
        draft.urgency = _int(_formal(_child(management, "Urgency")))
    component = _child(item, "NewsComponent")
    if component is None:
        return Rejected("empty_item", "NewsItem without a NewsComponent", guid=guid)
    headline = _text(_first(component, "HeadLine"))
    if headline:
        draft.headline = Body(headline, "text")
    sub_headline = _text(_first(component, "SubHeadLine"))
    if sub_headline:
        draft.summary = Body(sub_headline, "text")
    elif paragraphs := _role_paragraphs(component, "subheadline"):
        draft.summary = Body(paragraphs, "paragraphs")
    draft.byline = _text(_first(component, "ByLine"))
    creator = _first(component, "Creator")
    if draft.byline is None and creator is not None:
        draft.byline = _formal(_first(creator, "Party"))
    copyright_line = _text(_first(component, "CopyrightLine"))
    if copyright_line:
        draft.rights = Rights(notice=copyright_line)
    _describe(item, draft)
    paragraphs = _story_paragraphs(component)
    if paragraphs:
        draft.body = Body(paragraphs, "paragraphs")
    return draft


def feed_meta(root: Any) -> FeedMeta:
    envelope = _child(root, "NewsEnvelope")
    return FeedMeta(updated=parse_date(_text(_child(envelope, "DateAndTime")))
                    if envelope is not None else None)


def iter_drafts(root: Any, ctx: Context) -> list[Draft | Rejected]:
    if _local(root) != "NewsML":
        raise ParseError(f"not a NewsML 1 document: <{_local(root)}>", reason="unknown_format")
    return [_news_item(item) for item in _children(root, "NewsItem")]
