"""IPTC ninjs 1.x, 2.x and 3.x.

The three generations name things differently; keys are lower-cased first,
which turns 3.x camelCase into the 2.x names (``versionCreated`` ->
``versioncreated``, ``bodies[].contentType`` -> ``contenttype``) except for
``embargoedUntil``. 1.x then differs by shape:

====================  ==========================  ============================
concept               1.x                         2.x / 3.x
====================  ==========================  ============================
headline              ``headline``, ``headline_*``  ``headlines[{role,value}]``
summary               ``description_*``           ``descriptions[{role,value}]``
body                  ``body_text``/``body_xhtml``/``body_*``  ``bodies[{role,contenttype,value}]``
author                ``byline``                  ``by``
subjects              ``subject[{name,code,scheme}]``  ``subjects[{name,uri,literal}]``
places/people/orgs    ``place``/``person``/``organisation``  ``places``/``people``/``organisations``
genre                 ``genre[{name,code}]``      ``genres[{name,uri,literal}]``
embargo               ``embargoed``               ``embargoed`` (2.x), ``embargoedUntil`` (3.x)
====================  ==========================  ============================

A document is one object, a list of objects, or an object wrapping a list
under ``items``/``item``/``data``/``results``/``documents``/``entries``
(AP's feed ``{"data": {"items": [{"item": {...}}]}}`` and single item
``{"data": {"item": {...}}}`` included). An object is ninjs when it has a
``uri``, declares the standard, or - as 1.x copy often does - carries a
``guid`` instead of the ``uri`` with a headline, body or version date; the
``uri``, else the ``guid``, identifies the item. Event and planning
documents (3.x) are not news items: they are reported as ``unsupported_type``.

HTML/XHTML bodies are preferred over plain text (they carry paragraphs);
NITF bodies are read with the safe XML parser.
"""

from __future__ import annotations

import re
from typing import Any

from services.ingest import text as textmod
from services.ingest.dates import parse_date
from shared.errors import ParseError
from shared.models import Concept, Rights, Subject

from ._build import Body, Context, Draft, Rejected, looks_like_html, str_or_none
from ._xml import check_entities, check_prolog, parse_xml, scan_prolog

__all__ = ["iter_drafts", "looks_like_ninjs", "version_of"]

_WRAPPER_KEYS = ("items", "item", "data", "results", "documents", "entries")
# what, next to a guid, makes an object a news item (ninjs 1.x without uri)
_ITEM_KEYS = ("headline", "headlines", "body_text", "body_html", "body_xhtml", "bodies",
              "versioncreated", "versionCreated", "firstcreated", "firstCreated")
_SUMMARY_ROLES = ("summary", "abstract", "lead", "teaser", "text", "description", "caption", "")
_SKIP_DESCRIPTION_ROLES = frozenset(
    {"creditline", "credit", "alt", "alttext", "byline", "copyright"}
)
_NON_NEWS_TYPES = frozenset({"event", "planning"})
_MAX_KEY_DEPTH = 12
# property names that exist only in 3.x (camelCase); their presence marks the generation
_CAMEL_3X = frozenset(
    {"versionCreated", "firstCreated", "contentCreated", "pubStatus", "copyrightHolder",
     "copyrightNotice", "usageTerms", "edNote", "altIds", "infoSources", "embargoedUntil",
     "representationType", "rightsInfo", "trustIndicators", "eventDetails", "plannedCoverage",
     "digitalSourceType"}
)  # fmt: skip


def _lower_keys(value: Any, depth: int = 0) -> Any:
    if depth > _MAX_KEY_DEPTH:
        return value
    if isinstance(value, dict):
        return {str(k).lower(): _lower_keys(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_lower_keys(v, depth + 1) for v in value]
    return value


def _is_ninjs_object(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    if isinstance(value.get("uri"), str):
        return True
    if isinstance(value.get("guid"), str) and any(k in value for k in _ITEM_KEYS):
        return True
    standard = value.get("standard") or value.get("$standard")
    return isinstance(standard, dict) and str(standard.get("name", "")).lower() == "ninjs"


def _unwrap(value: Any) -> Any:
    # AP Media API: {"item": {...ninjs...}, "meta": {...}}
    if (
        isinstance(value, dict)
        and not _is_ninjs_object(value)
        and _is_ninjs_object(value.get("item"))
    ):
        return value["item"]
    return value


def _candidates(value: Any, depth: int = 0) -> list[Any] | None:
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    if isinstance(value, dict):
        if _is_ninjs_object(value):
            return [value]
        if depth < 3:
            for key in _WRAPPER_KEYS:
                if key in value:
                    found = _candidates(value[key], depth + 1)
                    if found is not None:
                        return found
    return None


def looks_like_ninjs(value: Any) -> bool:
    """True for one ninjs object, a list of them or a wrapper around a list;
    an empty list (a wrapper with no new items) counts as ninjs too."""
    found = _candidates(value)
    if found is None:
        return False
    return not found or any(_is_ninjs_object(v) for v in found)


def _declared_version(obj: dict[str, Any]) -> str | None:
    for key in ("standard", "$standard"):
        standard = obj.get(key)
        if isinstance(standard, dict) and (version := str_or_none(standard.get("version"))):
            return version
    return None


def _generation(obj: dict[str, Any]) -> int:
    declared = _declared_version(obj)
    if declared and declared[:1] in "123":
        return int(declared[0])
    if any(k in _CAMEL_3X for k in obj):
        return 3
    if any(k in obj for k in ("headlines", "bodies", "descriptions", "by", "people", "subjects")):
        return 2
    return 1


def version_of(value: Any) -> str | None:
    found = _candidates(value) or []
    for obj in found:
        if _is_ninjs_object(obj):
            return _declared_version(obj) or f"{_generation(obj)}.x"
    return None


def _part(value: Any, contenttype: Any) -> Body | None:
    text = value if isinstance(value, str) else None
    if not text or not text.strip():
        return None
    ctype = contenttype.lower() if isinstance(contenttype, str) else ""
    if "html" in ctype:
        return Body(text, "html")
    if "nitf" in ctype or (
        ctype.endswith("xml") and re.match(r"\s*(<\?xml[^>]*>\s*)?<nitf\b", text)
    ):
        return _nitf(text)
    if ctype.endswith("xml"):
        return None  # provider-private XML (TT's TTNITF): not a body
    if ctype == "text/plain":
        return Body(text, "text")
    return Body(text, "html" if looks_like_html(text) else "text")


def _nitf(markup: str) -> Body | None:
    data = markup.encode("utf-8")
    try:
        check_entities(data)
        check_prolog(scan_prolog(markup.lstrip()))
        root = parse_xml(re.sub(rb"^\s*<\?xml[^>]*\?>", b"", data))
    except ParseError:
        return None
    body = None
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.rsplit("}", 1)[-1] == "body.content":
            body = el
            break
    paragraphs = textmod.element_to_paragraphs(body if body is not None else root, mark_links=True)
    return Body(paragraphs, "paragraphs") if paragraphs else None


def _pick_headline(obj: dict[str, Any]) -> Body | None:
    headlines = obj.get("headlines")
    if isinstance(headlines, list):
        ranked = sorted(
            (h for h in headlines if isinstance(h, dict) and str_or_none(h.get("value"))),
            key=lambda h: 0 if str(h.get("role", "main")).lower() in ("main", "") else 1,
        )
        if ranked:
            return _part(ranked[0]["value"], ranked[0].get("contenttype")) or None
    value = str_or_none(obj.get("headline")) or str_or_none(obj.get("headline_main"))
    if value is None:
        for key in sorted(k for k in obj if k.startswith("headline_")):
            if value := str_or_none(obj[key]):
                break
    value = value or str_or_none(obj.get("title"))
    return Body(value, "html" if looks_like_html(value) else "text") if value else None


def _pick_summary(obj: dict[str, Any]) -> Body | None:
    descriptions = obj.get("descriptions")
    if isinstance(descriptions, list):
        usable = [
            d
            for d in descriptions
            if isinstance(d, dict)
            and str_or_none(d.get("value"))
            and str(d.get("role") or "").lower() not in _SKIP_DESCRIPTION_ROLES
        ]

        def rank(d: dict[str, Any]) -> int:
            role = str(d.get("role") or "").lower()
            return _SUMMARY_ROLES.index(role) if role in _SUMMARY_ROLES else len(_SUMMARY_ROLES)

        for d in sorted(usable, key=rank):
            if part := _part(d["value"], d.get("contenttype")):
                return part
        return None
    # 1.x: description_text, description_xhtml, description_<anything>
    keys = sorted(k for k in obj if k.startswith("description_"))
    keys.sort(key=lambda k: 0 if k == "description_text" else 1)
    for key in keys:
        value = str_or_none(obj[key])
        if value:
            html = "html" in key or "richtext" in key or looks_like_html(value)
            return Body(value, "html" if html else "text")
    return None


def _pick_body(obj: dict[str, Any]) -> Body | None:
    bodies = obj.get("bodies")
    parts: list[Body] = []
    if isinstance(bodies, list):
        for b in bodies:
            if isinstance(b, dict) and (part := _part(b.get("value"), b.get("contenttype"))):
                parts.append(part)
    else:
        for key in sorted(k for k in obj if k.startswith("body_")):
            value = obj[key]
            if not isinstance(value, str) or not value.strip():
                continue
            if any(tag in key for tag in ("html", "richtext")):
                parts.append(Body(value, "html"))
            elif "nitf" in key:
                if nitf := _nitf(value):
                    parts.append(nitf)
            else:
                parts.append(Body(value, "html" if looks_like_html(value) else "text"))
    order = {"html": 0, "paragraphs": 1, "text": 2}
    parts.sort(key=lambda p: order[p.kind])
    return parts[0] if parts else None


def _scheme_of(uri: str) -> str | None:
    if "/" in uri.rstrip("/") and "://" in uri:
        return uri.rstrip("/").rsplit("/", 1)[0] + "/"
    if ":" in uri and "://" not in uri:
        return uri.split(":", 1)[0]  # qcode-like "medtop:04000000"
    return None


def _code(entry: dict[str, Any]) -> tuple[str | None, str | None]:
    """(code, scheme) from 2.x uri/literal or 1.x code/scheme."""
    uri = str_or_none(entry.get("uri"))
    if uri:
        return uri, _scheme_of(uri)
    code = str_or_none(entry.get("code"))
    scheme = str_or_none(entry.get("scheme"))
    if code:
        if scheme and "://" not in code:
            # 1.x {"scheme": "http://cvx.iptc.org/iso3166-1a2/", "code": "it"} is the
            # same concept as 2.x {"uri": "http://cvx.iptc.org/iso3166-1a2/it"}
            joined = scheme + code if scheme.endswith(("/", "#")) else f"{scheme}/{code}"
            return joined, scheme
        return code, scheme or _scheme_of(code)
    literal = str_or_none(entry.get("literal"))
    return literal, None


def _list(obj: dict[str, Any], *keys: str) -> list[dict[str, Any]]:
    for key in keys:
        value = obj.get(key)
        if isinstance(value, list):
            return [v for v in value if isinstance(v, dict)]
        if isinstance(value, dict):
            return [value]
    return []


def _concepts(obj: dict[str, Any], *keys: str) -> list[Concept]:
    out: list[Concept] = []
    for entry in _list(obj, *keys):
        code, scheme = _code(entry)
        name = str_or_none(entry.get("name"))
        if name or code:
            out.append(
                Concept(name=name, code=code, scheme=scheme, rel=str_or_none(entry.get("rel")))
            )
    return out


def _subjects(obj: dict[str, Any], keywords: list[str], *keys: str) -> list[Subject]:
    out: list[Subject] = []
    for entry in _list(obj, *keys):
        code, scheme = _code(entry)
        name = str_or_none(entry.get("name"))
        if code:
            out.append(Subject(code=code, name=name, scheme=scheme))
        elif name:
            keywords.append(name)  # a subject without any code is a keyword
    return out


def _rights(obj: dict[str, Any]) -> Rights | None:
    info = obj.get("rightsinfo")
    info = info if isinstance(info, dict) else {}
    rights = Rights(
        holder=str_or_none(obj.get("copyrightholder")),
        notice=str_or_none(obj.get("copyrightnotice")),
        usage_terms=str_or_none(obj.get("usageterms")),
        linked_rights=str_or_none(info.get("linkedrights")),
        encoded_rights=str_or_none(info.get("encodedrights")),
    )
    return rights if any(rights.model_dump().values()) else None


def _associations(obj: dict[str, Any]) -> list[str]:
    value = obj.get("associations")
    entries: list[Any] = []
    if isinstance(value, list):
        entries = value
    elif isinstance(value, dict):
        entries = list(value.values())
    out: list[str] = []
    for entry in entries:
        if isinstance(entry, dict) and (uri := str_or_none(entry.get("uri"))):
            out.append(uri)
    return out


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _draft(raw: dict[str, Any], ctx: Context) -> Draft | Rejected:
    obj: dict[str, Any] = _lower_keys(raw)
    guid = str_or_none(obj.get("uri")) or str_or_none(obj.get("guid"))
    kind = (str_or_none(obj.get("type")) or "text").lower()
    if kind in _NON_NEWS_TYPES or "eventdetails" in obj or "plannedcoverage" in obj:
        label = (
            kind
            if kind in _NON_NEWS_TYPES
            else ("planning" if "plannedcoverage" in obj else "event")
        )
        return Rejected(
            "skipped_type", f"ninjs {label} document is not a news item", guid, expected=True
        )
    language = str_or_none(obj.get("language"))
    languages = [language.split("-")[0]] if language else None
    keywords: list[str] = []
    subjects = _subjects(obj, keywords, "subjects", "subject")
    genres = _subjects(obj, keywords, "genres", "genre")
    published = parse_date(str_or_none(obj.get("firstcreated")), languages=languages) or parse_date(
        str_or_none(obj.get("contentcreated")), languages=languages
    )
    return Draft(
        guid=guid,
        headline=_pick_headline(obj),
        summary=_pick_summary(obj),
        body=_pick_body(obj),
        byline=str_or_none(obj.get("by")) or str_or_none(obj.get("byline")),
        language=language,
        published=published,
        updated=parse_date(str_or_none(obj.get("versioncreated")), languages=languages),
        embargoed=parse_date(
            str_or_none(obj.get("embargoed")) or str_or_none(obj.get("embargoeduntil"))
        ),
        version=_int(obj.get("version")),
        pubstatus=str_or_none(obj.get("pubstatus")),
        type=kind,
        urgency=_int(obj.get("urgency")),
        subjects=subjects,
        genres=genres,
        places=_concepts(obj, "places", "place"),
        people=_concepts(obj, "people", "person"),
        organisations=_concepts(obj, "organisations", "organisation"),
        rights=_rights(obj),
        keywords=keywords,
        associations=_associations(obj),
    )


def iter_drafts(value: Any, ctx: Context, *, forced: bool = False) -> list[Draft | Rejected]:
    """The drafts of a ninjs document. ``forced`` (the caller said it is
    ninjs): a document whose items cannot be found is itself the one item,
    and any object with a ``uri`` or a ``guid`` is read as one."""
    out: list[Draft | Rejected] = []
    found = _candidates(value)
    if found is None and forced:
        found = [_unwrap(value)]
    for entry in found or []:
        named = isinstance(entry, dict) and any(
            isinstance(entry.get(k), str) for k in ("uri", "guid"))
        if not (_is_ninjs_object(entry) or (forced and named)):
            out.append(Rejected("invalid_item", "entry is not a ninjs object (no uri, no guid "
                                "with a headline, body or date)"))
            continue
        out.append(_draft(entry, ctx))
    return out
