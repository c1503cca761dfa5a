"""``wirestream demo``: the main job on bundled real samples, end to end.

1. starts the local services if needed and installs the index template;
2. serves the samples of ``data/samples/`` from a feed server on 127.0.0.1;
3. registers one source per sample and runs the three workers and the
   scheduler as real processes;
4. waits until every expected item is searchable, prints what was indexed and
   one example search, then stops the workers (the services keep running).

Re-running changes nothing: the same items get the same ids, the version gate
drops unchanged items, and external versioning refuses stale writes.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from shared.errors import ServiceUnavailable

__all__ = ["DEMO_SOURCES", "expected_items", "run_demo"]

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


def run_demo(root: Path, *, console: Console, timeout: float = 300.0) -> None:
    from services.index.setup import setup_index
    from services.ingest.sources import Source, SourceRegistry
    from shared.harness import FeedServer, PipelineProcesses, wait_for
    from shared.local_services import LocalServices
    from shared.runtime import es_client, redis_client
    from shared.settings import Settings

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
            done = wait_for(lambda: _indexed_ids(reader, alias, all_ids) >= all_ids, timeout, 1.0)
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
