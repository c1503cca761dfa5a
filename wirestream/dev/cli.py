"""The developer's commands: ``wirestream services`` (Redis, Elasticsearch,
Apertium APy and CoreNLP on this machine, no Docker) and ``wirestream demo``.

Neither ships in the production wheel (pyproject.toml leaves
``wirestream.dev`` out); the root CLI lists them only where this package is
installed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

__all__ = ["demo", "project_root", "services_app"]

console = Console()
err = Console(stderr=True)

services_app = typer.Typer(
    help="Local Redis, Elasticsearch, Apertium APy and CoreNLP (no Docker).", no_args_is_help=True
)


def project_root() -> Path:
    return Path(os.environ.get("WIRESTREAM_HOME", Path.cwd())).resolve()


@services_app.command("up")
def services_up() -> None:
    """Start (or keep) Redis, Elasticsearch, APy and CoreNLP; wait until healthy."""
    from wirestream.dev.local_services import LocalServices

    services = LocalServices(project_root(), echo=err.print)
    services.up()
    _print_services(services)


@services_app.command("down")
def services_down() -> None:
    """Stop the local services (data stays under var/)."""
    from wirestream.dev.local_services import LocalServices

    LocalServices(project_root(), echo=err.print).down()


@services_app.command("status")
def services_status(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable.")] = False,
) -> None:
    """Show whether each local service runs and answers its health check
    (exit 1 when one does not)."""
    from wirestream.dev.local_services import LocalServices

    services = LocalServices(project_root(), echo=err.print)
    if as_json:
        states = services.status()
        print(json.dumps({"healthy": all(s.healthy for s in states), "services": [
            {"name": s.name, "running": s.running, "healthy": s.healthy, "pid": s.pid,
             "url": s.url, "detail": s.detail} for s in states]}))
        healthy = all(s.healthy for s in states)
    else:
        healthy = _print_services(services)
    if not healthy:
        raise typer.Exit(1)


cluster_app = typer.Typer(
    help="A local Elasticsearch cluster of several nodes on loopback ports "
         "(wirestream.dev.es_cluster).", no_args_is_help=True)
services_app.add_typer(cluster_app, name="es-cluster")

Nodes = Annotated[int, typer.Option("--nodes", min=1, max=9, help="How many nodes.")]


def _cluster(nodes: int) -> Any:
    from wirestream.dev.es_cluster import EsCluster
    from wirestream.dev.local_services import LocalServices

    return EsCluster(LocalServices(project_root(), echo=err.print), nodes=nodes,
                     echo=err.print)


@cluster_app.command("up")
def cluster_up(
    nodes: Nodes = 3,
    fresh: Annotated[bool, typer.Option("--fresh", help="Start from empty data.")] = False,
) -> None:
    """Start the nodes, wait until the cluster is green, and write
    var/es-cluster/cluster.env (the settings that point at every node)."""
    cluster = _cluster(nodes)
    cluster.up(fresh=fresh)
    console.print(f"cluster green: {', '.join(cluster.urls)}; settings in "
                  f"{cluster.root / 'cluster.env'}", markup=False)


@cluster_app.command("down")
def cluster_down(nodes: Nodes = 3) -> None:
    """Stop the nodes (their data stays under var/es-cluster/)."""
    _cluster(nodes).down()


@cluster_app.command("kill")
def cluster_kill(node: Annotated[int, typer.Argument(help="Node number, from 1.")],
                 nodes: Nodes = 3) -> None:
    """SIGKILL one node: a node that dies, not one that leaves."""
    _cluster(nodes).kill(node)


@cluster_app.command("start")
def cluster_start(node: Annotated[int, typer.Argument(help="Node number, from 1.")],
                  nodes: Nodes = 3) -> None:
    """Start one node again and wait until it answers."""
    _cluster(nodes).start_node(node)


@cluster_app.command("status")
def cluster_status(nodes: Nodes = 3) -> None:
    """Each node's process, and the cluster's health (exit 1 unless green)."""
    cluster = _cluster(nodes)
    table = Table("node", "running", "pid", "url")
    for state in cluster.status():
        table.add_row(state.name, _yes(state.running), str(state.pid or ""), state.url)
    console.print(table)
    health = cluster.health(cluster.services.credentials())
    console.print(f"health: {health or 'no answer'}", markup=False)
    if health != "green":
        raise typer.Exit(1)


ha_app = typer.Typer(
    help="A local replicated Redis: a primary, a replica and three Sentinels "
         "(wirestream.dev.redis_ha).", no_args_is_help=True)
services_app.add_typer(ha_app, name="redis-ha")


def _redis_ha() -> Any:
    from wirestream.dev.local_services import LocalServices
    from wirestream.dev.redis_ha import RedisHa

    root = project_root()
    local = LocalServices(root, echo=err.print)
    return RedisHa(root / "var" / "redis-ha", _ha_credentials(root, local.credentials()),
                   echo=err.print)


def _ha_credentials(root: Path, credentials: dict[str, str]) -> dict[str, str]:
    """The local credentials, plus the replication users' and the
    Sentinels' passwords, kept in var/redis-ha/passwords.env across runs."""
    import secrets

    from wirestream.dev.redis_users import REPLICATION_ROLES, password_variable

    path = root / "var" / "redis-ha" / "passwords.env"
    kept: dict[str, str] = {}
    if path.exists():
        kept = dict(line.split("=", 1) for line in path.read_text().splitlines()
                    if "=" in line and not line.startswith("#"))
    for key in [password_variable(r) for r in REPLICATION_ROLES] + ["REDIS_SENTINELS_PASSWORD"]:
        kept.setdefault(key, secrets.token_urlsafe(18))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# Written by `wirestream services redis-ha up`; never commit.\n"
                    + "".join(f"{k}={v}\n" for k, v in kept.items()))
    path.chmod(0o600)
    return {**credentials, **kept}


@ha_app.command("up")
def ha_up() -> None:
    """Start the primary, the replica and the Sentinels; wait until the
    replica is in sync and the Sentinels agree; print the settings that
    point the pipeline at them."""
    topology = _redis_ha()
    for key, value in topology.up().items():
        shown = "(in var/redis-ha/passwords.env)" if "PASSWORD" in key else value
        console.print(f"{key}={shown}", markup=False)


@ha_app.command("down")
def ha_down() -> None:
    """Stop the Sentinels and both nodes (their data stays under var/redis-ha/)."""
    _redis_ha().down()


@ha_app.command("kill")
def ha_kill(node: Annotated[str, typer.Argument(help="redis-a, redis-b or sentinel-N.")]) -> None:
    """SIGKILL one node or Sentinel (kill the primary to see a failover)."""
    _redis_ha().kill(node)


@ha_app.command("status")
def ha_status() -> None:
    """Each node's process and role, and the primary the Sentinels name."""
    topology = _redis_ha()
    table = Table("node", "port", "running", "role")
    for state in topology.status():
        table.add_row(state.name, str(state.port), _yes(state.running), state.role or "-")
    console.print(table)
    try:
        host, port = topology.primary()
        console.print(f"primary: {host}:{port}", markup=False)
    except Exception as exc:  # no Sentinel answers: say so, exit 1
        console.print(f"primary: unknown ({exc})", markup=False)
        raise typer.Exit(1) from exc


def _print_services(services: Any) -> bool:
    table = Table("service", "running", "healthy", "pid", "url", "detail")
    all_ok = True
    for state in services.status():
        all_ok &= state.healthy
        table.add_row(
            state.name,
            _yes(state.running),
            _yes(state.healthy),
            str(state.pid or ""),
            state.url,
            state.detail,
        )
    console.print(table)
    return all_ok


def _yes(flag: bool) -> str:
    return "[green]yes[/]" if flag else "[red]no[/]"


def demo(
    timeout: Annotated[float, typer.Option(help="Seconds to wait for indexing.")] = 300.0,
) -> None:
    """The whole pipeline on bundled real samples: services, workers, search."""
    from wirestream.dev.demo import run_demo

    run_demo(project_root(), console=console, timeout=timeout)
