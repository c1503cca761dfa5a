"""Operators' commands: ``status``, ``dlq …``, ``health …``, ``exporter`` and
``capacity``.

Registered on the ``wirestream`` command line by :mod:`wirestream.cli`. Like the
rest of the CLI, every command imports what it needs lazily. Commands that
change state (``dlq replay``, ``dlq purge``) log one structured line per
dead letter (entry id, stage, source, item ids, correlation id), at the level
of the global ``--log-level`` option.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from shared.dead_letters import DeadLetter
    from shared.dlq import DeadLetterStore
    from shared.settings import Settings

__all__ = ["capacity", "dlq_app", "exporter", "health_app", "parse_age", "status"]

log = logging.getLogger("wirestream.ops")

console = Console()
err = Console(stderr=True)

dlq_app = typer.Typer(help="Dead letters: list, show, replay, purge.", no_args_is_help=True)
health_app = typer.Typer(help="Health checks for compose and monitoring.", no_args_is_help=True)

_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_AGE_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_age(text: str) -> float:
    """``90``, ``90s``, ``15m``, ``2h``, ``3d``, ``1w`` as seconds."""
    match = _AGE.match(text)
    if match is None:
        raise typer.BadParameter(f"{text!r} is not an age like 90s, 15m, 2h, 3d or 1w")
    return float(match[1]) * _AGE_UNITS[match[2]]


def _settings() -> Settings:
    from shared.settings import load_settings
    from shared.telemetry import setup_logging

    settings = load_settings()
    setup_logging(settings.log_level, settings.log_json)
    return settings


def _yes(flag: bool) -> str:
    return "[green]yes[/]" if flag else "[red]no[/]"


def _ago(ts: float | None, now: float) -> str:
    return _duration(now - ts) + " ago" if ts else "never"


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"


# -------------------------------------------------------------------- status
def _workers_per_queue(timeout: float) -> dict[str, list[str]]:
    """Worker node names per queue they consume, from the workers' own
    answers (so ``--scale enrich=4`` shows four)."""
    from shared.queues import QUEUES
    from wirestream.bootstrap import build_process

    celery_app = build_process().app

    workers: dict[str, list[str]] = {q: [] for q in QUEUES}
    answers = celery_app.control.inspect(timeout=timeout).active_queues() or {}
    for node, queues in sorted(answers.items()):
        for queue in queues or []:
            workers.setdefault(str(queue.get("name")), []).append(node)
    return workers


def status(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable.")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for workers.")] = 2.0,
) -> None:
    """One screen: services, workers, queues, dead letters, problem sources.

    Services reachable, workers alive per queue, queue depths, dead letters,
    items per stage in the last hour, sources failing, stale or quiet. Exits 1
    when a service is down or a queue has no worker."""
    from dataclasses import asdict

    from shared.queues import QUEUES
    from shared.runtime import redis_client
    from shared.stats import last_hour
    from wirestream.ops.exporter import collect_state, dead_letters_oldest

    settings = _settings()
    client = redis_client(settings)
    state = collect_state(settings, client)
    workers: dict[str, list[str]] = {q: [] for q in QUEUES}
    hour: dict[str, int] = {}
    oldest: float | None = None
    if state.services.get("redis"):
        workers = _workers_per_queue(timeout)
        hour = last_hour(client, QUEUES)
        oldest = dead_letters_oldest(client)
    now = time.time()
    failing = [s for s in state.sources if s.consecutive_failures]
    stale = [s for s in state.sources if s.stale and not s.consecutive_failures]
    quiet = [s for s in state.sources if s.quiet and not s.consecutive_failures]
    enabled = any(s.enabled for s in state.sources)
    # No scheduler matters only when there is something to poll.
    scheduling = state.schedulers_alive > 0 or not enabled or not state.services.get("redis")
    healthy = all(state.services.values()) and all(workers.get(q) for q in QUEUES) and scheduling
    # why not healthy, one line each (the same judgement as `healthy`)
    reasons = [f"{name} does not answer" for name, ok in state.services.items() if not ok]
    reasons += [f"no worker consumes the {q} queue" for q in QUEUES
                if not workers.get(q) and state.services.get("redis")]
    reasons += [] if scheduling else ["sources are enabled but no scheduler runs"]
    # what is read from Redis is unknown while Redis cannot be read: null, not 0
    known = bool(state.services.get("redis"))
    if as_json:
        print(
            json.dumps(
                {
                    "healthy": healthy,
                    "problems": reasons,
                    "services": state.services,
                    "workers": workers,
                    "schedulers": state.schedulers,
                    "schedulers_alive": state.schedulers_alive if known else None,
                    "queues": state.queues,
                    "unacked": state.unacked if known else None,
                    "dead_letters": state.dead_letters if known else None,
                    "dead_letters_oldest_age": now - oldest if oldest else None,
                    "items_last_hour": hour,
                    "sources": len(state.sources) if known else None,
                    "failing_sources": [asdict(s) for s in failing],
                    "stale_sources": [asdict(s) for s in stale],
                    "quiet_sources": [asdict(s) for s in quiet],
                },
                indent=2,
            )
        )
    else:
        services = Table("service", "up", title="services")
        for name, ok in state.services.items():
            services.add_row(name, _yes(ok))
        console.print(services)
        stages = Table("stage", "workers", "queued", "items last hour", title="pipeline")
        for q in QUEUES:
            names = workers.get(q, [])
            count = f"[green]{len(names)}[/]" if names else "[red]0[/]" if known else "?"
            stages.add_row(q, count, str(state.queues.get(q, "?")), str(hour.get(q, "?")))
        console.print(stages)
        if not known:
            console.print("[red]Redis cannot be read: schedulers, unacked messages, dead "
                          "letters and sources unknown[/]")
        alive = state.schedulers_alive
        freshest = min(state.schedulers.values(), default=None)
        if known:
            console.print(
                f"schedulers alive: {'[green]' if alive else '[red]'}{alive}[/]"
                + (f" (last look {_duration(freshest)} ago)" if freshest is not None else "")
                + ("" if scheduling else
                   "  [red]sources are enabled but nothing schedules them[/]")
            )
            console.print(
                f"unacked messages: {state.unacked}   dead letters: {state.dead_letters}"
                + (f" (oldest {_ago(oldest, now)})" if oldest else "")
                + f"   sources: {len(state.sources)}"
            )
        if failing or stale or quiet:
            problems = Table("source", "problem", "detail", title="sources needing attention")
            for s in failing:
                problems.add_row(
                    s.id, f"{s.consecutive_failures} failures", (s.last_error or "")[:80]
                )
            for s in stale:
                problems.add_row(
                    s.id, "stale", f"no successful poll for {_duration(s.since_success or 0)}"
                )
            for s in quiet:
                problems.add_row(
                    s.id, "quiet", f"no new item for {_duration(s.since_new_item or 0)}"
                )
            console.print(problems)
    if not healthy:
        raise typer.Exit(1)


# ----------------------------------------------------------------- exporter
def exporter(
    port: Annotated[int, typer.Option(help="Port for /metrics.")] = 9109,
    addr: Annotated[str, typer.Option(
        help="Address to bind (compose: 0.0.0.0, the container's network only).")] = "127.0.0.1",
) -> None:
    """Serve shared-state gauges (queues, dead letters, source health, services)."""
    import signal as signals
    import threading

    from prometheus_client import start_http_server
    from prometheus_client.core import CollectorRegistry

    from shared.runtime import redis_client
    from wirestream.ops.exporter import StateCollector

    settings = _settings()
    registry = CollectorRegistry()
    registry.register(StateCollector(settings, redis_client(settings)))
    server, _ = start_http_server(port, addr=addr, registry=registry)
    stop = threading.Event()
    signals.signal(signals.SIGTERM, lambda *_: stop.set())
    signals.signal(signals.SIGINT, lambda *_: stop.set())
    log.info("exporter serving on %s:%d/metrics", addr, port)
    stop.wait()
    server.shutdown()


# ----------------------------------------------------------------------- dlq
StageOpt = Annotated[str | None, typer.Option(help="Only this stage.")]
ReasonOpt = Annotated[str | None, typer.Option(help="Reason prefix, e.g. exhausted: or es_.")]
SourceOpt = Annotated[str | None, typer.Option(help="Only this source id.")]
OlderOpt = Annotated[
    str | None, typer.Option("--older-than", help="Dead-lettered longer ago than this (2h, 3d).")
]
NewerOpt = Annotated[
    str | None, typer.Option("--newer-than", help="Dead-lettered within this (15m, 1h).")
]


def _select(
    store: DeadLetterStore,
    stage: str | None,
    reason: str | None,
    source: str | None,
    older_than: str | None,
    newer_than: str | None,
) -> Iterator[DeadLetter]:
    return store.iter(
        stage=stage,
        reason=reason,
        source=source,
        older_than=parse_age(older_than) if older_than else None,
        newer_than=parse_age(newer_than) if newer_than else None,
    )


def _fields(entry: DeadLetter) -> dict[str, Any]:
    return {
        "dead_letter": entry.id,
        "stage": entry.stage,
        "source": entry.source,
        "reason": entry.reason,
        "item_ids": entry.item_ids,
        "correlation_id": entry.payload.get("correlation_id") or None,
    }


@dlq_app.command("list")
def dlq_list(
    stage: StageOpt = None,
    reason: ReasonOpt = None,
    source: SourceOpt = None,
    older_than: OlderOpt = None,
    newer_than: NewerOpt = None,
    limit: Annotated[int, typer.Option(help="Show at most this many (0: all).")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines, payload left out.")] = False,
) -> None:
    """Dead letters, oldest first."""
    from shared.dlq import DeadLetterStore
    from shared.runtime import redis_client

    store = DeadLetterStore(redis_client(_settings()))
    table = Table("id", "age", "stage", "reason", "source", "items", "attempts", "message")
    now = time.time()
    shown = matched = 0
    for entry in _select(store, stage, reason, source, older_than, newer_than):
        matched += 1
        if limit and shown >= limit:
            continue
        shown += 1
        if as_json:
            sys.stdout.write(entry.model_dump_json(exclude={"payload"}) + "\n")
            continue
        table.add_row(
            entry.id,
            _ago(entry.at, now),
            entry.stage,
            entry.reason,
            entry.source or "",
            str(len(entry.item_ids)),
            str(entry.attempts),
            entry.message[:60],
        )
    if not as_json:
        console.print(table)
        more = f" (showing {shown}; --limit 0 for all)" if matched > shown else ""
        console.print(f"{matched} dead letter(s){more}")


@dlq_app.command("show")
def dlq_show(
    entry_id: str,
    as_json: Annotated[bool, typer.Option("--json", help="Compact, on one line.")] = False,
) -> None:
    """One dead letter with its payload, as JSON (indented, or with --json on
    one line for scripts)."""
    from shared.dlq import DeadLetterStore
    from shared.runtime import redis_client

    entry = DeadLetterStore(redis_client(_settings())).get(entry_id)
    if entry is None:
        err.print(f"no dead letter {entry_id}")
        raise typer.Exit(1)
    if as_json:
        print(entry.model_dump_json())
    else:
        console.print_json(entry.model_dump_json())


def _progress(entries: list[DeadLetter], what: str) -> Iterator[DeadLetter]:
    """A progress bar on the terminal when there is much to do."""
    if len(entries) < 50 or not err.is_terminal:
        return iter(entries)
    from rich.progress import track

    return iter(track(entries, description=what, console=err))


@dlq_app.command("replay")
def dlq_replay(
    entry_id: Annotated[str | None, typer.Argument(help="One entry; omit to use filters.")] = None,
    stage: StageOpt = None,
    reason: ReasonOpt = None,
    source: SourceOpt = None,
    older_than: OlderOpt = None,
    newer_than: NewerOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what would go.")] = False,
) -> None:
    """Send dead letters back to their stage's queue, then remove them.

    Idempotent: every stage drops what it has already done (version gate,
    deterministic ids, external versions), so replaying an entry twice, or an
    entry whose removal was interrupted, gives the same documents."""
    from shared.dlq import DeadLetterStore
    from shared.queues import STAGE_TASKS
    from shared.runtime import redis_client
    from wirestream.bootstrap import build_process

    celery_app = build_process().app

    store = DeadLetterStore(redis_client(_settings()))
    if entry_id:
        found = store.get(entry_id)
        if found is None:
            err.print(f"no dead letter {entry_id}")
            raise typer.Exit(1)
        entries = [found]
    else:
        entries = list(_select(store, stage, reason, source, older_than, newer_than))
    replayed = skipped = 0
    for entry in _progress(entries, "replaying"):
        if entry.stage not in STAGE_TASKS or "raw" in entry.payload:
            skipped += 1
            log.warning("not replayable (no valid payload)", extra={"fields": _fields(entry)})
            continue
        if dry_run:
            replayed += 1
            continue
        task, queue = STAGE_TASKS[entry.stage]
        # Send first, then remove: a crash in between leaves the entry to be
        # replayed again, which the stages make harmless.
        celery_app.send_task(task, args=[entry.payload], queue=queue)
        store.remove(entry.id)
        replayed += 1
        log.info("replayed to %s", queue, extra={"fields": _fields(entry)})
    verb = "would replay" if dry_run else "replayed"
    console.print(f"{verb} {replayed} dead letter(s); {skipped} not replayable")


@dlq_app.command("purge")
def dlq_purge(
    stage: StageOpt = None,
    reason: ReasonOpt = None,
    source: SourceOpt = None,
    older_than: OlderOpt = None,
    newer_than: NewerOpt = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False,
) -> None:
    """Delete dead letters matching the filters (all of them without filters)."""
    from shared.dlq import DeadLetterStore
    from shared.runtime import redis_client

    store = DeadLetterStore(redis_client(_settings()))
    entries = list(_select(store, stage, reason, source, older_than, newer_than))
    if not yes and not typer.confirm(f"delete {len(entries)} dead letter(s)?"):
        raise typer.Exit(1)
    purged = 0
    for entry in _progress(entries, "purging"):
        if store.remove(entry.id):
            purged += 1
            log.info("purged", extra={"fields": _fields(entry)})
    console.print(f"purged {purged} dead letter(s)")


# -------------------------------------------------------------------- health
@health_app.command("worker")
def health_worker(
    stage: Annotated[str, typer.Argument(help="ingest, enrich or index")],
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the answer.")] = 5.0,
) -> None:
    """Exit 0 if this host's worker for STAGE answers a Celery ping (the
    compose healthcheck of each worker container)."""
    from shared.queues import QUEUES
    from wirestream.bootstrap import build_process

    celery_app = build_process().app

    if stage not in QUEUES:
        raise typer.BadParameter(f"stage must be one of {', '.join(QUEUES)}")
    name = f"{stage}@{socket.gethostname()}"
    replies = celery_app.control.ping(destination=[name], timeout=timeout)
    if not any(name in reply for reply in replies):
        err.print(f"worker {name} did not answer")
        raise typer.Exit(1)
    console.print(f"worker {name} ok")


@health_app.command("scheduler")
def health_scheduler(
    max_age: Annotated[
        float, typer.Option(help="Seconds since the last look at the schedule.")
    ] = 30.0,
    any_host: Annotated[
        bool, typer.Option("--any-host", help="Any scheduler, not only this host's.")
    ] = False,
) -> None:
    """Exit 0 if this host's scheduler (or any, with --any-host) looked at the
    schedule within MAX_AGE seconds (the compose healthcheck of the scheduler
    container)."""
    from services.ingest.scheduler import scheduler_heartbeats
    from shared.runtime import redis_client

    host = socket.gethostname()
    # Redis down or refusing the login: its one-line error, exit 3 or 4
    # (wirestream.failures); any of them fails the healthcheck
    ages = scheduler_heartbeats(redis_client(_settings()))
    mine = {n: a for n, a in ages.items() if any_host or n.rsplit(":", 1)[0] == host}
    fresh = {n: a for n, a in mine.items() if a <= max_age}
    if not fresh:
        seen = ", ".join(f"{n} {a:.0f}s ago" for n, a in sorted(mine.items())) or "none"
        err.print(f"no scheduler{'' if any_host else ' on ' + host} within {max_age:.0f}s ({seen})")
        raise typer.Exit(1)
    name, age = min(fresh.items(), key=lambda kv: kv[1])
    console.print(f"scheduler {name} ok (last look {age:.1f}s ago)")


@health_app.command("exporter")
def health_exporter(
    url: Annotated[str, typer.Option(help="The exporter's /metrics.")] = (
        "http://127.0.0.1:9109/metrics"
    ),
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the answer.")] = 15.0,
) -> None:
    """Exit 0 if the exporter serves its gauges (the compose healthcheck of
    the exporter container). A dependency being down is a gauge value, not
    an unhealthy exporter."""
    import httpx

    try:
        response = httpx.get(url, timeout=timeout)
    except httpx.HTTPError as exc:
        err.print(f"exporter at {url} did not answer: {exc}")
        raise typer.Exit(1) from exc
    if response.status_code != 200 or "wirestream_service_up" not in response.text:
        err.print(f"exporter at {url} answered {response.status_code} without its gauges")
        raise typer.Exit(1)
    console.print(f"exporter at {url} ok")


# ----------------------------------------------------------------- capacity
def capacity(
    articles_per_day: Annotated[
        list[float] | None, typer.Argument(help="Daily volumes to plan for.")
    ] = None,
    figures: Annotated[Path, typer.Option(help="BENCHMARKS.md with the capacity figures.")] = (
        Path("BENCHMARKS.md")
    ),
    peak_factor: Annotated[float, typer.Option(help="Busiest hour over the day's mean.")] = 2.0,
    utilisation: Annotated[float, typer.Option(help="Share of a core filled at the peak.")] = 0.7,
    retention_days: Annotated[int, typer.Option(help="Days indices are kept.")] = 365,
    replicas: Annotated[int, typer.Option(help="Elasticsearch replicas.")] = 1,
    node_cores: Annotated[int, typer.Option(help="Cores of an Elasticsearch node.")] = 8,
    node_disk_gb: Annotated[float, typer.Option(help="Disk of an Elasticsearch node.")] = 2000.0,
    articles_per_source_day: Annotated[
        float, typer.Option(help="Articles a source publishes a day (sources = volume / this).")
    ] = 20.0,
    poll_interval: Annotated[float, typer.Option(help="Mean seconds between polls of a source.")
                             ] = 900.0,
    registry_entities: Annotated[
        int, typer.Option(help="People, organisations and places the registry holds.")
    ] = 1_000_000,
    translation_cache_days: Annotated[
        float | None, typer.Option(help="Instead of WIRESTREAM_TRANSLATOR__CACHE_DAYS.")
    ] = None,
    cluster_window_days: Annotated[
        float | None, typer.Option(help="Instead of WIRESTREAM_CLUSTERS__WINDOW_DAYS.")
    ] = None,
    gate_days: Annotated[
        float | None,
        typer.Option(help="What if the version gate and story links kept a story this long "
                     "(180 days in the code)."),
    ] = None,
) -> None:
    """The capacity model: cores, worker processes, Elasticsearch nodes and
    Redis memory for each daily volume, from the measured per-article costs
    (`make bench`, the capacity rows of BENCHMARKS.md)."""
    from wirestream.ops.capacity import (
        Assumptions,
        Measured,
        describe,
        markdown,
        plan,
        window_days,
    )

    if not figures.exists():
        raise typer.BadParameter(f"{figures} does not exist", param_hint="--figures")
    try:
        measured = Measured.from_benchmarks(figures)
    except (KeyError, ValueError) as exc:
        err.print(f"{figures}: {exc}")
        raise typer.Exit(1) from exc
    windows = window_days(_settings())  # this installation's settings
    given = {("translation cache",): translation_cache_days,
             ("near-duplicate signatures", "cluster ids", "LSH buckets"): cluster_window_days,
             ("version gate", "story links"): gate_days}
    for families, days in given.items():
        if days is not None:
            if days <= 0:
                raise typer.BadParameter(f"{days:g}: days must be more than 0")
            windows.update(dict.fromkeys(families, days))
    assumptions = Assumptions(peak_factor=peak_factor, utilisation=utilisation,
                              retention_days=retention_days, replicas=replicas,
                              node_cores=node_cores, node_disk_gb=node_disk_gb,
                              articles_per_source_day=articles_per_source_day,
                              poll_interval_s=poll_interval,
                              registry_entities=registry_entities)
    rates = articles_per_day or [30_000, 100_000, 300_000, 1_000_000, 3_000_000]
    console.print(markdown(rates, measured, assumptions, windows), highlight=False,
                  soft_wrap=True)
    console.print("\nRedis memory by key family (GB; days kept):", highlight=False)
    for rate in rates:
        held = plan(rate, measured, assumptions, windows).redis_gb
        parts = ", ".join(f"{family} {gb:.1f}" + (f" ({windows[family]:g} d)"
                                                  if family in windows else "")
                          for family, gb in sorted(held.items(), key=lambda kv: -kv[1]))
        console.print(f"- {rate:,.0f}/day: {parts}", highlight=False, soft_wrap=True)
    console.print(f"\nAssumptions: {describe(assumptions)}. Costs at "
                  f"{', '.join(f'{s} {n} processes' for s, n in measured.processes.items())}"
                  f" from {figures}", highlight=False, soft_wrap=True)
