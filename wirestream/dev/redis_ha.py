"""A replicated Redis with Sentinels on this machine: a primary, a replica
and three Sentinels (Debian's ``redis-server`` and ``redis-sentinel``), for
the failover tests and for trying a failover by hand
(``wirestream services redis-ha up``).

Every node is configured like the single local Redis (AOF every second,
``noeviction``, the users of ``deploy/redis/users.acl.in``) plus the users
of ``deploy/redis/replication.acl.in``: the replica and, after a failover,
the old primary authenticate to the primary as ``replica``; the Sentinels
talk to the nodes as ``sentinel`` and to each other with their own password
(``requirepass`` and ``sentinel sentinel-pass``). Replication is
asynchronous: what the primary acknowledged in the last moments before it
died may not have reached the replica (docs/guarantees.md, "Redis failover",
says what that costs and what repairs it).

Ports: ``base`` (``WIRESTREAM_LOCAL_REDIS_HA_PORT``, 16380 by default) for
the primary, ``base + 1`` for the replica, ``base + 100`` to ``base + 102``
for the Sentinels. Which node is the primary changes with each failover;
:meth:`RedisHa.primary` asks the Sentinels.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import redis

from wirestream.dev.local_services import _pid_alive, _read_pid, _wait, kill_pid, stop_pid
from wirestream.dev.redis_users import (
    REPLICATION_ROLES,
    REPLICATION_TEMPLATE,
    ROLES,
    password_variable,
    render,
)

__all__ = ["DEFAULT_BASE_PORT", "MASTER_NAME", "NodeState", "RedisHa"]

DEFAULT_BASE_PORT = 16380
MASTER_NAME = "wirestream"
SENTINELS = 3
# A majority of the Sentinels must agree that the primary is down.
QUORUM = 2


@dataclass(frozen=True)
class NodeState:
    name: str
    port: int
    pid: int | None
    running: bool
    role: str | None  # "master", "slave", "sentinel"; None when it does not answer


class RedisHa:
    """A primary, a replica and three Sentinels under ``root``.

    ``credentials`` holds the passwords as var/local.env names them
    (``WIRESTREAM_REDIS__PASSWORD`` for ``default``, ``REDIS_<ROLE>_PASSWORD``
    for each role); the replication users' and the Sentinels' own are
    added when missing (:meth:`credentials`)."""

    def __init__(self, root: Path, credentials: Mapping[str, str], *,
                 base_port: int | None = None, down_after_ms: int = 2000,
                 failover_timeout_ms: int = 10_000,
                 echo: Callable[[str], None] = print) -> None:
        self.root = root
        self._credentials = dict(credentials)
        self.base_port = base_port or int(os.environ.get("WIRESTREAM_LOCAL_REDIS_HA_PORT",
                                                         DEFAULT_BASE_PORT))
        self.down_after_ms = down_after_ms
        self.failover_timeout_ms = failover_timeout_ms
        self.echo = echo
        for key in [password_variable(r) for r in REPLICATION_ROLES] + [
                "REDIS_SENTINELS_PASSWORD"]:
            self._credentials.setdefault(key, secrets.token_urlsafe(18))

    # ------------------------------------------------------------ addresses
    @property
    def credentials(self) -> dict[str, str]:
        return dict(self._credentials)

    @property
    def password(self) -> str:
        """The administrator's (``default``) password."""
        return self._credentials["WIRESTREAM_REDIS__PASSWORD"]

    @property
    def sentinel_password(self) -> str:
        return self._credentials["REDIS_SENTINELS_PASSWORD"]

    @property
    def node_ports(self) -> dict[str, int]:
        return {"redis-a": self.base_port, "redis-b": self.base_port + 1}

    @property
    def sentinel_ports(self) -> list[int]:
        return [self.base_port + 100 + i for i in range(SENTINELS)]

    @property
    def sentinels(self) -> str:
        """``WIRESTREAM_REDIS__SENTINELS`` for this topology."""
        return ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)

    def settings_env(self, db: int = 0) -> dict[str, str]:
        """The settings that point a process at this topology (its Redis
        user and password come on top, as for the single Redis)."""
        return {
            # the host and port are the first primary's; with Sentinels set,
            # only the database number of the URL counts
            "WIRESTREAM_REDIS__URL": f"redis://127.0.0.1:{self.base_port}/{db}",
            "WIRESTREAM_REDIS__SENTINELS": self.sentinels,
            "WIRESTREAM_REDIS__SENTINEL_MASTER": MASTER_NAME,
            "WIRESTREAM_REDIS__SENTINEL_PASSWORD": self.sentinel_password,
        }

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.base_port}/{db}"

    def _dir(self, name: str) -> Path:
        return self.root / name

    def _pid_file(self, name: str) -> Path:
        return self._dir(name) / "redis.pid"

    # ------------------------------------------------------------ configure
    def _users(self) -> Path:
        passwords = {"default": self.password,
                     **{r: self._credentials[password_variable(r)]
                        for r in (*ROLES, *REPLICATION_ROLES)}}
        users = self.root / "users.acl"
        users.write_text(render(passwords) + render(passwords, REPLICATION_TEMPLATE))
        users.chmod(0o600)
        return users

    def _node_conf(self, name: str, port: int, replica_of: int | None) -> Path:
        home = self._dir(name)
        (home / "data").mkdir(parents=True, exist_ok=True)
        lines = [
            "bind 127.0.0.1", f"port {port}", "protected-mode yes",
            f"aclfile {self.root / 'users.acl'}",
            "appendonly yes", "appendfsync everysec", "maxmemory-policy noeviction",
            f"dir {home / 'data'}", "daemonize yes",
            f"pidfile {self._pid_file(name)}", f"logfile {home / 'redis.log'}",
            # how this node authenticates to a primary: now (the replica) or
            # after a failover makes it one
            "masteruser replica",
            f"masterauth {self._credentials[password_variable('replica')]}",
        ]
        if replica_of is not None:
            lines.append(f"replicaof 127.0.0.1 {replica_of}")
        conf = home / "redis.conf"
        conf.write_text("\n".join(lines) + "\n")
        conf.chmod(0o600)
        return conf

    def _sentinel_conf(self, index: int, primary: int) -> Path:
        name = f"sentinel-{index + 1}"
        home = self._dir(name)
        home.mkdir(parents=True, exist_ok=True)
        port = self.sentinel_ports[index]
        sentinel_user = self._credentials[password_variable("sentinel")]
        conf = home / "sentinel.conf"
        # Sentinel rewrites its file as it learns the topology: written once.
        conf.write_text("\n".join([
            "bind 127.0.0.1", f"port {port}", "protected-mode yes",
            f"dir {home}", "daemonize yes",
            f"pidfile {self._pid_file(name)}", f"logfile {home / 'sentinel.log'}",
            f"requirepass {self.sentinel_password}",
            f"sentinel sentinel-pass {self.sentinel_password}",
            f"sentinel monitor {MASTER_NAME} 127.0.0.1 {primary} {QUORUM}",
            f"sentinel auth-user {MASTER_NAME} sentinel",
            f"sentinel auth-pass {MASTER_NAME} {sentinel_user}",
            f"sentinel down-after-milliseconds {MASTER_NAME} {self.down_after_ms}",
            f"sentinel failover-timeout {MASTER_NAME} {self.failover_timeout_ms}",
            f"sentinel parallel-syncs {MASTER_NAME} 1",
            "",
        ]))
        conf.chmod(0o600)
        return conf

    # ------------------------------------------------------------ lifecycle
    def up(self) -> dict[str, str]:
        """Start what is not running: the two nodes (``redis-a`` the first
        primary), then the Sentinels; wait until the replica is in sync and
        every Sentinel knows the primary, the replica and the other two."""
        self.root.mkdir(parents=True, exist_ok=True)
        self._users()
        a, b = self.node_ports["redis-a"], self.node_ports["redis-b"]
        if not self._running("redis-a"):
            self._start_node("redis-a", a, None)
        if not self._running("redis-b"):
            self._start_node("redis-b", b, a)
        _wait(lambda: self._in_sync(), 60, "the redis replica", self._dir("redis-b") / "redis.log")
        for index in range(SENTINELS):
            name = f"sentinel-{index + 1}"
            if not self._running(name):
                conf = self._dir(name) / "sentinel.conf"
                if not conf.exists():
                    conf = self._sentinel_conf(index, a)
                self.echo(f"starting redis-sentinel {name} on 127.0.0.1:"
                          f"{self.sentinel_ports[index]}")
                subprocess.run(["redis-sentinel", str(conf)], check=True,
                               stdout=subprocess.DEVNULL)
        _wait(self._sentinels_agree, 60, "the redis sentinels",
              self._dir("sentinel-1") / "sentinel.log")
        return self.settings_env()

    def _start_node(self, name: str, port: int, replica_of: int | None) -> None:
        conf = self._node_conf(name, port, replica_of)
        self.echo(f"starting redis {name} on 127.0.0.1:{port}"
                  + (f" (replica of {replica_of})" if replica_of else ""))
        subprocess.run(["redis-server", str(conf)], check=True, stdout=subprocess.DEVNULL)
        _wait(lambda: self._answers(port), 30, f"redis {name}", self._dir(name) / "redis.log")

    def restart(self, name: str) -> None:
        """Start node ``name`` again after :meth:`kill`, as a replica of the
        current primary (where the Sentinels would point it anyway)."""
        _, port = self.primary()
        self._start_node(name, self.node_ports[name], port)

    def kill(self, name: str) -> None:
        """SIGKILL a node or Sentinel: no shutdown, no last AOF write."""
        kill_pid(_read_pid(self._pid_file(name)), timeout=10)
        self._pid_file(name).unlink(missing_ok=True)

    def pause(self, name: str) -> None:
        """SIGSTOP a node: it holds its connections and answers nothing (a
        replica that falls behind, a primary that hangs)."""
        pid = _read_pid(self._pid_file(name))
        if pid is not None:
            os.kill(pid, signal.SIGSTOP)

    def resume(self, name: str) -> None:
        pid = _read_pid(self._pid_file(name))
        if pid is not None:
            os.kill(pid, signal.SIGCONT)

    def stop(self) -> None:
        self.down()

    def down(self) -> None:
        for name in (*[f"sentinel-{i + 1}" for i in range(SENTINELS)], "redis-b", "redis-a"):
            stop_pid(_read_pid(self._pid_file(name)), timeout=20)

    # -------------------------------------------------------------- looking
    def _running(self, name: str) -> bool:
        return _pid_alive(_read_pid(self._pid_file(name)))

    def node(self, port: int) -> redis.Redis:
        """The administrator's client of one node (not through Sentinel)."""
        return redis.Redis(host="127.0.0.1", port=port, password=self.password,
                           socket_timeout=3, socket_connect_timeout=3)

    def sentinel(self, index: int) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.sentinel_ports[index],
                           password=self.sentinel_password, socket_timeout=3,
                           socket_connect_timeout=3, decode_responses=True)

    def _answers(self, port: int) -> bool:
        client = self.node(port)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def _in_sync(self) -> bool:
        return self._in_sync_with("redis-b")

    def _in_sync_with(self, name: str) -> bool:
        """Whether node ``name`` is a replica whose link to its primary is up."""
        client = self.node(self.node_ports[name])
        try:
            info = client.info("replication")
        except redis.RedisError:
            return False
        finally:
            client.close()
        return info.get("role") == "slave" and info.get("master_link_status") == "up"

    def _sentinels_agree(self) -> bool:
        for index in range(SENTINELS):
            client = self.sentinel(index)
            try:
                master = client.sentinel_master(MASTER_NAME)
                replicas = client.sentinel_slaves(MASTER_NAME)
                others = client.sentinel_sentinels(MASTER_NAME)
            except redis.RedisError:
                return False
            finally:
                client.close()
            if not (isinstance(master, dict) and isinstance(replicas, list)
                    and isinstance(others, list)):
                return False
            if master.get("is_sdown") or master.get("is_odown") or len(replicas) < 1 or (
                    len(others) < SENTINELS - 1):
                return False
        return True

    def primary(self) -> tuple[str, int]:
        """The primary the Sentinels name now (the first that answers)."""
        for index in range(SENTINELS):
            client = self.sentinel(index)
            try:
                found = client.sentinel_get_master_addr_by_name(MASTER_NAME)
                if isinstance(found, tuple | list) and len(found) == 2:
                    host, port = found
                    return (host.decode() if isinstance(host, bytes) else str(host)), int(port)
            except (redis.RedisError, TypeError, ValueError):
                continue
            finally:
                client.close()
        raise redis.ConnectionError("no Sentinel answers")

    def name_of(self, port: int) -> str:
        return next(name for name, p in self.node_ports.items() if p == port)

    def status(self) -> list[NodeState]:
        out: list[NodeState] = []
        for name, port in self.node_ports.items():
            role = None
            client = self.node(port)
            with contextlib.suppress(redis.RedisError):
                role = str(client.info("replication").get("role"))
            client.close()
            pid = _read_pid(self._pid_file(name))
            out.append(NodeState(name, port, pid, _pid_alive(pid), role))
        for index, port in enumerate(self.sentinel_ports):
            name = f"sentinel-{index + 1}"
            pid = _read_pid(self._pid_file(name))
            client = self.sentinel(index)
            answers = False
            with contextlib.suppress(redis.RedisError):
                answers = bool(client.ping())
            client.close()
            out.append(NodeState(name, port, pid, _pid_alive(pid),
                                 "sentinel" if answers else None))
        return out
