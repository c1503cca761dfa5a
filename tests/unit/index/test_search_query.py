"""`wirestream search` request bodies."""

from __future__ import annotations

from typing import Any

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
