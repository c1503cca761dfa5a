"""The reconciler's decisions on a real Redis (a database of the rig's Redis
no worker uses), with Elasticsearch replaced by a lookup table; and the
timing invariant, checked when a real worker boots.

The end-to-end proof of the reconciler (lost messages re-driven through the
real scheduler) is case 12 of test_pipeline_faults.py.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import redis

from services.ingest.adapters.embargo import ITEMS_KEY as EMBARGO_ITEMS
from services.ingest.adapters.gate import ITEM_PREFIX, ITEM_TTL_SECONDS, VersionGate
from services.ingest.adapters.source_registry import SCHEDULE_KEY, SourceRegistry
from services.ingest.reconciler import REDRIVEN_KEY, VERIFIED_KEY, Reconciler
from services.ingest.sources import Source
from shared.celery_app import create_app
from shared.dlq import DeadLetterStore
from shared.models import NewsItem, content_hash
from shared.settings import CelerySettings, Settings
from tests.faults._rig import ROOT, Rig, environ

NOW = 1_800_000_000.0
DEADLINE = 60.0


@pytest.fixture
def client(rig: Rig) -> Iterator[redis.Redis]:
    c = redis.Redis(host="127.0.0.1", port=rig.redis_server.port, db=rig.db + 1,
                    password=rig.redis_server.password)
    c.flushdb()
    yield c
    c.flushdb()
    c.close()


def accept(client: redis.Redis, source: str, guid: str, *, age: float,
           status: str = "usable") -> tuple[str, int]:
    """Let the real gate accept an item, then age its acceptance by ``age``
    seconds (its time to live is what the reconciler reads). Returns the id
    and the external version the index would hold."""
    at = datetime.fromtimestamp(NOW - age - 3600, UTC)
    item = NewsItem(id=f"{source}-{guid}", uri=guid, source=source, headline=guid,
                    versioncreated=at, fetched_at=at, pubstatus=status,
                    content_hash=content_hash(guid, status))
    decision = VersionGate(client).decide(item)
    assert decision.forward
    # the gate's time to live as if the acceptance was `age` seconds before NOW
    client.pexpire(ITEM_PREFIX + item.id, int((ITEM_TTL_SECONDS - age) * 1000))
    return item.id, decision.item.es_version


def reconciler(client: redis.Redis, indexed: dict[str, int], *, max_redrives: int = 1,
               clock: list[float] | None = None) -> Reconciler:
    now = clock or [NOW]
    return Reconciler(client, lambda ids: {i: indexed[i] for i in ids if i in indexed},
                      deadline=DEADLINE, horizon=86400, max_redrives=max_redrives,
                      clock=lambda: now[0])


def test_only_items_past_the_deadline_and_not_settled_are_redriven(client: redis.Redis) -> None:
    registry = SourceRegistry(client)
    registry.put(Source(id="src", url="http://127.0.0.1:9/feed", type="rss"), due=NOW + 999)
    state = registry.state("src")
    state.etag = '"abc"'
    registry.save_state("src", state)
    young, _ = accept(client, "src", "young", age=10)
    indexed_id, version = accept(client, "src", "indexed", age=120)
    stale_id, stale_version = accept(client, "src", "stale", age=120)
    lost, _ = accept(client, "src", "lost", age=120)
    dead, _ = accept(client, "src", "dead", age=120)
    held, _ = accept(client, "src", "held", age=120)
    kill, _ = accept(client, "src", "kill", age=120, status="withheld")
    DeadLetterStore(client).add(stage="index", reason="es_rejected", message="m",
                                error_type="DocumentRejected", payload={}, attempts=1,
                                source="src", item_ids=[dead])
    client.hset(EMBARGO_ITEMS, held, "{}")
    indexed = {indexed_id: version, stale_id: stale_version - 1}

    report = reconciler(client, indexed).run_once()

    assert sorted(report.redriven) == sorted([lost, stale_id])
    assert report.verified == 1 and report.dead_lettered == []
    assert young not in report.redriven and kill not in report.redriven
    # re-driven: marked unsent in the gate, validators cleared, source due now
    assert client.hget(ITEM_PREFIX + lost, "h:src") == b"unsent"
    assert registry.state("src").etag is None
    assert client.zscore(SCHEDULE_KEY, "src") == NOW
    # verified once, not asked again on the next pass
    assert client.zscore(VERIFIED_KEY, indexed_id) is not None
    again = reconciler(client, indexed).run_once()
    assert again.checked == 2 and again.waiting == 2  # the two re-driven, not due again yet


def test_an_item_still_missing_after_its_redrives_is_dead_lettered(client: redis.Redis) -> None:
    SourceRegistry(client).put(Source(id="src", url="http://127.0.0.1:9/feed", type="rss"))
    lost, _ = accept(client, "src", "gone", age=120)
    clock = [NOW]
    first = reconciler(client, {}, clock=clock).run_once()
    assert first.redriven == [lost]
    clock[0] += DEADLINE + 1  # the re-poll did not bring it back
    second = reconciler(client, {}, clock=clock).run_once()
    assert second.dead_lettered == [lost]
    [entry] = list(DeadLetterStore(client).iter())
    assert (entry.stage, entry.reason) == ("ingest", "reconcile:not_indexed")
    assert entry.item_ids == [lost]
    assert entry.payload["source_id"] == "src"  # `dlq replay` polls the source again
    assert client.hget(REDRIVEN_KEY, lost) is None
    third = reconciler(client, {}, clock=clock).run_once()
    assert third.dead_lettered == [] and third.redriven == []  # the dead letter settles it


def test_dry_run_changes_nothing(client: redis.Redis) -> None:
    SourceRegistry(client).put(Source(id="src", url="http://127.0.0.1:9/feed", type="rss"))
    lost, _ = accept(client, "src", "lost", age=120)
    before = client.hgetall(ITEM_PREFIX + lost)
    report = reconciler(client, {}).run_once(dry_run=True)
    assert report.redriven == [lost]
    assert client.hgetall(ITEM_PREFIX + lost) == before
    assert client.hlen(REDRIVEN_KEY) == 0 and client.zcard(VERIFIED_KEY) == 0


def test_one_pass_at_a_time(client: redis.Redis) -> None:
    client.set("wirestream:reconcile:lock", "1", ex=30)
    assert reconciler(client, {}).run_once().skipped == "locked"


# ------------------------------------------------------------------ timing
def test_a_worker_refuses_to_boot_with_a_visibility_timeout_too_short(rig: Rig) -> None:
    env = {**os.environ, **rig.env, "WIRESTREAM_CELERY__VISIBILITY_TIMEOUT": "40",
           "WIRESTREAM_METRICS_PORT": "0"}
    result = subprocess.run(
        [sys.executable, "-m", "wirestream.cli", "worker", "index"], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode != 0
    output = " ".join((result.stdout + result.stderr).split())  # the console wraps lines
    assert "WIRESTREAM_CELERY" in output and "visibility_timeout (40) must exceed" in output


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"task_time_limit": 300, "task_soft_time_limit": 300}, "task_soft_time_limit"),
        ({"visibility_timeout": 900}, "visibility_timeout (900) must exceed"),
    ],
)
def test_timing_invariants(values: dict[str, int], problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        CelerySettings(**values)


def test_the_broker_options_follow_the_timing_settings(rig: Rig) -> None:
    with environ({**rig.env, "WIRESTREAM_CELERY__VISIBILITY_TIMEOUT": "1800",
                  "WIRESTREAM_CELERY__TASK_TIME_LIMIT": "300",
                  "WIRESTREAM_CELERY__TASK_SOFT_TIME_LIMIT": "240",
                  "WIRESTREAM_CELERY__MAX_RETRY_COUNTDOWN": "600",
                  "WIRESTREAM_CELERY__PROC_ALIVE_TIMEOUT": "45"}):
        app = create_app(Settings())
    options = app.conf.broker_transport_options
    assert options["visibility_timeout"] == 1800
    assert options["unacked_restore_interval"] == 10 and options["unacked_restore_throttle"] == 1
    assert app.conf.task_time_limit == 300 and app.conf.task_soft_time_limit == 240
    assert app.conf.task_retry_on_worker_lost is True
    assert app.conf.worker_proc_alive_timeout == 45
    assert json.loads(json.dumps(app.conf.task_annotations))["*"]["max_retries"] == 2
