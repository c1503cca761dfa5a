"""``wirestream demo``: the main job on bundled real samples, end to end.

1. starts the local services if needed and installs the index template;
2. serves the samples of ``data/samples/`` from a feed server on 127.0.0.1;
3. registers one source per sample and runs the three workers and the
   scheduler as real processes;
4. waits until every expected item is searchable, stops the workers (the
   services keep running) and prints what was indexed, per language how many
   stories got entities, places and topics (and how the entities were found),
   the stories that got no entities or no places, and one example search.

Re-running changes nothing: the same items get the same ids, the version gate
drops unchanged items, and external versioning refuses stale writes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from shared.errors import ServiceUnavailable

__all__ = [
    "DEMO_SOURCES",
    "LanguageCoverage",
    "coverage_aggs",
    "coverage_rows",
    "coverage_table",
    "expected_items",
    "run_demo",
]

# source id -> (sample file, type, language hint)
DEMO_SOURCES: dict[str, tuple[str, str, str | None]] = {
    "demo-guardian-us": ("guardian-us_rss2_en_2018.rss", "auto", "en"),
    "demo-heise-developer": ("heise-developer_atom_de_2016.atom", "auto", "de"),
    "demo-jn-ultimas": ("jn-ultimas_rss2_pt_2018_iso-8859-1.rss", "auto", "pt"),
    "demo-aif": ("aif_rss2_ru_2019.xml", "auto", "ru"),
    "demo-dpa-ninjs": ("2.1_dpa_text.json", "auto", None),
    "demo-ntb-ninjs": ("2.1_ntb_text.json", "auto", None),
    "demo-iptc-g2": ("LISTING_02_NewsML-G2_Text_Document.xml", "auto", None),
    "demo-dpa-es-g2": ("dpa-es_empty_paragraph.newsmlg2.xml", "auto", None),
}


def expected_items(samples: Path) -> dict[str, set[str]]:
    """Item ids a reader should find per source: parsed with the very parser
    the ingest worker uses, minus kills and items still under embargo."""
    from services.ingest.parsers import SourceRef, parse_document

    now = datetime.now(UTC)
    expected: dict[str, set[str]] = {}
    for source_id, (file, fmt, language) in DEMO_SOURCES.items():
        result = parse_document(
            (samples / file).read_bytes(),
            source=SourceRef(id=source_id, language=language),
            fetched_at=now,
            fmt=fmt,
        )
        expected[source_id] = {
            item.id
            for item in result.items
            if item.pubstatus.value == "usable" and not (item.embargoed and item.embargoed > now)
        }
    return expected


def _indexed_ids(es: Any, alias: str, ids: set[str]) -> set[str]:
    found: set[str] = set()
    id_list = sorted(ids)
    for start in range(0, len(id_list), 500):
        chunk = id_list[start : start + 500]
        result = es.search(
            index=alias, query={"ids": {"values": chunk}}, size=len(chunk), source=False
        )
        found.update(hit["_id"] for hit in result["hits"]["hits"])
    return found


# Enrichments counted per language: name -> a nested field every element has.
_ENRICHMENTS = {"entities": "entities.id", "places": "places.kind", "topics": "topics.code"}
_NONE = "(none)"


def _has(name: str) -> dict[str, Any]:
    return {"nested": {"path": name, "query": {"exists": {"field": _ENRICHMENTS[name]}}}}


@dataclass(frozen=True)
class LanguageCoverage:
    """Enrichment coverage of the stories of one language."""

    language: str
    stories: int
    with_entities: int
    with_places: int
    with_topics: int
    # entities_status value -> stories; "(none)" for stories without one
    entities_status: dict[str, int]


def coverage_aggs() -> dict[str, Any]:
    """The aggregation :func:`coverage_rows` reads: stories per ``language``,
    and per language the stories with entities, places and topics and the
    ``entities_status`` values; and the ``pipeline_version`` values."""
    return {
        "language": {
            "terms": {"field": "language", "size": 100, "missing": _NONE},
            "aggs": {
                "has": {"filters": {"filters": {name: _has(name) for name in _ENRICHMENTS}}},
                "entities_status": {
                    "terms": {"field": "entities_status", "size": 20, "missing": _NONE}
                },
            },
        },
        # A re-run indexes nothing again: stories keep the enrichment of the
        # pipeline that first read them, which the table's caption says.
        "pipeline_version": {"terms": {"field": "pipeline_version", "size": 20}},
    }


def coverage_rows(aggregations: Mapping[str, Any]) -> list[LanguageCoverage]:
    """One row per language of a search response's ``aggregations`` for
    :func:`coverage_aggs`, most stories first."""
    rows = []
    for bucket in aggregations["language"]["buckets"]:
        has = bucket["has"]["buckets"]
        rows.append(
            LanguageCoverage(
                language=bucket["key"],
                stories=bucket["doc_count"],
                with_entities=has["entities"]["doc_count"],
                with_places=has["places"]["doc_count"],
                with_topics=has["topics"]["doc_count"],
                entities_status={
                    b["key"]: b["doc_count"] for b in bucket["entities_status"]["buckets"]
                },
            )
        )
    return sorted(rows, key=lambda row: (-row.stories, row.language))


def coverage_table(
    rows: Iterable[LanguageCoverage], pipeline_versions: Mapping[str, int] | None = None
) -> Table:
    pipelines = ", ".join(f"{k}:{v}" for k, v in sorted((pipeline_versions or {}).items()))
    table = Table(
        "language",
        "stories",
        "with entities",
        "with places",
        "with topics",
        "entities_status",
        title="enrichment per language (stories of the demo)",
        caption=f"pipeline_version {pipelines}" if pipelines else None,
    )
    total = [0, 0, 0, 0]
    for row in rows:
        counts = (row.stories, row.with_entities, row.with_places, row.with_topics)
        total = [a + b for a, b in zip(total, counts, strict=True)]
        table.add_row(
            row.language,
            *(str(n) for n in counts),
            ", ".join(f"{k}:{v}" for k, v in sorted(row.entities_status.items())),
        )
    table.add_row("all", *(str(n) for n in total), "", end_section=True)
    return table


def _print_coverage(console: Console, es: Any, alias: str, ids: set[str]) -> None:
    """The per-language coverage table, then the stories without entities or
    places (with what the document says about why)."""
    query = {"ids": {"values": sorted(ids)}}
    response = es.search(index=alias, size=0, query=query, aggs=coverage_aggs())
    aggregations = response["aggregations"]
    pipelines = {b["key"]: b["doc_count"] for b in aggregations["pipeline_version"]["buckets"]}
    console.print(coverage_table(coverage_rows(aggregations), pipelines))
    lacking = es.search(
        index=alias,
        size=len(ids),
        query={
            "bool": {
                "filter": [query],
                "should": [
                    {"bool": {"must_not": [_has("entities")]}},
                    {"bool": {"must_not": [_has("places")]}},
                ],
                "minimum_should_match": 1,
            }
        },
        source_includes=[
            "source", "language", "headline", "entities_status",
            "entities.id", "places.kind", "enrichment_errors.step",
            "enrichment_errors.reason",
        ],
        sort=[{"language": "asc"}, {"source": "asc"}, "_doc"],
    )["hits"]["hits"]
    table = Table(
        "lang", "source", "id", "lacks", "entities_status", "errors", "headline",
        title="stories without entities or places",
    )
    for hit in lacking:
        doc = hit["_source"]
        lacks = [name for name in ("entities", "places") if not doc.get(name)]
        table.add_row(
            doc.get("language") or _NONE,
            doc["source"],
            hit["_id"][:8],
            "+".join(lacks),
            doc.get("entities_status") or _NONE,
            ", ".join(f"{e['step']}:{e['reason']}" for e in doc.get("enrichment_errors", [])),
            (doc.get("headline") or "")[:60],
        )
    console.print(table if lacking else "every story got entities and places")


def run_demo(root: Path, *, console: Console, timeout: float = 300.0) -> None:
    from services.index.setup import setup_index
    from services.ingest.adapters.source_registry import SourceRegistry
    from services.ingest.sources import Source
    from shared.runtime import es_client, redis_client
    from shared.settings import Settings
    from wirestream.dev.harness import FeedServer, PipelineProcesses, wait_for
    from wirestream.dev.local_services import LocalServices

    console.print("[bold]1/4[/] local services")
    LocalServices(root, echo=console.print).up()
    os.environ["WIRESTREAM_ENV_FILE"] = str(root / "var" / "local.env")
    settings = Settings()
    admin = es_client(settings, role="admin")
    for line in setup_index(admin, settings.es.index_prefix):
        console.print(f"  {line}")
    admin.close()

    samples = root / "data" / "samples"
    expected = expected_items(samples)
    total = sum(len(v) for v in expected.values())
    reader = es_client(settings, role="reader")
    registry = SourceRegistry(redis_client(settings))
    alias = settings.es.index_prefix

    console.print(
        f"[bold]2/4[/] serving {len(DEMO_SOURCES)} sample sources ({total} items) on 127.0.0.1"
    )
    with FeedServer() as server:
        for source_id, (file, fmt, language) in DEMO_SOURCES.items():
            url = server.publish_file(samples / file)
            registry.put(
                Source.model_validate(
                    {"id": source_id, "name": file, "url": url, "type": fmt,
                     "language": language, "min_interval": 30, "max_interval": 600}
                ),
                due=0.0,
            )
        console.print("[bold]3/4[/] running ingest, enrich and index workers and the scheduler")
        pipeline = PipelineProcesses(root, env={"WIRESTREAM_INGEST__ALLOW_LOOPBACK": "true"})
        with pipeline:
            all_ids = set().union(*expected.values())
            told = {"count": -1, "at": 0.0}

            def all_searchable() -> bool:
                # progress every 5 s while the count moves: never a silent wait
                count = len(_indexed_ids(reader, alias, all_ids) & all_ids)
                if count != told["count"] and time.monotonic() - told["at"] >= 5.0:
                    console.print(f"  {count} of {len(all_ids)} stories searchable")
                    told.update(count=count, at=time.monotonic())
                return count == len(all_ids)

            done = wait_for(all_searchable, timeout, 1.0)
            found = _indexed_ids(reader, alias, all_ids)
        for source_id in DEMO_SOURCES:
            # Leave no demo source polling a server that is gone.
            registry.remove(source_id)

    console.print("[bold]4/4[/] what was indexed")
    table = Table("source", "expected", "searchable", "languages")
    for source_id, ids in expected.items():
        langs = reader.search(
            index=alias,
            size=0,
            query={"term": {"source": source_id}},
            aggs={"lang": {"terms": {"field": "language", "size": 5}}},
        )["aggregations"]["lang"]["buckets"]
        table.add_row(
            source_id,
            str(len(ids)),
            str(len(ids & found)),
            ", ".join(f"{b['key']}:{b['doc_count']}" for b in langs),
        )
    console.print(table)
    _print_coverage(console, reader, alias, found)

    query = "president"
    result = reader.search(
        index=alias,
        size=5,
        query={
            "simple_query_string": {
                "query": query,
                "fields": ["headline^3", "summary", "body_text"],
            }
        },
        source_includes=["headline", "source", "language", "published"],
    )
    hits = Table(
        "score",
        "source",
        "lang",
        "published",
        "headline",
        title=f'example search: "{query}" (as the read-only user)',
    )
    for hit in result["hits"]["hits"]:
        doc = hit["_source"]
        hits.add_row(
            f"{hit['_score']:.2f}",
            doc["source"],
            doc.get("language", ""),
            (doc.get("published") or "")[:10],
            doc.get("headline", "")[:80],
        )
    console.print(hits)
    reader.close()
    if not done:
        missing = total - len(found)
        raise ServiceUnavailable(
            f"{missing} of {total} items were not searchable within {timeout:.0f}s; "
            f"see var/log/*.log and `wirestream dlq list`"
        )
    console.print(
        f"[green]demo done[/]: {len(found)} of {total} items searchable. "
        'Try `wirestream search "<words>"`; `wirestream services down` stops '
        "the services."
    )
