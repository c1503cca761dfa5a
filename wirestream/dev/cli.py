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
