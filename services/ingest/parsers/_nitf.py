"""IPTC NITF 3.x (News Industry Text Format): one ``<nitf>`` document, one
item. Elements are matched by local name (some senders add a namespace).

Mapping (``head/docdata`` unless said otherwise):

* ``doc-id/@id-string`` -> guid; ``du-key/@version`` -> version;
  ``@management-status`` (usable, embargoed, withheld, canceled) -> pubstatus
  (embargoed is usable with the embargo time below);
* ``date.issue/@norm`` -> published (else ``head/pubdata/@date.publication``),
  ``date.release/@norm`` -> embargoed when it is later than the issue date;
  both in ISO 8601 basic or extended format;
* ``urgency/@ed-urg`` -> urgency; ``key-list/keyword/@key`` -> keywords;
  ``evloc`` -> places (the most specific of city, county-dist, state-prov,
  with ``@iso-cc`` as an ISO 3166 code); ``doc.copyright/@holder`` and
  ``doc.rights`` -> rights;
* ``head/tobject/tobject.subject/@tobject.subject.refnum`` -> IPTC subject
  codes (``subj:07001000``), named by ``tobject.subject.matter``/``.type``;
* ``body/body.head``: ``hedline/hl1`` -> headline (else ``head/title``),
  ``abstract`` -> summary, ``byline`` -> byline;
* ``body/body.content`` -> body paragraphs (``hl2`` subheads and ``block``s
  included; ``body.end`` tag lines are not story text);
* ``@baselang`` or ``xml:lang`` -> language.
"""

from __future__ import annotations

from typing import Any

from services.ingest import text as textmod
from services.ingest.dates import parse_date
from shared.errors import ParseError
from shared.models import Concept, Rights, Subject

from ._build import Body, Context, Draft, Rejected, legacy_status
from ._newsml import XML_LANG, _attr, _child, _children, _int, _local, _text

__all__ = ["draft_from_nitf", "iter_drafts"]

def _places(docdata: Any) -> list[Concept]:
    out = []
    for evloc in _children(docdata, "evloc"):
        name = (_attr(evloc, "city") or _attr(evloc, "county-dist")
                or _attr(evloc, "state-prov"))
        code = _attr(evloc, "iso-cc")
        if name or code:
            out.append(Concept(name=name, code=code, scheme="iso3166" if code else None,
                               rel="evloc"))
    return out


def _subjects(head: Any) -> list[Subject]:
    out = []
    for tobject in _children(head, "tobject"):
        for subject in _children(tobject, "tobject.subject"):
            code = _attr(subject, "tobject.subject.refnum")
            if code and code.isdigit():
                name = (_attr(subject, "tobject.subject.matter")
                        or _attr(subject, "tobject.subject.type"))
                out.append(Subject(code=f"subj:{code}", name=name, scheme="subj"))
    return out


def _rights(docdata: Any) -> Rights | None:
    copyright_el = _child(docdata, "doc.copyright")
    holder = _attr(copyright_el, "holder")
    year = _attr(copyright_el, "year")
    notice = f"© {year} {holder}" if holder and year else None
    usage = _text(_child(docdata, "doc.rights"))
    if not (holder or usage):
        return None
    return Rights(holder=holder, notice=notice, usage_terms=usage)


def draft_from_nitf(nitf: Any) -> Draft:
    """The draft of one ``<nitf>`` element (a whole document, or NITF inside
    a NewsML 1 ContentItem)."""
    head = _child(nitf, "head")
    body = _child(nitf, "body")
    docdata = _child(head, "docdata") if head is not None else None
    body_head = _child(body, "body.head") if body is not None else None
    language = _attr(nitf, "baselang") or _attr(nitf, XML_LANG)
    draft = Draft(language=language)
    if docdata is not None:
        draft.guid = _attr(_child(docdata, "doc-id"), "id-string")
        draft.version = _int(_attr(_child(docdata, "du-key"), "version"))
        draft.pubstatus = legacy_status(_attr(docdata, "management-status"))
        draft.published = parse_date(_attr(_child(docdata, "date.issue"), "norm"))
        release = parse_date(_attr(_child(docdata, "date.release"), "norm"))
        if release is not None and (draft.published is None or release > draft.published):
            draft.embargoed = release
        draft.urgency = _int(_attr(_child(docdata, "urgency"), "ed-urg"))
        key_list = _child(docdata, "key-list")
        draft.keywords = [key for kw in _children(key_list, "keyword")
                          if (key := _attr(kw, "key"))]
        draft.places = _places(docdata)
        draft.rights = _rights(docdata)
    if head is not None:
        if draft.published is None:
            draft.published = parse_date(_attr(_child(head, "pubdata"), "date.publication"))
        draft.subjects = _subjects(head)
        title = _text(_child(head, "title"))
        if title:
            draft.headline = Body(title, "text")
    if body_head is not None:
        hl1 = _text(_child(_child(body_head, "hedline"), "hl1"))
        if hl1:
            draft.headline = Body(hl1, "text")
        abstract = _child(body_head, "abstract")
        if abstract is not None:
            paragraphs = textmod.element_to_paragraphs(abstract)
            if paragraphs:
                draft.summary = Body(paragraphs, "paragraphs")
        byline = _child(body_head, "byline")
        draft.byline = _text(byline)
        draft.byline_role = _text(_child(byline, "byttl")) if byline is not None else None
    content = _child(body, "body.content") if body is not None else None
    if content is not None:
        paragraphs = textmod.element_to_paragraphs(content, mark_links=True)
        if paragraphs:
            draft.body = Body(paragraphs, "paragraphs")
    return draft


def iter_drafts(root: Any, ctx: Context) -> list[Draft | Rejected]:
    if _local(root) != "nitf":
        raise ParseError(f"not a NITF document: <{_local(root)}>", reason="unknown_format")
    return [draft_from_nitf(root)]
