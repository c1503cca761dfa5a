"""Topic quality (issue #17): the learned model against the rules.

* cross-validated accuracy of the model on its seed corpus, per language
  (5 folds by a hash of the sentence; services.enrich.topic_model.cross_validate);
* calibration: of the held-out predictions whose probability falls in a
  band, how many are right;
* on whole real stories (bench/data/enrich/topics_real.jsonl, labelled by
  reading; 300 feed items in 7 languages): top-1 = the editor's topic, top-1
  fair (or a top level the editor would also accept), editor's topic in the
  top 3 - for the rules alone, the model alone, the two combined, and the
  stage (the two with the publisher's sections as a prior,
  data/sections.yaml), per half (``min_probability`` and the section prior
  were chosen on the dev half);
* cost: the model's milliseconds per story, next to the rules', and its
  weights' memory.

``python -m bench.topic_quality [--folds N]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from bench.report import Figure

SECTION = "topic quality"
BANDS = ((0.0, 0.3), (0.3, 0.5), (0.5, 0.7), (0.7, 0.9), (0.9, 1.01))


def _stories() -> tuple[list[dict[str, Any]], list[Any], list[Any]]:
    from bench.enrich_quality import _fixture_items, _ner, _rows
    from services.enrich.aliases import OfflineResolver
    from services.enrich.entities import recognise, tag_entities
    from services.enrich.places import build_gazetteer

    rows = _rows("topics_real.jsonl")
    items = _fixture_items(rows)
    if not items:
        return [], [], []
    gazetteer = build_gazetteer()
    languages = [(i.language or "en").split("-")[0].lower() for i in items]
    raw = recognise(items, languages, [None] * len(items), _ner(), gazetteer)
    return rows, items, tag_entities(items, raw, gazetteer, OfflineResolver())


def story_scores(model: Any, min_probability: float) -> dict[str, dict[str, Any]]:
    """Per system and half: strict, fair, top-3 and per-language top-1."""
    from bench.ner_sets import part_of
    from services.enrich.sections import load_sections, section_topics
    from services.enrich.topic_model import document_text
    from services.enrich.topics import classify, load_rules, with_model

    rules = load_rules()
    sections = load_sections()
    rows, items, entities = _stories()
    out: dict[str, dict[str, Any]] = {}
    rule_seconds = single_seconds = 0.0
    scored: list[tuple[float, bool, str]] = []
    texts = [document_text(i.headline, i.summary, i.body_text) for i in items]
    # as the stage reads a batch: one call for all (and, for comparison,
    # one call per story)
    start = time.perf_counter()
    batch = model.probabilities(texts) if texts else np.zeros((0, len(model.classes)))
    batch_seconds = time.perf_counter() - start
    for text in texts:
        start = time.perf_counter()
        model.probabilities([text])
        single_seconds += time.perf_counter() - start
    for row, item, found, p in zip(rows, items, entities, batch, strict=True):
        lang = (item.language or "en").split("-")[0].lower()
        start = time.perf_counter()
        by_rules = classify(item, lang, None, found, rules)
        rule_seconds += time.perf_counter() - start
        probabilities = dict(zip(model.classes, map(float, p), strict=True))
        alone = [c for c, _ in sorted(probabilities.items(), key=lambda kv: -kv[1])]
        said = [code for code, _ in section_topics(item, sections)]
        stage = with_model(probabilities, by_rules, rules, min_probability, said,
                           sections.prior, sections.score)
        systems = {
            "rules": [t.code for t in by_rules if t.level == 1],
            "model": alone[:3],
            "model+rules": [t.code for t in with_model(probabilities, by_rules, rules,
                                                       min_probability) if t.level == 1],
            "stage": [t.code for t in stage if t.level == 1],
        }
        half = part_of(row["file"] + row["headline"])
        # every top level the stage gives, its score and whether the editor
        # accepts it (the story's topic or one the editor would also give)
        scored.extend((t.score, t.code in (row["topic"], *row["also"]), t.origin)
                      for t in stage if t.level == 1)
        for system, tops in systems.items():
            for part in (half, "all"):
                s = out.setdefault(f"{system} {part}", {"n": 0, "strict": 0, "fair": 0,
                                                        "hit3": 0, "languages": {}})
                s["n"] += 1
                s["strict"] += bool(tops) and tops[0] == row["topic"]
                s["fair"] += bool(tops) and tops[0] in (row["topic"], *row["also"])
                s["hit3"] += row["topic"] in tops[:3]
                per = s["languages"].setdefault(lang, [0, 0])
                per[0] += bool(tops) and tops[0] == row["topic"]
                per[1] += 1
    n = max(1, len(rows))
    out["scored"] = scored
    out["cost"] = {"rules_ms": 1000 * rule_seconds / n, "model_ms": 1000 * batch_seconds / n,
                   "single_ms": 1000 * single_seconds / n, "stories": len(rows)}
    return out


def rows_of(stories: dict[str, dict[str, Any]]) -> int:
    """How many stories the figures of :func:`story_scores` count."""
    return int(stories.get("stage all", {}).get("n", 0))


def calibration(model_probabilities: np.ndarray, right: np.ndarray
                ) -> list[tuple[str, int, float, np.ndarray]]:
    """Per probability band: its label, how many fall in it, the share right
    and which ones (a mask)."""
    rows = []
    for low, high in BANDS:
        band = (model_probabilities >= low) & (model_probabilities < high)
        if band.any():
            rows.append((f"{low:.1f}-{min(high, 1.0):.1f}", int(band.sum()),
                         float(right[band].mean()), band))
    return rows


def held_out(examples: Sequence[Any], folds: int) -> tuple[dict[str, Any], np.ndarray,
                                                            np.ndarray]:
    """Cross-validation (as topic_model.cross_validate) keeping each held-out
    prediction's probability, for the calibration table."""
    from services.enrich.topic_corpus import fold_of
    from services.enrich.topic_model import train

    fold = np.array([fold_of(e.text, folds) for e in examples])
    truth = np.array([e.topic for e in examples])
    langs = np.array([e.language for e in examples])
    confidence = np.zeros(len(examples))
    right = np.zeros(len(examples), dtype=bool)
    for k in range(folds):
        held, kept = np.flatnonzero(fold == k), np.flatnonzero(fold != k)
        model = train([examples[int(i)].text for i in kept], truth[kept].tolist(), seed=0)
        p = model.probabilities([examples[int(i)].text for i in held])
        best = p.argmax(axis=1)
        confidence[held] = p[np.arange(len(held)), best]
        right[held] = np.asarray(model.classes)[best] == truth[held]
    per = {str(lang): (int((langs == lang).sum()), float(right[langs == lang].mean()))
           for lang in sorted(set(langs.tolist()))}
    return {"accuracy": float(right.mean()), "languages": per}, confidence, right


def run(folds: int = 5) -> list[Figure]:
    from services.enrich.topic_corpus import seed_examples
    from services.enrich.topic_model import train
    from shared.settings import load_settings

    examples = seed_examples()
    cv, confidence, right = held_out(examples, folds)
    figures = [Figure(SECTION, "model: cross-validated accuracy, seed corpus", cv["accuracy"],
                      "ratio", "higher",
                      f"{len(examples)} Wikinews lead sentences, {folds} folds by text hash; "
                      + ", ".join(f"{k} {v[1]:.2f} ({v[0]})" for k, v in
                                  sorted(cv["languages"].items(), key=lambda kv: -kv[1][0])))]
    for band, count, accuracy, _ in calibration(confidence, right):
        figures.append(Figure(SECTION, f"model calibration: accuracy at probability {band}",
                              accuracy, "ratio", "higher",
                              f"{count} held-out sentences in the band"))
    model = train([e.text for e in examples], [e.topic for e in examples], seed=0)
    figures.append(Figure(SECTION, "model weights in memory", model.coef.nbytes / 2**20,
                          "MB", "lower", f"{len(model.classes)} topics x "
                          f"{model.coef.shape[1]} hashed features, float32"))
    stories = story_scores(model, load_settings().topics.min_probability)
    cost = stories.pop("cost")
    scored = stories.pop("scored")
    if not stories:
        print("(no fixtures: story figures skipped)", file=sys.stderr)
        return figures
    for system in ("rules", "model", "model+rules", "stage"):
        for part in ("test", "dev", "all"):
            s = stories.get(f"{system} {part}")
            if not s:
                continue
            n = s["n"]
            langs = ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in sorted(s["languages"].items()))
            figures.append(Figure(
                SECTION, f"stories, {system}, {part}: top-1 = editor's topic",
                s["strict"] / n, "ratio", "higher",
                f"{n} real feed items; top-1 fair {s['fair'] / n:.3f}, editor's topic in top "
                f"3 {s['hit3'] / n:.3f}; top-1 by language: {langs}"))
    scores = np.array([s for s, _, _ in scored])
    accepted = np.array([a for _, a, _ in scored], dtype=bool)
    origins = np.array([o for _, _, o in scored], dtype=object)
    for band, count, accuracy, mask in calibration(scores, accepted):
        by_origin = Counter(origins[mask].tolist())
        figures.append(Figure(
            SECTION, f"stories, stage calibration: accepted at score {band}", accuracy,
            "ratio", "higher",
            f"{count} top-level topics the stage gave the {rows_of(stories)} stories with a "
            "score in the band; the share the editor accepts (the story's topic or one the "
            "editor would also give); by origin: "
            + ", ".join(f"{o} {k}" for o, k in by_origin.most_common())))
    figures += [
        Figure(SECTION, "model: milliseconds per story, in a batch", cost["model_ms"], "ms",
               "lower", f"featurize + predict, the {cost['stories']} stories in one call as "
               f"the stage calls it per batch; one story per call: {cost['single_ms']:.1f} ms "
               "(the vectorizers' fixed cost per call)"),
        Figure(SECTION, "rules: milliseconds per story", cost["rules_ms"], "ms", "lower"),
    ]
    return figures


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args(argv)
    for figure in run(args.folds):
        print(f"{figure.name}: {figure.value:.3f} {figure.unit}  {figure.note}")


if __name__ == "__main__":
    main()


__all__ = ["run", "story_scores"]
