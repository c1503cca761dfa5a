"""An alert reaches people: a real Redis made full, the real exporter, a
real Prometheus (Debian ``prometheus``) with the repository's rules and a
real Alertmanager (Debian ``prometheus-alertmanager``) with the
repository's routes, all on loopback; the critical
WirestreamRedisRefusingWrites arrives at the ``oncall`` receiver's webhook
(a loopback HTTP server standing in for a pager relay), with its runbook
URL. Only the receivers' URLs are changed from the deployed files."""

from __future__ import annotations

import json
import shutil
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import yaml

from shared.settings import Settings
from tests.integration.test_ops_observability import _free_port, _spawn, _stop, query
from wirestream.dev.harness import wait_for

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = shutil.which("prometheus")
ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
pytestmark = pytest.mark.skipif(
    PROMETHEUS is None or ALERTMANAGER is None,
    reason="prometheus or alertmanager is not installed (Debian packages prometheus, "
    "prometheus-alertmanager; scripts/bootstrap.sh installs them)",
)
RUNBOOKS = "https://docs.example.test/wirestream"


class Webhook:
    """A loopback HTTP server that keeps every JSON body POSTed to it, by path."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.append((self.path, json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def alerts(self, path: str, name: str) -> list[dict[str, Any]]:
        return [a for p, body in list(self.received) if p == path for a in body["alerts"]
                if a["labels"].get("alertname") == name]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _alertmanager_config(webhook: Webhook) -> dict[str, Any]:
    """The deployed routes, with the receivers pointed at the test's webhook."""
    config: dict[str, Any] = yaml.safe_load(
        (ROOT / "deploy" / "alertmanager" / "alertmanager.yml").read_text())
    for receiver in config["receivers"]:
        for hook in receiver["webhook_configs"]:
            hook["url"] = f"{webhook.url}/{receiver['name']}"
    return config


def _prometheus_config(exporter_port: int, alertmanager_port: int) -> dict[str, Any]:
    deployed = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    return {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s",
                   "external_labels": {**deployed["global"]["external_labels"],
                                       "runbook_base": RUNBOOKS}},
        "rule_files": [str(ROOT / "deploy" / "prometheus" / "alerts.yml")],
        "alerting": {"alertmanagers": [
            {"static_configs": [{"targets": [f"127.0.0.1:{alertmanager_port}"]}]}]},
        "scrape_configs": [{
            "job_name": "wirestream-exporter",
            "scrape_interval": "1s",
            "scrape_timeout": "1s",
            "static_configs": [{"targets": [f"127.0.0.1:{exporter_port}"]}],
        }],
    }


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.close()


def _refuse_a_write(client: redis.Redis) -> None:
    """One write refused as a full Redis refuses it (noeviction at maxmemory)."""
    saved = client.config_get("maxmemory")["maxmemory"]
    client.config_set("maxmemory", 1)
    try:
        with pytest.raises(redis.exceptions.OutOfMemoryError):
            client.rpush("wirestream:test:oom", b"x")
    finally:
        client.config_set("maxmemory", saved)


def test_a_firing_critical_alert_reaches_the_oncall_receiver(
    settings: Settings, redis_db: redis.Redis, test_env: dict[str, str], webhook: Webhook,
    tmp_path: Path,
) -> None:
    assert PROMETHEUS is not None and ALERTMANAGER is not None
    exporter_port, prom_port, am_port = _free_port(), _free_port(), _free_port()
    (tmp_path / "alertmanager.yml").write_text(yaml.safe_dump(_alertmanager_config(webhook)))
    (tmp_path / "prometheus.yml").write_text(
        yaml.safe_dump(_prometheus_config(exporter_port, am_port)))
    prometheus = f"http://127.0.0.1:{prom_port}"
    started = [
        _spawn([ALERTMANAGER, f"--config.file={tmp_path / 'alertmanager.yml'}",
                f"--storage.path={tmp_path / 'am-data'}",
                f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address=",
                "--log.level=warn"], {}, tmp_path / "alertmanager.log"),
        _spawn([sys.executable, "-m", "wirestream.cli", "exporter", "--addr", "127.0.0.1",
                "--port", str(exporter_port)], test_env, tmp_path / "exporter.log"),
        _spawn([PROMETHEUS, f"--config.file={tmp_path / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{prom_port}", "--log.level=warn"], {},
               tmp_path / "prometheus.log"),
    ]
    try:
        def ready() -> bool:
            try:
                targets = httpx.get(f"{prometheus}/api/v1/targets", timeout=5).json()
                managers = httpx.get(f"{prometheus}/api/v1/alertmanagers", timeout=5).json()
            except (httpx.HTTPError, ValueError):
                return False
            return ([t["health"] for t in targets["data"]["activeTargets"]] == ["up"]
                    and len(managers["data"]["activeAlertmanagers"]) == 1)

        assert wait_for(ready, 90), (tmp_path / "prometheus.log").read_text()[-2000:]
        # the counter of refused writes must exist before it can rise
        _refuse_a_write(redis_db)
        assert wait_for(lambda: bool(query(
            prometheus, 'wirestream_redis_errors_total{error="OOM"}')), 60)
        _refuse_a_write(redis_db)

        def delivered() -> list[dict[str, Any]]:
            return webhook.alerts("/oncall", "WirestreamRedisRefusingWrites")

        assert wait_for(lambda: bool(delivered()), 90), (
            webhook.received, (tmp_path / "alertmanager.log").read_text()[-2000:])
    finally:
        for proc in reversed(started):
            _stop(proc)
    [alert] = delivered()[:1]
    assert alert["status"] == "firing"
    assert alert["labels"]["severity"] == "critical"
    assert alert["annotations"]["runbook_url"] == (
        f"{RUNBOOKS}/operations.md#wirestreamredisrefusingwrites")
    assert alert["annotations"]["summary"] == "Redis refuses writes: it is full"
    # routed by severity: nothing critical went to the team's receiver
    assert webhook.alerts("/team", "WirestreamRedisRefusingWrites") == []
