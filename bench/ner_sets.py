"""Labelled NER sets, one JSONL file per language in ``bench/data/ner/``.

Each line is one passage of real (or, where marked, written) news text::

    {"id": "de-golem-0007",
     "source": "fixture:feeds/real/golem_rss2_de_2017_iso-8859-1.xml#item=7",
     "text": "Angela Merkel traf in Berlin ...",
     "entities": [["Angela Merkel", "PER"], ["Berlin", "LOC"]]}

``entities`` lists every PER/ORG/LOC mention **in the order it appears**,
as its exact surface in ``text``; :func:`load` turns them into character
offsets by searching each surface after the end of the previous one (a
whole-word occurrence first, so "Ethiopia" is not found inside
"Ethiopian"), and
refuses a file whose surfaces cannot be found in that order. Types: PER
(people, also fictional), ORG (companies, institutions, parties, teams,
agencies, media), LOC (countries, cities, regions, geographic features,
facilities, and capitals standing for governments). Nationality adjectives,
events, products and works are not labelled. The guidelines are in
``bench/data/ner/README.md``.

Every passage belongs to the ``dev`` or the ``test`` part, decided by a hash
of its id (about half each): tune rules on ``dev`` only; ``test`` is read
only by the benchmark.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DATA", "TYPES", "Passage", "Span", "load", "part_of"]

DATA = Path(__file__).parent / "data" / "ner"
TYPES = ("PER", "ORG", "LOC")


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    type: str


@dataclass(frozen=True)
class Passage:
    id: str
    language: str
    source: str
    text: str
    spans: tuple[Span, ...]
    part: str  # "dev" or "test"


def part_of(passage_id: str) -> str:
    """``dev`` or ``test``, stable for an id."""
    digest = hashlib.sha256(passage_id.encode()).digest()
    return "dev" if digest[0] % 2 == 0 else "test"


def _find(text: str, surface: str, cursor: int) -> int:
    """First occurrence of ``surface`` at or after ``cursor`` that is a whole
    word ("Ethiopia" not inside "Ethiopian"), else the first occurrence."""
    bounded = re.compile(r"(?<!\w)" + re.escape(surface) + r"(?!\w)")
    match = bounded.search(text, cursor)
    return match.start() if match else text.find(surface, cursor)


def _spans(row: dict[str, object], where: str) -> tuple[Span, ...]:
    text = row["text"]
    assert isinstance(text, str)
    out: list[Span] = []
    cursor = 0
    entities = row.get("entities", [])
    assert isinstance(entities, list)
    for surface, kind in entities:
        if kind not in TYPES:
            raise ValueError(f"{where}: type {kind!r} of {surface!r} is not one of {TYPES}")
        if surface != surface.strip() or not surface:
            raise ValueError(f"{where}: surface {surface!r} has outer spaces or is empty")
        start = _find(text, surface, cursor)
        if start < 0:
            raise ValueError(f"{where}: {surface!r} not found after offset {cursor} "
                             "(entities must be listed in text order)")
        out.append(Span(start, start + len(surface), kind))
        cursor = start + len(surface)
    return tuple(out)


def load(language: str, part: str | None = None, data: Path = DATA) -> list[Passage]:
    """The passages of one language (``part``: ``dev``, ``test`` or both)."""
    path = data / f"{language}.jsonl"
    passages: list[Passage] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path.name}:{number}"
        row = json.loads(line)
        pid = row["id"]
        if pid in seen:
            raise ValueError(f"{where}: duplicate id {pid!r}")
        seen.add(pid)
        if not row.get("source"):
            raise ValueError(f"{where}: no source")
        passage = Passage(pid, language, row["source"], row["text"], _spans(row, where),
                          part_of(pid))
        if part is None or passage.part == part:
            passages.append(passage)
    return passages


def _summary(language: str) -> str:
    passages = load(language)
    counts = {t: sum(1 for p in passages for s in p.spans if s.type == t) for t in TYPES}
    by_part = {k: sum(len(p.spans) for p in passages if p.part == k) for k in ("dev", "test")}
    return (f"{language}: {len(passages)} passages, {sum(counts.values())} mentions "
            f"({', '.join(f'{t} {n}' for t, n in counts.items())}); "
            f"dev {by_part['dev']}, test {by_part['test']}")


if __name__ == "__main__":
    # python -m bench.ner_sets de fr ...  -> validate and count
    for lang in sys.argv[1:] or sorted(p.stem for p in DATA.glob("*.jsonl")
                                       if p.stem != "parallel"):
        print(_summary(lang))
