"""`wirestream index migrate`: rebuild the data as the next generation from
the current template and swap the aliases to it, without the reindex module
(not on the minimal distribution) and without failing a single read.

Phases (``G`` live, ``T = G + 1``):

1. **prepare** — leftovers of an interrupted run (indices and template of
   any generation above ``G``) are removed; nothing of them is live. One
   ``T`` index per live ``G`` index is created from the current mapping and
   analysis, unaliased, with refresh off for the bulk load.
2. **copy** — per index: note the shard's local checkpoint (every operation
   up to it is complete), refresh, open a point in time and page through it
   (``_shard_doc`` order, ``search_after``), bulk-writing each page into the
   ``T`` index with the document's own external version and its derived
   fields recomputed (:func:`services.index.documents.derive`). Writers keep
   writing to ``G`` meanwhile.
3. **freeze** — template ``G`` is retired (no aliases, ``index.blocks.write``)
   and every ``G`` index is write-blocked. Writers get a
   ``cluster_block_exception``, which the bulk writer retries after looking
   up the generation again: they stall for this phase and the next, and
   lose nothing.
4. **catch up** — everything written to a ``G`` index after its checkpoint
   (``_seq_no`` above it) is copied again; external versioning makes the
   overlap harmless (equal versions are 409s). A ``G`` index created during
   the copy (a new month) is copied whole. Document counts are compared.
5. **swap** — template ``T`` (with both aliases) is installed, ``T`` indices
   get their normal refresh interval and are refreshed, and *one*
   ``_aliases`` call moves the read alias (with its filter) and the write
   alias from every ``G`` index to every ``T`` index. Readers see ``G``
   before and ``T`` after, both complete. Writers resume on ``T``.

The old indices stay, write-blocked and unaliased, for a rollback, unless
``delete_old``. A failure before the swap unfreezes ``G`` and restores its
template, so the live generation is exactly as before.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import ApiError, Elasticsearch

from services.index.adapters.bulk import encode, retryable
from services.index.documents import derive
from services.index.mapping import (
    DEFAULT_REPLICAS,
    AnalysisPlan,
    hidden_filter,
    index_settings,
    index_template,
    mappings,
)
from services.index.names import IndexNames
from services.index.setup import live_indices, probe_analysis, put_template
from shared.errors import ServiceUnavailable, WirestreamError
from shared.retrying import backoff

__all__ = ["MigrationError", "MigrationReport", "Progress", "migrate"]

# (phase, documents done since the last call, total for the phase or None)
Progress = Callable[[str, int, int | None], None]


class MigrationError(WirestreamError):
    """The migration stopped before the swap; the live generation is as it was."""

    default_reason = "migration_failed"


@dataclass
class MigrationReport:
    source_generation: int
    target_generation: int
    indices: dict[str, str] = field(default_factory=dict)  # source -> target
    copied: int = 0
    caught_up: int = 0
    already_current: int = 0  # 409s: the copy already had that version
    writes_frozen_seconds: float = 0.0
    seconds: float = 0.0
    deleted_old: bool = False

    def lines(self) -> list[str]:
        return [
            f"generation {self.source_generation} -> {self.target_generation}: "
            f"{len(self.indices)} index(es), {self.copied} document(s) copied, "
            f"{self.caught_up} caught up, {self.already_current} already current",
            f"writes paused {self.writes_frozen_seconds:.1f}s, total {self.seconds:.1f}s",
            "old indices deleted"
            if self.deleted_old
            else "old indices kept (write-blocked, no aliases) for a rollback",
        ]


def _noop(phase: str, done: int, total: int | None) -> None:
    return None


class _Copier:
    def __init__(self, es: Elasticsearch, page: int, progress: Progress,
                 sleep: Callable[[float], None]) -> None:
        self.es = es
        self.page = page
        self.progress = progress
        self.sleep = sleep
        self.written = 0
        self.stale = 0

    def pages(self, index: str, query: dict[str, Any] | None) -> Iterator[list[dict[str, Any]]]:
        pit = self.es.open_point_in_time(index=index, keep_alive="5m")["id"]
        try:
            after: list[Any] | None = None
            while True:
                body: dict[str, Any] = {
                    "pit": {"id": pit, "keep_alive": "5m"},
                    "sort": ["_shard_doc"],
                    "size": self.page,
                    "version": True,
                    "track_total_hits": False,
                }
                if query is not None:
                    body["query"] = query
                if after is not None:
                    body["search_after"] = after
                response = self.es.search(**body)
                hits = response["hits"]["hits"]
                if not hits:
                    return
                pit = response.get("pit_id", pit)
                after = hits[-1]["sort"]
                yield hits
        finally:
            self.es.options(ignore_status=404).close_point_in_time(id=pit)

    def copy(self, source: str, target: str, phase: str,
             query: dict[str, Any] | None = None) -> int:
        copied = 0
        for hits in self.pages(source, query):
            self.write(target, hits)
            copied += len(hits)
            self.progress(phase, len(hits), None)
        return copied

    def write(self, target: str, hits: list[dict[str, Any]], attempts: int = 6) -> None:
        pending = hits
        for attempt in range(1, attempts + 1):
            body = b"".join(
                encode(
                    {
                        "index": {
                            "_index": target,
                            "_id": hit["_id"],
                            "version": hit["_version"],
                            "version_type": "external",
                        }
                    }
                )
                + encode(derive(hit["_source"]))
                for hit in pending
            )
            try:
                response = self.es.bulk(operations=cast(Any, body))
            except (TransportConnectionError, ConnectionTimeout):
                retry = pending
            except ApiError as exc:
                if not retryable(exc.meta.status):
                    raise
                retry = pending
            else:
                retry = []
                failures = []
                for hit, result in zip(pending, response["items"], strict=True):
                    op = result["index"]
                    status = int(op.get("status", 500))
                    if status < 300:
                        self.written += 1
                    elif status == 409:
                        self.stale += 1
                    elif retryable(status):
                        retry.append(hit)
                    else:
                        failures.append(f"{hit['_id']}: {op.get('error')}")
                if failures:
                    raise MigrationError(
                        f"{len(failures)} document(s) refused by the new mapping, e.g. "
                        + "; ".join(failures[:3])
                    )
            if not retry:
                return
            pending = retry
            self.sleep(backoff(attempt - 1, base=0.5, cap=10.0))
        raise ServiceUnavailable(
            f"{len(pending)} document(s) still refused after {attempts} attempts",
            reason="es_backpressure",
        )


def _checkpoint(es: Elasticsearch, index: str) -> int:
    """Every operation with a sequence number up to this is complete on
    every shard of the index (the lowest local checkpoint)."""
    stats = es.indices.stats(index=index, level="shards", metric="docs")
    shards = stats["indices"][index]["shards"]
    return min(
        int(copy["seq_no"]["local_checkpoint"])
        for copies in shards.values()
        for copy in copies
        if copy["routing"]["primary"]
    )


def _indices_of(es: Elasticsearch, pattern: str) -> list[str]:
    return sorted(es.indices.get(index=pattern, allow_no_indices=True, expand_wildcards="all"))


def _count(es: Elasticsearch, index: str) -> int:
    return int(es.count(index=index)["count"])


def _counts(es: Elasticsearch, indices: list[str]) -> dict[str, int]:
    """Documents per index, in one request."""
    response = es.search(
        index=",".join(indices),
        size=0,
        aggs={"per_index": {"terms": {"field": "_index", "size": max(10, len(indices))}}},
    )
    return {b["key"]: int(b["doc_count"]) for b in response["aggregations"]["per_index"]["buckets"]}


def _searchable(es: Elasticsearch, indices: list[str], plan: AnalysisPlan) -> None:
    """Back to the template's refresh interval after a bulk load, refreshed."""
    if indices:
        es.indices.put_settings(
            index=",".join(indices),
            settings={"refresh_interval": index_settings(plan)["refresh_interval"]},
        )
        es.indices.refresh(index=",".join(indices))


def migrate(
    es: Elasticsearch,
    prefix: str,
    *,
    plan: AnalysisPlan | None = None,
    replicas: str = DEFAULT_REPLICAS,
    page_size: int = 1000,
    delete_old: bool = False,
    progress: Progress = _noop,
    sleep: Callable[[float], None] = time.sleep,
    after_copy: Callable[[], None] | None = None,
) -> MigrationReport:
    """Build generation G+1 from the current template and swap the aliases
    (see the module docstring). Needs the admin client. ``after_copy`` is a
    test hook run between the copy and the freeze."""
    started = time.monotonic()
    names = IndexNames(prefix)
    live, sources = live_indices(es, names)
    if live is None:
        raise MigrationError("no live generation: run `wirestream index setup` first")
    target = live + 1
    report = MigrationReport(live, target)
    plan = plan or probe_analysis(es)

    # 1. prepare: anything above the live generation is a leftover.
    for index in _indices_of(es, f"{names.prefix}-v*-*"):
        parsed = names.parse(index)
        if parsed and parsed[0] > live:
            es.indices.delete(index=index)
    for generation in range(target, target + 5):
        es.options(ignore_status=404).indices.delete_index_template(
            name=names.template(generation)
        )
    load_settings = {**index_settings(plan, replicas=replicas), "refresh_interval": "-1"}
    body = mappings()

    def create_target(source: str) -> str:
        parsed = names.parse(source)
        assert parsed is not None
        name = names.index(target, parsed[1])
        es.indices.create(index=name, settings=load_settings, mappings=body)
        report.indices[source] = name
        return name

    totals = {source: _count(es, source) for source in sources}
    progress("copy", 0, sum(totals.values()))
    copier = _Copier(es, page_size, progress, sleep)
    checkpoints: dict[str, int] = {}
    for source in sources:
        create_target(source)

    # 2. copy
    try:
        for source in sources:
            checkpoints[source] = _checkpoint(es, source)
            es.indices.refresh(index=source)
            report.copied += copier.copy(source, report.indices[source], "copy")
        if after_copy is not None:
            after_copy()
        # Searchable settings and a refresh now, while writers still write:
        # the freeze below then only has the catch-up's few documents to add.
        _searchable(es, list(report.indices.values()), plan)
    except BaseException:
        _drop(es, list(report.indices.values()))
        raise

    # 3. freeze, 4. catch up, 5. swap — undone on any failure before the swap.
    frozen_at = time.monotonic()
    retired = index_template(
        names.read_alias, names.write_alias, names.pattern(live), live, plan, replicas=replicas
    )
    try:
        es.indices.put_index_template(
            name=names.template(live),
            index_patterns=retired["index_patterns"],
            priority=retired["priority"],
            template={
                "settings": {**retired["template"]["settings"], "index.blocks.write": True},
                "mappings": retired["template"]["mappings"],
            },
            meta={**retired["_meta"], "retired": True},
        )
        old = [i for i in _indices_of(es, names.pattern(live)) if names.parse(i)]
        es.indices.put_settings(index=",".join(old), settings={"index.blocks.write": True})
        es.indices.refresh(index=",".join(old))
        progress("catch-up", 0, None)
        for source in old:
            if source not in report.indices:
                # A month's index created while we copied: copy it whole.
                copy = create_target(source)
                report.caught_up += copier.copy(source, copy, "catch-up")
                _searchable(es, [copy], plan)
                continue
            changed = {"range": {"_seq_no": {"gt": checkpoints[source]}}}
            if es.count(index=source, query=changed)["count"]:
                report.caught_up += copier.copy(
                    source, report.indices[source], "catch-up", changed
                )
        targets = list(report.indices.values())
        es.indices.refresh(index=",".join(targets))
        counts = _counts(es, [*old, *targets])
        for source, copy in report.indices.items():
            if counts.get(copy, 0) != counts.get(source, 0):
                raise MigrationError(
                    f"{copy} has {counts.get(copy, 0)} documents, "
                    f"{source} has {counts.get(source, 0)}"
                )
        put_template(es, names, target, plan, replicas=replicas)
        actions: list[dict[str, Any]] = []
        for source in old:
            actions.append({"remove": {"index": source, "alias": names.read_alias,
                                       "must_exist": False}})
            actions.append({"remove": {"index": source, "alias": names.write_alias,
                                       "must_exist": False}})
        for copy in targets:
            actions.append(
                {"add": {"index": copy, "alias": names.read_alias, "filter": hidden_filter()}}
            )
            actions.append({"add": {"index": copy, "alias": names.write_alias}})
        es.indices.update_aliases(actions=actions)
    except BaseException:
        _unfreeze(es, names, live, plan, report, replicas)
        raise
    report.writes_frozen_seconds = time.monotonic() - frozen_at
    report.already_current = copier.stale
    progress("swap", 0, None)

    if delete_old:
        es.indices.delete(index=",".join(old))
        report.deleted_old = True
    report.seconds = time.monotonic() - started
    return report


def _drop(es: Elasticsearch, indices: list[str]) -> None:
    if indices:
        es.options(ignore_status=404).indices.delete(index=",".join(indices))


def _unfreeze(
    es: Elasticsearch, names: IndexNames, live: int, plan: AnalysisPlan, report: MigrationReport,
    replicas: str = DEFAULT_REPLICAS,
) -> None:
    """Put generation ``live`` back exactly as it was before the freeze."""
    put_template(es, names, live, plan, replicas=replicas)
    old = [i for i in _indices_of(es, names.pattern(live)) if names.parse(i)]
    if old:
        es.indices.put_settings(index=",".join(old), settings={"index.blocks.write": None})
        # An index a writer created during the freeze came from the retired
        # template, without aliases: give every live index both again.
        actions: list[dict[str, Any]] = []
        for index in old:
            actions.append(
                {"add": {"index": index, "alias": names.read_alias, "filter": hidden_filter()}}
            )
            actions.append({"add": {"index": index, "alias": names.write_alias}})
        es.indices.update_aliases(actions=actions)
    es.options(ignore_status=404).indices.delete_index_template(name=names.template(live + 1))
    _drop(es, list(report.indices.values()))
