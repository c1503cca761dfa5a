"""Wire fidelity (issue #18): do the standard fields we read from an agency
file agree with what the agency itself says the item is?

The carried fixtures hold the same items in two forms, made by the agency or
the standards body, not by us:

* dpa: each NewsML-G2 file of ``newsml-g2/dpa-digitalwires`` next to the dpa
  digitalwires JSON it was made from (10 items, German, Spanish, English);
* Business Wire: the NewsML 1.2 originals of ``ninjs/newsml1-sources`` next
  to IPTC's ninjs 1.4 and 2.1 conversions of them (4 items; en, zh);
* ninjs 2.1 against 3.0 of the same AP, dpa, NTB, TT, SIPA items.

We parse one form with the pipeline's parser and read the reference fields
straight from the other form's JSON (no parser of ours in between). A field
agrees when the values are equal after collapsing white space (headline,
byline without a leading "By"/"Von", summary, language, uri, pubstatus),
when the instants are equal (versioncreated, firstcreated, embargoed), when
the numbers are equal (version, urgency), and for the body when the word
sequences are 90% alike (:func:`_alike`, words without punctuation; the reference's HTML read with
lxml, a space at every element boundary). A field the reference does not
carry is not counted, nor a reference uri the parsed file does not contain
(IPTC's ninjs conversions give Business Wire items a web address the
NewsML 1 original never names).

The parsers were developed on these very files, so the figure errs high:
it is a floor on regressions, not a held-out figure.

``python -m bench.wire_fidelity`` prints the table and every disagreement.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

from bench.report import Figure

SECTION = "wire fidelity"
ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
FETCHED_AT = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
BODY_ALIKE = 0.9
FIELDS = ("headline", "byline", "summary", "body", "versioncreated", "firstcreated",
          "embargoed", "version", "urgency", "language", "uri", "pubstatus")

_WORD = re.compile(r"\w+")
_BY = re.compile(r"^(?:by|von|de|par|por)\s+", re.I)
_AGENCY_TAIL = re.compile(r",\s*(?:dpa|AP|AFP|Reuters|NTB|TT|ANP|APA|KNA)\s*$")


@dataclass
class Tally:
    agree: dict[str, int] = field(default_factory=dict)
    total: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def add(self, pair: str, name: str, ok: bool, ours: Any, theirs: Any) -> None:
        self.total[name] = self.total.get(name, 0) + 1
        self.agree[name] = self.agree.get(name, 0) + int(ok)
        if not ok:
            self.errors.append(f"{pair}: {name}: ours {_short(ours)} / agency {_short(theirs)}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 90 else text[:87] + "..."


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text or None


def _html_text(markup: str | None) -> str | None:
    if not markup:
        return None
    import lxml.html

    # every element boundary a space: table cells and paragraphs are not glued
    return _text(" ".join(lxml.html.fromstring(markup).itertext()))


def _instant(value: Any) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)


def _alike(ours: str | None, theirs: str | None) -> bool:
    """The agency's words are 90% in ours, in order, and ours 90% in the
    agency's - unless the agency's form is an excerpt (under half as many
    words as ours: IPTC's ninjs conversions of Business Wire carry the first
    paragraph only), where only the first holds."""
    if not ours or not theirs:
        return ours == theirs
    a, b = _WORD.findall(ours), _WORD.findall(theirs)
    matched = sum(block.size for block in
                  SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks())
    excerpt = len(b) < len(a) / 2
    return matched >= BODY_ALIKE * len(b) and (excerpt or matched >= BODY_ALIKE * len(a))


def _byline(value: Any) -> str | None:
    text = _text(value)
    return _AGENCY_TAIL.sub("", _BY.sub("", text)) if text else None


# --- reference readers: straight from the agency's JSON ----------------------

def _digitalwires(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "headline": doc.get("headline"),
        "byline": doc.get("byline"),
        "summary": doc.get("teaser"),
        "body": _html_text(doc.get("article_html")),
        "versioncreated": doc.get("version_created"),
        "embargoed": doc.get("embargoed"),
        "version": doc.get("version"),
        "urgency": doc.get("urgency"),
        "language": doc.get("language"),
        "uri": doc.get("urn"),
        "pubstatus": doc.get("pubstatus"),
    }


def _ninjs_value(doc: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if doc.get(key) not in (None, "", []):
            return doc[key]
    return None


def _role_value(entries: Any, roles: tuple[str, ...], first: bool = True) -> Any:
    if isinstance(entries, list):
        for role in roles:
            for entry in entries:
                if isinstance(entry, dict) and entry.get("role", "") == role:
                    return entry.get("value")
        if first and entries and isinstance(entries[0], dict):
            return entries[0].get("value")
    return None


def _ninjs(doc: dict[str, Any]) -> dict[str, Any]:
    """A ninjs item's fields, 1.x, 2.x or 3.x, as the agency wrote them."""
    headline = _ninjs_value(doc, "headline") or _role_value(
        doc.get("headlines"), ("main", ""))
    body_html = _ninjs_value(doc, "body_xhtml", "body_html") or _role_value(
        doc.get("bodies"), ("main", ""))
    body = _ninjs_value(doc, "body_text")
    summary = _ninjs_value(doc, "description_text") or _role_value(
        doc.get("descriptions"), ("summary", "caption", "description", "text", ""), first=False)
    return {
        "headline": headline,
        "byline": _ninjs_value(doc, "byline", "by"),
        "summary": summary,
        "body": _text(body) or _html_text(body_html),
        "versioncreated": _ninjs_value(doc, "versioncreated", "versionCreated"),
        "firstcreated": _ninjs_value(doc, "firstcreated", "firstCreated"),
        "embargoed": _ninjs_value(doc, "embargoed"),
        "urgency": _ninjs_value(doc, "urgency"),
        "language": _ninjs_value(doc, "language"),
        "uri": _ninjs_value(doc, "uri"),
        "pubstatus": _ninjs_value(doc, "pubstatus", "pubStatus"),
    }


# --- the pairs ---------------------------------------------------------------

Pair = tuple[str, Path, Callable[[], dict[str, Any]]]


def pairs() -> Iterator[Pair]:
    dpa = FIXTURES / "newsml-g2" / "dpa-digitalwires"
    for g2 in sorted(dpa.glob("*.newsmlg2.xml")):
        reference = g2.with_name(g2.name.replace(".newsmlg2.xml", ".digitalwires.json"))
        yield (f"dpa {g2.name.split('.')[0]}", g2,
               lambda r=reference: _digitalwires(json.loads(r.read_text("utf-8"))))
    sources = FIXTURES / "ninjs" / "newsml1-sources"
    for newsml in sorted(sources.glob("businesswire-newsml-*.xml")):
        for version, folder in (("1.4", "v1"), ("2.1", "v2")):
            reference = FIXTURES / "ninjs" / folder / f"{version}_{newsml.stem}.json"
            if reference.exists():
                yield (f"Business Wire {newsml.stem[-14:]} / ninjs {version}", newsml,
                       lambda r=reference: _ninjs(json.loads(r.read_text("utf-8"))))
    for v2 in sorted((FIXTURES / "ninjs" / "v2").glob("2.1_*.json")):
        stem = v2.name[len("2.1_"):]
        for candidate in (stem, stem.replace("_2.json", "_3.json")):
            v3 = FIXTURES / "ninjs" / "v3" / f"3.0_{candidate}"
            if v3.exists() and "schema-extension" not in stem:
                yield (f"ninjs {stem} 3.0 / 2.1", v3,
                       lambda r=v2: _ninjs(json.loads(r.read_text("utf-8"))))
                break


def compare(name: str, path: Path, reference: dict[str, Any], tally: Tally) -> None:
    from services.ingest.parsers import SourceRef, parse_document

    result = parse_document(path.read_bytes(), source=SourceRef(id="bench"),
                            fetched_at=FETCHED_AT)
    items = [i for i in result.items if i.type != "composite"] or result.items
    if not items:
        tally.add(name, "item read", False, None, "an item")
        return
    tally.add(name, "item read", True, None, None)
    item = items[0]
    ours: dict[str, Any] = {
        "headline": _text(item.headline),
        "byline": _byline(item.byline),
        "summary": _text(item.summary),
        "body": _text(item.body_text),
        "versioncreated": item.versioncreated,
        "firstcreated": item.firstcreated,
        "embargoed": item.embargoed,
        "version": item.version,
        "urgency": item.urgency,
        "language": item.language,
        "uri": item.uri,
        "pubstatus": item.pubstatus.value if item.pubstatus else None,
    }
    data = path.read_bytes()
    for key in FIELDS:
        theirs = reference.get(key)
        if theirs in (None, "") and key not in ("byline", "embargoed"):
            continue  # the reference does not say
        if key == "uri" and str(theirs).encode() not in data:
            continue  # an identifier the converter made up: the file cannot hold it
        if key == "body":
            ok = _alike(ours[key], _text(theirs))
        elif key in ("versioncreated", "firstcreated", "embargoed"):
            ok = _instant(ours[key]) == _instant(theirs)
        elif key in ("version", "urgency"):
            ok = ours[key] == int(theirs)
        elif key == "byline":
            ok = ours[key] == _byline(theirs)
        elif key == "language":
            ok = (ours[key] or "").lower() == str(theirs).lower()
        else:
            ok = ours[key] == _text(theirs)
        tally.add(name, key, ok, ours[key], theirs)


def measure() -> Tally:
    tally = Tally()
    for name, path, reference in pairs():
        compare(name, path, reference(), tally)
    return tally


def run() -> list[Figure]:
    tally = measure()
    agree, total = sum(tally.agree.values()), sum(tally.total.values())
    figures = [Figure(SECTION, "standard fields agree with the agency's own form",
                      agree / max(1, total), "ratio", "higher",
                      f"{agree}/{total} fields of {tally.total.get('item read', 0)} items; "
                      "errs high (the parsers were developed on these files)")]
    for key in ("item read", *FIELDS):
        if tally.total.get(key):
            figures.append(Figure(SECTION, f"{key} agrees", tally.agree[key] / tally.total[key],
                                  "ratio", "higher", f"{tally.agree[key]}/{tally.total[key]}"))
    _ERRORS[:] = tally.errors
    return figures


_ERRORS: list[str] = []


def extra_note() -> str:
    if not _ERRORS:
        return "Disagreements: none."
    return "Disagreements: " + "; ".join(_ERRORS) + "."


def main() -> int:
    tally = measure()
    for key in ("item read", *FIELDS):
        if tally.total.get(key):
            print(f"{key:15} {tally.agree[key]:3}/{tally.total[key]:3}")
    agree, total = sum(tally.agree.values()), sum(tally.total.values())
    print(f"{'all':15} {agree:3}/{total:3} = {agree / max(1, total):.3f}")
    for error in tally.errors:
        print(" ", error)
    return 0


if __name__ == "__main__":
    sys.exit(main())
