"""The labelled person-identity set in ``bench/data/identity/`` (issue #16,
"one person, one id"): which person mentions name the same real person.

Each line of ``real.jsonl`` (real copy: the NER set's passages),
``stories.jsonl`` (real copy: whole stories, people only) and
``written.jsonl`` (written for the set) is one document::

    {"id": "id-de-dpa17-0005", "lang": "de",
     "source": "fixture:newsml-g2/...g20-feature.xml#para=...",
     "text": "... Xi Jinping ... Ob Jinping hier unterkommt ...",
     "people": [["Xi Jinping", 1203, "Xi Jinping"], ["Jinping", 1399, "Xi Jinping"]]}

``people`` lists every person mention as ``[surface, start offset, label]``;
``text[start:start + len(surface)]`` must be ``surface`` (:func:`load`
refuses the file otherwise). The label names the real person, the same
string in every document and language ("Vladimir Putin" for "Путина" and
"Poutine"). Optional: ``ner`` (the ids of the ``bench/data/ner`` passages
the text was joined from) and ``story`` (the parallel story a written row
belongs to). Guidelines: ``bench/data/identity/README.md``.

Pairs (:func:`pairs`): every two labelled mentions, *same* when their labels
are equal. A pair is ``within`` one document, ``cross-doc`` (two documents
of one language) or ``cross-lang``; ``written`` when either side is written.

Every document belongs to ``dev`` or ``test`` by a hash of its id (of its
story for the parallel rows, so a story's languages stay together), as in
:func:`bench.ner_sets.part_of`; a pair belongs to a part when both its
documents do. Tune on ``dev``; ``test`` is read only by the benchmark.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.ner_sets import part_of

__all__ = ["DATA", "FILES", "KINDS", "Document", "Mention", "Pair", "PairScore", "load",
           "pairs", "score_pairs"]

DATA = Path(__file__).parent / "data" / "identity"
FILES = ("real", "written", "stories")
KINDS = ("within", "cross-doc", "cross-lang")
LANGUAGES = {"en", "de", "fr", "es", "pt", "it", "pl", "ru", "uk"}


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    surface: str
    label: str


@dataclass(frozen=True)
class Document:
    id: str
    language: str
    source: str
    text: str
    mentions: tuple[Mention, ...]
    part: str  # "dev" or "test"
    written: bool
    story: str | None = None


MentionRef = tuple[str, int]  # (document id, index of the mention)


@dataclass(frozen=True)
class Pair:
    a: MentionRef
    b: MentionRef
    same: bool
    kind: str  # one of KINDS
    written: bool
    part: str  # "dev", "test" or "mixed"
    languages: tuple[str, str]


def _mentions(row: Mapping[str, object], where: str) -> tuple[Mention, ...]:
    text = row["text"]
    people = row.get("people")
    if not isinstance(text, str) or not isinstance(people, list):
        raise ValueError(f"{where}: text must be a string and people a list")
    out: list[Mention] = []
    for entry in people:
        if not (isinstance(entry, list) and len(entry) == 3):
            raise ValueError(f"{where}: {entry!r} is not [surface, start, label]")
        surface, start, label = entry
        if not isinstance(surface, str) or not surface or surface != surface.strip():
            raise ValueError(f"{where}: surface {surface!r} is empty or has outer spaces")
        if not isinstance(start, int) or isinstance(start, bool) or start < 0:
            raise ValueError(f"{where}: start {start!r} of {surface!r} is not an offset")
        if text[start:start + len(surface)] != surface:
            raise ValueError(f"{where}: {surface!r} is not at offset {start} "
                             f"(found {text[start:start + len(surface)]!r})")
        if not isinstance(label, str) or not label.strip():
            raise ValueError(f"{where}: {surface!r} has no person label")
        if out and start < out[-1].end:
            raise ValueError(f"{where}: {surface!r} at {start} overlaps or precedes "
                             f"{out[-1].surface!r} (mentions in text order)")
        out.append(Mention(start, start + len(surface), surface, label))
    return tuple(out)


def load(part: str | None = None, data: Path = DATA, files: Sequence[str] = FILES
         ) -> list[Document]:
    """The documents of ``files`` (``part``: ``dev``, ``test`` or both),
    validated: unique ids, a known language, a source, every surface at its
    offset, labels present, mentions in text order without overlaps."""
    documents: list[Document] = []
    seen: set[str] = set()
    for name in files:
        path = data / f"{name}.jsonl"
        if name == "stories" and not path.exists():
            continue  # optional
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            where = f"{path.name}:{number}"
            row = json.loads(line)
            did = row.get("id")
            if not isinstance(did, str) or not did:
                raise ValueError(f"{where}: no id")
            if did in seen:
                raise ValueError(f"{where}: duplicate id {did!r}")
            seen.add(did)
            source = row.get("source")
            if not isinstance(source, str) or not source:
                raise ValueError(f"{where}: no source")
            written = source.startswith("written:")
            if (name == "written") != written:
                raise ValueError(f"{where}: source {source!r} does not belong in {path.name}")
            if row.get("lang") not in LANGUAGES:
                raise ValueError(f"{where}: language {row.get('lang')!r} is not one of "
                                 f"{sorted(LANGUAGES)}")
            story = row.get("story")
            doc = Document(did, row["lang"], source, row["text"], _mentions(row, where),
                           part_of(story or did), written, story)
            if part is None or doc.part == part:
                documents.append(doc)
    return documents


def pairs(documents: Sequence[Document]) -> Iterator[Pair]:
    """Every pair of labelled mentions, each once, within and across documents."""
    flat = [(d, i, m) for d in documents for i, m in enumerate(d.mentions)]
    for x, (da, ia, ma) in enumerate(flat):
        for db, ib, mb in flat[x + 1:]:
            if da is db:
                kind = "within"
            elif da.language == db.language:
                kind = "cross-doc"
            else:
                kind = "cross-lang"
            yield Pair((da.id, ia), (db.id, ib), ma.label == mb.label, kind,
                       da.written or db.written,
                       da.part if da.part == db.part else "mixed",
                       (da.language, db.language))


@dataclass
class PairScore:
    """Pairwise counts: ``gold`` pairs labelled same, ``predicted`` pairs the
    system put under one id, ``hits`` both; ``pairs`` all pairs seen."""

    pairs: int = 0
    gold: int = 0
    predicted: int = 0
    hits: int = 0

    def prf(self) -> tuple[float, float, float]:
        p = self.hits / self.predicted if self.predicted else 0.0
        r = self.hits / self.gold if self.gold else 0.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)


@dataclass
class Scored:
    """Scores per group (see :func:`score_pairs`) and the wrong pairs."""

    groups: dict[str, PairScore] = field(default_factory=dict)
    errors: list[tuple[Pair, str]] = field(default_factory=list)  # (pair, "split"|"merge")


def score_pairs(documents: Sequence[Document], predicted: Mapping[MentionRef, str | None],
                part: str | None = None) -> Scored:
    """Pairwise precision/recall of ``predicted`` (mention -> entity id, or
    None where the recogniser found no entity at the mention: such a mention
    is predicted different from every other). Groups: ``all``, ``real``,
    ``written`` and ``<real|written> <kind>`` for each of :data:`KINDS`.
    With ``part``, only pairs whose two documents are both in it count."""
    scored = Scored()
    for pair in pairs(documents):
        if part is not None and pair.part != part:
            continue
        a, b = predicted.get(pair.a), predicted.get(pair.b)
        same = a is not None and a == b
        origin = "written" if pair.written else "real"
        for group in ("all", origin, f"{origin} {pair.kind}"):
            s = scored.groups.setdefault(group, PairScore())
            s.pairs += 1
            s.gold += pair.same
            s.predicted += same
            s.hits += pair.same and same
        if same != pair.same:
            scored.errors.append((pair, "merge" if same else "split"))
    return scored


def _summary(documents: Sequence[Document]) -> list[str]:
    lines = []
    for origin, written in (("real", False), ("written", True)):
        docs = [d for d in documents if d.written == written]
        mentions = sum(len(d.mentions) for d in docs)
        people = len({m.label for d in docs for m in d.mentions})
        langs: dict[str, int] = {}
        for d in docs:
            langs[d.language] = langs.get(d.language, 0) + len(d.mentions)
        lines.append(f"{origin}: {len(docs)} documents, {mentions} mentions, {people} people; "
                     + ", ".join(f"{k} {v}" for k, v in sorted(langs.items())))
    counts: dict[tuple[str, str, bool], int] = {}
    for pair in pairs(documents):
        key = ("written" if pair.written else "real", pair.kind, pair.same)
        counts[key] = counts.get(key, 0) + 1
    for origin in ("real", "written"):
        for kind in KINDS:
            same = counts.get((origin, kind, True), 0)
            different = counts.get((origin, kind, False), 0)
            lines.append(f"  {origin} {kind:10} pairs: same {same}, different {different}")
    return lines


if __name__ == "__main__":
    # python -m bench.identity_sets [dev|test] -> validate and count
    print("\n".join(_summary(load(sys.argv[1] if len(sys.argv) > 1 else None))))
