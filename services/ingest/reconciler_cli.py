"""``wirestream reconcile`` and the scheduler's reconcile hook.

Wire the command into the CLI with ``app.command(name="reconcile")(reconcile)``
(see :func:`wirestream.cli._register_optional_commands`). The scheduler builds its
hook with :func:`scheduler_hook` (``services.ingest.scheduler``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Annotated

import redis
import typer

from services.ingest.reconciler import STATS_KEY, Reconciler, ReconcileReport, es_version_lookup
from shared.settings import Settings

__all__ = ["build_reconciler", "reconcile", "scheduler_hook"]

log = logging.getLogger(__name__)


def build_reconciler(
    settings: Settings, client: redis.Redis, *, deadline: float | None = None
) -> Reconciler:
    """The reconciler of these settings, reading Elasticsearch as the
    read-only consumer through the read alias."""
    from shared.runtime import es_client

    es = es_client(settings, role="reader")
    config = settings.reconcile
    return Reconciler(
        client,
        es_version_lookup(es, settings.es.index_prefix),
        deadline=config.deadline if deadline is None else deadline,
        horizon=config.horizon,
        max_redrives=config.max_redrives,
    )


def scheduler_hook(
    settings: Settings, client: redis.Redis
) -> tuple[Callable[[float], object], float] | None:
    """``(pass, interval)`` for the scheduler, or None when disabled."""
    if not settings.reconcile.enabled:
        return None
    reconciler = build_reconciler(settings, client)

    def run(_now: float) -> object:
        report = reconciler.run_once()
        if report.redriven or report.dead_lettered:
            log.warning(
                "reconcile: %d item(s) re-driven, %d dead-lettered (%d checked)",
                len(report.redriven), len(report.dead_lettered), report.checked,
            )
        return report

    return run, settings.reconcile.interval


def _print(report: ReconcileReport, as_json: bool, stats: dict[str, str]) -> None:
    data = {
        "scanned": report.scanned,
        "checked": report.checked,
        "verified": report.verified,
        "missing": report.missing,
        "waiting": report.waiting,
        "redriven": report.redriven,
        "dead_lettered": report.dead_lettered,
        "skipped": report.skipped,
        "totals": stats,
    }
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    if report.skipped:
        typer.echo(f"skipped: {report.skipped}")
    typer.echo(
        f"scanned {report.scanned} accepted items, checked {report.checked} past the "
        f"deadline: {report.verified} searchable, {report.missing} missing "
        f"({len(report.redriven)} re-driven, {len(report.dead_lettered)} dead-lettered, "
        f"{report.waiting} waiting after a re-drive)"
    )
    for item_id in report.redriven[:20]:
        typer.echo(f"re-driven: {item_id}")
    for item_id in report.dead_lettered[:20]:
        typer.echo(f"dead-lettered: {item_id}")


def reconcile(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Find and count stuck items; change nothing.")
    ] = False,
    deadline: Annotated[
        float | None,
        typer.Option(help="Seconds after acceptance an item counts as stuck "
                          "(default WIRESTREAM_RECONCILE__DEADLINE)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable.")] = False,
) -> None:
    """Re-drive items accepted by ingest but not searchable after the deadline
    (one pass; the scheduler runs one every WIRESTREAM_RECONCILE__INTERVAL s)."""
    from shared.runtime import redis_client
    from shared.settings import load_settings

    settings = load_settings()
    client = redis_client(settings)
    try:
        report = build_reconciler(settings, client, deadline=deadline).run_once(dry_run=dry_run)
        raw: dict[bytes, bytes] = client.hgetall(STATS_KEY)  # type: ignore[assignment]
    finally:
        client.close()
    _print(report, as_json, {k.decode(): v.decode() for k, v in raw.items()})
