"""A node of a three-node Elasticsearch cluster dies under load, then comes
back (issue #22), counted the Jepsen way: what the writer was told is
written (acknowledged) must be searchable afterwards, exactly once; what is
searchable must have been sent; searches keep answering while the cluster
is yellow; the index is green again once the node is back; and setup and
migrate do what they do on one node, with a replica.

The writer is the index stage as a worker runs it (``index_batch`` over the
real bulk writer, through the pipeline's own client, which knows all three
nodes and retries nothing by itself); a batch the stage could not write
raises, and is sent again the way the Celery task retries it. The node
killed is the one holding the primary shard being written. Takes about
three minutes on two cores, most of it the cluster's recoveries."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
from elasticsearch import Elasticsearch

from services.index.adapters.bulk import BulkIndexer
from services.index.documents import index_month
from services.index.migrate import migrate
from services.index.names import IndexNames
from services.index.setup import run_setup
from services.index.stage import index_batch
from shared.dlq import DeadLetterStore
from shared.errors import ServiceUnavailable
from shared.models import Batch
from shared.runtime import es_client
from shared.settings import Settings
from tests.unit.test_shared import make_item
from wirestream.dev.es_cluster import EsCluster
from wirestream.dev.harness import wait_for

# slow: a cluster or a pipeline starts and recovers (the docstring says how long)
pytestmark = pytest.mark.timeout(900)

BATCH = 50
TEST_DB = 9
MEASUREMENTS = Path(__file__).resolve().parents[2] / "var" / "measurements" / "es_node_loss.jsonl"


@dataclass
class Ledger:
    attempted: set[str] = field(default_factory=set)
    acked: set[str] = field(default_factory=set)
    retried_batches: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class Searches:
    answered: list[tuple[float, int]] = field(default_factory=list)
    failed: list[tuple[float, str]] = field(default_factory=list)


def _settings(cluster: EsCluster, services: dict[str, str], prefix: str) -> Settings:
    return Settings(es={
        "url": ",".join(cluster.urls), "index_prefix": prefix,
        "password": services["WIRESTREAM_ES__PASSWORD"],
        "reader_password": services["WIRESTREAM_ES__READER_PASSWORD"],
        "admin_password": services["WIRESTREAM_ES__ADMIN_PASSWORD"]})


def _consumer(cluster: EsCluster, user: str, password: str) -> Elasticsearch:
    """A search consumer's client: every node, and retries on another node
    when one fails (what the pipeline's own client leaves to its caller)."""
    return Elasticsearch(cluster.urls, basic_auth=(user, password), request_timeout=10,
                         max_retries=3, retry_on_timeout=True)


@pytest.fixture
def prefix(cluster: EsCluster, services: dict[str, str]) -> Iterator[str]:
    name = f"wirestream-news-t{uuid.uuid4().hex[:8]}"
    yield name
    admin = _consumer(cluster, "elastic", services["WIRESTREAM_ES__ADMIN_PASSWORD"])
    try:
        # wildcard deletes are refused (destructive_requires_name): list, then name
        made = list(admin.indices.get(index=f"{name}-*", allow_no_indices=True))
        if made:
            admin.indices.delete(index=",".join(made))
        for template in admin.options(ignore_status=404).indices.get_index_template(
                name=f"{name}-*").body.get("index_templates", []):
            admin.indices.delete_index_template(name=template["name"])
    finally:
        admin.close()


def _write(settings: Settings, dlq: DeadLetterStore, ledger: Ledger,
           stop: threading.Event) -> None:
    """Batches of new stories, one after another, until ``stop``; a batch
    that raises is sent again after a pause, as the task's retry would."""
    client = es_client(settings)
    indexer = BulkIndexer(client, settings.es.index_prefix, max_attempts=3,
                          backoff_base=0.2, backoff_cap=1.0)
    number = 0
    try:
        while not stop.is_set():
            items = [make_item(id=f"cl-{number + i:06d}", uri=f"cl-{number + i}",
                               headline=f"story {number + i}", version=1)
                     for i in range(BATCH)]
            number += BATCH
            ledger.attempted.update(i.id for i in items)
            for _attempt in range(30):
                try:
                    outcome = index_batch(Batch(items=items), indexer, dlq)
                except ServiceUnavailable as exc:
                    ledger.retried_batches += 1
                    ledger.errors.append(str(exc))
                    time.sleep(1.0)
                    continue
                ledger.acked.update(outcome.indexed + outcome.stale)
                break
            else:
                ledger.errors.append(f"batch at {number - BATCH} never written")
    finally:
        client.close()


def _search(consumer: Elasticsearch, alias: str, log: Searches, stop: threading.Event) -> None:
    while not stop.is_set():
        started = time.monotonic()
        try:
            hits = consumer.search(index=alias, size=0, track_total_hits=True)
            log.answered.append((started, int(hits["hits"]["total"]["value"])))
        except Exception as exc:  # any failure to answer is what is counted
            log.failed.append((started, f"{type(exc).__name__}: {exc}"))
        time.sleep(0.2)


def _health(admin: Elasticsearch) -> str:
    return str(admin.cluster.health()["status"])


def _found(admin: Elasticsearch, alias: str) -> tuple[int, set[str]]:
    """Total hits of the read alias and the distinct ids behind them."""
    admin.indices.refresh(index=alias)
    total = int(admin.count(index=alias)["count"])
    ids: set[str] = set()
    page = admin.search(index=alias, size=5000, sort=["_doc"], source=False,
                        scroll="1m", track_total_hits=True)
    scroll = page.get("_scroll_id")
    try:
        while page["hits"]["hits"]:
            ids.update(h["_id"] for h in page["hits"]["hits"])
            page = admin.scroll(scroll_id=scroll, scroll="1m")
            scroll = page.get("_scroll_id")
    finally:
        if scroll:
            admin.clear_scroll(scroll_id=scroll)
    return total, ids


def _replicas(admin: Elasticsearch, pattern: str) -> dict[str, tuple[int, int]]:
    """Per index: (started primaries, started replicas)."""
    out: dict[str, list[int]] = {}
    shards: list[dict[str, Any]] = admin.cat.shards(index=pattern, format="json").body
    for shard in shards:
        counts = out.setdefault(str(shard["index"]), [0, 0])
        if shard["state"] == "STARTED":
            counts[0 if shard["prirep"] == "p" else 1] += 1
    return {k: (v[0], v[1]) for k, v in out.items()}


def test_a_node_killed_under_load_loses_nothing_and_searches_keep_answering(
        cluster: EsCluster, services: dict[str, str], prefix: str) -> None:
    settings = _settings(cluster, services, prefix)
    names = IndexNames(prefix)
    admin = _consumer(cluster, "elastic", services["WIRESTREAM_ES__ADMIN_PASSWORD"])
    reader = _consumer(cluster, "wirestream_reader", services["WIRESTREAM_ES__READER_PASSWORD"])
    setup_client = es_client(settings, role="admin")
    redis_client = redis.Redis.from_url(
        services["WIRESTREAM_REDIS__URL"].rsplit("/", 1)[0] + f"/{TEST_DB}",
        password=services["WIRESTREAM_REDIS__PASSWORD"])
    dlq = DeadLetterStore(redis_client)
    dead_before = dlq.count()
    try:
        # setup on a cluster: the month's index gets its replica (0-1 follows
        # the cluster's size) and the cluster is green
        report = run_setup(setup_client, prefix, replicas=settings.es.replicas)
        assert not report.security_problems, report.lines
        admin.cluster.health(index=f"{prefix}-*", wait_for_status="green", timeout="60s")
        assert set(_replicas(admin, names.pattern(1)).values()) == {(1, 1)}

        ledger, searches, stop = Ledger(), Searches(), threading.Event()
        threads = [
            threading.Thread(target=_write, args=(settings, dlq, ledger, stop), daemon=True),
            threading.Thread(target=_search, args=(reader, prefix, searches, stop),
                             daemon=True)]
        for thread in threads:
            thread.start()
        try:
            assert wait_for(lambda: len(ledger.acked) >= 1000, 120), ledger.errors[-3:]
            # the index the stories go to (their month's)
            written = names.index(1, index_month(make_item(id="cl-000000", version=1)))
            shards: list[dict[str, Any]] = admin.cat.shards(index=written, format="json").body
            [primary] = [s for s in shards if s["prirep"] == "p"]
            victim = int(str(primary["node"]).rsplit("-", 1)[1])
            killed_at = time.monotonic()
            cluster.kill(victim)

            # the cluster notices, promotes the replica and goes on yellow
            assert wait_for(lambda: _health(admin) == "yellow", 90)
            yellow_at = time.monotonic()
            acked_at_yellow = len(ledger.acked)
            # writes go on while yellow
            assert wait_for(lambda: len(ledger.acked) >= acked_at_yellow + 1000, 120), (
                ledger.errors[-3:])

            cluster.start_node(victim)
            assert wait_for(lambda: _health(admin) == "green", 240)
            acked_at_green = len(ledger.acked)
            assert wait_for(lambda: len(ledger.acked) >= acked_at_green + 500, 120), (
                ledger.errors[-3:])
        finally:
            stop.set()
            for thread in threads:
                thread.join(120)

        total, found = _found(admin, prefix)
        lost = ledger.acked - found
        phantom = found - ledger.attempted
        assert not lost, f"{len(lost)} acknowledged stories are not searchable: {sorted(lost)[:5]}"
        assert not phantom, f"searchable but never sent: {sorted(phantom)[:5]}"
        assert total == len(found), f"{total - len(found)} stories are there twice"
        assert dlq.count() == dead_before  # nothing was refused as a document

        # searches answered throughout: none failed once the cluster was yellow
        # (nor, with the consumer's retries on another node, at the kill)
        after_kill = [s for s in searches.answered if s[0] >= killed_at]
        assert after_kill and searches.failed == [], searches.failed[:3]
        assert any(killed_at <= t <= yellow_at + 30 for t, _ in searches.answered)

        # back to one replica per index, and migrate works on the cluster
        assert set(_replicas(admin, names.pattern(1)).values()) == {(1, 1)}
        migrated = migrate(setup_client, prefix, replicas=settings.es.replicas)
        assert migrated.target_generation == 2
        admin.cluster.health(index=f"{prefix}-*", wait_for_status="green", timeout="120s")
        assert set(_replicas(admin, names.pattern(2)).values()) == {(1, 1)}
        total_after, found_after = _found(admin, prefix)
        assert found_after == found and total_after == total

        MEASUREMENTS.parent.mkdir(parents=True, exist_ok=True)
        with MEASUREMENTS.open("a") as out:
            out.write(json.dumps({
                "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "acknowledged": len(ledger.acked), "sent": len(ledger.attempted),
                "searchable": len(found), "batches_sent_again": ledger.retried_batches,
                "searches_answered": len(searches.answered),
                "searches_after_kill": len(after_kill),
                "seconds_to_yellow": round(yellow_at - killed_at, 1),
                "migrated_copies": migrated.copied,
            }) + "\n")
    finally:
        admin.close()
        reader.close()
        setup_client.close()
        redis_client.close()
