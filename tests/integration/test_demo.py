"""``wirestream demo`` end to end: the real workers on the bundled samples,
in this session's Redis database and index prefix, and its per-language
enrichment summary checked against what Elasticsearch holds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from rich.console import Console

from shared.runtime import es_client
from shared.settings import Settings
from wirestream.dev.demo import coverage_aggs, coverage_rows, expected_items, run_demo

ROOT = Path(__file__).resolve().parents[2]
# Languages a recogniser reads (CoreNLP, natasha, a related model), and how.
COVERED = {"en": "native", "de": "native", "es": "native", "ru": "native", "pt": "related"}


@pytest.fixture(scope="module")
def demo(test_env: dict[str, str]) -> Iterator[tuple[str, Elasticsearch, set[str]]]:
    console = Console(width=200, record=True)
    run_demo(ROOT, console=console, timeout=240)
    settings = Settings()
    reader = es_client(settings, role="reader")
    ids = set().union(*expected_items(ROOT / "data" / "samples").values())
    try:
        yield console.export_text(), reader, ids
    finally:
        reader.close()


def _search(reader: Elasticsearch, ids: set[str], **body: Any) -> Any:
    query = {"ids": {"values": sorted(ids)}}
    return reader.search(index=Settings().es.index_prefix, query=query, **body)


def test_demo_prints_the_per_language_summary_elasticsearch_holds(
    demo: tuple[str, Elasticsearch, set[str]],
) -> None:
    output, reader, ids = demo
    rows = {r.language: r for r in coverage_rows(
        _search(reader, ids, size=0, aggs=coverage_aggs())["aggregations"])}
    assert sum(r.stories for r in rows.values()) == len(ids)
    flat = [" ".join(line.replace("│", " ").split()) for line in output.splitlines()]
    for row in rows.values():
        statuses = ", ".join(f"{k}:{v}" for k, v in sorted(row.entities_status.items()))
        line = (f"{row.language} {row.stories} {row.with_entities} {row.with_places} "
                f"{row.with_topics} {statuses}")
        assert line in flat
    for language, status in COVERED.items():
        row = rows[language]
        assert row.entities_status == {status: row.stories}, language
        assert min(row.with_entities, row.with_places, row.with_topics) > 0, language
    assert "stories without entities or places" in output


def _doc(reader: Elasticsearch, ids: set[str], phrase: str) -> dict[str, Any]:
    hits = _search(reader, ids, size=1,
                   post_filter={"match_phrase": {"headline": phrase}})["hits"]["hits"]
    assert hits, phrase
    source: dict[str, Any] = hits[0]["_source"]
    return source


def test_trump_russia_story_gets_russia_as_a_place(
    demo: tuple[str, Elasticsearch, set[str]],
) -> None:
    _, reader, ids = demo
    doc = _doc(reader, ids, "Trump-Russia investigation")
    assert "RU" in {p["country_code"] for p in doc.get("places", [])}


def test_company_and_movement_names_are_not_places(
    demo: tuple[str, Elasticsearch, set[str]],
) -> None:
    _, reader, ids = demo
    ntb = _doc(reader, ids, "Google har kjøpt giganttomt i Skien")
    dpa_es = _doc(reader, ids, "Netanyahu acusa al TPI")
    assert "Topeka" not in {p["name"] for p in ntb.get("places", [])}
    assert "Hamm" not in {p["name"] for p in dpa_es.get("places", [])}
