"""End to end through the real workers: a feed on loopback becomes searchable
documents; re-polls do not duplicate; a changed item replaces the old one.

The workers are the real `wirestream worker ...` processes and the scheduler,
on the local Redis and Elasticsearch, with this session's isolated Redis
database and index prefix; each logs in to Redis as its role's user
(deploy/redis/users.acl.in), and Redis's ACL log shows that none of them was
refused anything along the way.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
import redis
from elasticsearch import Elasticsearch

from services.ingest.adapters.source_registry import SourceRegistry
from services.ingest.sources import Source
from shared.models import item_id
from shared.runtime import es_client
from shared.settings import Settings
from shared.versions import CORENLP_VERSION
from tests.faults._rig import PIPELINE_ROLES
from wirestream.dev.harness import FeedServer, PipelineProcesses, wait_for
from wirestream.dev.redis_users import role_settings

ROOT = Path(__file__).resolve().parents[2]
BASE = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def rss(items: list[dict[str, str]]) -> bytes:
    entries = "".join(
        f"""<item><title>{i["title"]}</title><link>{i["link"]}</link>
<guid isPermaLink="false">{i["guid"]}</guid><description>{i["summary"]}</description>
<pubDate>{i["date"]}</pubDate></item>"""
        for i in items
    )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Test wire</title><link>https://news.example/</link>
<description>test</description><language>en</language>{entries}</channel></rss>""".encode()


def story(n: int, title: str | None = None, minutes: int = 0) -> dict[str, str]:
    return {
        "guid": f"urn:test:story-{n}",
        "title": title or f"Harbour workers strike in port city number {n}",
        "link": f"https://news.example/story-{n}?utm_source=rss",
        "summary": f"Dock workers in city {n} walked out on Monday over pay, "
        "halting container traffic for the day.",
        "date": format_datetime(BASE + timedelta(minutes=n + minutes)),
    }


ROLES = PIPELINE_ROLES  # each process as its role's Redis user


@pytest.fixture(scope="module")
def pipeline(
    settings: Settings, index_ready: str, test_env: dict[str, str], services: dict[str, str]
) -> Iterator[tuple[FeedServer, PipelineProcesses]]:
    admin = _redis(settings)
    admin.execute_command("ACL", "LOG", "RESET")
    with FeedServer() as server:
        procs = PipelineProcesses(ROOT, env=test_env, stage_env={
            role: role_settings(role, services) for role in ROLES})
        procs.start()
        try:
            yield server, procs
        finally:
            procs.stop()
            admin.close()


def _refusals(settings: Settings) -> list[dict[str, object]]:
    """Redis's ACL log entries of the pipeline's users (commands, keys or
    channels refused to them)."""
    client = _redis(settings)
    try:
        entries = client.acl_log()
    finally:
        client.close()
    return [e for e in entries if e.get("username") in ROLES]


def _reader(settings: Settings) -> Elasticsearch:
    return es_client(settings, role="reader")


def _docs(settings: Settings, source: str, es_admin: Elasticsearch) -> list[dict[str, object]]:
    es_admin.indices.refresh(index=f"{settings.es.index_prefix}-*")
    reader = _reader(settings)
    try:
        result = reader.search(
            index=settings.es.index_prefix,
            size=100,
            query={"term": {"source": source}},
            sort=[{"id": "asc"}],
        )
    finally:
        reader.close()
    return [hit["_source"] for hit in result["hits"]["hits"]]


def _redis(settings: Settings) -> redis.Redis:
    from shared.runtime import redis_client

    return redis_client(settings)


def test_feed_items_become_searchable_documents_once_and_update_in_place(
    pipeline: tuple[FeedServer, PipelineProcesses],
    settings: Settings,
    es_admin: Elasticsearch,
) -> None:
    server, procs = pipeline
    url = server.publish("/wire.rss", rss([story(1), story(2), story(3)]))
    registry = SourceRegistry(_redis(settings))
    source = Source(
        id="test-wire", url=url, type="rss", language="en", min_interval=5, max_interval=5
    )
    registry.put(source, due=0.0)

    ids = {item_id("test-wire", f"urn:test:story-{n}") for n in (1, 2, 3)}
    assert wait_for(
        lambda: {d["id"] for d in _docs(settings, "test-wire", es_admin)} == ids, 120
    ), f"not indexed; workers alive: {procs.alive()}"
    docs = {d["id"]: d for d in _docs(settings, "test-wire", es_admin)}
    first = docs[item_id("test-wire", "urn:test:story-1")]
    assert first["headline"] == "Harbour workers strike in port city number 1"
    assert first["uri"] == "urn:test:story-1"
    assert first["url"].startswith("https://news.example/story-1")
    assert "walked out on Monday" in first["summary"]
    assert first["language"] == "en"
    assert first["version"] == 1
    assert first["published"].startswith("2026-11-20T08:01")
    assert first["source"] == "test-wire"
    for key in ("fetched", "enriched", "indexed", "content_hash", "correlation_id"):
        assert key in first, key
    # what the enrich worker read it with: the NER server the services run
    assert f"corenlp:{CORENLP_VERSION}" in first["model_versions"], first["model_versions"]

    # Poll the unchanged feed again (twice): still one document per item.
    polls_before = len([r for r in server.requests if r[0] == "/wire.rss"])
    registry.put(source, due=0.0)
    assert wait_for(
        lambda: len([r for r in server.requests if r[0] == "/wire.rss"]) >= polls_before + 2, 60
    )
    docs_again = _docs(settings, "test-wire", es_admin)
    assert len(docs_again) == 3
    assert {d["version"] for d in docs_again} == {1}

    # Same guid, newer date, new headline: version 2 replaces version 1.
    server.publish(
        "/wire.rss",
        rss([story(1, title="Harbour strike ends after talks", minutes=60), story(2), story(3)]),
    )

    def updated() -> bool:
        docs = {d["id"]: d for d in _docs(settings, "test-wire", es_admin)}
        doc = docs.get(item_id("test-wire", "urn:test:story-1"))
        return bool(doc) and doc["headline"] == "Harbour strike ends after talks"

    assert wait_for(updated, 90), "changed item was not re-indexed"
    final = {d["id"]: d for d in _docs(settings, "test-wire", es_admin)}
    assert len(final) == 3
    assert final[item_id("test-wire", "urn:test:story-1")]["version"] == 2
    assert procs.alive() == {"ingest": True, "enrich": True, "index": True, "scheduler": True}
    # each as its own Redis user, and none was refused a command or a key
    assert _refusals(settings) == []

    # Every worker serves its counts on /metrics (multiprocess mode).
    index_metrics = _metric_lines(procs, "index")
    indexed = _value(
        index_metrics,
        "wirestream_items_total",
        'outcome="indexed",source="test-wire",stage="index"',
    )
    assert indexed >= 4  # three stories plus the second version of one
    assert (
        _value(
            _metric_lines(procs, "ingest"),
            "wirestream_items_total",
            'outcome="new",source="test-wire",stage="ingest"',
        )
        == 3
    )
    assert (
        _value(
            _metric_lines(procs, "ingest"),
            "wirestream_items_total",
            'outcome="changed",source="test-wire",stage="ingest"',
        )
        == 1
    )
    assert (
        _value(index_metrics, "wirestream_end_to_end_latency_seconds_count", 'since="fetched"') >= 4
    )


def _metric_lines(procs: PipelineProcesses, stage: str) -> list[str]:
    import httpx

    port = procs.metrics_ports[stage]
    return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text.splitlines()


def _value(lines: list[str], name: str, labels: str) -> float:
    for line in lines:
        if line.startswith(f"{name}{{{labels}}} "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name}{{{labels}}} not exported")
