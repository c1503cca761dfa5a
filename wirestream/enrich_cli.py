"""Operator commands of the enrich service (wired into ``wirestream.cli``):

* ``wirestream enrich FILE...|-`` - the full enrichment of documents (plain
  text, HTML, ninjs, NewsML-G2, or a feed: every item), printed as JSON;
  with ``--jsonl``, many documents in one process (JSON Lines in and out,
  batches of ``--batch``), for offline evaluation and bulk re-enrichment;
* ``wirestream enrich --again QUERY`` - re-send indexed documents matching a
  Lucene query through the enrich queue (after a translator outage, a model
  or rule change, an alias correction);
* ``wirestream entities show|merge|unmerge|split|load|review|publish|rekey``
  - the alias registry and the entity directory in Elasticsearch.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from shared.errors import TransientError, WirestreamError

__all__ = ["enrich", "entities_app"]

entities_app = typer.Typer(
    help="The entity alias registry: show, merge, unmerge, split, load, review, publish, "
         "rekey.", no_args_is_help=True
)


def _fail(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(1)


def _print(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def _registry() -> Any:
    from services.enrich.adapters.entity_registry import EntityRegistry
    from shared.runtime import redis_client
    from shared.settings import load_settings

    return EntityRegistry(redis_client(load_settings()))


def _record(record: Any) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(record)


@entities_app.command("show")
def entities_show(
    query: Annotated[str, typer.Argument(help="An entity id or a name in any spelling.")],
    entity_type: Annotated[str | None, typer.Option("--type", help="PERSON, ORG, ...")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Compact, on one line.")] = False,
) -> None:
    """The entities a name or id resolves to, with canonical name, variants
    and alias keys, as JSON (indented, or with --json on one line)."""
    records = _registry().find(query, entity_type.upper() if entity_type else None)
    if not records:
        raise _fail(f"no entity for {query!r}")
    if as_json:
        typer.echo(json.dumps([_record(r) for r in records], ensure_ascii=False, default=str))
    else:
        _print([_record(r) for r in records])


def _publish(registry: Any, ids: list[str] | None) -> None:
    """Write the merge groups of ``ids`` (None: all) to the entity directory
    in Elasticsearch, as the writer. The registry change stands if this
    fails; the message says how to repeat it."""
    from elasticsearch import ApiError, TransportError
    from elasticsearch.helpers import BulkIndexError

    from services.index.adapters.entity_directory import publish_groups
    from services.index.names import IndexNames
    from shared.runtime import es_client
    from shared.settings import load_settings

    settings = load_settings()
    groups = registry.directory_groups(ids)
    try:
        with es_client(settings) as es:
            written = publish_groups(es, IndexNames(settings.es.index_prefix), groups)
    except (ApiError, TransportError, BulkIndexError) as exc:
        raise _fail(f"the registry is changed, but the entity directory was not updated "
                    f"({type(exc).__name__}: {exc}); searches by id follow it once "
                    "`wirestream entities publish` succeeds") from exc
    typer.echo(f"entity directory: {written} id(s) in {len(groups)} group(s) written",
               err=True)


@entities_app.command("merge")
def entities_merge(
    keep: Annotated[str, typer.Argument(help="The entity that survives (id or name).")],
    others: Annotated[list[str], typer.Argument(help="Entities folded into it.")],
    directory: Annotated[bool, typer.Option(
        help="Update the entity directory in Elasticsearch, so searches by any of "
             "the ids find every document of the entity.")] = True,
) -> None:
    """Make several entities one: their spellings and ids point at KEEP.
    Indexed documents are not rewritten: searches follow the merge through
    the entity directory. Undo with `entities unmerge ID`."""
    registry = _registry()
    try:
        record = registry.merge(keep, others)
    except WirestreamError as exc:
        raise _fail(str(exc)) from exc
    _print(_record(record))
    if directory:
        _publish(registry, [record.id])


@entities_app.command("unmerge")
def entities_unmerge(
    entity_id: Annotated[str, typer.Argument(help="The id that was merged (`entities show "
                                                  "ID` lists merged_into).")],
    directory: Annotated[bool, typer.Option(
        help="Update the entity directory in Elasticsearch.")] = True,
) -> None:
    """Undo a merge: the id is its own entity again, with its spellings;
    documents indexed with it are found by it (and no longer by its former
    survivor) once the directory is updated."""
    registry = _registry()
    try:
        record = registry.get(entity_id)
        parent = record.merged_into if record else None
        restored = registry.unmerge(entity_id)
    except WirestreamError as exc:
        raise _fail(str(exc)) from exc
    _print(_record(restored))
    if directory:
        _publish(registry, [entity_id, *([parent] if parent else [])])


@entities_app.command("publish")
def entities_publish() -> None:
    """Rewrite every merge group to the entity directory (after a failed
    update, a restored registry, or a new cluster)."""
    _publish(_registry(), None)


@entities_app.command("rekey")
def entities_rekey() -> None:
    """Add the current name-key scheme's keys for every entity's spellings
    (after an upgrade that changes the scheme; ids never change)."""
    from services.enrich.names import KEY_SCHEME

    try:
        read, added = _registry().rekey()
    except WirestreamError as exc:
        raise _fail(str(exc)) from exc
    typer.echo(f"{read} entities, {added} new {KEY_SCHEME} key(s)")


@entities_app.command("split")
def entities_split(
    entity: Annotated[str, typer.Argument(help="The entity (id or name).")],
    variant: Annotated[str, typer.Argument(help="The spelling that is someone else.")],
) -> None:
    """Make one spelling of an entity a separate entity."""
    try:
        _print(_record(_registry().split(entity, variant)))
    except WirestreamError as exc:
        raise _fail(str(exc)) from exc


@entities_app.command("load")
def entities_load(
    path: Annotated[Path, typer.Argument(help="YAML file with an `entities:` list.")],
    directory: Annotated[bool, typer.Option(
        help="Write the merges the file makes to the entity directory.")] = True,
) -> None:
    """Seed or correct the registry from a YAML file (canonical names are
    locked; aliases merge)."""
    import yaml

    from shared import yaml_data

    registry = _registry()
    try:
        records = registry.load(yaml_data.safe_load(path.read_text(encoding="utf-8")))
        merged = [r.id for r in records if len(registry.group(r.id)[1]) > 1]
    except (WirestreamError, OSError, yaml.YAMLError) as exc:
        raise _fail(str(exc)) from exc
    for record in records:
        typer.echo(f"{record.id}\t{record.type}\t{record.name}\t{len(record.variants)} variants")
    if directory and merged:
        _publish(registry, merged)


@entities_app.command("review")
def entities_review(
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many, newest first.")] = 50,
    near: Annotated[bool, typer.Option("--near", help="Near misses only.")] = False,
    joins: Annotated[bool, typer.Option("--joins", help="Joins only.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON list.")] = False,
) -> None:
    """The registry's recent joins made by a rule weaker than a key (a bare
    surname, a given-name spelling, a surname skeleton, a batch neighbour)
    and its near misses, with the evidence. Undo a join with `wirestream
    entities split ID NAME`; make a near miss one with `entities merge`."""
    kind = "near" if near and not joins else "join" if joins and not near else None
    try:
        entries = _registry().review(limit, kind)
    except WirestreamError as exc:
        raise _fail(str(exc)) from exc
    if as_json:
        _print(entries)
        return
    if not entries:
        typer.echo("nothing to review")
        return
    for e in entries:
        arrow = "->" if e.get("kind") == "join" else "?"
        typer.echo(f"{e.get('at', '')}  {e.get('kind', ''):4}  {e.get('rule', ''):22}  "
                   f"{e.get('name', '')!r} {arrow} {e.get('into', '')!r} [{e.get('id', '')}]  "
                   f"{e.get('detail', '')}")
        if e.get("kind") == "join":
            typer.echo(f"      undo: wirestream entities split {e.get('id', '')} "
                       f"{e.get('name', '')!r}")


def _read(source: str) -> bytes:
    if source == "-":
        return sys.stdin.buffer.read()
    return Path(source).read_bytes()


def _items(data: bytes, fmt: str, language: str | None) -> list[Any]:
    from services.enrich.reenrich import looks_like_plain_text, plain_text_item

    if fmt == "text" or (fmt == "auto" and looks_like_plain_text(data)):
        return [plain_text_item(data.decode("utf-8", "replace"), language=language)]
    from services.ingest.parsers import SourceRef, parse_document

    result = parse_document(data, source=SourceRef(id="cli", language=language),
                            fetched_at=datetime.now(UTC), fmt=fmt)
    for problem in result.errors:
        typer.echo(f"skipped entry {problem.index}: {problem.reason}: {problem.message}",
                   err=True)
    return list(result.items)


def _jsonl_items(data: bytes, language: str | None) -> list[tuple[int, Any, str | None]]:
    """(line number, item or None, error) per line of a JSON Lines input:
    each line a NewsItem as `wirestream parse` prints it, or an object with
    at least a ``headline`` or ``body_text`` (plus optional ``summary``,
    ``language``, ``id``, ``uri``)."""
    from pydantic import ValidationError

    from services.enrich.reenrich import plain_text_item
    from shared.models import NewsItem

    out: list[tuple[int, Any, str | None]] = []
    for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"not JSON: {exc}") from None
            if not isinstance(row, dict):
                raise ValueError("not a JSON object")
            try:
                item = NewsItem.model_validate(row)
            except ValidationError:
                headline, body = row.get("headline"), row.get("body_text")
                if not isinstance(headline, str | None) or not isinstance(body, str | None) \
                        or not (headline or body):
                    raise ValueError("neither a NewsItem nor an object with a headline or "
                                     "body_text string") from None
                item = plain_text_item(f"{headline or ''}\n{body or ''}",
                                       language=row.get("language") or language)
                summary = row.get("summary")
                item = item.model_copy(update={
                    "summary": summary if isinstance(summary, str) else None,
                    **{k: str(row[k]) for k in ("id", "uri") if row.get(k)}})
            out.append((number, item, None))
        except ValueError as exc:
            out.append((number, None, str(exc)))
    return out


def _enrich_jsonl(sources: list[str], fmt: str, language: str | None, batch: int,
                  models: Any) -> int:
    """Enrich every document of ``sources`` in batches, one JSON line out per
    document (or per input line that could not be read: ``{"source",
    "line", "error"}``); returns how many failed to read."""
    from services.enrich.stage import enrich_items

    failed = 0
    pending: list[Any] = []  # items, and error lines (dicts) kept in input order

    def flush() -> None:
        enriched = iter(enrich_items([p for p in pending if not isinstance(p, dict)], models))
        for entry in pending:
            row = entry if isinstance(entry, dict) else next(enriched).model_dump(mode="json")
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
        sys.stdout.flush()
        pending.clear()

    for source in sources:
        try:
            data = _read(source)
        except OSError as exc:
            failed += 1
            pending.append({"source": source, "error": str(exc)})
            continue
        if fmt in ("auto", "jsonl") and (fmt == "jsonl" or source == "-"
                                         or source.endswith((".jsonl", ".ndjson"))):
            rows = _jsonl_items(data, language)
        else:
            try:
                rows = [(0, item, None) for item in _items(data, fmt, language)]
            except WirestreamError as exc:
                rows = [(0, None, str(exc))]
        for number, item, error in rows:
            if item is None:
                failed += 1
                pending.append({"source": source, "line": number, "error": error})
            else:
                pending.append(item)
            if len(pending) >= batch:
                flush()
    if pending:
        flush()
    return failed


def enrich(
    sources: Annotated[list[str] | None, typer.Argument(
        help="Files (plain text, HTML, ninjs, NewsML-G2, feed; with --jsonl also JSON "
             "Lines) or - for stdin.", show_default=False)] = None,
    again: Annotated[str | None, typer.Option(
        "--again", help="Re-enrich the indexed documents matching this Lucene query.")] = None,
    fmt: Annotated[str, typer.Option(
        "--format", help="auto, text, html, ninjs, newsml-g2, newsml-1, nitf, rss, atom, "
                         "jsonfeed; with --jsonl also jsonl (auto: stdin and *.jsonl, "
                         "*.ndjson files are JSON Lines)")] = "auto",
    language: Annotated[str | None, typer.Option(
        help="Language hint (ISO 639-1) for input that declares none.")] = None,
    offline: Annotated[bool, typer.Option(
        help="No Redis: ids from name keys only, no shared cache, no clustering.")] = False,
    translate: Annotated[bool, typer.Option(
        help="Call the translator and the CoreNLP server; --no-translate makes no HTTP "
             "call at all (spaCy then reads English documents only).")] = True,
    limit: Annotated[int | None, typer.Option(help="--again: at most this many.")] = None,
    index: Annotated[str | None, typer.Option(
        help="--again: search this index or alias instead of the read alias.")] = None,
    jsonl: Annotated[bool, typer.Option(
        "--jsonl", help="Many documents in one process: one JSON line out per document, "
                        "enriched in batches (input lines that cannot be read get an error "
                        "line and the rest go on).")] = False,
    batch: Annotated[int, typer.Option(min=1, help="--jsonl: documents per batch.")] = 50,
    max_wait: Annotated[float, typer.Option(
        help="--again: give up (exit 3) after waiting this many seconds for a full enrich "
             "queue to drain.")] = 600.0,
) -> None:
    """Run the full enrichment on documents and print them as JSON (--jsonl:
    one line each, for many documents), or re-enrich indexed documents with
    --again."""
    if again is not None:
        from wirestream.bootstrap import build_process

        _again(build_process(), again, limit, index, max_wait)
        return
    from shared.settings import load_settings

    settings = load_settings()
    if not sources:
        raise _fail("give FILEs, - for stdin, or --again QUERY")
    items: list[Any] = []
    if not jsonl:
        for source in sources:
            try:
                items += _items(_read(source), fmt, language)
            except (WirestreamError, OSError) as exc:
                raise _fail(f"cannot read {source}: {exc}") from exc
        if not items:
            raise _fail("the document has no items")
    from services.enrich.adapters.translation_backends import http_client
    from services.enrich.loading import load_models
    from services.enrich.stage import enrich_items
    from shared.runtime import redis_client

    client = None if offline else redis_client(settings)
    http = http_client(settings.translator) if translate else None
    try:
        models = load_models(settings, client, http)
        if jsonl:
            failed = _enrich_jsonl(list(sources), fmt, language, batch, models)
            if failed:
                typer.echo(f"{failed} input(s) could not be read (error lines above)",
                           err=True)
                raise typer.Exit(1)
            return
        enriched = enrich_items(items, models)
    finally:
        if http is not None:
            http.close()
        if client is not None:
            client.close()
    out = [item.model_dump(mode="json") for item in enriched]
    _print(out[0] if len(out) == 1 else out)


PROGRESS_EVERY = 5.0  # seconds between progress lines of --again


def _again(process: Any, query: str, limit: int | None, index: str | None,
           max_wait: float) -> None:
    """Re-send what ``query`` finds, with the process the bootstrap built
    (:func:`wirestream.bootstrap.build_process`): its settings, app and
    runtime, closed at the end."""
    from services.enrich.reenrich import Reenricher
    from services.index.names import IndexNames
    from services.index.search import each_document
    from shared.models import Batch
    from shared.queues import ENRICH, queue_depth
    from shared.runtime import es_client

    settings, runtime = process.settings, process.runtime
    es = es_client(settings, role="reader")
    correlation = f"reenrich-{datetime.now(UTC):%Y%m%dT%H%M%S}"

    sending = [False]

    def send(items: list[Any]) -> None:
        if not sending[0]:  # said before the first batch, not after a silent wait
            sending[0] = True
            if not runtime.app.control.inspect(timeout=2.0).active_queues():
                typer.echo("no worker answers: the documents wait in the enrich queue until "
                           "an enrich worker runs (`wirestream status`)", err=True)
        runtime.send(ENRICH, Batch(items=items, correlation_id=correlation, reenrich=True))

    last = [time.monotonic()]

    def progress(done: int) -> None:
        if time.monotonic() - last[0] >= PROGRESS_EVERY:
            last[0] = time.monotonic()
            typer.echo(f"re-sent {done} so far ...", err=True)

    def waiting(depth: int, waited: float) -> None:
        typer.echo(f"the enrich queue holds {depth} messages: waiting for the enrich "
                   f"workers to take them ({waited:.0f} s of at most {max_wait:.0f} s)",
                   err=True)

    reenricher = Reenricher(
        search=es.search, index=index or IndexNames(settings.es.index_prefix).read_alias,
        send=send,
        queue_depth=lambda: queue_depth(runtime.redis, ENRICH), walk=each_document,
        batch_size=settings.ingest.batch_size, max_wait=max_wait, progress=progress,
        waiting=waiting,
    )
    try:
        sent, skipped = reenricher.run(query, limit=limit)
    except TransientError:
        raise  # a service down or nobody taking the queue: exit 3 (wirestream.failures)
    except WirestreamError as exc:
        raise _fail(str(exc)) from exc
    finally:
        es.close()
        runtime.close()
    typer.echo(f"re-sent {sent} documents to the enrich queue ({correlation}); "
               f"skipped {skipped}")
