"""HTTPS of Elasticsearch as docker-compose.yml sets it up, on a real node:
the certificates made by deploy/elasticsearch/make-certs.sh (the script
es-config runs) with the real elasticsearch-certutil of the local
integ-test-zip, the node configured with compose's very
``xpack.security.http.ssl.*`` settings, and the pipeline's client
(shared.runtime.es_client) trusting the CA as the application containers do
(``WIRESTREAM_ES__CA_CERTS``). A client without the CA, or speaking plain
HTTP, gets nothing. The node is a second, throwaway one (its own
directories and ports) started for this test; it takes about half a minute."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from elasticsearch import ConnectionError as EsConnectionError
from elasticsearch import Elasticsearch

from shared.runtime import es_client
from shared.settings import Settings
from tests.faults._rig import free_port
from wirestream.dev.harness import wait_for
from wirestream.dev.local_services import RUN_USER, LocalServices

ROOT = Path(__file__).resolve().parents[2]
USER, PASSWORD = "wirestream_writer", "tls-test-writer-1"


def _compose_tls_settings() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "docker-compose.yml").read_text())[
        "services"]["elasticsearch"]["environment"]
    return {k: str(v) for k, v in env.items() if k.startswith("xpack.security.http.ssl.")}


@pytest.fixture(scope="module")
def tls_node(services: dict[str, str]) -> Iterator[tuple[str, Path]]:
    local = LocalServices(ROOT, echo=lambda _: None)
    java = local.find_java()
    base = ROOT / "var" / "tls-test" / str(os.getpid())
    shutil.rmtree(base, ignore_errors=True)
    conf = base / "config"
    shutil.copytree(local.es_home / "config", conf)
    env = {**os.environ, "ES_HOME": str(local.es_home), "ES_JAVA_HOME": str(java),
           "ES_PATH_CONF": str(conf)}
    env.pop("JAVA_HOME", None)
    subprocess.run(["bash", str(ROOT / "deploy" / "elasticsearch" / "make-certs.sh"),
                    str(conf / "certs")], env=env, check=True, capture_output=True)
    port = free_port()
    tls = _compose_tls_settings()
    assert tls["xpack.security.http.ssl.enabled"] == "true"
    (conf / "elasticsearch.yml").write_text("\n".join([
        "cluster.name: wirestream-tls-test", "node.name: tls-1",
        f"path.data: {base / 'data'}", f"path.logs: {base / 'logs'}",
        "network.host: 127.0.0.1", f"http.port: {port}", f"transport.port: {free_port()}",
        "discovery.type: single-node", "xpack.security.enabled: true",
        "xpack.security.transport.ssl.enabled: false",
        "cluster.routing.allocation.disk.threshold_enabled: false",
        *(f"{key}: {value}" for key, value in tls.items()), ""]))
    subprocess.run([str(local.es_home / "bin" / "elasticsearch-users"), "useradd", USER,
                    "-p", PASSWORD, "-r", "superuser"], env=env, check=True,
                   capture_output=True)
    prefix: list[str] = []
    if os.geteuid() == 0:  # Elasticsearch refuses to run as root
        local._chown_for_run_user()
        subprocess.run(["chown", "-R", f"{RUN_USER}:", str(base)], check=True)
        prefix = ["runuser", "-u", RUN_USER, "--"]
    log = (base / "startup.log").open("wb")
    node = subprocess.Popen([*prefix, str(local.es_home / "bin" / "elasticsearch")],
                            env={**env, "ES_JAVA_OPTS": "-Xms512m -Xmx512m"},
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    ca = conf / "certs" / "ca" / "ca.crt"
    url = f"https://127.0.0.1:{port}"

    trust = ssl.create_default_context(cafile=str(ca))

    def up() -> bool:
        try:
            return httpx.get(f"{url}/_cluster/health", auth=(USER, PASSWORD), verify=trust,
                             timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        assert wait_for(lambda: up() or node.poll() is not None, 180, 0.5) and up(), (
            (base / "startup.log").read_text(errors="replace")[-3000:])
        yield url, ca
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(node.pid, signal.SIGTERM)
        node.wait(60)
        log.close()
        shutil.rmtree(base, ignore_errors=True)


def _settings(url: str, ca: Path | None) -> Settings:
    es: dict[str, object] = {"url": url, "username": USER, "password": PASSWORD}
    if ca is not None:
        es["ca_certs"] = str(ca)
    return Settings(es=es)


def test_the_pipeline_client_trusts_the_ca_es_config_made(tls_node: tuple[str, Path]) -> None:
    url, ca = tls_node
    client = es_client(_settings(url, ca))
    try:
        health = client.cluster.health()
        assert health["status"] in ("green", "yellow")
        client.indices.create(index="tls-probe")
        client.index(index="tls-probe", id="1", document={"headline": "over TLS"},
                     refresh=True)
        assert client.get(index="tls-probe", id="1")["_source"] == {"headline": "over TLS"}
    finally:
        client.close()


def test_without_the_ca_or_over_plain_http_nothing_is_read(tls_node: tuple[str, Path]) -> None:
    url, _ = tls_node
    untrusting: Elasticsearch = es_client(_settings(url, None))
    try:
        with pytest.raises(EsConnectionError, match=r"(?i)certificate|ssl|tls"):
            untrusting.cluster.health()
    finally:
        untrusting.close()
    with pytest.raises(httpx.HTTPError):
        httpx.get(url.replace("https://", "http://") + "/", auth=(USER, PASSWORD), timeout=5)
