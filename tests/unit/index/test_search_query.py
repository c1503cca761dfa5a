"""`wirestream search` request bodies."""

from __future__ import annotations

from typing import Any

import pytest
import typer

from services.index.search import (
    SearchFilters,
    build_query,
    each_document,
    search_body,
    since_expression,
)


def test_text_only_searches_every_text_field_with_english_fallback() -> None:
    query = build_query("Wahlen")
    fields = query["bool"]["must"][0]["simple_query_string"]["fields"]
    assert "text_*.headline^3" in fields and "headline_en^2" in fields
    assert query["bool"]["filter"] == []


def test_filters() -> None:
    query = build_query("", SearchFilters(lang="DE", source="dpa", since="7d",
                                          entity="Q22686", topic="medtop:11000000"))
    flt = query["bool"]["filter"]
    assert {"term": {"language": "de"}} in flt
    assert {"term": {"source": "dpa"}} in flt
    assert {"range": {"published": {"gte": "now-7d/m"}}} in flt
    entity = flt[3]["bool"]["should"]
    assert entity[0] == {"term": {"entity_ids": "Q22686"}}
    assert entity[1]["nested"]["path"] == "entities"
    assert flt[4]["bool"]["should"][0] == {"term": {"topic_codes": "medtop:11000000"}}


def test_no_text_no_filter_is_match_all_newest_first() -> None:
    body = search_body("", None, 5)
    assert body["query"] == {"match_all": {}}
    assert body["sort"][0]["published"]["order"] == "desc"
    assert "sort" not in search_body("x")


def test_since_expression() -> None:
    assert since_expression("6h") == "now-6h/m"
    assert since_expression("2026-11-01") == "2026-11-01"


def test_each_document_walks_pages_with_search_after_up_to_the_limit() -> None:
    docs = [{"id": f"d{n}", "updated": f"2026-01-0{n}"} for n in range(1, 8)]
    bodies: list[dict[str, Any]] = []

    def search(*, index: str, body: dict[str, Any]) -> dict[str, Any]:
        assert index == "alias"
        bodies.append(body)
        after = body.get("search_after")
        start = 0 if after is None else next(
            i + 1 for i, d in enumerate(docs) if [d["updated"], d["id"]] == after)
        page = docs[start:start + body["size"]]
        return {"hits": {"hits": [{"_source": d, "sort": [d["updated"], d["id"]]}
                                  for d in page]}}

    query = {"match_all": {}}
    got = list(each_document(search, "alias", query, fields=["id"], limit=5, page_size=3))
    assert [d["id"] for d in got] == ["d1", "d2", "d3", "d4", "d5"]
    assert [b["size"] for b in bodies] == [3, 2]  # the last page asks only for what is left
    assert bodies[1]["search_after"] == ["2026-01-03", "d3"]
    assert all(b["_source"] == ["id"] and b["query"] == query for b in bodies)
    everything = list(each_document(search, "alias", query, page_size=3))
    assert [d["id"] for d in everything] == [d["id"] for d in docs]
    assert "_source" not in bodies[-1]


def test_since_refuses_what_is_neither_a_span_nor_a_date() -> None:
    for bad in ("banana", "7 days", "2026-13-45", ""):
        with pytest.raises(ValueError, match="neither a span"):
            since_expression(bad)


def _search_cli(monkeypatch: pytest.MonkeyPatch, answer: dict[str, Any], *args: str) -> Any:
    """``wirestream search`` against an Elasticsearch that gives ``answer``."""
    from contextlib import contextmanager
    from types import SimpleNamespace

    from typer.testing import CliRunner

    from services.index import cli

    class Answering:
        def search(self, **_: Any) -> dict[str, Any]:
            return answer

    @contextmanager
    def client(role: str) -> Any:
        yield SimpleNamespace(es=SimpleNamespace(index_prefix="t")), Answering()

    monkeypatch.setattr(cli, "_client", client)
    app = typer.Typer()
    app.command()(cli.search)
    return CliRunner().invoke(app, list(args))


def test_a_search_some_shards_failed_is_an_error_not_no_match(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    partial = {"_shards": {"total": 9, "successful": 1, "failed": 8, "failures": [
        {"shard": 0, "reason": {"type": "parse_exception", "reason": "failed to parse date"}}]},
        "hits": {"total": {"value": 0}, "hits": []}}
    result = _search_cli(monkeypatch, partial, "president")
    assert result.exit_code == 3
    assert "answered for 1 of 9 shards: failed to parse date" in result.output
    assert "matching document" not in result.output
    whole = {"_shards": {"total": 9, "successful": 9, "failed": 0},
             "hits": {"total": {"value": 0}, "hits": []}}
    assert _search_cli(monkeypatch, whole, "president").exit_code == 0


def test_a_bad_since_is_a_usage_error_before_any_search(monkeypatch: pytest.MonkeyPatch) -> None:
    result = _search_cli(monkeypatch, {}, "president", "--since", "banana")
    assert result.exit_code == 2
    assert "banana" in result.output and "Traceback" not in result.output
