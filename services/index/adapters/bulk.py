"""The bulk writer: chunked bulk requests, per-item results walked.

Outcomes per item (:class:`BulkOutcome`):

* ``indexed``: created, or replaced an older version;
* ``stale``: 409 from external versioning: an equal or newer version is
  already indexed (a redelivery or a late older version). Counted, not an
  error;
* retried: 408/429/5xx, and ``cluster_block_exception`` (the index was
  frozen by a migration: the live generation is looked up again). Retried
  here on the rejected subset only, with capped exponential backoff;
  whatever is still refused after ``max_attempts`` raises
  :class:`~shared.errors.ServiceUnavailable`, so the task retries later;
* ``rejected``: any other 4xx (mapping or parse error) — returned with the
  ES reason for the dead-letter store.

Connection errors and timeouts are retried the same way (the whole pending
subset: nothing is known to be written); then ServiceUnavailable. Nothing is
acknowledged early: the task only returns after every item has one of the
three outcomes, and a redelivered batch is harmless (deterministic ``_id`` =
item id, external ``version`` = :attr:`NewsItem.es_version`).

Requests are cut by count and by bytes (:class:`BulkLimits`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import ApiError, Elasticsearch, NotFoundError

from services.index.documents import index_month, to_document
from services.index.names import IndexNames
from services.index.ports import BulkOutcome, Rejection
from shared.errors import DocumentRejected, ServiceUnavailable
from shared.metrics import es_request, metrics
from shared.models import NewsItem
from shared.retrying import backoff, transient_status

__all__ = [
    "BulkIndexer",
    "BulkLimits",
    "BulkOutcome",
    "Rejection",
    "chunked",
    "current_generation",
    "encode",
    "retryable",
]


def retryable(status: int) -> bool:
    """Statuses worth trying again: :func:`shared.retrying.transient_status`
    (429 here is a full write queue)."""
    return transient_status(status)


# Per-item errors that mean "this index takes no writes right now", not
# "this document is bad": a migration froze the old generation, or an
# operator closed the index. Retried after looking up the generation again.
BLOCKED_ERRORS = frozenset({"cluster_block_exception", "index_closed_exception"})


@dataclass(frozen=True)
class BulkLimits:
    # 500 documents or 5 MB per request, whichever comes first: Elastic's
    # guidance is 5-15 MB per bulk request; news documents average 3-10 KB,
    # so the byte cap matters only for batches of long articles.
    max_docs: int = 500
    max_bytes: int = 5 * 1024 * 1024


def encode(value: dict[str, Any]) -> bytes:
    """One NDJSON line (compact, UTF-8, newline included)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


@dataclass(frozen=True)
class _Encoded:
    item: NewsItem
    month: str
    source: bytes  # the document line

    def action(self, index: str, version_type: str = "external") -> bytes:
        return encode(
            {
                "index": {
                    "_index": index,
                    "_id": self.item.id,
                    "version": self.item.es_version,
                    "version_type": version_type,
                }
            }
        )


# Room for the action line of one document when cutting by bytes.
_ACTION_BYTES = 200


def chunked(sizes: Sequence[int], limits: BulkLimits) -> Iterator[range]:
    """Index ranges of consecutive entries of ``sizes`` (bytes each) with at
    most ``max_docs`` entries and ``max_bytes`` bytes per range; an entry
    larger than ``max_bytes`` alone makes a range of one."""
    start, total = 0, 0
    for i, size in enumerate(sizes):
        full = i - start >= limits.max_docs or (i > start and total + size > limits.max_bytes)
        if full:
            yield range(start, i)
            start, total = i, 0
        total += size
    if start < len(sizes):
        yield range(start, len(sizes))


def current_generation(es: Elasticsearch, names: IndexNames) -> int:
    """The live generation: the newest one behind the write alias."""
    try:
        with es_request("get_alias"):
            aliases = es.indices.get_alias(name=names.write_alias)
    except NotFoundError as exc:
        raise ServiceUnavailable(
            f"write alias {names.write_alias} does not exist: run `wirestream index setup`",
            reason="index_not_set_up",
        ) from exc
    except (TransportConnectionError, ConnectionTimeout) as exc:
        raise ServiceUnavailable(
            f"elasticsearch unreachable: {exc}", reason="es_unavailable"
        ) from exc
    except ApiError as exc:
        raise ServiceUnavailable(
            f"cannot read alias {names.write_alias}: {exc.meta.status}", reason="es_error"
        ) from exc
    generations = {parsed[0] for index in aliases if (parsed := names.parse(index))}
    if not generations:
        raise ServiceUnavailable(
            f"write alias {names.write_alias} names no wirestream index: run "
            "`wirestream index setup`",
            reason="index_not_set_up",
        )
    return max(generations)


class BulkIndexer:
    """Writes items with external versioning and deterministic ids into the
    monthly index of the live generation. One per process: it caches the
    generation (looked up again after ``generation_ttl`` seconds or at once
    when a write meets a frozen index)."""

    def __init__(
        self,
        es: Elasticsearch,
        prefix: str,
        *,
        limits: BulkLimits | None = None,
        max_attempts: int = 4,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        generation_ttl: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._es = es
        self.names = IndexNames(prefix)
        self.limits = limits or BulkLimits()
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._generation_ttl = generation_ttl
        self._sleep = sleep
        self._clock = clock
        self._generation: int | None = None
        self._generation_at = 0.0
        self._version_type = "external"  # per write(); see replace_equal

    # ------------------------------------------------------------ generation
    def generation(self) -> int:
        now = self._clock()
        if self._generation is None or now - self._generation_at > self._generation_ttl:
            self._generation = current_generation(self._es, self.names)
            self._generation_at = now
        return self._generation

    def forget_generation(self) -> None:
        self._generation = None

    # ----------------------------------------------------------------- write
    def write(self, items: Sequence[NewsItem], *, replace_equal: bool = False) -> BulkOutcome:
        """Write every item; returns when each is indexed, stale or rejected.
        Raises ServiceUnavailable (transient) when Elasticsearch stays
        unreachable or keeps refusing part of the batch. ``replace_equal``
        (re-enrichment) lets an equal version replace the stored document
        (``external_gte``); an older one is still refused as stale."""
        self._version_type = "external_gte" if replace_equal else "external"
        now = datetime.now(UTC)
        encoded = [
            _Encoded(item, index_month(item), encode(to_document(item, indexed_at=now)))
            for item in items
        ]
        outcome = BulkOutcome()
        sizes = [len(e.source) + _ACTION_BYTES for e in encoded]
        for part in chunked(sizes, self.limits):
            self._write_chunk([encoded[i] for i in part], outcome)
        return outcome

    def _backoff(self, attempt: int) -> float:
        return backoff(attempt - 1, base=self._backoff_base, cap=self._backoff_cap)

    def _write_chunk(self, pending: list[_Encoded], outcome: BulkOutcome) -> None:
        attempt = 0
        while pending:
            attempt += 1
            retry, why = self._send(pending, outcome)
            if not retry:
                return
            if attempt >= self._max_attempts:
                raise ServiceUnavailable(
                    f"{len(retry)} document(s) not written after {attempt} attempts: {why}",
                    reason="es_unavailable" if why == "connection" else "es_backpressure",
                )
            outcome.retries += 1
            outcome.retried_items += len(retry)
            self._sleep(self._backoff(attempt))
            pending = retry

    def _send(self, pending: list[_Encoded], outcome: BulkOutcome) -> tuple[list[_Encoded], str]:
        """One bulk request. Returns the entries to retry and why."""
        generation = self.generation()
        body = b"".join(
            e.action(self.names.index(generation, e.month), self._version_type) + e.source
            for e in pending
        )
        outcome.requests += 1
        try:
            with es_request("bulk"):  # duration and errors, see shared.metrics
                response = self._es.bulk(
                    operations=cast(Any, body),
                    # A rejected document's reason goes to the dead-letter
                    # store; its text is in the payload already.
                    include_source_on_error=False,
                )
        except (TransportConnectionError, ConnectionTimeout):
            return pending, "connection"
        except ApiError as exc:
            status = exc.meta.status
            if retryable(status):
                return pending, f"http_{status}"
            if status in (401, 403):
                raise ServiceUnavailable(
                    f"bulk request refused ({status}): check the writer's credentials and role",
                    reason="es_auth",
                ) from exc
            raise DocumentRejected(
                f"bulk request rejected as a whole ({status}): {exc}",
                reason="es_bulk_rejected",
                status=status,
            ) from exc
        retry: list[_Encoded] = []
        why = ""
        for entry, result in zip(pending, response["items"], strict=True):
            op = result.get("index") or next(iter(result.values()))
            status = int(op.get("status", 500))
            error = op.get("error") or {}
            kind = error.get("type", "") if isinstance(error, dict) else ""
            if status < 300:
                outcome.indexed.append(entry.item.id)
            elif status == 409:
                outcome.stale.append(entry.item.id)
            elif kind in BLOCKED_ERRORS:
                self.forget_generation()
                retry.append(entry)
                why = kind
            elif kind == "index_not_found_exception":
                # Only when the cluster forbids auto-creating indices: create
                # the month's index (the template gives mapping and aliases).
                self._create_index(self.names.index(generation, entry.month))
                retry.append(entry)
                why = kind
            elif retryable(status):
                retry.append(entry)
                why = why or f"http_{status}"
                # A document ES pushed back (429: write queue full) counts as
                # an error of the bulk operation even though it is retried.
                metrics().es_errors.labels("bulk", f"http_{status}").inc()
            else:
                reason = (
                    f"{kind}: {error.get('reason', '')}" if kind else str(error or "error")
                )
                outcome.rejected.append(Rejection(entry.item, status, reason))
        return retry, why

    def _create_index(self, name: str) -> None:
        try:
            with es_request("create_index"):
                self._es.options(ignore_status=400).indices.create(index=name)
        except (TransportConnectionError, ConnectionTimeout, ApiError):
            pass  # the retry of the write reports what is still wrong
