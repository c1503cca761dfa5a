"""The operators' commands against the real Redis, Elasticsearch and a real
index worker: dead letters listed by stage, reason, source and age, shown,
purged, and replayed idempotently; the global ``--log-level``; the CA file
for an HTTPS Elasticsearch.

Commands run as ``python -m wirestream.cli ...`` subprocesses with this
session's environment, exactly as an operator types them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from elasticsearch import Elasticsearch

from shared.dead_letters import DeadLetter
from shared.dlq import DLQ_HASH, DLQ_INDEX, DeadLetterStore
from shared.models import Batch, content_hash, item_id
from shared.runtime import redis_client
from shared.settings import Settings
from tests.integration.test_ops_workers import sample
from tests.unit.test_shared import make_item
from wirestream.dev.harness import PipelineProcesses, wait_for

ROOT = Path(__file__).resolve().parents[2]
SOURCE = "ops-dlq"


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wirestream.cli", *args],
        cwd=ROOT,
        env={**os.environ, **env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def listed(env: dict[str, str], *filters: str) -> set[str]:
    result = cli(env, "dlq", "list", "--json", *filters)
    assert result.returncode == 0, result.stderr
    return {json.loads(line)["id"] for line in result.stdout.splitlines() if line.strip()}


def _aged(client: redis.Redis, entry: DeadLetter, seconds: float) -> DeadLetter:
    """Make an entry look ``seconds`` old (the store keeps its time twice)."""
    older = entry.model_copy(update={"at": entry.at - seconds})
    client.hset(DLQ_HASH, entry.id, older.model_dump_json())
    client.zadd(DLQ_INDEX, {entry.id: older.at})
    return older


def _story() -> Batch:
    guid = "urn:ops:dlq-1"
    headline = "Ferry services resume after the storm"
    item = make_item(
        id=item_id(SOURCE, guid),
        uri=guid,
        source=SOURCE,
        headline=headline,
        language="en",
        content_hash=content_hash(headline),
    )
    return Batch(items=[item], correlation_id="corr-ops-dlq")


@pytest.fixture
def store(settings: Settings, test_env: dict[str, str]) -> Iterator[DeadLetterStore]:
    client = redis_client(settings)
    client.delete(DLQ_HASH, DLQ_INDEX)
    yield DeadLetterStore(client)
    client.delete(DLQ_HASH, DLQ_INDEX)
    client.close()


@pytest.fixture
def entries(store: DeadLetterStore, settings: Settings) -> dict[str, DeadLetter]:
    client = redis_client(settings)
    batch = _story()

    def add(stage: str, reason: str, source: str, payload: dict[str, Any], age: float) -> str:
        entry = store.add(
            stage=stage,
            reason=reason,
            message=f"{reason} happened",
            error_type="X",
            payload=payload,
            attempts=1,
            source=source,
            item_ids=[i["id"] for i in payload.get("items", []) if isinstance(i, dict)],
        )
        return _aged(client, entry, age).id

    ids = {
        "rejected": add("index", "es_rejected", SOURCE, batch.model_dump(mode="json"), 3 * 3600),
        "exhausted": add("enrich", "exhausted:translator_unavailable", "s2", {"items": []}, 600),
        "parse": add(
            "ingest", "parse_item:bad_date", SOURCE, {"source_id": SOURCE, "entry": {}}, 2 * 86400
        ),
        "raw": add("index", "crash:KeyError", "s3", {"raw": "b'\\x00'"}, 60),
    }
    client.close()
    return {name: store.get(entry_id) for name, entry_id in ids.items()}  # type: ignore[misc]


def test_dlq_list_filters_by_stage_reason_source_and_age(
    entries: dict[str, DeadLetter], test_env: dict[str, str]
) -> None:
    e = {name: entry.id for name, entry in entries.items()}
    assert listed(test_env) == set(e.values())
    assert listed(test_env, "--stage", "index") == {e["rejected"], e["raw"]}
    assert listed(test_env, "--reason", "exhausted:") == {e["exhausted"]}
    assert listed(test_env, "--source", SOURCE) == {e["rejected"], e["parse"]}
    assert listed(test_env, "--older-than", "1h") == {e["rejected"], e["parse"]}
    assert listed(test_env, "--newer-than", "1h") == {e["exhausted"], e["raw"]}
    assert listed(test_env, "--older-than", "1h", "--newer-than", "1d") == {e["rejected"]}
    assert listed(test_env, "--older-than", "30s", "--stage", "index", "--source", "s3") == {
        e["raw"]
    }
    bad = cli(test_env, "dlq", "list", "--older-than", "soon")
    assert bad.returncode == 2 and "not an age" in bad.stderr

    table = cli(test_env, "dlq", "list", "--limit", "2")
    assert table.returncode == 0
    assert "4 dead letter(s) (showing 2" in table.stdout

    shown = cli(test_env, "dlq", "show", e["rejected"])
    assert shown.returncode == 0
    assert json.loads(shown.stdout)["payload"]["correlation_id"] == "corr-ops-dlq"
    one_line = cli(test_env, "dlq", "show", e["rejected"], "--json")
    assert one_line.stdout.count("\n") == 1
    assert json.loads(one_line.stdout) == json.loads(shown.stdout)
    assert cli(test_env, "dlq", "show", "nope").returncode == 1


def test_dlq_purge_takes_only_what_the_filters_select(
    entries: dict[str, DeadLetter], store: DeadLetterStore, test_env: dict[str, str]
) -> None:
    result = cli(test_env, "dlq", "purge", "--source", SOURCE, "--reason", "parse_item:", "--yes")
    assert result.returncode == 0, result.stderr
    assert "purged 1 dead letter(s)" in result.stdout
    assert store.get(entries["parse"].id) is None
    assert store.count() == 3
    result = cli(test_env, "dlq", "purge", "--older-than", "1d", "--yes")
    assert "purged 0 dead letter(s)" in result.stdout
    assert store.count() == 3


@pytest.fixture
def index_worker(
    index_ready: str, test_env: dict[str, str], tmp_path: Path
) -> Iterator[PipelineProcesses]:
    procs = PipelineProcesses(ROOT, env=test_env, scheduler=False)
    procs.log_dir = tmp_path
    procs.start_worker("index")
    try:
        yield procs
    finally:
        procs.stop()


def _index_metrics(procs: PipelineProcesses) -> str:
    port = procs.metrics_ports["index"]
    try:
        return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    except httpx.HTTPError:
        return ""


def _documents(settings: Settings, es_admin: Elasticsearch) -> list[dict[str, Any]]:
    es_admin.indices.refresh(index=f"{settings.es.index_prefix}-*")
    hits = es_admin.search(
        index=f"{settings.es.index_prefix}-*", query={"term": {"source": SOURCE}}
    )["hits"]["hits"]
    return [h["_source"] for h in hits]


def test_dlq_replay_is_idempotent_and_logs_at_the_chosen_level(
    entries: dict[str, DeadLetter],
    store: DeadLetterStore,
    index_worker: PipelineProcesses,
    settings: Settings,
    es_admin: Elasticsearch,
    test_env: dict[str, str],
) -> None:
    rejected, raw = entries["rejected"], entries["raw"]
    dry = cli(test_env, "dlq", "replay", "--stage", "index", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would replay 1 dead letter(s); 1 not replayable" in dry.stdout
    assert store.count() == 4

    # First replay, quiet: nothing at INFO reaches stderr.
    first = cli(test_env, "--log-level", "WARNING", "dlq", "replay", rejected.id)
    assert first.returncode == 0, first.stderr
    assert "replayed 1 dead letter(s)" in first.stdout
    assert "replayed to" not in first.stderr
    assert store.get(rejected.id) is None
    assert wait_for(lambda: len(_documents(settings, es_admin)) == 1, 120)

    # The same dead letter again, as if the first replay had been cut off
    # before removing it: the document must not change or double.
    store.add(
        stage="index",
        reason="es_rejected",
        message="again",
        error_type="X",
        payload=rejected.payload,
        attempts=1,
        source=SOURCE,
        item_ids=rejected.item_ids,
    )
    second = cli(
        test_env, "--log-level", "INFO", "dlq", "replay", "--source", SOURCE, "--stage", "index"
    )
    assert second.returncode == 0, second.stderr
    assert "replayed 1 dead letter(s); 0 not replayable" in second.stdout
    logged = [json.loads(line) for line in second.stderr.splitlines() if line.startswith("{")]
    [line] = [x for x in logged if x["msg"] == "replayed to index"]
    assert line["level"] == "info" and line["stage"] == "index" and line["source"] == SOURCE
    assert line["correlation_id"] == "corr-ops-dlq" and line["item_ids"] == rejected.item_ids

    def refused_as_stale() -> bool:
        text = _index_metrics(index_worker)
        return (
            bool(text)
            and sample(
                text,
                "wirestream_items_total",
                stage="index",
                source=SOURCE,
                outcome="stale_version",
            )
            == 1
        )

    assert wait_for(refused_as_stale, 120)
    [doc] = _documents(settings, es_admin)
    assert doc["id"] == rejected.item_ids[0] and doc["version"] == 1
    assert store.get(raw.id) is not None, "the unreplayable entry stays"


def test_log_level_is_validated(test_env: dict[str, str]) -> None:
    result = cli(test_env, "--log-level", "LOUD", "dlq", "list")
    assert result.returncode == 2 and "unknown log level" in result.stderr


def test_ca_certs_reach_the_elasticsearch_client(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from shared.runtime import es_client

    ca = tmp_path / "ca.pem"
    ca.write_text("")  # the client reads it on the first HTTPS connection only
    monkeypatch.setenv("WIRESTREAM_ES__URL", "https://elasticsearch.invalid:9200")
    monkeypatch.setenv("WIRESTREAM_ES__CA_CERTS", str(ca))
    es = es_client(Settings())
    try:
        [node] = es.transport.node_pool.all()
        assert node.config.ca_certs == str(ca)
        assert node.config.scheme == "https"
    finally:
        es.close()
    monkeypatch.delenv("WIRESTREAM_ES__CA_CERTS")
    monkeypatch.setenv("WIRESTREAM_ES__URL", "http://127.0.0.1:9200")
    plain = es_client(Settings())  # no CA: plain HTTP stays allowed
    try:
        [node] = plain.transport.node_pool.all()
        assert node.config.ca_certs is None
    finally:
        plain.close()


def test_scheduler_heartbeat_drives_its_health_check(
    settings: Settings, test_env: dict[str, str]
) -> None:
    import socket
    import time

    from services.ingest.scheduler import HEARTBEAT_KEY, STATS_KEY, Scheduler

    client = redis_client(settings)
    client.delete(HEARTBEAT_KEY, STATS_KEY)
    try:
        assert cli(test_env, "health", "scheduler").returncode == 1  # never ran

        clock = [time.time() - 120.0]
        sched = Scheduler(client, lambda _id: None, clock=lambda: clock[0])
        sched.beat(enqueued=3)
        stale = cli(test_env, "health", "scheduler", "--max-age", "30")
        assert stale.returncode == 1
        assert f"{socket.gethostname()}:" in stale.stderr and "ago" in stale.stderr

        clock[0] = time.time()
        sched.beat(enqueued=2)
        ok = cli(test_env, "health", "scheduler", "--max-age", "30")
        assert ok.returncode == 0, ok.stderr
        assert f"scheduler {sched.name} ok" in ok.stdout

        # Another host's scheduler is not this container's; --any-host takes it.
        client.hset(HEARTBEAT_KEY, "elsewhere:1", repr(time.time()))
        client.hdel(HEARTBEAT_KEY, sched.name)
        assert cli(test_env, "health", "scheduler").returncode == 1
        assert cli(test_env, "health", "scheduler", "--any-host").returncode == 0

        stats = {k.decode(): int(v) for k, v in client.hgetall(STATS_KEY).items()}
        assert stats == {"ticks": 2, "polls_enqueued": 5}
    finally:
        client.delete(HEARTBEAT_KEY, STATS_KEY)
        client.close()


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(("args", "env_change", "code", "says"), [
    # a service down: exit 3, the service and the variable named
    (("sources", "list"), {"WIRESTREAM_REDIS__URL": "redis://127.0.0.1:{port}/0"}, 3,
     "Redis at redis://127.0.0.1:{port}/0 is unreachable"),
    (("dlq", "list"), {"WIRESTREAM_REDIS__URL": "redis://127.0.0.1:{port}/0"}, 3,
     "WIRESTREAM_REDIS__URL"),
    (("entities", "show", "anyone"), {"WIRESTREAM_REDIS__URL": "redis://127.0.0.1:{port}/0"}, 3,
     "is unreachable"),
    (("health", "worker", "enrich", "--timeout", "1"),
     {"WIRESTREAM_REDIS__URL": "redis://127.0.0.1:{port}/0"}, 3, "Redis at"),
    (("health", "scheduler"), {"WIRESTREAM_REDIS__URL": "redis://127.0.0.1:{port}/0"}, 3,
     "Redis at"),
    (("index", "status"), {"WIRESTREAM_ES__URL": "http://127.0.0.1:{port}"}, 3,
     "Elasticsearch at http://127.0.0.1:{port} is unreachable"),
    (("search", "president"), {"WIRESTREAM_ES__URL": "http://127.0.0.1:{port}"}, 3,
     "WIRESTREAM_ES__URL"),
    # the real servers refusing a wrong password: exit 4, the variable named
    (("sources", "list"), {"WIRESTREAM_REDIS__PASSWORD": "wrong"}, 4,
     "refused the login (invalid username-password pair"),
    (("health", "worker", "index", "--timeout", "1"), {"WIRESTREAM_REDIS__PASSWORD": "wrong"}, 4,
     "check WIRESTREAM_REDIS__PASSWORD"),
    (("index", "status"), {"WIRESTREAM_ES__ADMIN_PASSWORD": "wrong"}, 4,
     "refused the login of elastic: check WIRESTREAM_ES__ADMIN_PASSWORD"),
    (("search", "president"), {"WIRESTREAM_ES__READER_PASSWORD": "wrong"}, 4,
     "refused the login of wirestream_reader: check WIRESTREAM_ES__READER_PASSWORD"),
    # indices the reader's role does not cover: exit 4, the role named
    (("enrich", "--again", "anything"),
     {"WIRESTREAM_ES__INDEX_PREFIX": "wirestream-news-none{port}"}, 4,
     "denied wirestream_reader the right"),
])
def test_an_expected_failure_is_one_line_and_its_exit_code(
        test_env: dict[str, str], args: tuple[str, ...], env_change: dict[str, str], code: int,
        says: str) -> None:
    port = str(_closed_port())
    changed = {k: v.replace("{port}", port) for k, v in env_change.items()}
    result = cli({**test_env, **changed}, *args)
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert says.replace("{port}", port) in lines[0]


def test_status_says_why_it_is_unhealthy(test_env: dict[str, str]) -> None:
    # this module runs no worker; Redis answers
    result = cli(test_env, "status", "--json", "--timeout", "1")
    assert result.returncode == 1
    state = json.loads(result.stdout)
    assert state["healthy"] is False
    assert "no worker consumes the enrich queue" in state["problems"]
    down = cli({**test_env, "WIRESTREAM_REDIS__URL": f"redis://127.0.0.1:{_closed_port()}/0"},
               "status", "--json", "--timeout", "1")
    assert down.returncode == 1
    state = json.loads(down.stdout)
    assert state["problems"][0] == "redis does not answer"
    assert state["dead_letters"] is None and state["unacked"] is None  # unknown, not 0
