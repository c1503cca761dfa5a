"""The index service's commands: ``wirestream index setup|migrate|status``
and ``wirestream search``.

Wiring (wirestream/cli.py): ``app.add_typer(index_app, name="index")`` and
``app.command(name="search")(search)``. Both are usable on their own with
typer's test runner.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from elasticsearch import Elasticsearch
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

__all__ = ["index_app", "search"]

console = Console()
err = Console(stderr=True)
# Exit code of a search some shards failed (2 is a usage error, 1 unhealthy)
SEARCH_INCOMPLETE = 3

index_app = typer.Typer(help="Elasticsearch index management.", no_args_is_help=True)


@contextmanager
def _client(role: str) -> Iterator[tuple[Any, Elasticsearch]]:
    from shared.runtime import es_client
    from shared.settings import load_settings

    settings = load_settings()
    es = es_client(settings, role=role)
    try:
        yield settings, es
    finally:
        es.close()


@index_app.command("setup")
def setup_command() -> None:
    """Template, aliases, mapping and the current index; checks the roles
    (admin credentials). Safe to run again at any time."""
    from services.index.setup import run_setup

    with _client("admin") as (settings, es):
        report = run_setup(
            es,
            settings.es.index_prefix,
            users={"writer": settings.es.username, "reader": settings.es.reader_username},
            replicas=settings.es.replicas,
        )
    for line in report.lines:
        # Elasticsearch's reasons contain [brackets]: never rich markup.
        console.print(line, style="red" if line.startswith("PROBLEM") else None, markup=False)
    if report.security_problems:
        raise typer.Exit(1)


@index_app.command("migrate")
def migrate_command(
    page_size: Annotated[int, typer.Option(help="Documents per page and bulk request.")] = 1000,
    delete_old: Annotated[
        bool, typer.Option("--delete-old", help="Delete the old generation after the swap.")
    ] = False,
) -> None:
    """Copy every document into a new generation of indices built from the
    current template, then swap both aliases to it atomically."""
    from services.index.migrate import migrate

    columns = (
        TextColumn("{task.description:<9}"),
        BarColumn(),
        TextColumn("{task.completed:>9,.0f} docs"),
        TimeElapsedColumn(),
    )
    with _client("admin") as (settings, es), Progress(*columns, console=err) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(phase: str, done: int, total: int | None) -> None:
            if phase not in tasks:
                for task in tasks.values():
                    bar.update(task, total=bar.tasks[task].completed)
                tasks[phase] = bar.add_task(phase, total=total)
            bar.advance(tasks[phase], done)

        report = migrate(
            es, settings.es.index_prefix, replicas=settings.es.replicas, page_size=page_size,
            delete_old=delete_old, progress=progress,
        )
    for line in report.lines():
        console.print(line, markup=False)


@index_app.command("status")
def status_command(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable.")] = False,
) -> None:
    """Live generation, its indices with document counts, and the aliases
    (exit 1 when there is no live generation)."""
    from services.index.names import IndexNames
    from services.index.setup import live_indices

    with _client("admin") as (settings, es):
        names = IndexNames(settings.es.index_prefix)
        generation, _live = live_indices(es, names)
        everything = es.indices.get(index=names.any_generation, allow_no_indices=True)
        rows: Any = es.cat.indices(
            index=names.any_generation, format="json", h="index,docs.count"
        ).body
        counts = {row["index"]: row["docs.count"] for row in rows}
    indices = []
    for index in sorted(everything):
        aliases = everything[index].get("aliases", {})
        blocked = everything[index]["settings"]["index"].get("blocks", {}).get("write")
        docs = counts.get(index)
        indices.append({"index": index, "docs": int(docs) if docs is not None else None,
                        "read_alias": names.read_alias in aliases,
                        "write_alias": names.write_alias in aliases,
                        "write_blocked": blocked == "true"})
    if as_json:
        print(json.dumps({"healthy": generation is not None, "generation": generation,
                          "indices": indices}))
    else:
        table = Table("index", "docs", "read alias", "write alias", "write-blocked",
                      title=f"generation {generation}")
        for row in indices:
            table.add_row(str(row["index"]), "?" if row["docs"] is None else str(row["docs"]),
                          *("yes" if row[k] else "" for k in
                            ("read_alias", "write_alias", "write_blocked")))
        console.print(table)
    if generation is None:
        err.print("no live generation: run `wirestream index setup`")
        raise typer.Exit(1)


def search(
    query: Annotated[str, typer.Argument(help="Full text (simple_query_string syntax); "
                                              "may be empty with filters.")] = "",
    lang: Annotated[str | None, typer.Option(help="Original language (ISO 639-1).")] = None,
    entity: Annotated[str | None, typer.Option(help="Entity id or any spelling of it.")] = None,
    topic: Annotated[str | None, typer.Option(help="Media topic code or label.")] = None,
    since: Annotated[str | None, typer.Option(help="Published since: 6h, 7d, 2w or a date.")]
    = None,
    source: Annotated[str | None, typer.Option(help="Source id.")] = None,
    size: Annotated[int, typer.Option(help="How many hits.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines for scripts.")] = False,
) -> None:
    """Search the read alias as the read-only consumer."""
    from services.index.search import SearchFilters, search_body, since_expression

    if since is not None:
        try:
            since_expression(since)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--since") from None
    filters = SearchFilters(lang=lang, entity=entity, topic=topic, since=since, source=source)
    with _client("reader") as (settings, es):
        result = es.search(index=settings.es.index_prefix,
                           **search_body(query, filters, size, settings.es.index_prefix))
    shards = result.get("_shards") or {}
    if shards.get("failed"):
        # a partial answer is no answer: "0 matching documents" would hide it
        reasons = sorted({str((f.get("reason") or {}).get("reason", f.get("reason")))[:200]
                          for f in shards.get("failures") or []})
        err.print(f"[red]error[/]: Elasticsearch answered for {shards.get('successful', 0)} of "
                  f"{shards.get('total', '?')} shards: {'; '.join(reasons) or 'no reason given'}")
        raise typer.Exit(SEARCH_INCOMPLETE)
    hits = result["hits"]["hits"]
    if as_json:
        for hit in hits:
            sys.stdout.write(
                json.dumps({"score": hit["_score"], **hit["_source"]}, ensure_ascii=False) + "\n"
            )
        return
    table = Table("score", "source", "lang", "published", "headline")
    for hit in hits:
        doc = hit["_source"]
        score = hit.get("_score")
        table.add_row(
            f"{score:.2f}" if isinstance(score, int | float) else "-",
            escape(doc.get("source", "")),
            escape(doc.get("language", "")),
            (doc.get("published") or "")[:16],
            escape(doc.get("headline", "")[:90]),
        )
    console.print(table)
    console.print(f"{result['hits']['total']['value']} matching document(s)")
