"""The ``wirestream`` command line: one entry point for operators.

Sub-commands import what they need lazily, so ``wirestream services up`` works
before Elasticsearch exists and a worker loads only its own stage's code.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from wirestream.ops.cli import capacity, dlq_app, exporter, health_app, status

__all__ = ["app", "main"]

console = Console()
err = Console(stderr=True)

class _LazyGroup(TyperGroup):
    """The root command group: the commands the services contribute are
    imported when they are called (or listed by ``--help``), so a worker or
    a health check loads no other stage's code."""

    def list_commands(self, ctx: Any) -> list[str]:
        return sorted({*super().list_commands(ctx), *_LAZY})

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in _LAZY:
            command = _LAZY[cmd_name]()
            command.name = cmd_name
            self.add_command(command, cmd_name)
        return command


app = typer.Typer(
    name="wirestream",
    help="News ingestion: wire and web sources → enrichment → Elasticsearch.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=_LazyGroup,
)
sources_app = typer.Typer(help="Configure and inspect sources.", no_args_is_help=True)
app.add_typer(sources_app, name="sources")
# Operators' commands live in wirestream/ops/cli.py.
app.add_typer(dlq_app, name="dlq")
app.add_typer(health_app, name="health")
app.command()(status)
app.command()(exporter)
app.command()(capacity)


def _settings() -> Any:
    from shared.settings import load_settings

    return load_settings()


@app.callback()
def _root(
    log_level: Annotated[
        str, typer.Option(help="Log level for this command: DEBUG, INFO, WARNING, ERROR.")
    ] = "",
) -> None:
    if log_level:
        if log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise typer.BadParameter(f"unknown log level {log_level!r}", param_hint="--log-level")
        # Settings read it: workers, their pool children and every command.
        os.environ["WIRESTREAM_LOG_LEVEL"] = log_level.upper()


# -------------------------------------------------------------------- worker
# The stages a worker runs (wirestream.bootstrap.STAGE_MODULES: their tasks).
STAGES = ("ingest", "enrich", "index")


MATH_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def single_threaded_math() -> None:
    """One BLAS/OpenMP thread per process, unless the operator set another
    number: a worker scales by processes (``--concurrency``, replicas), and
    the math libraries' own threads on top of them only add CPU (natasha's
    taggers, numpy on OpenBLAS, cost more CPU with two threads than with one
    for less wall time). Must run before numpy is imported: the libraries
    read these variables once, at load."""
    for name in MATH_THREAD_VARIABLES:
        os.environ.setdefault(name, "1")


@app.command()
def worker(
    stage: Annotated[str, typer.Argument(help="ingest, enrich or index")],
    concurrency: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    loglevel: Annotated[str, typer.Option(help="Celery log level.")] = "INFO",
) -> None:
    """Run a Celery worker consuming one stage's queue.

    Math libraries get one thread per process (OPENBLAS_NUM_THREADS,
    OMP_NUM_THREADS, MKL_NUM_THREADS default to 1): scale with --concurrency."""
    if stage not in STAGES:
        raise typer.BadParameter(f"stage must be one of {', '.join(STAGES)}")
    single_threaded_math()
    import tempfile

    from shared.metrics import prepare_multiprocess, serve_metrics

    # Multiprocess metrics must be configured before prometheus_client loads.
    metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(
        prefix=f"wirestream-{stage}-metrics-"
    )
    prepare_multiprocess(Path(metrics_dir))
    from shared.telemetry import setup_logging
    from wirestream.bootstrap import build_worker

    process = build_worker(stage)
    settings = process.settings
    setup_logging(settings.log_level, settings.log_json)
    serve_metrics(settings.metrics_port, settings.metrics_addr, stage=stage)
    from shared.metrics import metrics

    metrics().last_task.labels(stage).set(time.time())  # alive from the start
    process.app.worker_main(
        [
            "worker",
            "--queues",
            stage,
            "--hostname",
            f"{stage}@%h",
            "--concurrency",
            str(concurrency),
            "--loglevel",
            loglevel,
            # Workers do not need each other's heartbeats or clock sync.
            "--without-gossip",
            "--without-mingle",
        ]
    )


@app.command()
def scheduler(
    tick: Annotated[float, typer.Option(help="Seconds between looks at the schedule.")] = 1.0,
) -> None:
    """Enqueue polls for due sources, forever (SIGTERM stops it)."""
    from services.ingest.adapters.embargo import EmbargoHold
    from services.ingest.scheduler import Scheduler
    from shared.queues import ENRICH, INGEST, TASK_POLL
    from shared.telemetry import setup_logging
    from wirestream.bootstrap import build_process

    process = build_process()
    settings, runtime = process.settings, process.runtime
    setup_logging(settings.log_level, settings.log_json)

    def enqueue(source_id: str) -> None:
        process.app.send_task(TASK_POLL, args=[{"source_id": source_id}], queue=INGEST)

    hold = EmbargoHold(runtime.redis)

    def release(now: float) -> None:
        released = hold.release_due(now, lambda batch: runtime.send(ENRICH, batch))
        if released:
            logging.getLogger("wirestream.scheduler").info(
                "released %d item(s) from embargo", released
            )

    Scheduler(runtime.redis, enqueue, tick=tick, on_tick=release).run_forever()


# ------------------------------------------------------------------- sources
@sources_app.command("add")
def sources_add(
    source_id: Annotated[str, typer.Argument(help="Stable id, e.g. guardian-world.")],
    url: Annotated[str, typer.Argument(help="Feed or endpoint URL.")],
    type_: Annotated[
        str,
        typer.Option("--type", help="auto, rss, atom, jsonfeed, ninjs, newsml-g2, newsml-1, nitf, "
                     "sitemap, html"),
    ] = "auto",
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    language: Annotated[str | None, typer.Option(help="Language hint (ISO 639-1).")] = None,
    min_interval: Annotated[int, typer.Option(help="Shortest poll interval, seconds.")] = 60,
    max_interval: Annotated[int, typer.Option(help="Longest poll interval, seconds.")] = 3600,
) -> None:
    """Add or replace a source; it is polled at once, no restart needed."""
    from services.ingest.adapters.source_registry import SourceRegistry
    from services.ingest.sources import Source
    from shared.runtime import redis_client

    source = Source.model_validate(
        {
            "id": source_id,
            "url": url,
            "type": type_,
            "name": name or source_id,
            "language": language,
            "min_interval": min_interval,
            "max_interval": max_interval,
        }
    )
    SourceRegistry(redis_client(_settings())).put(source)
    console.print(f"source {source.id} saved")


@sources_app.command("load")
def sources_load(path: Annotated[Path, typer.Argument(help="YAML file with `sources:`.")]) -> None:
    """Add or replace every source of a YAML file."""
    from services.ingest.adapters.source_registry import SourceRegistry
    from services.ingest.sources import load_sources_file
    from shared.runtime import redis_client

    registry = SourceRegistry(redis_client(_settings()))
    for source in load_sources_file(path):
        registry.put(source)
        console.print(f"source {source.id} saved")


JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable.")]


@sources_app.command("list")
def sources_list(as_json: JsonOpt = False) -> None:
    """Every source with its health (--json: one JSON object per line, times
    in Unix seconds)."""
    from services.ingest.adapters.source_registry import SourceRegistry
    from shared.runtime import redis_client

    registry = SourceRegistry(redis_client(_settings()))
    table = Table(
        "id", "type", "enabled", "last success", "failures", "items", "next poll", "last error"
    )
    now = time.time()
    for source in registry.all():
        state = registry.state(source.id)
        due = registry.next_due(source.id)
        if as_json:
            print(json.dumps({"id": source.id, "type": source.type, "enabled": source.enabled,
                              "last_success": state.last_success,
                              "consecutive_failures": state.consecutive_failures,
                              "items_last_poll": state.items_last_poll, "next_poll": due,
                              "last_error": state.last_error}, ensure_ascii=False))
            continue
        table.add_row(
            source.id,
            source.type,
            _yes(source.enabled),
            _ago(state.last_success, now),
            str(state.consecutive_failures),
            str(state.items_last_poll),
            f"in {max(0, due - now):.0f}s" if due else "-",
            (state.last_error or "")[:60],
        )
    if not as_json:
        console.print(table)


@sources_app.command("show")
def sources_show(source_id: str, as_json: JsonOpt = False) -> None:
    """One source: its configuration (secrets shown only by reference) and
    health (--json: one object, its configuration under "source", its state
    under "state", times in Unix seconds)."""
    from services.ingest.adapters.source_registry import SourceRegistry
    from shared.runtime import redis_client
    from wirestream.ops.exporter import collect_state

    settings = _settings()
    client = redis_client(settings)
    registry = SourceRegistry(client)
    source = registry.get(source_id)
    if source is None:
        err.print(f"no source {source_id}")
        raise typer.Exit(1)
    state = registry.state(source_id)
    health = next(
        h for h in collect_state(settings, client, probe=False).sources if h.id == source_id
    )
    now = time.time()
    due = registry.next_due(source_id)
    if as_json:
        print(json.dumps({"source": source.model_dump(mode="json"),
                          "state": state.model_dump(mode="json"), "next_poll": due,
                          "quiet": health.quiet}, ensure_ascii=False))
        return
    table = Table("field", "value", title=f"source {source_id}", show_header=False)
    for key, value in source.model_dump(mode="json").items():
        table.add_row(key, json.dumps(value, ensure_ascii=False) if value is not None else "-")
    table.add_row("next poll", f"in {max(0.0, due - now):.0f}s" if due else "not scheduled")
    table.add_row("interval", f"{state.interval or source.min_interval:.0f}s")
    table.add_row("last success", _ago(state.last_success, now))
    table.add_row("last new item", _ago(state.last_new_item, now))
    table.add_row("consecutive failures", str(state.consecutive_failures))
    table.add_row("last error", f"{state.last_error or '-'} ({_ago(state.last_error_at, now)})")
    table.add_row("items last poll", str(state.items_last_poll))
    table.add_row("new/changed last poll", str(state.new_last_poll))
    table.add_row("quiet for longer than usual", _yes(health.quiet))
    table.add_row(
        "conditional GET", f"etag={state.etag or '-'} last-modified={state.last_modified or '-'}"
    )
    console.print(table)


def _set_enabled(source_id: str, enabled: bool) -> None:
    from services.ingest.adapters.source_registry import SourceRegistry
    from shared.runtime import redis_client

    registry = SourceRegistry(redis_client(_settings()))
    source = registry.get(source_id)
    if source is None:
        err.print(f"no source {source_id}")
        raise typer.Exit(1)
    registry.put(source.model_copy(update={"enabled": enabled}))
    console.print(f"source {source_id} {'enabled' if enabled else 'disabled'}")


@sources_app.command("enable")
def sources_enable(source_id: str) -> None:
    """Schedule a disabled source again (due at once). An enabled source keeps
    its next poll: `sources poll-now` makes it due."""
    _set_enabled(source_id, True)


@sources_app.command("poll-now")
def sources_poll_now(source_id: str) -> None:
    """Poll an enabled source at once, whatever its interval or failure
    backoff says (after fixing what made it fail); the poll sets its next
    due time. Exit 1 for an unknown or disabled source."""
    from services.ingest.adapters.source_registry import SourceRegistry
    from shared.runtime import redis_client

    registry = SourceRegistry(redis_client(_settings()))
    source = registry.get(source_id)
    if source is None or not source.enabled:
        err.print(f"no source {source_id}" if source is None else
                  f"source {source_id} is disabled: `wirestream sources enable {source_id}`")
        raise typer.Exit(1)
    if not registry.poll_now(source_id):
        err.print(f"source {source_id} was removed meanwhile")
        raise typer.Exit(1)
    console.print(f"source {source_id} is due now: the next scheduler tick polls it")


@sources_app.command("disable")
def sources_disable(source_id: str) -> None:
    """Stop polling this source; its state and documents stay."""
    _set_enabled(source_id, False)


@sources_app.command("test")
def sources_test(
    source: Annotated[str, typer.Argument(help="A configured source id, or a URL.")],
    type_: Annotated[str, typer.Option("--type", help="Format when SOURCE is a URL.")] = "auto",
) -> None:
    """Fetch and parse once, enqueue nothing: what would this source give us?"""
    from datetime import UTC, datetime

    from services.ingest.adapters.fetch import FeedFetcher
    from services.ingest.adapters.source_registry import SourceRegistry
    from services.ingest.parsers import SourceRef, parse_document
    from services.ingest.poller import auth_headers
    from services.ingest.sources import Source
    from shared.runtime import redis_client

    settings = _settings()
    if "://" in source:
        config = Source.model_validate({"id": "adhoc", "url": source, "type": type_})
    else:
        found = SourceRegistry(redis_client(settings)).get(source)
        if found is None:
            err.print(f"no source {source}")
            raise typer.Exit(1)
        config = found
    url, headers = auth_headers(config)
    with FeedFetcher(settings.ingest) as fetcher:
        result = fetcher.fetch(url, headers=headers)
    parsed = parse_document(
        result.body,
        source=SourceRef(id=config.id, language=config.language),
        fetched_at=datetime.now(UTC),
        content_type=result.content_type,
        base_url=result.final_url,
        fmt=config.type,
    )
    console.print(
        f"HTTP {result.status}, {len(result.body)} bytes, format {parsed.format}, "
        f"{len(parsed.items)} items, {len(parsed.errors)} bad entries"
    )
    table = Table("published", "lang", "headline", "url")
    for item in parsed.items[:20]:
        table.add_row(
            (item.firstcreated.isoformat() if item.firstcreated else "-")[:16],
            item.language or "-",
            item.headline[:60],
            (item.url or "-")[:50],
        )
    console.print(table)
    for error in parsed.errors[:10]:
        console.print(f"[yellow]entry {error.index}[/]: {error.reason}: {error.message}")
    for warning in parsed.warnings[:10]:
        console.print(f"[yellow]warning[/]: {warning}")


@sources_app.command("remove")
def sources_remove(source_id: str) -> None:
    """Remove a source and its state."""
    from services.ingest.adapters.source_registry import SourceRegistry
    from shared.runtime import redis_client

    if not SourceRegistry(redis_client(_settings())).remove(source_id):
        err.print(f"no source {source_id}")
        raise typer.Exit(1)
    console.print(f"source {source_id} removed")


def _yes(flag: bool) -> str:
    return "[green]yes[/]" if flag else "[red]no[/]"


def _ago(ts: float | None, now: float) -> str:
    return f"{now - ts:.0f}s ago" if ts else "never"


def _group(module: str, name: str) -> Callable[[], Any]:
    """A lazily imported Typer sub-app ``module.name`` as a click group."""
    def load() -> Any:
        return typer.main.get_command(getattr(importlib.import_module(module), name))
    return load


def _command(module: str, name: str) -> Callable[[], Any]:
    """A lazily imported command function ``module.name`` as a click command."""
    def load() -> Any:
        single = typer.Typer()
        single.command()(getattr(importlib.import_module(module), name))
        return typer.main.get_command(single)
    return load


# Commands the services and the composition root's glue contribute, by name:
# imported on first use.
_LAZY: dict[str, Callable[[], Any]] = {
    "index": _group("services.index.cli", "index_app"),
    "search": _command("services.index.cli", "search"),
    "reconcile": _command("services.ingest.reconciler_cli", "reconcile"),
    "parse": _command("services.ingest.cli", "parse"),
    "enrich": _command("wirestream.enrich_cli", "enrich"),
    "entities": _group("wirestream.enrich_cli", "entities_app"),
    "topics": _group("wirestream.topics_cli", "topics_app"),
}
# The developer's commands (local services, the demo) are not in the
# production wheel (pyproject.toml leaves wirestream.dev out): listed only
# where the package is installed.
if importlib.util.find_spec("wirestream.dev") is not None:
    _LAZY["services"] = _group("wirestream.dev.cli", "services_app")
    _LAZY["demo"] = _command("wirestream.dev.cli", "demo")


def main() -> None:
    """The entry point: an expected failure (a service down, a refused
    login, bad settings) is one line on stderr and an exit code of
    :mod:`wirestream.failures`; a bug keeps its traceback."""
    from wirestream.failures import explain

    try:
        app()
    except Exception as exc:
        failure = explain(exc)
        if failure is None:
            raise
        from rich.markup import escape

        err.print(f"[red]error[/]: {escape(failure.message)}", highlight=False,
                  soft_wrap=True)
        sys.exit(failure.code)


if __name__ == "__main__":
    main()
