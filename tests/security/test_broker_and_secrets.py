"""Security checks through the real workers and the real broker.

* Celery accepts JSON only: a pickled task message whose unpickling would
  run a command is published to the real broker; the worker refuses it,
  stays alive, nothing runs, and the next batch flows.
* Redis requires a password (the shared local Redis and the rig's).
* Secrets never appear in worker logs, ``/metrics`` (workers and the
  exporter), dead-letter records, or the output of ``wirestream status``,
  ``sources list|show``, ``dlq list|show`` - after a run that made every
  kind of error happen: refused and failing authenticated sources, 429s
  from Elasticsearch, a document Elasticsearch rejects, a broker outage.

The SSRF guard through the worker is in tests/hostile/test_ssrf_through_worker.py.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import redis
from kombu import Connection, Exchange, Queue
from redis.backoff import NoBackoff
from redis.retry import Retry

from services.ingest.sources import Source, SourceAuth
from shared.dlq import DeadLetterStore
from shared.queues import TASK_ENRICH
from tests.faults._rig import ROOT, Rig, assert_promise, free_port, publish_run, rss
from tests.hostile._servers import HostileServer
from tests.security.conftest import FEED_TOKEN
from tests.unit.ingest._servers import Request
from wirestream.dev.harness import PipelineProcesses, wait_for

pytestmark = pytest.mark.timeout(600)


class _RunsCommand:
    """Unpickling this runs ``touch <path>``: what a pickle-accepting worker
    would do with an attacker's message."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.path}",))


def _log(rig: Rig, name: str) -> str:
    path = rig.work / "log" / f"{name}.log"
    return path.read_text(errors="replace") if path.exists() else ""


def test_a_pickled_message_is_refused_and_nothing_runs(
    rig: Rig, pipeline: PipelineProcesses
) -> None:
    marker = rig.work / f"pwned-{uuid.uuid4().hex}"
    assert wait_for(lambda: bool(pipeline.pool_pids("enrich")), 60, 0.2)
    pids = (pipeline.pid("enrich"), pipeline.pool_pids("enrich"))
    task_id = str(uuid.uuid4())
    body = ([_RunsCommand(marker)], {}, {"callbacks": None, "errbacks": None, "chain": None,
                                          "chord": None})
    url = f"redis://:{quote(rig.redis_server.password)}@127.0.0.1:{rig.redis_server.port}/{rig.db}"
    with Connection(url) as conn:
        conn.Producer().publish(
            body,
            exchange=Exchange("enrich"),
            routing_key="enrich",
            serializer="pickle",
            headers={"lang": "py", "task": TASK_ENRICH, "id": task_id, "root_id": task_id,
                     "parent_id": None, "group": None, "retries": 0, "argsrepr": "(...)",
                     "kwargsrepr": "{}", "origin": "attacker"},
            declare=[Queue("enrich", Exchange("enrich"), routing_key="enrich")],
        )
    assert wait_for(lambda: "untrusted content of type pickle" in _log(rig, "enrich"), 60, 0.5), (
        _log(rig, "enrich")[-3000:]
    )
    # refused on arrival: it never ran (and after a whole ordinary run below,
    # still has not)
    assert not marker.exists(), "the pickled payload ran on the worker"
    assert (pipeline.pid("enrich"), pipeline.pool_pids("enrich")) == pids
    # the worker goes on with ordinary work
    run = publish_run(rig.server, rig.registry(), "sec-after-pickle", 10)
    assert_promise(rig.settle(run, timeout=180), allow_dead=False)
    assert not marker.exists()


def test_redis_requires_a_password(rig: Rig, services: dict[str, str]) -> None:
    shared = redis.Redis.from_url(services["WIRESTREAM_REDIS__URL"])
    targets = [
        ("shared", shared.connection_pool.connection_kwargs["port"],
         services["WIRESTREAM_REDIS__PASSWORD"]),
        ("rig", rig.redis_server.port, rig.redis_server.password),
    ]
    shared.close()
    for name, port, password in targets:
        for wrong in (None, "not-the-password"):
            client = redis.Redis(host="127.0.0.1", port=port, password=wrong, socket_timeout=5,
                                 retry=Retry(NoBackoff(), 0))
            with pytest.raises((redis.AuthenticationError, redis.ResponseError)):
                client.ping()
            with pytest.raises((redis.AuthenticationError, redis.ResponseError)):
                client.keys("*")
            client.close()
        client = redis.Redis(host="127.0.0.1", port=port, password=password, socket_timeout=5)
        assert client.ping(), name
        client.close()


# ------------------------------------------------------------------ secrets
def _secrets(rig: Rig) -> dict[str, str]:
    env = {}
    for line in (ROOT / "var" / "local.env").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    found = {k: v for k, v in env.items() if "PASSWORD" in k and v}
    found["rig redis password"] = rig.redis_server.password
    found["feed token"] = FEED_TOKEN
    found["feed basic auth"] = base64.b64encode(f"reader:{FEED_TOKEN}".encode()).decode()
    for key, value in list(found.items()):
        if quote(value, safe="") != value:
            found[f"{key} (url-encoded)"] = quote(value, safe="")
    return found


def _authenticated_feeds(hostile: HostileServer) -> dict[str, tuple[str, SourceAuth]]:
    """Sources that authenticate with the token, against a server that checks it."""
    good = rss([{"guid": f"urn:sec:{i}", "title": f"Authenticated story {i}",
                 "link": f"https://news.example/sec/{i}", "summary": "Story.",
                 "date": "Fri, 20 Nov 2026 08:00:00 +0000"} for i in range(5)])

    def header_feed(req: Request) -> None:
        ok = req.headers.get("Authorization") == FEED_TOKEN
        req.reply(200 if ok else 401, good if ok else b"no", {"Content-Type":
                                                              "application/rss+xml"})

    def failing(status: int) -> Any:
        return lambda req: req.reply(status, b"server trouble")

    def to_metadata(req: Request) -> None:
        req.reply(302, b"", {"Location": "http://169.254.169.254/latest/"})

    token = SourceAuth(kind="header", secret_env="WIRESTREAM_TEST_FEED_TOKEN")
    query = SourceAuth(kind="query", name="api_key", secret_env="WIRESTREAM_TEST_FEED_TOKEN")
    basic = SourceAuth(kind="basic", username="reader", secret_env="WIRESTREAM_TEST_FEED_TOKEN")
    return {
        "sec-header": (hostile.route("/sec/header.rss", header_feed), token),
        "sec-query-500": (hostile.route("/sec/q500.rss", failing(500)), query),
        "sec-query-404": (hostile.route("/sec/q404.rss", failing(404)), query),
        "sec-basic-401": (hostile.route("/sec/b401.rss", failing(401)), basic),
        "sec-query-ssrf": (hostile.route("/sec/ssrf.rss", to_metadata), query),
    }


def _cli(rig: Rig, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "wirestream.cli", *args], cwd=ROOT, env={**os.environ, **rig.env,
                                                                   "COLUMNS": "300"},
        capture_output=True, text=True, timeout=120, check=False,
    )
    return f"$ wirestream {' '.join(args)} -> {result.returncode}\n{result.stdout}{result.stderr}"


def test_no_secret_in_logs_metrics_dead_letters_or_cli_output(
    rig: Rig, pipeline: PipelineProcesses
) -> None:
    registry = rig.registry()
    with HostileServer() as hostile:
        sources = _authenticated_feeds(hostile)
        for source_id, (url, auth) in sources.items():
            registry.put(Source(id=source_id, url=url, type="rss", auth=auth,
                                min_interval=5, max_interval=10), due=0.0)
        # a document Elasticsearch refuses: a dead letter with a payload
        bad = json.dumps([{"uri": "urn:sec:map", "type": "text", "headline": "Out of range",
                           "versioncreated": "2026-11-20T08:00:00Z", "urgency": 10**11}])
        registry.put(Source(id="sec-mapping", url=hostile.serve(
            "/sec/map.json", bad.encode(), "application/json"), type="ninjs",
            auth=SourceAuth(kind="header", name="X-Api-Key",
                            secret_env="WIRESTREAM_TEST_FEED_TOKEN"),
            min_interval=600, max_interval=3600), due=0.0)
        rig.proxy.reject_share = 0.2  # Elasticsearch pushes back: error lines in the logs
        try:
            run = publish_run(rig.server, registry, "sec-load", 100)
            assert wait_for(lambda: all(registry.state(s).last_poll for s in sources), 60, 0.5)
            # the broker goes away for a moment: connection errors in every log
            rig.redis_server.kill()
            time.sleep(3)  # the outage's length, not a wait for a condition
            rig.redis_server.start()
            assert_promise(rig.settle(run, timeout=240), allow_dead=False)
            client = rig.redis()
            assert wait_for(lambda: any(True for _ in DeadLetterStore(client).iter(
                source="sec-mapping")), 120, 1.0), "no dead letter for the rejected document"
        finally:
            rig.proxy.reject_share = 0.0
        states = {s: registry.state(s) for s in sources}
    assert states["sec-header"].last_success and states["sec-header"].last_error is None
    for source_id in ("sec-query-500", "sec-query-404", "sec-basic-401", "sec-query-ssrf"):
        assert states[source_id].last_error, f"{source_id} recorded no error"

    outputs: dict[str, str] = {}
    for path in sorted((rig.work / "log").glob("*.log")):
        outputs[f"log {path.name}"] = path.read_text(errors="replace")
    for stage, port in pipeline.metrics_ports.items():
        outputs[f"/metrics {stage}"] = httpx.get(f"http://127.0.0.1:{port}/metrics",
                                                 timeout=10).text
    outputs["/metrics exporter"] = _exporter_metrics(rig)
    entries = list(DeadLetterStore(client).iter())
    client.close()
    assert entries, "the run produced no dead letter to inspect"
    outputs["dead letters"] = "\n".join(e.model_dump_json() for e in entries)
    for args in (["status"], ["status", "--json"], ["sources", "list"], ["dlq", "list"],
                 *(["sources", "show", s] for s in [*sources, "sec-mapping"]),
                 *(["dlq", "show", e.id] for e in entries[:10])):
        outputs[" ".join(args)] = _cli(rig, *args)
    assert "sec-query-500" in outputs["sources show sec-query-500"]
    assert "WIRESTREAM_TEST_FEED_TOKEN" in outputs["sources show sec-header"]  # by reference

    # the outputs are the ones that matter: errors of every kind were logged
    logs = "".join(v for k, v in outputs.items() if k.startswith("log "))
    for expected in ("http_401", "http_404", "ssrf_blocked", "es_rejected", "429"):
        assert expected in logs + outputs["dead letters"], f"no {expected} anywhere"
    assert "Cannot connect to redis" in logs or "Connection refused" in logs
    assert "es_rejected" in outputs["dlq list"]
    secrets_in_use = _secrets(rig)
    env_text = (ROOT / "var" / "local.env").read_text()
    assert all(v in env_text for k, v in secrets_in_use.items() if "PASSWORD" in k
               and "url-encoded" not in k)  # the grep below would see them
    leaks = [f"{name} in {where}" for where, text in outputs.items()
             for name, secret in secrets_in_use.items() if secret and secret in text]
    assert leaks == [], f"secrets leaked: {leaks}"


def _exporter_metrics(rig: Rig) -> str:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "wirestream.cli", "exporter", "--port", str(port),
         "--addr", "127.0.0.1"],
        cwd=ROOT, env={**os.environ, **rig.env}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        text = ""

        def scraped() -> bool:
            nonlocal text
            try:
                text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
            except httpx.HTTPError:
                return False
            return "wirestream_" in text

        assert wait_for(scraped, 60, 0.5), "the exporter never answered"
        return text
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        output = proc.communicate(timeout=30)[0].decode(errors="replace")
        text += "\n" + output
