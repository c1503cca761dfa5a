"""``wirestream ingest parse``: run the parsing layer on a file, stdin or URL
and print the normalised documents.

Wire it into the main CLI with either::

    from services.ingest.cli import parse
    app.command("parse")(parse)          # wirestream parse ...

or, as a group::

    from services.ingest.cli import app as ingest_app
    app.add_typer(ingest_app, name="ingest")   # wirestream ingest parse ...
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from services.ingest.parsers import ParseResult, SourceRef, parse_document
from services.ingest.text import default_boilerplate_rules, load_boilerplate_rules
from shared.errors import ConfigError, ParseError, WirestreamError

__all__ = ["FormatChoice", "app", "parse", "read_input"]

app = typer.Typer(help="Ingest service tools.", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Ingest service tools (keeps `parse` a sub-command even when alone)."""


class FormatChoice(StrEnum):
    auto = "auto"
    rss = "rss"
    atom = "atom"
    jsonfeed = "jsonfeed"
    ninjs = "ninjs"
    newsml_g2 = "newsml-g2"
    newsml_1 = "newsml-1"
    nitf = "nitf"
    anpa1312 = "anpa1312"
    iptc7901 = "iptc7901"
    sitemap = "sitemap"
    html = "html"


def read_input(path_or_url: str) -> tuple[bytes, str | None]:
    """(bytes, base URL) from a file path, ``-`` (stdin) or an http(s) URL.
    URLs go through :func:`services.ingest.adapters.fetch.fetch_bytes` (the SSRF
    guard and size caps of the poller)."""
    if path_or_url == "-":
        return sys.stdin.buffer.read(), None
    if path_or_url.startswith(("http://", "https://")):
        from services.ingest.adapters.fetch import fetch_bytes

        return fetch_bytes(path_or_url), path_or_url
    path = Path(path_or_url)
    try:
        return path.read_bytes(), None
    except OSError as exc:
        raise typer.BadParameter(
            f"cannot read {path}: {exc.strerror}", param_hint="PATH_OR_URL"
        ) from exc


def _table(result: ParseResult, console: Console) -> None:
    title = f"{result.format} {result.format_version or ''}".strip()
    if result.sitemap_urls or result.child_sitemaps:
        table = Table(
            title=f"{title}: {len(result.sitemap_urls) + len(result.child_sitemaps)} urls"
        )
        table.add_column("#", justify="right")
        table.add_column("loc", overflow="fold")
        table.add_column("date")
        table.add_column("lang")
        table.add_column("title", overflow="fold")
        for i, url in enumerate(result.sitemap_urls):
            date = url.publication_date or url.lastmod
            table.add_row(
                str(i), url.loc, date.isoformat() if date else "", url.language or "",
                url.title or "",
            )  # fmt: skip
        for i, child in enumerate(result.child_sitemaps):
            lastmod = child.lastmod.isoformat() if child.lastmod else ""
            table.add_row(str(i), child.loc, lastmod, "", "(sitemap)")
        console.print(table)
    else:
        table = Table(title=f"{title}: {len(result.items)} items")
        table.add_column("#", justify="right")
        table.add_column("versioncreated")
        table.add_column("lang")
        table.add_column("headline", overflow="fold", ratio=3)
        table.add_column("body", justify="right")
        table.add_column("url / uri", overflow="fold", ratio=2)
        table.add_column("flags")
        for i, item in enumerate(result.items):
            table.add_row(
                str(i),
                item.versioncreated.strftime("%Y-%m-%d %H:%M"),
                item.language or "",
                item.headline,
                str(len(item.body_text or "")),
                item.url or item.uri,
                " ".join(item.ingest_flags),
            )
        console.print(table)
    err = Console(stderr=True)
    for error in result.errors:
        err.print(f"[yellow]entry {error.index}[/] {error.reason}: {error.message}")
    for warning in result.warnings:
        err.print(f"[yellow]warning[/] {warning}")


@app.command("parse")
def parse(
    path_or_url: Annotated[str, typer.Argument(help="file path, '-' for stdin, or an http(s) URL")],
    type_: Annotated[
        FormatChoice, typer.Option("--type", "-t", help="force a format instead of detecting it")
    ] = FormatChoice.auto,
    table: Annotated[
        bool, typer.Option("--table/--json", help="rich table instead of JSON (default JSON)")
    ] = False,
    source: Annotated[str, typer.Option(help="source id used for item ids")] = "cli",
    lang: Annotated[str | None, typer.Option(help="language hint of the source")] = None,
    timezone: Annotated[
        str | None, typer.Option(help="IANA zone of times without one (default UTC)")
    ] = None,
    content_type: Annotated[
        str | None, typer.Option(help="Content-Type the document was served with")
    ] = None,
    base_url: Annotated[str | None, typer.Option(help="base URL for relative links")] = None,
    boilerplate: Annotated[
        list[Path] | None, typer.Option(help="extra boilerplate rule file (repeatable)")
    ] = None,
    fetched_at: Annotated[
        datetime | None, typer.Option(help="pretend fetch time (default: now, UTC)")
    ] = None,
) -> None:
    """Parse a news document and print the normalised items."""
    data, fetched_from = read_input(path_or_url)
    try:
        rules = load_boilerplate_rules(boilerplate) if boilerplate else default_boilerplate_rules()
    except ConfigError as exc:
        raise typer.BadParameter(str(exc), param_hint="--boilerplate") from exc
    try:
        source_ref = SourceRef(id=source, language=lang, timezone=timezone)
    except ValidationError as exc:
        raise typer.BadParameter(exc.errors()[0]["msg"], param_hint="--timezone") from exc
    console = Console()
    errors = Console(stderr=True, soft_wrap=True)  # one line per error, whatever the width
    try:
        result = parse_document(
            data,
            source=source_ref,
            fetched_at=fetched_at or datetime.now(UTC),
            content_type=content_type,
            base_url=base_url or fetched_from,
            fmt=type_.value,
            boilerplate=rules,
        )
    except ParseError as exc:
        errors.print(f"[red]parse error[/] ({exc.reason}): {exc.message}")
        raise typer.Exit(code=2) from exc
    except WirestreamError as exc:  # fetch errors from fetch_bytes
        errors.print(f"[red]error[/] ({exc.reason}): {exc.message}")
        raise typer.Exit(code=2) from exc
    if table:
        _table(result, console)
    else:
        sys.stdout.write(result.model_dump_json(indent=2) + "\n")
    if result.errors and not (result.items or result.sitemap_urls or result.child_sitemaps):
        # nothing read, only refusals: a failure, as an unreadable document is
        first = result.errors[0]
        errors.print(
            f"[red]parse error[/] ({first.reason}): no item read; {len(result.errors)} "
            f"entr{'y' if len(result.errors) == 1 else 'ies'} refused, the first: "
            f"{first.message}")
        raise typer.Exit(code=2)


def main() -> None:  # pragma: no cover - convenience for `python -m services.ingest.cli`
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
