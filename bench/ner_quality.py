"""NER quality per language on the labelled sets of ``bench/data/ner/``
(see :mod:`bench.ner_sets`): exact spans, PER/ORG/LOC.

Systems, each on the same passages:

* ``pipeline`` - the enrich stage's entity step as it runs in the workers
  (the document's route: CoreNLP on the original, natasha, or the English
  translation through the real APy with mentions mapped back; then our
  grouping and place rules). A mention counts where it points into the
  original text; a name found only in the translation is a miss.
* ``corenlp`` - the server's raw token tags for the languages it reads.
* ``spacy`` - the small English spaCy model (the previous engine), raw.
* ``natasha`` - natasha's raw spans (Russian, Ukrainian).

``python -m bench.ner_quality [--part test|dev|all] [--langs en,de] [--errors FILE]``
prints a table; :func:`run` returns figures for ``make bench``. Nothing
here asserts: it measures. Needs the local services (CoreNLP, APy, Redis).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bench.ner_sets import DATA, Passage, load
from bench.report import Figure, write_jsonl
from shared.corenlp import CORENLP_LANGUAGES
from shared.models import NewsItem, Translation, content_hash

__all__ = ["Score", "evaluate", "run"]

SECTION = "NER quality"
LANGUAGES = ("en", "de", "fr", "es", "pt", "it", "pl", "ru", "uk")
NOW = datetime(2026, 12, 1, tzinfo=UTC)
TYPE_OF = {"PERSON": "PER", "ORG": "ORG", "GPE": "LOC", "LOC": "LOC"}
BATCH = 25

Found = set[tuple[int, int, str]]


@dataclass
class Score:
    gold: int = 0
    predicted: int = 0
    hits: int = 0
    per_type: dict[str, list[int]] = field(default_factory=dict)  # type -> [gold, pred, hit]
    errors: list[dict[str, Any]] = field(default_factory=list)

    def add(self, passage: Passage, found: Found) -> None:
        gold = {(s.start, s.end, s.type) for s in passage.spans}
        hit = gold & found
        self.gold += len(gold)
        self.predicted += len(found)
        self.hits += len(hit)
        for kind in ("PER", "ORG", "LOC"):
            row = self.per_type.setdefault(kind, [0, 0, 0])
            row[0] += sum(1 for g in gold if g[2] == kind)
            row[1] += sum(1 for f in found if f[2] == kind)
            row[2] += sum(1 for h in hit if h[2] == kind)
        missed = sorted(gold - found)
        extra = sorted(found - gold)
        if missed or extra:
            text = passage.text
            self.errors.append({
                "id": passage.id,
                "missed": [f"{text[a:b]}/{t}" for a, b, t in missed],
                "wrong": [f"{text[a:b]}/{t}" for a, b, t in extra],
            })

    @staticmethod
    def _prf(gold: int, predicted: int, hits: int) -> tuple[float, float, float]:
        p = hits / predicted if predicted else 0.0
        r = hits / gold if gold else 0.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)

    def prf(self) -> tuple[float, float, float]:
        return self._prf(self.gold, self.predicted, self.hits)

    def type_f1(self, kind: str) -> float:
        return self._prf(*self.per_type.get(kind, [0, 0, 0]))[2]


def _item(n: int, passage: Passage) -> NewsItem:
    return NewsItem(id=f"ner-{n}", uri=f"bench:{passage.id}", source="bench", headline="",
                    body_text=passage.text, language=passage.language, versioncreated=NOW,
                    fetched_at=NOW, content_hash=content_hash("", passage.text))


def evaluate(passages: Sequence[Passage], system: Callable[[Sequence[Passage]], list[Found]]
             ) -> Score:
    score = Score()
    for start in range(0, len(passages), BATCH):
        chunk = passages[start:start + BATCH]
        for passage, found in zip(chunk, system(chunk), strict=True):
            score.add(passage, found)
    return score


# ------------------------------------------------------------------ systems
@dataclass
class Systems:
    """What the systems need, built once."""

    ner: Any  # NerModels
    gazetteer: Any
    translator: Any | None
    spacy: Any | None = None

    def pipeline(self, passages: Sequence[Passage]) -> list[Found]:
        from services.enrich.aliases import OfflineResolver
        from services.enrich.entities import recognise_batch, tag_entities

        items = [_item(n, p) for n, p in enumerate(passages)]
        languages: list[str | None] = [p.language for p in passages]
        translations: list[Translation | None] = [None] * len(items)
        if self.translator is not None:
            translations = [t for t, _ in self.translator.translate_batch(items, languages)]
        found = recognise_batch(items, languages, translations, self.ner, self.gazetteer)
        entities = tag_entities(items, [r.mentions for r in found], self.gazetteer,
                                OfflineResolver())
        out: list[Found] = []
        for ents in entities:
            spans: Found = set()
            for entity in ents:
                kind = TYPE_OF.get(entity.type)
                if kind is None:
                    continue
                spans.update((m.start, m.end, kind) for m in entity.mentions
                             if m.field == "body_text")
            out.append(spans)
        return out

    def corenlp(self, passages: Sequence[Passage]) -> list[Found]:
        from services.enrich.ports import NerFailure

        answers = self.ner.server.recognise([(p.language, p.text) for p in passages])
        out: list[Found] = []
        for answer in answers:
            if isinstance(answer, NerFailure):
                raise RuntimeError(f"CoreNLP failed: {answer.message}")
            out.append({(s.start, s.end, TYPE_OF[s.type]) for s in answer})
        return out

    def spacy_raw(self, passages: Sequence[Passage]) -> list[Found]:
        from services.enrich.entities import SPACY_TYPES

        out: list[Found] = []
        for doc in self.spacy.pipe(p.text for p in passages):
            out.append({(e.start_char, e.end_char, TYPE_OF[SPACY_TYPES[e.label_]])
                        for e in doc.ents if SPACY_TYPES.get(e.label_) in TYPE_OF})
        return out

    def natasha(self, passages: Sequence[Passage]) -> list[Found]:
        from services.enrich.entities import _natasha

        out: list[Found] = []
        for p in passages:
            spans = _natasha(self.ner.russian, "body_text", p.text, p.language)
            out.append({(m.start, m.end, TYPE_OF[m.type]) for m in spans if m.type in TYPE_OF})
        return out


# ----------------------------------------------------------- parallel set
PARALLEL_ORDER = ("en", "de", "fr", "es", "it", "ru", "pt", "uk", "pl")


@dataclass
class ParallelScore:
    """Entities of the parallel stories found per language (an entity of a
    story counts when one of its gold mentions is found exactly), and
    whether each person got one id across the languages that found them."""

    found: dict[str, list[int]] = field(default_factory=dict)  # lang -> [found, gold]
    people_one_id: list[int] = field(default_factory=lambda: [0, 0])  # [one id, people]
    misses: list[str] = field(default_factory=list)
    splits: list[str] = field(default_factory=list)  # a person with several ids


def parallel_scores(systems: Systems, registry: bool = False) -> ParallelScore:
    """The stories of ``parallel.jsonl`` read language by language in
    :data:`PARALLEL_ORDER`, as a live system would meet them: the gazetteer
    pass knows the names found in the versions read before (what the
    registry would hold); ids come from the folded keys (OfflineResolver),
    or with ``registry`` from the entity registry on a scratch Redis db, as
    the workers resolve them."""
    from services.enrich.aliases import OfflineResolver
    from services.enrich.entities import recognise_batch, tag_entities
    from services.enrich.known_names import KnownNames, KnownNamesCache
    from services.enrich.names import name_key

    rows = [json.loads(line) for line in (DATA / "parallel.jsonl").read_text(
        encoding="utf-8").splitlines() if line.strip()]
    known: list[tuple[str, str]] = []
    cache = KnownNamesCache(lambda: KnownNames(known), max_age=0)
    resolver: Any = OfflineResolver()
    if registry:
        from bench.identity_quality import _scratch_registry

        resolver, cache = _scratch_registry()
    saved = systems.ner.known
    systems.ner.known = cache
    score = ParallelScore()
    ids: dict[tuple[str, str], set[str]] = {}  # (story, canonical person) -> ids
    names: dict[tuple[str, str], list[str]] = {}  # -> "lang:id:entity name" per language
    try:
        for lang in PARALLEL_ORDER:
            batch = [r for r in rows if r["lang"] == lang]
            passages = [Passage(r["id"], lang, r["source"], r["text"],
                                _parallel_spans(r), "test") for r in batch]
            items = [_item(n, p) for n, p in enumerate(passages)]
            translations: list[Translation | None] = [None] * len(items)
            if systems.translator is not None:
                translations = [t for t, _ in systems.translator.translate_batch(
                    items, [lang] * len(items))]
            found = recognise_batch(items, [lang] * len(items), translations, systems.ner,
                                    systems.gazetteer)
            entities = tag_entities(items, [r.mentions for r in found], systems.gazetteer,
                                    resolver)
            row = score.found.setdefault(lang, [0, 0])
            for r, passage, ents in zip(batch, passages, entities, strict=True):
                predicted = {}
                shown = {e.id: e.name for e in ents}
                for entity in ents:
                    kind = TYPE_OF.get(entity.type)
                    for m in entity.mentions:
                        if kind and m.field == "body_text":
                            predicted[(m.start, m.end, kind)] = entity.id
                    if entity.type in ("PERSON", "ORG"):
                        known.append(tuple(name_key(entity.name, entity.type).split(":", 1)))  # type: ignore[arg-type]
                by_canonical: dict[str, list[tuple[int, int, str]]] = {}
                for span, (_, _, canonical) in zip(passage.spans, r["entities"], strict=True):
                    by_canonical.setdefault(canonical, []).append(
                        (span.start, span.end, span.type))
                for canonical, spans in by_canonical.items():
                    row[1] += 1
                    hit = [predicted[s] for s in spans if s in predicted]
                    if hit:
                        row[0] += 1
                        if spans[0][2] == "PER":
                            ids.setdefault((r["story"], canonical), set()).update(hit)
                            names.setdefault((r["story"], canonical), []).extend(
                                f"{lang}:{i}:{shown.get(i, '')}" for i in sorted(set(hit)))
                    else:
                        score.misses.append(f"{r['id']}: {canonical}")
    finally:
        systems.ner.known = saved
        if registry:
            resolver.client.flushdb()
            resolver.client.close()
    score.people_one_id = [sum(1 for v in ids.values() if len(v) == 1), len(ids)]
    score.splits = [f"{story} {canonical}: " + ", ".join(names[(story, canonical)])
                    for (story, canonical), v in ids.items() if len(v) > 1]
    return score


def _parallel_spans(row: dict[str, Any]) -> tuple[Any, ...]:
    from bench.ner_sets import _spans

    return _spans({"text": row["text"], "entities": [e[:2] for e in row["entities"]]},
                  row["id"])


def build_systems(spacy: bool = True) -> tuple[Systems, Any]:
    from services.enrich.adapters.translation_backends import build_backend, http_client
    from services.enrich.adapters.translation_cache import RedisTranslationCache
    from services.enrich.entities import load_english
    from services.enrich.loading import build_ner
    from services.enrich.places import build_gazetteer
    from services.enrich.translate import Translator
    from shared.runtime import redis_client
    from shared.settings import load_settings

    settings = load_settings()
    http = http_client(settings.translator)
    ner = build_ner(settings, http)
    translator = Translator(build_backend(settings.translator, http),
                            RedisTranslationCache(redis_client(settings)))
    return Systems(ner, build_gazetteer(), translator,
                   load_english() if spacy else None), http


def scores(part: str | None, languages: Sequence[str]) -> dict[str, dict[str, Score]]:
    systems, http = build_systems()
    out: dict[str, dict[str, Score]] = {}
    try:
        for lang in languages:
            if not (DATA / f"{lang}.jsonl").exists():
                continue
            passages = load(lang, part)
            row: dict[str, Score] = {"pipeline": evaluate(passages, systems.pipeline)}
            server = systems.ner.server
            if server is not None and lang in CORENLP_LANGUAGES and lang not in server.languages:
                # the language's own model, which the settings leave out by default
                saved = server.languages
                server.languages = saved | {lang}
                try:
                    row["pipeline+own"] = evaluate(passages, systems.pipeline)
                finally:
                    server.languages = saved
            if lang in CORENLP_LANGUAGES and systems.ner.server is not None:
                row["corenlp"] = evaluate(passages, systems.corenlp)
            if lang == "en" and systems.spacy is not None:
                row["spacy"] = evaluate(passages, systems.spacy_raw)
            if lang in ("ru", "uk") and systems.ner.russian is not None:
                row["natasha"] = evaluate(passages, systems.natasha)
            out[lang] = row
    finally:
        http.close()
    return out


def run(part: str = "test") -> list[Figure]:
    table = scores(part, LANGUAGES)
    systems, http = build_systems(spacy=False)
    try:
        parallel = parallel_scores(systems)
        joined = parallel_scores(systems, registry=True)
    finally:
        http.close()
    figures = []
    total = [sum(v[0] for v in parallel.found.values()),
             sum(v[1] for v in parallel.found.values())]
    figures.append(Figure(
        SECTION, "parallel stories: entities found", total[0] / total[1], "ratio", "higher",
        f"{total[0]}/{total[1]} (story entity found in a language version; the merge "
        "rules of related readings were tuned on these stories, so this errs high); "
        + ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in parallel.found.items())))
    figures.append(Figure(
        SECTION, "parallel stories: one id per person across languages",
        parallel.people_one_id[0] / max(1, parallel.people_one_id[1]), "ratio", "higher",
        f"{parallel.people_one_id[0]}/{parallel.people_one_id[1]} people (ids from folded "
        "keys, no registry merges)"))
    figures.append(Figure(
        SECTION, "parallel stories: one id per person across languages, registry",
        joined.people_one_id[0] / max(1, joined.people_one_id[1]), "ratio", "higher",
        f"{joined.people_one_id[0]}/{joined.people_one_id[1]} people (ids from the entity "
        "registry on a scratch Redis db, as the workers resolve them; the stories read in "
        f"the order {', '.join(PARALLEL_ORDER)}; the merge rules of related readings were "
        "tuned on these stories, so this errs high)"))
    for lang, row in table.items():
        for system, score in row.items():
            p, r, f = score.prf()
            note = (f"{score.gold} gold mentions ({part} half); P {p:.2f} R {r:.2f}; "
                    f"F1 PER {score.type_f1('PER'):.2f} ORG {score.type_f1('ORG'):.2f} "
                    f"LOC {score.type_f1('LOC'):.2f}")
            figures.append(Figure(SECTION, f"NER {lang} F1, {system}", f, "ratio", "higher",
                                  note))
    return figures


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", default="test", choices=("test", "dev", "all"))
    parser.add_argument("--langs", default=",".join(LANGUAGES))
    parser.add_argument("--errors", help="write every passage's misses and extras (JSONL)")
    parser.add_argument("--parallel", action="store_true", help="also the parallel stories")
    args = parser.parse_args(argv)
    part = None if args.part == "all" else args.part
    table = scores(part, args.langs.split(","))
    if args.parallel:
        systems, http = build_systems(spacy=False)
        parallel = parallel_scores(systems)
        joined = parallel_scores(systems, registry=True)
        http.close()
        print("parallel:", {k: f"{v[0]}/{v[1]}" for k, v in parallel.found.items()},
              "one id:", parallel.people_one_id, "with the registry:", joined.people_one_id)
        for miss in parallel.misses:
            print("  missed", miss)
        for split in joined.splits:
            print("  split (registry)", split)
    print(f"{'lang':5} {'system':9} {'gold':>5} {'P':>5} {'R':>5} {'F1':>5}  "
          f"{'PER':>5} {'ORG':>5} {'LOC':>5}")
    errors = []
    for lang, row in table.items():
        for system, score in row.items():
            p, r, f = score.prf()
            print(f"{lang:5} {system:9} {score.gold:5d} {p:5.2f} {r:5.2f} {f:5.2f}  "
                  f"{score.type_f1('PER'):5.2f} {score.type_f1('ORG'):5.2f} "
                  f"{score.type_f1('LOC'):5.2f}")
            errors += [{"lang": lang, "system": system, **e} for e in score.errors]
    if args.errors:
        write_jsonl(args.errors, errors)


if __name__ == "__main__":
    main()
