"""Observability of a real run: the three workers, the scheduler and the
exporter as real processes, scraped by a real Prometheus (Debian package
``prometheus``) on loopback with the repository's alert rules.

One pipeline run for the module: a feed of English stories, a feed in
Spanish, a source that answers 404, and one malformed message (a dead
letter). Then: Prometheus scrapes every target, loads and evaluates every
alert rule, and the PromQL of the dashboard's panels returns the expected
series; every metric a panel or rule names is in a live /metrics; ``status``
and the health checks see the live processes; one correlation id runs
through the logs of all three workers.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from elasticsearch import Elasticsearch

from services.ingest.adapters.source_registry import SourceRegistry
from services.ingest.sources import Source
from shared.celery_app import create_app
from shared.queues import QUEUES, STAGE_TASKS
from shared.runtime import redis_client
from shared.settings import Settings
from tests.unit.test_compose import (
    alert_rules,
    dashboard_queries,
    dashboards,
    declared_metric_names,
    exposed_names,
    promql_metric_names,
)
from wirestream.dev.harness import FeedServer, PipelineProcesses, wait_for

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = shutil.which("prometheus")
pytestmark = pytest.mark.skipif(
    PROMETHEUS is None,
    reason="the prometheus binary is not installed (Debian package prometheus; "
    "scripts/bootstrap.sh installs it)",
)

WIRE, SPANISH, BROKEN = "ops-wire", "ops-es", "ops-broken"

# Metrics only failures produce (no run of a healthy pipeline shows them);
# the dashboard and the rules may name them as long as shared/metrics.py
# declares them.
ERROR_PATH_METRICS = {
    "wirestream_es_errors_total",
    "wirestream_task_retries_total",
    "wirestream_enrich_step_failures_total",
    "wirestream_translator_errors_total",
}


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss(items: list[tuple[str, str, str]], language: str) -> bytes:
    now = datetime.now(UTC)
    entries = "".join(
        f"<item><title>{title}</title><link>https://news.example/{guid}</link>"
        f'<guid isPermaLink="false">urn:ops:{guid}</guid><description>{summary}</description>'
        f"<pubDate>{format_datetime(now - timedelta(minutes=10 + n))}</pubDate></item>"
        for n, (guid, title, summary) in enumerate(items)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Ops wire</title><link>https://news.example/</link><description>t</description>"
        f"<language>{language}</language>{entries}</channel></rss>"
    ).encode()


ENGLISH = [
    (
        f"en-{n}",
        f"Harbour workers strike in port city number {n}",
        f"Dock workers in city {n} walked out on Monday over pay, halting container traffic.",
    )
    for n in range(3)
]
LATE = (
    "en-late",
    "Port reopens after the harbour strike ends",
    "Ships returned to the container terminal on Tuesday after talks ended the strike.",
)
SPANISH_ITEMS = [
    (
        "es-1",
        "Los trabajadores del puerto de Valencia inician una huelga",
        "Los estibadores del puerto de Valencia dejaron de trabajar el lunes por los salarios.",
    )
]


@dataclass
class Stack:
    procs: PipelineProcesses
    exporter_port: int
    prometheus: str
    log_dir: Path
    env: dict[str, str]


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            args,
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _prometheus_config(procs: PipelineProcesses, exporter_port: int) -> dict[str, Any]:
    return {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(ROOT / "deploy" / "prometheus" / "alerts.yml")],
        "scrape_configs": [
            {
                "job_name": "wirestream-workers",
                "static_configs": [
                    {"targets": [f"127.0.0.1:{port}"], "labels": {"service": stage}}
                    for stage, port in procs.metrics_ports.items()
                ],
            },
            {
                "job_name": "wirestream-exporter",
                "scrape_interval": "2s",
                "scrape_timeout": "2s",
                "static_configs": [{"targets": [f"127.0.0.1:{exporter_port}"]}],
            },
        ],
    }


def query(prometheus: str, promql: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{prometheus}/api/v1/query", params={"query": promql}, timeout=30)
    body = response.json()
    assert body["status"] == "success", f"{promql}: {body}"
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def _docs(settings: Settings, es_admin: Elasticsearch, source: str) -> list[dict[str, Any]]:
    es_admin.indices.refresh(index=f"{settings.es.index_prefix}-*")
    hits = es_admin.search(
        index=f"{settings.es.index_prefix}-*", size=50, query={"term": {"source": source}}
    )["hits"]["hits"]
    return [h["_source"] for h in hits]


@pytest.fixture(scope="module")
def stack(
    settings: Settings,
    index_ready: str,
    test_env: dict[str, str],
    es_admin: Elasticsearch,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    assert PROMETHEUS is not None
    tmp = tmp_path_factory.mktemp("ops-stack")
    client = redis_client(settings)
    # This session's database, emptied: sources, dead letters or queued
    # messages left by earlier modules would show in the numbers below.
    client.flushdb()
    with FeedServer() as feeds:
        wire_url = feeds.publish("/wire.rss", rss(ENGLISH, "en"))
        spanish_url = feeds.publish("/es.rss", rss(SPANISH_ITEMS, "es"))
        broken_url = feeds.base_url + "/gone.rss"  # 404

        procs = PipelineProcesses(ROOT, env=test_env)
        procs.log_dir = tmp / "logs"
        exporter_port = _free_port()
        prom_port = _free_port()
        started: list[subprocess.Popen[bytes]] = []
        try:
            procs.start()
            started.append(
                _spawn(
                    [
                        sys.executable,
                        "-m",
                        "wirestream.cli",
                        "exporter",
                        "--addr",
                        "127.0.0.1",
                        "--port",
                        str(exporter_port),
                    ],
                    test_env,
                    tmp / "exporter.log",
                )
            )
            config = tmp / "prometheus.yml"
            config.write_text(yaml.safe_dump(_prometheus_config(procs, exporter_port)))
            prometheus = f"http://127.0.0.1:{prom_port}"
            started.append(
                _spawn(
                    [
                        PROMETHEUS,
                        f"--config.file={config}",
                        f"--storage.tsdb.path={tmp / 'tsdb'}",
                        f"--web.listen-address=127.0.0.1:{prom_port}",
                        "--log.level=warn",
                    ],
                    {},
                    tmp / "prometheus.log",
                )
            )

            def targets_up() -> bool:
                try:
                    active = httpx.get(f"{prometheus}/api/v1/targets", timeout=5).json()
                except (httpx.HTTPError, ValueError):
                    return False
                health = [t["health"] for t in active["data"]["activeTargets"]]
                return len(health) == 4 and set(health) == {"up"}

            assert wait_for(targets_up, 120), (tmp / "prometheus.log").read_text()[-2000:]

            # Only now does work start, so the rates Prometheus sees are real.
            registry = SourceRegistry(client)
            for source_id, url, language in (
                (WIRE, wire_url, "en"),
                (SPANISH, spanish_url, "es"),
                (BROKEN, broken_url, "en"),
            ):
                registry.put(
                    Source(
                        id=source_id,
                        url=url,
                        type="rss",
                        language=language,
                        min_interval=5,
                        max_interval=5,
                    ),
                    due=0.0,
                )
            assert wait_for(
                lambda: (
                    len(_docs(settings, es_admin, WIRE)) == len(ENGLISH)
                    and len(_docs(settings, es_admin, SPANISH)) == len(SPANISH_ITEMS)
                ),
                240,
            ), f"not indexed; alive: {procs.alive()}"
            # A series counts from its second sample: once Prometheus holds
            # the first counts, a second round (every English story changed)
            # gives the rates and quantiles of every stage something to show.
            assert wait_for(
                lambda: (
                    len(query(prometheus, "wirestream_stage_duration_seconds_count")) == 3
                    and bool(query(prometheus, "wirestream_end_to_end_latency_seconds_count"))
                ),
                120,
            )
            # (and one new story: published latency counts first versions).
            feeds.publish(
                "/wire.rss",
                rss([(g, f"{t} (updated)", text) for g, t, text in ENGLISH] + [LATE], "en"),
            )
            feeds.publish(
                "/es.rss",
                rss([(g, f"{t}: segunda jornada", text) for g, t, text in SPANISH_ITEMS], "es"),
            )

            def second_round() -> bool:
                wire = sorted(d["version"] for d in _docs(settings, es_admin, WIRE))
                spanish = {d["version"] for d in _docs(settings, es_admin, SPANISH)}
                return wire == [1] + [2] * len(ENGLISH) and spanish == {2}

            assert wait_for(second_round, 240), f"not indexed; alive: {procs.alive()}"
            # One malformed message: a dead letter of the enrich stage.
            app = create_app(settings)
            task, queue = STAGE_TASKS["enrich"]
            app.send_task(task, args=[{"items": "not a list"}], queue=queue)
            assert wait_for(lambda: client.zcard("wirestream:dlq:by_time") >= 1, 60)
            # ... and until Prometheus has seen all of it.
            assert wait_for(
                lambda: (
                    bool(query(prometheus, "wirestream_dead_letters > 0"))
                    and bool(query(prometheus, 'wirestream_dead_letters_total{stage="enrich"}'))
                    and bool(
                        query(prometheus, 'wirestream_poll_failures_total{source="ops-broken"}')
                    )
                ),
                120,
            )
            yield Stack(procs, exporter_port, prometheus, procs.log_dir, test_env)
        finally:
            for proc in reversed(started):
                _stop(proc)
            procs.stop()
            client.close()


# --------------------------------------------------------------- Prometheus
def test_prometheus_scrapes_every_worker_and_the_exporter(stack: Stack) -> None:
    up = {
        (r["metric"]["job"], r["metric"].get("service", "")): float(r["value"][1])
        for r in query(stack.prometheus, "up")
    }
    assert up == {
        ("wirestream-workers", "ingest"): 1.0,
        ("wirestream-workers", "enrich"): 1.0,
        ("wirestream-workers", "index"): 1.0,
        ("wirestream-exporter", ""): 1.0,
    }


def test_alert_rules_load_and_evaluate_on_live_data(stack: Stack) -> None:
    expected = set(alert_rules())

    def loaded() -> dict[str, str]:
        groups = httpx.get(f"{stack.prometheus}/api/v1/rules", timeout=10).json()["data"]
        return {
            rule["name"]: rule["health"]
            for group in groups["groups"]
            for rule in group["rules"]
            if rule["type"] == "alerting"
        }

    assert set(loaded()) == expected
    assert wait_for(lambda: set(loaded().values()) == {"ok"}, 60), loaded()
    # The malformed message made the dead-letter store grow: that alert is
    # pending (it fires after its `for`), and nothing critical is active.
    assert wait_for(
        lambda: bool(query(stack.prometheus, 'ALERTS{alertname="WirestreamDeadLettersGrowing"}')),
        60,
    )
    critical = query(stack.prometheus, 'ALERTS{severity="critical"}')
    assert critical == [], critical


def _panel_promql(expr: str) -> str:
    # Grafana's variables, as the dashboard would send them for "All" over
    # the last few minutes.
    return expr.replace("$__rate_interval", "5m").replace("$source", ".*")


def _values(result: list[dict[str, Any]]) -> list[float]:
    return [float(r["value"][1]) for r in result]


# panel title -> (label, values that label must show); None: just not empty.
# (The "seconds since" columns of a source that never succeeded are empty.)
EXPECTED_SERIES: dict[str, tuple[str, set[str]] | None] = {
    "Workers up, per stage": ("service", {"ingest", "enrich", "index", "scheduler"}),
    "Services": ("service", {"redis", "elasticsearch", "translator", "ner"}),
    "Indexed, last hour": None,
    "Waiting in queues": ("queue", set(QUEUES)),
    "Dead letters": None,
    "Ingest: items by outcome": ("outcome", {"new"}),
    "Polls by status": ("status", {"ok", "failed"}),
    "Poll failures by source and reason": ("source", {BROKEN}),
    "Ingest task duration": None,
    "Items fetched per poll": ("source", {WIRE, SPANISH}),
    "Source health": ("source", {WIRE, SPANISH, BROKEN}),
    "Enrich: items enriched": ("source", {WIRE, SPANISH}),
    "Enrich task duration": None,
    "Translator request latency": ("backend", {"apertium"}),
    "Index: items by outcome": ("outcome", {"indexed"}),
    "Index task duration": None,
    "Elasticsearch request latency": ("operation", {"bulk"}),
    "End-to-end latency, published → searchable": None,
    "End-to-end latency, fetched → searchable": None,
    "Queue depth": ("queue", set(QUEUES)),
    "Dead-letter store": None,
    "Dead letters by stage and reason": ("stage", {"enrich"}),
}


def test_dashboard_panels_return_their_series(stack: Stack) -> None:
    panels: dict[str, list[str]] = {}
    for title, expr in dashboard_queries(dashboards()["wirestream-overview.json"]):
        panels.setdefault(title, []).append(expr)
    assert set(EXPECTED_SERIES) <= set(panels), set(EXPECTED_SERIES) - set(panels)
    for title, exprs in panels.items():
        seen: list[dict[str, Any]] = []
        for expr in exprs:
            result = query(stack.prometheus, _panel_promql(expr))  # every query is valid
            if title not in EXPECTED_SERIES:
                continue  # a panel of failures this run does not produce
            assert result, f"{title}: no series for {expr}"
            if "histogram_quantile" in expr:
                assert any(math.isfinite(v) and v >= 0 for v in _values(result)), (expr, result)
            seen += result
        expected = EXPECTED_SERIES.get(title)
        if expected is not None:
            label, values = expected
            found = {r["metric"].get(label) for r in seen}
            assert values <= found, f"{title}: {label} {sorted(values - found)} missing"
    indexed = _values(
        query(
            stack.prometheus,
            _panel_promql(
                'sum(increase(wirestream_items_total{stage="index", outcome="indexed"}[1h]))'
            ),
        )
    )
    assert indexed and indexed[0] >= len(ENGLISH) - 0.5  # at least the second round
    assert _values(query(stack.prometheus, "max(wirestream_dead_letters)")) == [1.0]


def test_every_metric_a_panel_or_rule_names_is_exported_live(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    live: set[str] = set()
    for port in stack.procs.metrics_ports.values():
        live |= exposed_names(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text)
    live |= exposed_names(
        httpx.get(f"http://127.0.0.1:{stack.exporter_port}/metrics", timeout=30).text
    )
    referenced: set[str] = set()
    for _, expr in dashboard_queries(dashboards()["wirestream-overview.json"]):
        referenced |= promql_metric_names(expr)
    for rule in alert_rules().values():
        referenced |= promql_metric_names(rule["expr"])
    referenced.discard("up")
    not_live = referenced - live
    error_path = not_live & ERROR_PATH_METRICS
    assert not_live - error_path == set(), f"named but not exported live: {not_live - error_path}"
    declared = declared_metric_names(monkeypatch)
    assert error_path <= declared, f"not declared in shared/metrics.py: {error_path - declared}"


def test_each_worker_exports_its_process_tree_and_last_task(stack: Stack) -> None:
    import time as _time

    for stage, port in stack.procs.metrics_ports.items():
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        values = {line.split()[0]: float(line.split()[1]) for line in text.splitlines()
                  if line.startswith("wirestream_worker_") and "{" in line}
        labels = f'{{stage="{stage}"}}'
        # the main process and its pool child, each with memory and files
        assert values[f"wirestream_worker_processes{labels}"] >= 2, text
        assert values[f"wirestream_worker_resident_memory_max_bytes{labels}"] > 10 << 20
        assert values[f"wirestream_worker_resident_memory_bytes{labels}"] >= values[
            f"wirestream_worker_resident_memory_max_bytes{labels}"]
        assert values[f"wirestream_worker_open_fds{labels}"] > 3
        assert values[f"wirestream_worker_cpu_seconds_total{labels}"] > 0
        # set at start and by every finished task: never in the future, never 0
        last = values[f"wirestream_worker_last_task_seconds{labels}"]
        assert 0 < last <= _time.time()


# ------------------------------------------------------------ CLI and logs
def _cli(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wirestream.cli", *args],
        cwd=ROOT,
        env={**os.environ, **stack.env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_status_shows_the_live_pipeline(stack: Stack) -> None:
    result = _cli(stack, "status", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    state = json.loads(result.stdout)
    assert state["healthy"] is True and state["problems"] == []
    assert state["services"] == {"redis": True, "elasticsearch": True, "translator": True,
                                 "ner": True}
    for stage in QUEUES:
        assert [w.split("@")[0] for w in state["workers"][stage]] == [stage]
        assert state["queues"][stage] >= 0
    assert state["dead_letters"] == 1 and state["dead_letters_oldest_age"] >= 0
    total = len(ENGLISH) + len(SPANISH_ITEMS)
    assert state["items_last_hour"]["ingest"] >= total
    assert state["items_last_hour"]["enrich"] >= total
    assert state["items_last_hour"]["index"] >= total
    assert [s["id"] for s in state["failing_sources"]] == [BROKEN]
    assert state["schedulers_alive"] == 1 and len(state["schedulers"]) == 1
    assert state["failing_sources"][0]["last_error"].startswith("http_404")

    table = _cli(stack, "status")
    assert table.returncode == 0, table.stderr
    for text in (
        "services",
        "elasticsearch",
        "pipeline",
        "dead letters: 1",
        "schedulers alive: 1",
        "sources needing attention",
        BROKEN,
    ):
        assert text in table.stdout, text


def test_health_checks_answer_for_live_processes(stack: Stack) -> None:
    for stage in QUEUES:
        result = _cli(stack, "health", "worker", stage)
        assert result.returncode == 0, result.stdout + result.stderr
    scheduler = _cli(stack, "health", "scheduler", "--max-age", "30")
    assert scheduler.returncode == 0, scheduler.stdout + scheduler.stderr
    ok = _cli(
        stack, "health", "exporter", "--url", f"http://127.0.0.1:{stack.exporter_port}/metrics"
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    wrong = _cli(
        stack,
        "health",
        "exporter",
        "--url",
        f"http://127.0.0.1:{_free_port()}/metrics",
        "--timeout",
        "2",
    )
    assert wrong.returncode == 1


def _json_lines(path: Path) -> list[dict[str, Any]]:
    lines = []
    for raw in path.read_text(errors="replace").splitlines():
        if raw.startswith("{"):
            lines.append(json.loads(raw))
    return lines


def test_one_correlation_id_runs_through_the_three_workers_logs(
    stack: Stack, settings: Settings, es_admin: Elasticsearch
) -> None:
    doc = _docs(settings, es_admin, WIRE)[0]
    correlation = doc["correlation_id"]
    assert correlation
    for stage in QUEUES:
        lines = [
            line
            for line in _json_lines(stack.log_dir / f"{stage}.log")
            if line.get("correlation_id") == correlation
        ]
        assert lines, f"{stage}.log has no line with correlation_id {correlation}"
        assert {line.get("stage") for line in lines} == {stage}
        assert {line.get("source") for line in lines} == {WIRE}
        assert all(line.get("task_id") for line in lines)


def test_the_exporter_says_when_the_ner_server_does_not_answer(settings: Settings,
                                                                redis_db: Any) -> None:
    from tests.faults._rig import free_port
    from wirestream.ops.exporter import collect_state

    assert collect_state(settings, redis_db).services["ner"] is True
    closed = settings.model_copy(update={"ner": settings.ner.model_copy(
        update={"corenlp_url": f"http://127.0.0.1:{free_port()}"})})
    state = collect_state(closed, redis_db)
    assert state.services["ner"] is False
    assert state.services["redis"] is True  # the rest is read as before
