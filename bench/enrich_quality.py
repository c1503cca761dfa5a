
"""Quality of the enrich stage on small labelled sets (bench/data/enrich/,
see its README for sources and sizes): NER precision/recall (English with
the CoreNLP server + our post-processing, next to raw spaCy, the previous engine;
Russian with natasha),
cross-script variant merging, topic accuracy (our set and the fixtures'
agency codes), near-duplicate cluster precision/recall.

``run()`` returns :class:`bench.report.Figure` rows for `make bench`;
``python -m bench.enrich_quality`` prints them. Offline by default; with
``redis=True`` (the default when run from `make bench`) the cluster figures
come from the real Redis-backed LSH index under a throwaway key prefix.
Nothing here asserts: it measures.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from itertools import combinations
from pathlib import Path
from typing import Any

from bench.report import Figure
from services.enrich.adapters.clusters import ClusterIndex, signature
from services.enrich.aliases import OfflineResolver
from services.enrich.entities import (
    SPACY_TYPES,
    NerModels,
    load_english,
    recognise,
    tag_entities,
)
from services.enrich.names import clean_surface, given_names_match, name_key, person_parts
from services.enrich.places import Gazetteer, build_gazetteer
from services.enrich.topics import TopicRules, classify, load_rules, provider_topics
from shared.models import NewsItem, Subject, content_hash

__all__ = ["run"]

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data" / "enrich"
SECTION = "enrich quality"
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _rows(name: str) -> list[dict[str, Any]]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _item(n: int, headline: str, body: str | None, language: str | None = None,
          subjects: list[Subject] | None = None) -> NewsItem:
    return NewsItem(id=f"b{n}", uri=f"bench:{n}", source="bench", headline=headline,
                    body_text=body, language=language, versioncreated=NOW, fetched_at=NOW,
                    content_hash=content_hash(headline, body), subjects=subjects or [])


def _norm(surface: str) -> str:
    text = surface.strip()
    for prefix in ("the ", "The "):
        text = text.removeprefix(prefix)
    return text.removesuffix("'s").removesuffix("\u2019s")


def _prf(gold: Counter[Any], predicted: Counter[Any]) -> tuple[float, float, float]:
    hit = sum((gold & predicted).values())
    p = hit / max(1, sum(predicted.values()))
    r = hit / max(1, sum(gold.values()))
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


# ---------------------------------------------------------------------- NER
_SPACY: list[Any] = []


def _spacy() -> Any:
    """The small English spaCy model, the previous engine, for comparison."""
    if not _SPACY:
        _SPACY.append(load_english())
    return _SPACY[0]


def _ner() -> NerModels:
    """The recognisers as the workers build them (the CoreNLP server, natasha)."""
    import httpx

    from services.enrich.loading import build_ner
    from shared.settings import load_settings

    return build_ner(load_settings(), httpx.Client(timeout=120))


def ner_scores(ner: NerModels, gazetteer: Gazetteer, rows: list[dict[str, Any]],
               language: str) -> dict[str, float]:
    items = [_item(n, "", row["text"], language) for n, row in enumerate(rows)]
    raw = recognise(items, [language] * len(items), [None] * len(items), ner, gazetteer)
    entities = tag_entities(items, raw, gazetteer, OfflineResolver())
    gold: Counter[tuple[int, str, str]] = Counter()
    ours: Counter[tuple[int, str, str]] = Counter()
    for n, (row, found) in enumerate(zip(rows, entities, strict=True)):
        gold.update((n, _norm(s), t) for s, t in row["entities"])
        ours.update((n, _norm(m.surface), e.type) for e in found for m in e.mentions)
    p, r, f = _prf(gold, ours)
    spans_p, spans_r, _ = _prf(Counter((n, s) for n, s, _ in gold.elements()),
                               Counter((n, s) for n, s, _ in ours.elements()))
    out = {"precision": p, "recall": r, "f1": f, "span_precision": spans_p,
           "span_recall": spans_r, "mentions": float(sum(gold.values()))}
    if language == "en":  # the raw model, mapped to our types, for comparison
        baseline: Counter[tuple[int, str, str]] = Counter()
        for n, doc in enumerate(_spacy().pipe(row["text"] for row in rows)):
            baseline.update((n, _norm(e.text), SPACY_TYPES[e.label_]) for e in doc.ents
                            if e.label_ in SPACY_TYPES)
        bp, br, bf = _prf(gold, baseline)
        out |= {"raw_precision": bp, "raw_recall": br, "raw_f1": bf}
    return out


# Spelling sets that must each be one entity, and pairs that must not be.
SAME = [
    ["Volodymyr Zelensky", "Vladimir Zelensky", "Volodymyr Zelenskyy", "Volodymyr Zelenskiy",
     "Владимир Зеленский", "Володимир Зеленський", "Wolodymyr Selenskyj"],
    ["Alexei Navalny", "Aleksei Navalny", "Alexey Navalnyy", "Алексей Навальный"],
    ["Sergei Lavrov", "Sergey Lavrov", "Сергей Лавров"],
    ["Dmitry Peskov", "Dmitri Peskov", "Дмитрий Песков"],
    ["Emmanuel Macron", "Эммануэль Макрон"],
    ["Olaf Scholz", "Олаф Шольц"],
    ["Recep Tayyip Erdogan", "Recep Tayyip Erdoğan", "Реджеп Тайип Эрдоган"],
    ["Benjamin Netanyahu", "Биньямин Нетаньяху"],
    ["Mykhailo Podolyak", "Mikhail Podolyak", "Михаил Подоляк"],
    ["Yulia Tymoshenko", "Yuliya Tymoshenko", "Юлия Тимошенко"],
]
DIFFERENT = [("Joe Biden", "Jill Biden"), ("Olena Zelenska", "Volodymyr Zelensky"),
             ("Boris Johnson", "Dwayne Johnson"), ("Alexei Navalny", "Yulia Navalnaya"),
             ("Kim Jong Un", "Kim Yo Jong"), ("Xi Jinping", "Xi Mingze")]


def merge_scores() -> dict[str, float]:
    """The registry's rule for two full names: equal keys, or the same
    surname and given names that are spelling variants."""

    def same(a: str, b: str) -> bool:
        ka, kb = (name_key(clean_surface(n, "PERSON"), "PERSON") for n in (a, b))
        (ga, sa), (gb, sb) = (person_parts(clean_surface(n, "PERSON")) for n in (a, b))
        return ka == kb or (sa == sb and given_names_match(ga.split()[0], gb.split()[0]))

    pairs = [(a, b) for group in SAME for a, b in combinations(group, 2)]
    merged = sum(same(a, b) for a, b in pairs)
    apart = sum(not same(a, b) for a, b in DIFFERENT)
    return {"merge_recall": merged / len(pairs), "merge_pairs": float(len(pairs)),
            "kept_apart": apart / len(DIFFERENT)}


# ------------------------------------------------------------------- topics
def topic_scores(rules: TopicRules, ner: NerModels,
                 gazetteer: Gazetteer) -> dict[str, float]:
    rows = _rows("topics_en.jsonl")
    items = [_item(n, r["headline"], r["lead"], "en") for n, r in enumerate(rows)]
    raw = recognise(items, ["en"] * len(items), [None] * len(items), ner, gazetteer)
    entities = tag_entities(items, raw, gazetteer, OfflineResolver())
    top1 = hit3 = covered = 0
    for row, item, found in zip(rows, items, entities, strict=True):
        tops = [t.code for t in classify(item, "en", None, found, rules) if t.level == 1]
        covered += bool(tops)
        top1 += bool(tops) and tops[0] == row["topic"]
        hit3 += row["topic"] in tops
    fixture = _fixture_topics(rules)
    n = len(rows)
    return {"top1": top1 / n, "hit3": hit3 / n, "coverage": covered / n, "stories": float(n),
            **fixture}


def _fixture_topics(rules: TopicRules) -> dict[str, float]:
    """Fixture items with agency Media Topic / subject codes: does any of
    our rule-based top-level topics match the agency's top level?"""
    total = hit = 0
    for path in sorted((ROOT / "tests" / "golden").glob("*.json")):
        result = json.loads(path.read_text(encoding="utf-8")).get("result") or {}
        for raw in result.get("items") or []:
            item = NewsItem.model_validate(raw)
            agency = {t.code if t.level == 1 else (t.parent or "")
                      for t in provider_topics(item.subjects, rules)}
            agency.discard("")
            if not agency or not (item.body_text or item.headline):
                continue
            total += 1
            ours = {t.code for t in classify(item, item.language, None, [], rules)
                    if t.level == 1}
            hit += bool(ours & agency)
    return {"fixture_hit": hit / total if total else 0.0, "fixture_items": float(total)}


def real_topic_scores(rules: TopicRules, ner: NerModels,
                      gazetteer: Gazetteer) -> dict[str, float]:
    """Real feed items (English, French, German, Russian) from the shared
    fixtures, each labelled with the top-level Media Topic an editor would
    file it under and the other top levels that would also be fair
    (topics_real.jsonl); our rules on headline + summary in the original
    language, as the stage runs them when there is no translation."""
    rows = _rows("topics_real.jsonl")
    items = _fixture_items(rows)
    if not items:
        return {}
    languages = [(i.language or "en").split("-")[0].lower() for i in items]
    raw = recognise(items, languages, [None] * len(items), ner, gazetteer)
    entities = tag_entities(items, raw, gazetteer, OfflineResolver())
    strict = fair = hit3 = covered = 0
    for row, item, lang, found in zip(rows, items, languages, entities, strict=True):
        tops = [t.code for t in classify(item, lang, None, found, rules) if t.level == 1]
        covered += bool(tops)
        strict += bool(tops) and tops[0] == row["topic"]
        fair += bool(tops) and tops[0] in (row["topic"], *row["also"])
        hit3 += row["topic"] in tops[:3]
    n = len(rows)
    return {"strict": strict / n, "fair": fair / n, "hit3": hit3 / n, "coverage": covered / n,
            "stories": float(n)}


# ----------------------------------------------------------------- clusters
def _fixtures() -> Path | None:
    configured = os.environ.get("WIRESTREAM_FIXTURES")
    path = Path(configured) if configured else ROOT.parent / "shared" / "fixtures"
    return path if path.is_dir() else None


def _fixture_items(rows: list[dict[str, Any]]) -> list[NewsItem]:
    """The item of each row (a fixture file and the headline of its item),
    parsed from the shared fixtures; empty when they are not there."""
    from services.ingest.parsers import SourceRef, parse_document

    base = _fixtures()
    if base is None:
        return []
    out = []
    for row in rows:
        parsed = parse_document((base / row["file"]).read_bytes(), source=SourceRef(id="bench"),
                                fetched_at=NOW)
        # the first item with the headline (a feed may repeat an item)
        out.append(next(i for i in parsed.items if i.headline == row["headline"]))
    return out


def keyword_items() -> list[tuple[NewsItem, list[str]]]:
    """The keyword set's stories with their gold keyphrases; empty when the
    fixtures are not there."""
    rows = _rows("keywords_en.jsonl")
    return [(item, list(row["gold"])) for item, row in zip(_fixture_items(rows), rows,
                                                           strict=False)]


def _kw_norm(phrase: str) -> str:
    phrase = phrase.lower().replace("\u2019", "'").replace("-", " ")
    phrase = phrase.replace("'s ", " ").removesuffix("'s")
    return " ".join(phrase.split())


def _kw_match(predicted: str, gold: str) -> bool:
    """Equal after case, apostrophe, hyphen and possessive folding; or the
    prediction contains the gold phrase as whole words (more specific);
    or a prediction of two or more words is a whole-word part of it."""
    p, g = _kw_norm(predicted), _kw_norm(gold)
    return p == g or f" {g} " in f" {p} " or (len(p.split()) > 1 and f" {p} " in f" {g} ")


def keyword_scores(extract: Any, items: list[tuple[NewsItem, list[str]]]) -> dict[str, float]:
    """Precision of the top 10 keyphrases and recall of the gold ones,
    micro-averaged over the set; ``extract(item) -> list[str]``."""
    hits = predicted_total = found = gold_total = 0
    for item, gold in items:
        predicted = extract(item)[:10]
        hits += sum(any(_kw_match(p, g) for g in gold) for p in predicted)
        found += sum(any(_kw_match(p, g) for p in predicted) for g in gold)
        predicted_total += len(predicted)
        gold_total += len(gold)
    precision = hits / predicted_total if predicted_total else 0.0
    recall = found / gold_total if gold_total else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "stories": len(items)}


def _pairs(labels: dict[str, str]) -> set[tuple[str, str]]:
    ids = sorted(labels)
    return {(a, b) for a, b in combinations(ids, 2) if labels[a] == labels[b]}


def cluster_scores(redis_client: Any | None, threshold: float = 0.4) -> dict[str, float]:
    rows = _rows("clusters.jsonl")
    items = [_item(n, r["headline"], r["body"]) .model_copy(update={"id": r["id"]})
             for n, r in enumerate(rows)]
    gold = _pairs({r["id"]: r["story"] for r in rows})
    out: dict[str, float] = {"documents": float(len(rows)), "gold_pairs": float(len(gold))}
    # exact MinHash similarity, greedy clustering, several thresholds
    sigs = {i.id: signature(i) for i in items}
    for t in (0.3, 0.4, 0.5, 0.6, 0.7):
        labels: dict[str, str] = {}
        for item in items:
            best = max(((sigs[item.id].jaccard(sigs[o]), labels[o]) for o in labels  # type: ignore[union-attr]
                        ), default=(0.0, ""))
            labels[item.id] = best[1] if best[0] >= t else item.id
        p, r, f = _pair_prf(gold, _pairs(labels))
        out[f"exact_p@{t}"], out[f"exact_r@{t}"] = p, r
    if redis_client is not None:
        prefix = f"wsbench:lsh:{uuid.uuid4().hex[:8]}:"
        index = ClusterIndex(redis_client, threshold=threshold, prefix=prefix, ttl=600)
        try:
            assigned = index.assign(items)
        finally:
            keys = list(redis_client.scan_iter(match=f"{prefix}*", count=1000))
            if keys:
                redis_client.delete(*keys)
        labels = {i.id: c or i.id for i, c in zip(items, assigned, strict=True)}
        p, r, f = _pair_prf(gold, _pairs(labels))
        out |= {"lsh_precision": p, "lsh_recall": r, "lsh_f1": f}
    return out


def _pair_prf(gold: set[tuple[str, str]], predicted: set[tuple[str, str]]
              ) -> tuple[float, float, float]:
    hit = len(gold & predicted)
    p = hit / len(predicted) if predicted else 1.0
    r = hit / len(gold) if gold else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


# ---------------------------------------------------------------------- run
def _redis() -> Any | None:
    try:
        from shared.runtime import redis_client
        from shared.settings import load_settings

        client = redis_client(load_settings())
        client.ping()
        return client
    except Exception as exc:  # a benchmark without services still reports the rest
        print(f"(no Redis: {exc}; cluster LSH figures skipped)", file=sys.stderr)
        return None


def run(redis: bool = True) -> list[Figure]:
    gazetteer = build_gazetteer()
    ner = _ner()
    rules = load_rules()
    en = ner_scores(ner, gazetteer, _rows("ner_en.jsonl"), "en")
    en_real = ner_scores(ner, gazetteer, _rows("ner_en_real.jsonl"), "en")
    ru = ner_scores(ner, gazetteer, _rows("ner_ru.jsonl"), "ru")
    merge = merge_scores()
    topics = topic_scores(rules, ner, gazetteer)
    client = _redis() if redis else None
    clusters = cluster_scores(client)
    if client is not None:
        client.close()
    keywords = _keyword_figures()
    real = real_topic_scores(rules, ner, gazetteer)
    n_en, n_ru = int(en["mentions"]), int(ru["mentions"])
    figures = [
        Figure(SECTION, "NER en precision", en["precision"], "ratio", "higher",
               f"{n_en} gold mentions in 40 sentences; mention text + type must match"),
        Figure(SECTION, "NER en recall", en["recall"], "ratio", "higher"),
        Figure(SECTION, "NER en F1", en["f1"], "ratio", "higher"),
        Figure(SECTION, "NER en F1, raw spaCy (previous engine, types mapped)", en["raw_f1"],
               "ratio", "higher", "this older set also labels NORP (from the demonym table now) "
               "and EVENT (not tagged); the NER quality section has the new sets"),
        Figure(SECTION, "NER en span recall (type ignored)", en["span_recall"], "ratio",
               "higher"),
        Figure(SECTION, "NER en precision, real sentences", en_real["precision"], "ratio",
               "higher", f"{int(en_real['mentions'])} gold mentions in "
               f"{len(_rows('ner_en_real.jsonl'))} sentences of agency and feed copy "
               "(ner_en_real.jsonl)"),
        Figure(SECTION, "NER en recall, real sentences", en_real["recall"], "ratio", "higher"),
        Figure(SECTION, "NER en F1, real sentences", en_real["f1"], "ratio", "higher"),
        Figure(SECTION, "NER en F1, real sentences, raw spaCy", en_real["raw_f1"], "ratio",
               "higher"),
        Figure(SECTION, "NER ru precision (natasha)", ru["precision"], "ratio", "higher",
               f"{n_ru} gold mentions in 6 sentences"),
        Figure(SECTION, "NER ru recall (natasha)", ru["recall"], "ratio", "higher"),
        Figure(SECTION, "variant merging: same-person pairs merged", merge["merge_recall"],
               "ratio", "higher", f"{int(merge['merge_pairs'])} spelling/script pairs"),
        Figure(SECTION, "variant merging: different people kept apart", merge["kept_apart"],
               "ratio", "higher", f"{len(DIFFERENT)} pairs sharing a name part"),
        Figure(SECTION, "topics top-1 accuracy", topics["top1"], "ratio", "higher",
               f"{int(topics['stories'])} stories, 3 per top-level Media Topic"),
        Figure(SECTION, "topics gold in top 3", topics["hit3"], "ratio", "higher"),
        Figure(SECTION, "topics: agency top level among ours (fixtures)",
               topics["fixture_hit"], "ratio", "higher",
               f"{int(topics['fixture_items'])} fixture items with agency codes (de/sv/no/en)"),
        Figure(SECTION, "clusters pair precision (exact MinHash, t=0.4)",
               clusters["exact_p@0.4"], "ratio", "higher",
               f"{int(clusters['documents'])} docs, {int(clusters['gold_pairs'])} same-story "
               "pairs"),
        Figure(SECTION, "clusters pair recall (exact MinHash, t=0.4)",
               clusters["exact_r@0.4"], "ratio", "higher"),
        Figure(SECTION, "clusters pair recall (exact MinHash, t=0.5)",
               clusters["exact_r@0.5"], "ratio", "higher", "the next threshold up, for tuning"),
    ]
    if "lsh_precision" in clusters:
        figures += [
            Figure(SECTION, "clusters pair precision (Redis LSH, t=0.4)",
                   clusters["lsh_precision"], "ratio", "higher"),
            Figure(SECTION, "clusters pair recall (Redis LSH, t=0.4)",
                   clusters["lsh_recall"], "ratio", "higher"),
        ]
    if real:
        note = (f"{int(real['stories'])} real feed items (en, fr, de, ru; topics_real.jsonl), "
                "an editor's label")
        figures += [
            Figure(SECTION, "topics on real items: top-1 = editor's topic", real["strict"],
                   "ratio", "higher", note),
            Figure(SECTION, "topics on real items: top-1 fair", real["fair"], "ratio",
                   "higher", "the editor's topic or another top level they would also accept"),
            Figure(SECTION, "topics on real items: editor's topic in top 3", real["hit3"],
                   "ratio", "higher"),
            Figure(SECTION, "topics on real items: any topic found", real["coverage"],
                   "ratio", "higher"),
        ]
    return figures + keywords


def _keyword_figures() -> list[Figure]:
    from services.enrich.keywords import KeywordExtractors, extract_keywords

    items = keyword_items()
    if not items:
        print("(no ../shared/fixtures: keyword figures skipped)", file=sys.stderr)
        return []
    extractors = KeywordExtractors()
    scores = keyword_scores(
        lambda item: [k.text for k in extract_keywords(item, "en", None, extractors)], items)
    note = (f"{int(scores['stories'])} real English stories, 125 editor keyphrases "
            "(keywords_en.jsonl); top 10")
    return [
        Figure(SECTION, "keywords en precision (yake-rust)", scores["precision"], "ratio",
               "higher", note),
        Figure(SECTION, "keywords en recall (yake-rust)", scores["recall"], "ratio", "higher"),
    ]


def details() -> dict[str, Any]:
    """Every number, for tuning (printed by ``python -m bench.enrich_quality -v``)."""
    gazetteer = build_gazetteer()
    ner = _ner()
    rules = load_rules()
    return {
        "ner_en": ner_scores(ner, gazetteer, _rows("ner_en.jsonl"), "en"),
        "ner_ru": ner_scores(ner, gazetteer, _rows("ner_ru.jsonl"), "ru"),
        "merge": merge_scores(),
        "topics": topic_scores(rules, ner, gazetteer),
        "clusters": cluster_scores(None),
    }


def _print(figures: Iterable[Figure]) -> None:
    for f in figures:
        print(f"{f.name}: {f.value:.3f}" + (f"  ({f.note})" if f.note else ""))


if __name__ == "__main__":
    os.environ.setdefault("WIRESTREAM_ENV_FILE", str(ROOT / "var" / "local.env"))
    if "-v" in sys.argv:
        print(json.dumps(details(), indent=2))
    else:
        _print(run(redis="--no-redis" not in sys.argv))
