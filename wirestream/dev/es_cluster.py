"""A local Elasticsearch cluster of several nodes, for the cluster tests and
for trying a replica, a moving shard or a node that leaves.

The nodes run from the same integ-test-zip as the single local node
(:class:`wirestream.dev.local_services.LocalServices` installs it), on
loopback ports of their own: node ``i`` (from 1) listens for HTTP on
``base + i - 1`` and for the transport on ``base + 100 + i - 1``, where
``base`` is ``WIRESTREAM_LOCAL_ES_CLUSTER_PORT`` (19201 by default). Each has
its own configuration directory - a copy of the single node's (the same
keystore, so the same ``elastic`` password; the same file-realm users and
roles) with its own ``elasticsearch.yml`` - and its own data directory,
under ``var/es-cluster/`` (or the ``root`` given). Security is on, as on the
single node; the transport stays plain because every node binds to
loopback (compose's cluster profile, whose nodes talk over a network, runs
the transport over TLS).

``wirestream services es-cluster up`` starts it and writes
``var/es-cluster/cluster.env``: the settings that point the pipeline at all
its nodes (``WIRESTREAM_ES__URL`` lists them, comma-separated).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from wirestream.dev.local_services import (
    RUN_USER,
    LocalServices,
    _pid_alive,
    _read_pid,
    _wait,
    kill_pid,
)

__all__ = ["DEFAULT_BASE_PORT", "EsCluster", "NodeState"]

DEFAULT_BASE_PORT = 19201
CLUSTER_NAME = "wirestream-cluster"


@dataclass(frozen=True)
class NodeState:
    name: str
    url: str
    pid: int | None
    running: bool


class EsCluster:
    """``nodes`` Elasticsearch nodes on loopback, started and stopped by
    process (:meth:`kill` is SIGKILL: a node that dies, not one that
    leaves politely)."""

    def __init__(self, services: LocalServices, *, nodes: int = 3,
                 root: Path | None = None, base_port: int | None = None,
                 heap: str | None = None, echo: Callable[[str], None] = print) -> None:
        if nodes < 1:
            raise ValueError("a cluster needs at least one node")
        self.services = services
        self.nodes = nodes
        self.root = root or services.var / "es-cluster"
        self.base_port = base_port or int(os.environ.get("WIRESTREAM_LOCAL_ES_CLUSTER_PORT",
                                                         DEFAULT_BASE_PORT))
        # Three nodes share the machine with everything else.
        self.heap = heap or os.environ.get("WIRESTREAM_LOCAL_ES_CLUSTER_HEAP", "768m")
        self.echo = echo
        # the launchers this object started (runuser or the node itself), reaped
        # when their node stops
        self._launched: dict[int, subprocess.Popen[bytes]] = {}

    # ------------------------------------------------------------ addresses
    def name(self, node: int) -> str:
        return f"node-{node}"

    def http_port(self, node: int) -> int:
        return self.base_port + node - 1

    def transport_port(self, node: int) -> int:
        return self.base_port + 100 + node - 1

    def url(self, node: int) -> str:
        return f"http://127.0.0.1:{self.http_port(node)}"

    @property
    def urls(self) -> list[str]:
        return [self.url(n) for n in self.numbers]

    @property
    def numbers(self) -> range:
        return range(1, self.nodes + 1)

    def _dir(self, node: int) -> Path:
        return self.root / self.name(node)

    def _pid_file(self, node: int) -> Path:
        return self._dir(node) / "es.pid"

    def settings_env(self, creds: dict[str, str]) -> dict[str, str]:
        """The settings of the pipeline for this cluster: the single node's
        credentials, every node's URL."""
        env = {k: v for k, v in creds.items() if k.startswith("WIRESTREAM_ES__")}
        env["WIRESTREAM_ES__URL"] = ",".join(self.urls)
        return env

    # ------------------------------------------------------------ lifecycle
    def _configure(self, node: int) -> None:
        home = self._dir(node)
        conf = home / "config"
        if conf.exists():
            shutil.rmtree(conf)
        shutil.copytree(self.services.es_conf, conf,
                        ignore=shutil.ignore_patterns("elasticsearch.yml"))
        (home / "data").mkdir(parents=True, exist_ok=True)
        (home / "logs").mkdir(parents=True, exist_ok=True)
        seeds = ", ".join(f'"127.0.0.1:{self.transport_port(n)}"' for n in self.numbers)
        masters = ", ".join(f'"{self.name(n)}"' for n in self.numbers)
        (conf / "elasticsearch.yml").write_text("\n".join([
            "# Written by wirestream.dev.es_cluster.",
            f"cluster.name: {CLUSTER_NAME}",
            f"node.name: {self.name(node)}",
            f"path.data: {home / 'data'}",
            f"path.logs: {home / 'logs'}",
            "network.host: 127.0.0.1",
            f"http.port: {self.http_port(node)}",
            f"transport.port: {self.transport_port(node)}",
            f"discovery.seed_hosts: [{seeds}]",
            # Read on the very first start only (an empty data directory).
            f"cluster.initial_master_nodes: [{masters}]",
            "xpack.security.enabled: true",
            "xpack.security.http.ssl.enabled: false",
            "xpack.security.transport.ssl.enabled: false",
            "cluster.routing.allocation.disk.threshold_enabled: false",
            "",
        ]))

    def _prefix(self) -> list[str]:
        if os.geteuid() != 0:
            return []
        self.services._chown_for_run_user()  # creates the user when missing
        subprocess.run(["chown", "-R", f"{RUN_USER}:", str(self.root)], check=True)
        return ["runuser", "-u", RUN_USER, "--"]

    def up(self, *, fresh: bool = False) -> dict[str, str]:
        """Start every node that is not running (``fresh``: from empty data
        directories) and wait until the cluster has them all and is green."""
        creds = self.services.credentials()
        java_home = self.services.find_java()
        # The single node's installation and security files are the template.
        self.services._es_install(java_home)
        self.services._es_security(java_home, creds, self.services._chown_for_run_user())
        if fresh:
            self.down()
            shutil.rmtree(self.root, ignore_errors=True)
        self.root.mkdir(parents=True, exist_ok=True)
        for node in self.numbers:
            if not _pid_alive(_read_pid(self._pid_file(node))):
                self._configure(node)
        for node in self.numbers:
            if not _pid_alive(_read_pid(self._pid_file(node))):
                self.start_node(node, wait=False)
        _wait(lambda: self.health(creds, nodes=self.nodes) == "green", 300,
              "the elasticsearch cluster", self._dir(1) / "startup.log")
        env = self.settings_env(creds)
        (self.root / "cluster.env").write_text(
            "# Written by `wirestream services es-cluster up`; never commit.\n"
            + "".join(f"{k}={v}\n" for k, v in env.items()))
        (self.root / "cluster.env").chmod(0o600)
        return env

    def start_node(self, node: int, *, wait: bool = True) -> None:
        """Start node ``node`` (its configuration and data as they are)."""
        java_home = self.services.find_java()
        env = dict(os.environ)
        env.update(ES_JAVA_HOME=str(java_home), ES_PATH_CONF=str(self._dir(node) / "config"),
                   ES_JAVA_OPTS=f"-Xms{self.heap} -Xmx{self.heap}")
        env.pop("JAVA_HOME", None)
        prefix = self._prefix()
        self.echo(f"starting elasticsearch {self.name(node)} on {self.url(node)}")
        log = self._dir(node) / "startup.log"
        with log.open("ab") as out:
            self._launched[node] = subprocess.Popen(
                [*prefix, str(self.services.es_home / "bin" / "elasticsearch"),
                 "-p", str(self._pid_file(node))],
                env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        if wait:
            creds = self.services.credentials()
            _wait(lambda: self._node_answers(node, creds), 180,
                  f"elasticsearch {self.name(node)}", log)

    def kill(self, node: int) -> None:
        """SIGKILL node ``node`` and wait until its process is gone."""
        kill_pid(_read_pid(self._pid_file(node)))
        self._pid_file(node).unlink(missing_ok=True)
        self._reap(node)

    def _reap(self, node: int) -> None:
        launcher = self._launched.pop(node, None)
        if launcher is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                launcher.wait(30)

    def down(self) -> None:
        for node in self.numbers:
            pid = _read_pid(self._pid_file(node))
            if pid is not None and _pid_alive(pid):
                self.services._stop(f"elasticsearch {self.name(node)}", pid)
            self._pid_file(node).unlink(missing_ok=True)
            self._reap(node)

    # --------------------------------------------------------------- health
    def _node_answers(self, node: int, creds: dict[str, str]) -> bool:
        try:
            response = httpx.get(f"{self.url(node)}/_cluster/health",
                                 auth=("elastic", creds["WIRESTREAM_ES__ADMIN_PASSWORD"]),
                                 timeout=3)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    def health(self, creds: dict[str, str], *, nodes: int | None = None) -> str | None:
        """The cluster's status as any running node reports it (None when
        none answers, or when fewer than ``nodes`` nodes have joined)."""
        for node in self.numbers:
            try:
                response = httpx.get(
                    f"{self.url(node)}/_cluster/health",
                    auth=("elastic", creds["WIRESTREAM_ES__ADMIN_PASSWORD"]), timeout=3)
            except httpx.HTTPError:
                continue
            if response.status_code != 200:
                continue
            body = response.json()
            if nodes is not None and body.get("number_of_nodes", 0) < nodes:
                return None
            return str(body.get("status"))
        return None

    def status(self) -> list[NodeState]:
        out = []
        for node in self.numbers:
            pid = _read_pid(self._pid_file(node))
            out.append(NodeState(self.name(node), self.url(node), pid, _pid_alive(pid)))
        return out
