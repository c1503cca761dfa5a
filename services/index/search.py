"""Search requests for consumers of the read alias (``wirestream search``).

Pure functions: text and filters in, the body of a ``_search`` request out.
The same queries are documented, with their output, in docs/search.md.
:func:`each_document` walks every stored document a query matches (for
commands that read the index back: re-enrichment, topic training).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.index.adapters.entity_directory import entity_clause
from services.index.names import IndexNames

__all__ = ["FULL_TEXT_FIELDS", "SearchFilters", "build_query", "each_document", "search_body",
           "since_expression"]

# Original text (language-neutral and analysed for its language) first, then
# the English text, so a query in any language finds originals in that
# language and, through the English fields, translations of the others.
FULL_TEXT_FIELDS = (
    "headline^3",
    "summary^2",
    "body_text",
    "text_*.headline^3",
    "text_*.summary^2",
    "text_*.body_text",
    "headline_en^2",
    "summary_en",
    "body_text_en",
)


@dataclass(frozen=True)
class SearchFilters:
    lang: str | None = None  # ISO 639-1 of the original
    entity: str | None = None  # entity id ("Q…", "geo:FR") or any spelling of its name
    topic: str | None = None  # IPTC media topic code or label
    since: str | None = None  # "6h", "7d", "2w" or an ISO date
    source: str | None = None  # source id


def since_expression(value: str) -> str:
    """``7d`` → ``now-7d/m`` (rounded to the minute, so the filter caches);
    an ISO date or date-time as it is. Anything else raises ``ValueError``:
    Elasticsearch would fail the query on every shard, and a search would
    report no match instead of the mistake."""
    value = value.strip()
    if re.fullmatch(r"\d+[mhdwMy]", value):
        return f"now-{value}/m"
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is neither a span (6h, 7d, 2w) nor an ISO date") from None
    return value


def build_query(text: str, filters: SearchFilters | None = None,
                prefix: str | None = None) -> dict[str, Any]:
    filters = filters or SearchFilters()
    must: list[dict[str, Any]] = []
    if text.strip():
        must.append(
            {
                "simple_query_string": {
                    "query": text,
                    "fields": list(FULL_TEXT_FIELDS),
                    "default_operator": "and",
                }
            }
        )
    flt: list[dict[str, Any]] = []
    if filters.lang:
        flt.append({"term": {"language": filters.lang.lower()}})
    if filters.source:
        flt.append({"term": {"source": filters.source}})
    if filters.since:
        flt.append({"range": {"published": {"gte": since_expression(filters.since)}}})
    if filters.entity:
        spelling = [
            {"term": {"entities.name": filters.entity}},
            {"term": {"entities.variants.lower": filters.entity.lower()}},
        ]
        by_id: list[dict[str, Any]] = (
            entity_clause(filters.entity, IndexNames(prefix)) if prefix
            else [{"term": {"entity_ids": filters.entity}}])
        flt.append(
            {
                "bool": {
                    "should": [
                        *by_id,
                        {
                            "nested": {
                                "path": "entities",
                                "query": {"bool": {"should": spelling}},
                            }
                        },
                    ]
                }
            }
        )
    if filters.topic:
        flt.append(
            {
                "bool": {
                    "should": [
                        {"term": {"topic_codes": filters.topic}},
                        {
                            "nested": {
                                "path": "topics",
                                "query": {"term": {"topics.label": filters.topic}},
                            }
                        },
                    ]
                }
            }
        )
    if not must and not flt:
        return {"match_all": {}}
    return {"bool": {"must": must, "filter": flt}}


def search_body(text: str, filters: SearchFilters | None = None, size: int = 10,
                prefix: str | None = None) -> dict[str, Any]:
    """The whole request: newest first when there is no text to rank by.
    With the index ``prefix``, an entity id follows merges through the
    entity directory (services.index.adapters.entity_directory)."""
    body: dict[str, Any] = {
        "query": build_query(text, filters, prefix),
        "size": size,
        "_source": {"excludes": ["body_text", "body_text_en", "text_*"]},
        "track_total_hits": True,
    }
    if not text.strip():
        body["sort"] = [{"published": {"order": "desc", "missing": "_last"}}]
    return body


def each_document(search: Callable[..., Any], index: str, query: dict[str, Any], *,
                  fields: list[str] | None = None, limit: int | None = None,
                  page_size: int = 500) -> Iterator[dict[str, Any]]:
    """The ``_source`` (``fields`` of it, or all) of every document of
    ``index`` that ``query`` matches, at most ``limit``, oldest update
    first: pages of ``page_size`` walked with ``search_after`` (which a
    reader may use where it may not scroll, and which holds no context open
    on the cluster). ``search`` is a client's ``search``."""
    after: list[Any] | None = None
    seen = 0
    while limit is None or seen < limit:
        body: dict[str, Any] = {
            "query": query, "sort": [{"updated": "asc"}, {"id": "asc"}],
            "size": page_size if limit is None else min(page_size, limit - seen),
        }
        if fields is not None:
            body["_source"] = fields
        if after is not None:
            body["search_after"] = after
        hits = search(index=index, body=body)["hits"]["hits"]
        if not hits:
            return
        for hit in hits:
            yield hit["_source"]
        seen += len(hits)
        after = hits[-1]["sort"]
