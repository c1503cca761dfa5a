"""Real workers under operations: metrics survive recycled pool processes, a
SIGTERM drains in-flight work and loses nothing, and the compose health
check answers for a live worker only.

Workers are the real ``wirestream worker <stage>`` processes on the local
Redis (this session's database) and Elasticsearch (this session's prefix).
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from elasticsearch import Elasticsearch
from prometheus_client.parser import text_string_to_metric_families

from shared.celery_app import create_app
from shared.models import Batch, content_hash, item_id
from shared.queues import INDEX, QUEUES, STAGE_TASKS
from shared.runtime import batch_repr, redis_client, send_batch
from shared.settings import Settings
from tests.unit.test_shared import make_item
from wirestream.dev.harness import PipelineProcesses, wait_for

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def scrape(port: int) -> str:
    return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample (0 when absent: a counter never incremented)."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                total += s.value
    return total


def _items(tag: str, batches: int, per_batch: int) -> list[Batch]:
    out = []
    for b in range(batches):
        items = []
        for i in range(per_batch):
            guid = f"urn:{tag}:{b}-{i}"
            headline = f"Harbour authority publishes shipping schedule {b}-{i}"
            items.append(
                make_item(
                    id=item_id(tag, guid),
                    uri=guid,
                    source=tag,
                    headline=headline,
                    summary="Container ships will berth on the new timetable from Monday.",
                    language="en",
                    content_hash=content_hash(headline),
                )
            )
        out.append(Batch(items=items, correlation_id=f"{tag}-{b}"))
    return out


def _send(settings: Settings, stage: str, batches: list[Batch]) -> None:
    app = create_app(settings)
    with app.connection_for_write() as conn:
        for batch in batches:
            send_batch(app, stage, batch, connection=conn)


def _count(settings: Settings, es_admin: Elasticsearch, source: str) -> int:
    es_admin.indices.refresh(index=f"{settings.es.index_prefix}-*")
    result = es_admin.count(
        index=f"{settings.es.index_prefix}-*", query={"term": {"source": source}}
    )
    return int(result["count"])


@pytest.fixture
def client(settings: Settings) -> Iterator[redis.Redis]:
    c = redis_client(settings)
    # Leftovers of other tests in this session's database must not be
    # counted as this test's tasks.
    c.delete(*QUEUES)
    yield c
    c.close()


def test_counts_survive_recycled_pool_processes(
    settings: Settings,
    index_ready: str,
    test_env: dict[str, str],
    es_admin: Elasticsearch,
    client: redis.Redis,
    tmp_path: Path,
) -> None:
    """--concurrency 2 and worker_max_tasks_per_child=2: every pool process
    runs at most two tasks, so twelve tasks take at least six processes, and
    the main process's /metrics still counts every task and item."""
    port = _free_port()
    metrics_dir = tmp_path / "metrics"
    log = (tmp_path / "index.log").open("ab")
    worker = subprocess.Popen(
        # `wirestream worker ...` as operators run it, pool processes
        # replaced after 2 tasks (WIRESTREAM_CELERY__MAX_TASKS_PER_CHILD)
        [sys.executable, "-m", "wirestream.cli", "worker", "index", "--concurrency", "2"],
        cwd=ROOT,
        env={
            **os.environ,
            **test_env,
            "WIRESTREAM_CELERY__MAX_TASKS_PER_CHILD": "2",
            "WIRESTREAM_METRICS_PORT": str(port),
            "WIRESTREAM_METRICS_ADDR": "127.0.0.1",
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        },
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    tasks, per_task = 12, 3
    try:
        _send(settings, INDEX, _items("ops-recycle", tasks, per_task))

        def all_done() -> bool:
            try:
                text = scrape(port)
            except httpx.HTTPError:
                return False
            return sample(text, "wirestream_stage_duration_seconds_count", stage="index") >= tasks

        assert wait_for(all_done, 180), (tmp_path / "index.log").read_text()[-3000:]
        text = scrape(port)
        assert sample(text, "wirestream_stage_duration_seconds_count", stage="index") == tasks
        indexed = sample(
            text, "wirestream_items_total", stage="index", source="ops-recycle", outcome="indexed"
        )
        assert indexed == tasks * per_task
        assert sample(text, "wirestream_es_request_duration_seconds_count", operation="bulk") == (
            tasks
        )
        assert sample(text, "wirestream_end_to_end_latency_seconds_count", since="fetched") == (
            tasks * per_task
        )
        # Each pool process left its own files: at least six processes ran.
        pids = {m[1] for f in metrics_dir.glob("*.db") if (m := re.search(r"_(\d+)\.db$", f.name))}
        assert len(pids) >= tasks // 2, sorted(pids)
        assert _count(settings, es_admin, "ops-recycle") == tasks * per_task
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(60)


def _health(stage: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wirestream.cli", "health", "worker", stage, "--timeout", "3"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_sigterm_drains_in_flight_work_and_loses_nothing(
    settings: Settings,
    index_ready: str,
    test_env: dict[str, str],
    es_admin: Elasticsearch,
    client: redis.Redis,
    tmp_path: Path,
) -> None:
    """SIGTERM to the enrich worker while it works through a backlog: it
    finishes the task it runs (warm shutdown, exit 0), unstarted messages go
    back to the queue, and after a restart every item is indexed once. The
    compose health check follows the worker: ok, failing while it is down,
    ok again."""
    procs = PipelineProcesses(ROOT, env=test_env, scheduler=False)
    procs.log_dir = tmp_path
    tasks, per_task = 60, 10
    try:
        procs.start_worker("index")
        procs.start_worker("enrich")
        assert wait_for(lambda: _health("enrich", test_env).returncode == 0, 120)
        _send(settings, "enrich", _items("ops-drain", tasks, per_task))

        # Wait until the worker is in the middle of the backlog: tasks done,
        # one delivered and not acked yet, more queued behind it.
        port = procs.metrics_ports["enrich"]

        def busy() -> bool:
            done = sample(scrape(port), "wirestream_stage_duration_seconds_count", stage="enrich")
            return done >= 1 and client.hlen("unacked") > 0 and client.llen("enrich") > 0

        assert wait_for(busy, 180, interval=0.1)
        # The Celery main process only, as Docker (init: true) delivers it.
        os.kill(procs.procs["enrich"].pid, signal.SIGTERM)
        assert procs.procs["enrich"].wait(120) == 0, "no warm shutdown"
        log = (tmp_path / "enrich.log").read_text()
        assert "Warm shutdown" in log
        assert client.llen("enrich") > 0, "the worker should have stopped mid-backlog"
        # Nothing is stranded in flight: what was not done is back in the queue.
        assert wait_for(lambda: client.hlen("unacked") == 0, 60)
        assert _health("enrich", test_env).returncode == 1

        procs.start_worker("enrich")
        assert wait_for(lambda: _count(settings, es_admin, "ops-drain") == tasks * per_task, 240), (
            f"indexed {_count(settings, es_admin, 'ops-drain')} of {tasks * per_task}"
        )
        assert _health("enrich", test_env).returncode == 0
        assert client.llen("enrich") == 0
        from shared.dlq import DeadLetterStore

        assert list(DeadLetterStore(client).iter(source="ops-drain")) == []
    finally:
        procs.stop()


def test_batch_messages_show_a_short_summary_as_their_arguments(
    settings: Settings, client: redis.Redis
) -> None:
    """Task events and worker logs show a batch as its size, correlation id
    and first item (the message's argsrepr), not a repr of its documents;
    the body still carries the whole batch."""
    [batch] = _items("argsrepr", 1, 3)
    send_batch(create_app(settings), INDEX, batch)
    [raw] = client.lrange(STAGE_TASKS[INDEX][1], 0, -1)
    message = json.loads(raw)
    assert message["headers"]["argsrepr"] == batch_repr(batch)
    assert message["headers"]["argsrepr"].startswith("(<batch of 3 items, correlation argsrepr-0,")
    assert message["headers"]["kwargsrepr"] == "{}"
    args, kwargs, _ = json.loads(base64.b64decode(message["body"]))
    assert kwargs == {}
    assert Batch.model_validate(args[0]) == batch


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def test_enrich_pool_processes_load_their_models_before_any_task(
    test_env: dict[str, str], client: redis.Redis, tmp_path: Path
) -> None:
    """Each pool process of the enrich worker loads its models (spaCy,
    natasha, the gazetteer ...) as it starts, with no task sent, so no batch
    waits seconds for them; the processes stay up (they report in at once)."""
    procs = PipelineProcesses(ROOT, env=test_env, scheduler=False, concurrency={"enrich": 2})
    procs.log_dir = tmp_path
    try:
        procs.start_worker("enrich")
        assert wait_for(lambda: len(procs.pool_pids("enrich")) == 2, 60)
        pids = procs.pool_pids("enrich")
        assert wait_for(lambda: all(_rss_mb(p) > 300 for p in pids), 120), [
            _rss_mb(p) for p in pids]
        assert procs.pool_pids("enrich") == pids  # none was killed and replaced
        assert client.llen("enrich") == 0 and client.hlen("unacked") == 0
        log = (tmp_path / "enrich.log").read_text()
        assert "loading the enrich models failed" not in log
    finally:
        procs.stop()
