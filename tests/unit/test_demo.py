"""The demo's per-language enrichment summary, from a fixed Elasticsearch
aggregation response (the shape ES 9 returns for :func:`coverage_aggs`)."""

from __future__ import annotations

from rich.console import Console

from wirestream.dev.demo import LanguageCoverage, coverage_aggs, coverage_rows, coverage_table


def _bucket(key: str, stories: int, entities: int, places: int, topics: int,
            statuses: dict[str, int]) -> dict[str, object]:
    return {
        "key": key,
        "doc_count": stories,
        "has": {"buckets": {"entities": {"doc_count": entities},
                            "places": {"doc_count": places},
                            "topics": {"doc_count": topics}}},
        "entities_status": {
            "doc_count_error_upper_bound": 0,
            "sum_other_doc_count": 0,
            "buckets": [{"key": k, "doc_count": v} for k, v in statuses.items()],
        },
    }


AGGREGATIONS = {
    "language": {
        "doc_count_error_upper_bound": 0,
        "sum_other_doc_count": 0,
        "buckets": [
            _bucket("pt", 40, 37, 23, 35, {"related": 40}),
            _bucket("en", 55, 52, 38, 55, {"native": 55}),
            _bucket("de", 16, 9, 2, 3, {"native": 15, "failed": 1}),
            _bucket("no", 1, 1, 1, 1, {"gazetteer": 1}),
            _bucket("es", 1, 1, 1, 1, {"native": 1}),
        ],
    },
    "pipeline_version": {"buckets": [{"key": "enrich-6", "doc_count": 113}]},
}


def test_the_aggregation_asks_for_every_column_and_nested_existence() -> None:
    aggs = coverage_aggs()
    language = aggs["language"]
    assert language["terms"]["field"] == "language"
    filters = language["aggs"]["has"]["filters"]["filters"]
    # entities, places and topics are nested fields: existence needs a nested query
    assert filters["places"] == {
        "nested": {"path": "places", "query": {"exists": {"field": "places.kind"}}}}
    assert set(filters) == {"entities", "places", "topics"}
    assert language["aggs"]["entities_status"]["terms"]["field"] == "entities_status"
    assert aggs["pipeline_version"]["terms"]["field"] == "pipeline_version"


def test_rows_per_language_most_stories_first() -> None:
    rows = coverage_rows(AGGREGATIONS)
    assert [r.language for r in rows] == ["en", "pt", "de", "es", "no"]
    assert rows[2] == LanguageCoverage("de", 16, 9, 2, 3, {"native": 15, "failed": 1})


def test_table_prints_counts_statuses_and_totals() -> None:
    console = Console(width=160, record=True)
    console.print(coverage_table(coverage_rows(AGGREGATIONS), {"enrich-6": 113}))
    lines = [" ".join(line.replace("│", " ").split())
             for line in console.export_text().splitlines()]
    assert "en 55 52 38 55 native:55" in lines
    assert "de 16 9 2 3 failed:1, native:15" in lines
    assert "all 113 100 65 95" in lines
    assert any("pipeline_version enrich-6:113" in line for line in lines)


def test_an_empty_response_gives_only_the_total_row() -> None:
    rows = coverage_rows({"language": {"buckets": []}})
    console = Console(width=120, record=True)
    console.print(coverage_table(rows))
    assert "all 0 0 0 0" in " ".join(console.export_text().replace("│", " ").split())
