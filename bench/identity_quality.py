"""Person identity on the labelled set of ``bench/data/identity/`` (see
:mod:`bench.identity_sets`): do two mentions of one person get one entity
id, and mentions of two people two?

The enrich stage's entity step runs as in the workers (the real CoreNLP
server, natasha, APy translation, the gazetteer: :func:`bench.ner_quality.
build_systems`), documents in file order in batches of 25. Each labelled
mention takes the id of the predicted entity whose mention has its exact
span, else one that overlaps it (a person entity first); a mention nothing
covers is *unfound* and predicted different from every other mention.
Pairwise precision/recall/F1 then per group: within a document, across
documents of one language, across languages; real copy and written text
apart. Ids across documents come from

* ``offline`` - :class:`services.enrich.aliases.OfflineResolver` (ids from
  the folded keys; what the single-document CLI does without Redis);
* ``registry`` - :class:`services.enrich.adapters.entity_registry.EntityRegistry` on the
  scratch Redis database 13 (flushed first; never 0, the pipeline's, nor 9,
  the tests'), its known names feeding the gazetteer pass as in a worker.

``python -m bench.identity_quality [--part test|dev|all] [--resolver
offline|registry|both] [--errors FILE]``; :func:`run` returns figures for
``python -m bench.run``. Nothing here asserts. Needs CoreNLP, APy and Redis.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from bench.identity_sets import KINDS, Document, MentionRef, Scored, load, score_pairs
from bench.report import Figure, write_jsonl
from shared.models import NewsItem, Translation, content_hash

__all__ = ["predict", "run"]

SECTION = "Identity quality"
NOW = datetime(2026, 12, 1, tzinfo=UTC)
BATCH = 25
SCRATCH_DB = 13  # never 0 (the pipeline's) nor 9 (the integration tests')

Predicted = tuple[int, int, str, str]  # start, end, entity id, entity type


def _item(n: int, doc: Document) -> NewsItem:
    return NewsItem(id=f"identity-{n}", uri=f"bench:{doc.id}", source="bench", headline="",
                    body_text=doc.text, language=doc.language, versioncreated=NOW,
                    fetched_at=NOW, content_hash=content_hash("", doc.text))


def assign(doc: Document, found: Sequence[Predicted]) -> list[str | None]:
    """The predicted entity id of each labelled mention of ``doc``: exact span
    first, then any overlapping span; a PERSON entity before another type."""
    out: list[str | None] = []
    for m in doc.mentions:
        exact = [f for f in found if f[0] == m.start and f[1] == m.end]
        overlap = [f for f in found if f[0] < m.end and m.start < f[1]]
        pick = None
        for group in (exact, overlap):
            person = [f for f in group if f[3] == "PERSON"]
            if person or group:
                pick = (person or group)[0][2]
                break
        out.append(pick)
    return out


def predict(documents: Sequence[Document], systems: Any, resolver: Any
            ) -> dict[MentionRef, str | None]:
    """Entity id per labelled mention, the documents read in order in batches."""
    from services.enrich.entities import recognise_batch, tag_entities

    predicted: dict[MentionRef, str | None] = {}
    for begin in range(0, len(documents), BATCH):
        chunk = documents[begin:begin + BATCH]
        items = [_item(begin + n, d) for n, d in enumerate(chunk)]
        languages: list[str | None] = [d.language for d in chunk]
        translations: list[Translation | None] = [None] * len(items)
        if systems.translator is not None:
            translations = [t for t, _ in systems.translator.translate_batch(items, languages)]
        found = recognise_batch(items, languages, translations, systems.ner, systems.gazetteer)
        entities = tag_entities(items, [r.mentions for r in found], systems.gazetteer,
                                resolver)
        for doc, ents in zip(chunk, entities, strict=True):
            spans = [(m.start, m.end, e.id, e.type) for e in ents for m in e.mentions
                     if m.field == "body_text"]
            for index, entity_id in enumerate(assign(doc, spans)):
                predicted[(doc.id, index)] = entity_id
    return predicted


def _scratch_registry() -> tuple[Any, Any]:
    from services.enrich.adapters.entity_registry import EntityRegistry, known_names_from_registry
    from services.enrich.known_names import KnownNamesCache
    from shared.runtime import redis_client
    from shared.settings import load_settings

    settings = load_settings()
    url = settings.redis.url.rsplit("/", 1)[0] + f"/{SCRATCH_DB}"
    client = redis_client(settings.model_copy(
        update={"redis": settings.redis.model_copy(update={"url": url})}))
    if client.connection_pool.connection_kwargs.get("db") != SCRATCH_DB:
        raise RuntimeError(f"scratch registry must be Redis db {SCRATCH_DB}")
    client.flushdb()
    return EntityRegistry(client), KnownNamesCache(
        lambda: known_names_from_registry(client), max_age=0)


def measure(resolvers: Sequence[str]) -> tuple[list[Document], dict[str, dict[MentionRef,
                                                                            str | None]]]:
    from bench.ner_quality import build_systems
    from services.enrich.aliases import OfflineResolver

    documents = load()  # all: cross-document pairs need every document read
    systems, http = build_systems(spacy=False)
    out: dict[str, dict[MentionRef, str | None]] = {}
    try:
        for name in resolvers:
            if name == "offline":
                out[name] = predict(documents, systems, OfflineResolver())
                continue
            registry, known = _scratch_registry()
            saved = systems.ner.known
            systems.ner.known = known
            try:
                out[name] = predict(documents, systems, registry)
            finally:
                systems.ner.known = saved
                registry.client.flushdb()
                registry.client.close()
    finally:
        http.close()
    return documents, out


def coverage(documents: Sequence[Document], predicted: dict[MentionRef, str | None],
             part: str | None, written: bool) -> tuple[int, int]:
    refs = [(d.id, i) for d in documents if d.written == written
            and (part is None or d.part == part) for i in range(len(d.mentions))]
    return sum(1 for r in refs if predicted.get(r) is not None), len(refs)


def _table(documents: Sequence[Document], predicted: dict[MentionRef, str | None],
           part: str | None) -> tuple[Scored, list[str]]:
    scored = score_pairs(documents, predicted, part)
    lines = []
    for group in ("real", *(f"real {k}" for k in KINDS), "written",
                  *(f"written {k}" for k in KINDS)):
        s = scored.groups.get(group)
        if s is None:
            continue
        p, r, f = s.prf()
        lines.append(f"  {group:20} pairs {s.pairs:7d} same {s.gold:5d} predicted same "
                     f"{s.predicted:5d}  P {p:.3f} R {r:.3f} F1 {f:.3f}")
    for written in (False, True):
        hit, total = coverage(documents, predicted, part, written)
        lines.append(f"  coverage {'written' if written else 'real':8} {hit}/{total} "
                     f"({hit / max(1, total):.3f})")
    return scored, lines


def error_rows(documents: Sequence[Document], predicted: dict[MentionRef, str | None],
               scored: Scored) -> list[dict[str, Any]]:
    by_id = {d.id: d for d in documents}
    rows = []
    for pair, what in scored.errors:
        sides = []
        for ref in (pair.a, pair.b):
            m = by_id[ref[0]].mentions[ref[1]]
            sides.append({"doc": ref[0], "surface": m.surface, "label": m.label,
                          "id": predicted.get(ref)})
        rows.append({"error": what, "kind": pair.kind, "written": pair.written,
                     "part": pair.part, "a": sides[0], "b": sides[1]})
    return rows


def bare_surnames(documents: Sequence[Document], predicted: dict[MentionRef, str | None],
                  part: str | None) -> dict[str, list[int]]:
    """Per language (real copy only), [bare surnames that got the id of the
    story's full name, bare surnames]: a one-word mention whose person the
    same story also names in full ("Clinton" after "Bill Clinton"); right
    when its id is the one most of the full mentions got (of ids as frequent,
    the one the story gave first: the figure must not depend on set order)."""
    out: dict[str, list[int]] = {}
    for doc in documents:
        if doc.written or (part and doc.part != part):
            continue
        full: dict[str, list[str | None]] = {}
        for index, m in enumerate(doc.mentions):
            if len(m.surface.split()) > 1:
                full.setdefault(m.label, []).append(predicted.get((doc.id, index)))
        for index, m in enumerate(doc.mentions):
            ids = full.get(m.label)
            if len(m.surface.split()) != 1 or not ids:
                continue
            row = out.setdefault(doc.language, [0, 0])
            row[1] += 1
            known = [i for i in ids if i]
            usual = max(known, key=known.count) if known else None
            row[0] += int(usual is not None and predicted.get((doc.id, index)) == usual)
    return out


def run(part: str = "test") -> list[Figure]:
    documents, predictions = measure(("offline", "registry"))
    figures = []
    for resolver, predicted in predictions.items():
        scored = score_pairs(documents, predicted, part)
        hit, total = coverage(documents, predicted, part, False)
        for group in ("real", *(f"real {k}" for k in KINDS), "written"):
            s = scored.groups.get(group)
            if s is None:
                continue
            p, r, f = s.prf()
            note = (f"{part} half, {s.pairs} pairs of which {s.gold} same; P {p:.3f} "
                    f"R {r:.3f}; predicted same {s.predicted}")
            figures.append(Figure(SECTION, f"{group} pairs F1, {resolver}", f, "ratio",
                                  "higher", note))
            if group == "real":
                figures.append(Figure(SECTION, f"real pairs precision, {resolver}", p,
                                      "ratio", "higher", note))
                figures.append(Figure(SECTION, f"real pairs recall, {resolver}", r,
                                      "ratio", "higher", note))
        bare = bare_surnames(documents, predicted, part)
        joined = [sum(v[0] for v in bare.values()), sum(v[1] for v in bare.values())]
        figures.append(Figure(
            SECTION, f"bare surname gets the story's full-name id, {resolver}",
            joined[0] / max(1, joined[1]), "ratio", "higher",
            f"{part} half, {joined[0]}/{joined[1]}: "
            + ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in sorted(bare.items()))))
        figures.append(Figure(SECTION, f"real mentions found, {resolver}", hit / max(1, total),
                              "ratio", "higher", f"{hit}/{total} labelled person mentions "
                              f"({part} half) inside a predicted entity"))
    return figures


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", default="test", choices=("test", "dev", "all"))
    parser.add_argument("--resolver", default="offline",
                        choices=("offline", "registry", "both"))
    parser.add_argument("--errors", help="write the wrong pairs (JSONL)")
    args = parser.parse_args(argv)
    part = None if args.part == "all" else args.part
    resolvers = ("offline", "registry") if args.resolver == "both" else (args.resolver,)
    documents, predictions = measure(resolvers)
    errors: list[dict[str, Any]] = []
    for resolver, predicted in predictions.items():
        scored, lines = _table(documents, predicted, part)
        print(f"{resolver} ({args.part}):")
        print("\n".join(lines))
        bare = bare_surnames(documents, predicted, part)
        print("  bare surname -> the story's full-name id:",
              ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in sorted(bare.items())))
        errors += [{"resolver": resolver, **e}
                   for e in error_rows(documents, predicted, scored)]
    if args.errors:
        write_jsonl(args.errors, errors)


if __name__ == "__main__":
    main()
