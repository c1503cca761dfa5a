"""``wirestream topics train|evaluate|show|sections``: the learned topic model.

* ``train`` builds a model from the shipped seed corpus (and, with
  ``--indexed``, the indexed documents that label themselves: agency IPTC
  codes, else a mapped section) and writes it where the workers read it
  (``topics.model_path``); running workers swap it in within
  ``topics.check_seconds``;
* ``evaluate`` cross-validates on the seed corpus and prints accuracy per
  language (bench/topic_quality.py sets it beside the rules on real stories);
* ``show`` prints a model file's provenance, or why it cannot be used;
* ``sections`` lists the section names of indexed stories that
  data/sections.yaml does not map, with the topic their stories were most
  often given (suggestions for the mapping).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["topics_app"]

topics_app = typer.Typer(help="The learned topic model: train, evaluate, show; section "
                              "suggestions.",
                         no_args_is_help=True)


def _documents(query: dict[str, Any], fields: list[str], limit: int) -> Iterator[Any]:
    """The ``_source`` of up to ``limit`` documents of the read alias that
    match ``query``, paged with ``search_after`` as the reader (who may not
    scroll), oldest update first."""
    from services.index.names import IndexNames
    from services.index.search import each_document
    from shared.runtime import es_client
    from shared.settings import load_settings

    settings = load_settings()
    es = es_client(settings, role="reader")
    try:
        yield from each_document(es.search, IndexNames(settings.es.index_prefix).read_alias,
                                 query, fields=fields, limit=limit)
    finally:
        es.close()


def _indexed(limit: int) -> list[Any]:
    """Examples from the index: documents with agency codes or a section."""
    from services.enrich.sections import load_sections
    from services.enrich.topic_corpus import indexed_examples

    # stories with agency codes, or with a section (feed category or URL)
    query = {"bool": {"should": [
        {"nested": {"path": "topics", "query": {"prefix": {"topics.origin": "provider"}}}},
        {"exists": {"field": "provider_keywords"}}, {"exists": {"field": "url"}}]}}
    docs = _documents(query, ["headline", "summary", "body_text", "language", "topics",
                              "provider_keywords", "url", "canonical_url", "source"], limit)
    return list(indexed_examples(docs, load_sections()))


def _provenance(examples: Sequence[Any], seed: int) -> dict[str, Any]:
    import numpy
    import sklearn

    from services.enrich.topic_corpus import SEED_CORPUS

    languages: dict[str, int] = {}
    topics: dict[str, int] = {}
    origins: dict[str, int] = {}
    for e in examples:
        languages[e.language] = languages.get(e.language, 0) + 1
        topics[e.topic] = topics.get(e.topic, 0) + 1
        origins[e.origin] = origins.get(e.origin, 0) + 1
    return {"trained_at": datetime.now(UTC).isoformat(timespec="seconds"), "seed": seed,
            "examples": len(examples), "languages": languages, "topics": topics,
            "origins": origins, "seed_corpus": SEED_CORPUS.name,
            "data": "MewsC-16 Wikinews lead sentences (CC BY 2.5, Wikinews contributors)"
                    + (" + indexed agency-coded documents" if "provider" in origins else "")
                    + (" + indexed section-labelled documents" if "section" in origins
                       else ""),
            "versions": {"scikit-learn": sklearn.__version__, "numpy": numpy.__version__}}


@topics_app.command("train")
def topics_train(
    out: Annotated[Path | None, typer.Option(help="model file (default: topics.model_path)")]
    = None,
    seed: Annotated[int, typer.Option(help="random seed (same data + seed = same model)")] = 0,
    indexed: Annotated[int, typer.Option(
        help="also learn from up to N indexed documents with agency codes or a mapped "
             "section (0: none)")] = 0,
    corpus: Annotated[Path | None, typer.Option(
        help="the seed corpus (default: data/topics/mewsc16.tsv.gz of the source)")] = None,
) -> None:
    """Train the model and write it atomically where the workers read it."""
    from services.enrich.topic_corpus import SEED_CORPUS, seed_examples
    from services.enrich.topic_model import save_model, train
    from shared.settings import load_settings

    examples = seed_examples(corpus or SEED_CORPUS)
    if indexed:
        examples += _indexed(indexed)
    path = out or Path(load_settings().topics.model_path)
    model = train([e.text for e in examples], [e.topic for e in examples], seed=seed,
                  provenance=_provenance(examples, seed))
    save_model(model, path)
    typer.echo(f"{path}: {len(examples)} examples, {len(model.classes)} topics, "
               f"temperature {model.temperature}")


@topics_app.command("evaluate")
def topics_evaluate(
    folds: Annotated[int, typer.Option(min=2, help="cross-validation folds")] = 5,
    seed: Annotated[int, typer.Option()] = 0,
    json_out: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    corpus: Annotated[Path | None, typer.Option(help="the seed corpus")] = None,
) -> None:
    """Cross-validated accuracy per language on the seed corpus."""
    from services.enrich.topic_corpus import SEED_CORPUS, seed_examples
    from services.enrich.topic_model import cross_validate

    examples = seed_examples(corpus or SEED_CORPUS)
    report = cross_validate(examples, folds=folds, seed=seed)
    if json_out:
        typer.echo(json.dumps(report, indent=2))
        return
    typer.echo(f"{'language':9} {'examples':>8} {'accuracy':>8}")
    for lang, row in sorted(report["languages"].items(), key=lambda kv: -kv[1]["examples"]):
        typer.echo(f"{lang:9} {row['examples']:8d} {row['accuracy']:8.3f}")
    typer.echo(f"{'all':9} {report['examples']:8d} {report['accuracy']:8.3f}")


@topics_app.command("show")
def topics_show(
    path: Annotated[Path | None, typer.Argument(help="model file (default: topics.model_path)")]
    = None,
) -> None:
    """A model file's classes and provenance (exit 1 when it cannot be used)."""
    from services.enrich.topic_model import ModelError, load_model
    from shared.settings import load_settings

    target = path or Path(load_settings().topics.model_path)
    try:
        model = load_model(target)
    except ModelError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    typer.echo(json.dumps({"path": str(target), "classes": list(model.classes),
                           "temperature": model.temperature,
                           "provenance": model.provenance}, indent=2, ensure_ascii=False))


@topics_app.command("sections")
def topics_sections(
    limit: Annotated[int, typer.Option(help="read at most this many indexed documents")]
    = 50_000,
    least: Annotated[int, typer.Option(help="list names on at least this many documents")]
    = 5,
) -> None:
    """Section names of indexed stories that data/sections.yaml does not map,
    with the topic their stories were most often given: suggestions."""
    from services.enrich.sections import load_sections, suggestions

    docs = _documents({"match_all": {}}, ["provider_keywords", "url", "canonical_url",
                                          "source", "topics"], limit)
    rows = suggestions(docs, load_sections(), least)
    typer.echo(f"{'section':30} {'stories':>7}  topic            share")
    for name, total, topic, share in rows[:50]:
        typer.echo(f"{name[:30]:30} {total:7d}  {topic:16} {share:.2f}")
