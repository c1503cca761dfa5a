"""`wirestream search` request bodies."""

from __future__ import annotations

from services.index.search import SearchFilters, build_query, search_body, since_expression


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
