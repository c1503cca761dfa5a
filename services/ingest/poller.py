"""One poll of one source: fetch, parse, gate, hand over in batches. The
decisions without I/O (the source's state after a poll, when it is due next,
which items go to the gate) are :mod:`services.ingest.stage`'s.

:class:`Poller` holds no state of its own; the source's state (validators,
interval, health) lives in Redis through :class:`SourceRegistry`. Fetch
failures are recorded on the source (its health) and push the next poll out
with exponential backoff; they are not task failures, because the scheduler,
not Celery, owns when a source is polled again. Entries that fail to parse
are dead-lettered one by one; the rest of the feed goes on.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

from services.ingest.adapters.articles import ArticleExpander, ExpandReport
from services.ingest.adapters.embargo import EmbargoHold
from services.ingest.adapters.politeness import HostLimiter
from services.ingest.adapters.repeats import RepeatedParagraphs
from services.ingest.adapters.stories import StoryLinker
from services.ingest.parsers import FeedMeta, ParseResult, SourceRef
from services.ingest.ports import DeadLetters, FetcherLike, FetchResultLike, Gate, SourceStore
from services.ingest.sources import Source, SourceState
from services.ingest.stage import (
    FEED_FORMATS,
    chunks,
    distinct_items,
    failed,
    succeeded,
)
from shared.errors import FetchFailed, PermanentError, WirestreamError
from shared.metrics import metrics
from shared.models import Batch, NewsItem
from shared.telemetry import bind_context, redact

__all__ = ["PollReport", "Poller"]

log = logging.getLogger(__name__)


@dataclass
class PollReport:
    source_id: str
    status: str  # "ok", "not_modified", "failed", "deferred"
    items: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    stale: int = 0
    item_errors: int = 0
    held: int = 0  # under embargo, waiting in ingest
    batches: int = 0
    error: str | None = None
    next_due: float = 0.0
    forwarded: list[str] = field(default_factory=list)


def auth_headers(source: Source) -> tuple[str, dict[str, str]]:
    """The URL and headers to fetch a source with, secrets resolved now."""
    if source.auth is None:
        return source.url, {}
    secret = source.auth.secret()
    if source.auth.kind == "header":
        return source.url, {source.auth.name: secret}
    if source.auth.kind == "basic":
        import base64

        token = base64.b64encode(f"{source.auth.username or ''}:{secret}".encode()).decode()
        return source.url, {"Authorization": f"Basic {token}"}
    from urllib.parse import urlencode

    sep = "&" if "?" in source.url else "?"
    return f"{source.url}{sep}{urlencode({source.auth.name: secret})}", {}


ParseFn = Callable[..., ParseResult]


def _observe(report: PollReport) -> None:
    m = metrics()
    m.polls.labels(report.source_id, report.status).inc()
    if report.status == "ok":
        m.poll_items.labels(report.source_id).observe(report.items)
    for outcome in ("new", "changed", "unchanged", "stale"):
        count = getattr(report, outcome)
        if count:
            m.items.labels("ingest", report.source_id, outcome).inc(count)
    if report.item_errors:
        m.items.labels("ingest", report.source_id, "parse_failed").inc(report.item_errors)


class Poller:
    def __init__(
        self,
        *,
        fetcher: FetcherLike,
        registry: SourceStore,
        gate: Gate,
        dlq: DeadLetters,
        send: Callable[[Batch], None],
        batch_size: int,
        parse: ParseFn,
        expander: ArticleExpander | None = None,
        limiter: HostLimiter | None = None,
        embargo: EmbargoHold | None = None,
        linker: StoryLinker | None = None,
        repeats: RepeatedParagraphs | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._fetcher = fetcher
        self._registry = registry
        self._gate = gate
        self._dlq = dlq
        self._send = send
        self._batch_size = batch_size
        self._parse = parse
        self._limiter = limiter
        self._expander = expander
        self._embargo = embargo
        self._linker = linker
        self._repeats = repeats
        self._clock = clock

    def poll(self, source: Source) -> PollReport:
        now = self._clock()
        lease = None
        if self._limiter is not None:
            host = urlsplit(source.url).hostname or ""
            lease, wait = self._limiter.acquire(host, now)
            if lease is None:
                # The host is busy or was asked too recently: come back soon.
                report = PollReport(
                    source_id=source.id,
                    status="deferred",
                    next_due=now + wait + random.uniform(0, 1),
                )
                self._registry.schedule(source.id, report.next_due)
                _observe(report)
                return report
        try:
            return self._poll(source, now)
        finally:
            if lease is not None and self._limiter is not None:
                self._limiter.release(lease)

    def _poll(self, source: Source, now: float) -> PollReport:
        state = self._registry.state(source.id)
        state.last_poll = now
        report = PollReport(source_id=source.id, status="ok")
        hints: FeedMeta | None = None
        try:
            url, headers = auth_headers(source)
            result = self._fetcher.fetch(
                url, etag=state.etag, last_modified=state.last_modified, headers=headers
            )
        except WirestreamError as exc:
            return self._failed(source, state, report, exc, now)
        if result.not_modified:
            report.status = "not_modified"
        else:
            try:
                hints = self._ingest(source, result, report)
            except PermanentError as exc:
                return self._failed(source, state, report, exc, now)
        report.next_due = succeeded(
            source, state, now=now, etag=result.etag, last_modified=result.last_modified,
            items=report.items, new_items=report.new + report.changed,
            retry_after=result.retry_after, feed=hints)
        self._registry.save_state(source.id, state)
        self._registry.schedule(source.id, report.next_due)
        _observe(report)
        return report

    def _ingest(
        self, source: Source, result: FetchResultLike, report: PollReport
    ) -> FeedMeta | None:
        fetched_at = datetime.fromtimestamp(self._clock(), UTC)
        parsed = self._parse(
            result.body,
            source=SourceRef(id=source.id, language=source.language, timezone=source.timezone),
            fetched_at=fetched_at,
            content_type=result.content_type,
            base_url=result.final_url,
            fmt=source.type,
        )
        items: list[NewsItem] = list(parsed.items)
        if parsed.format == "sitemap" and self._expander is not None:
            items, expanded = self._expander.sitemap_items(source, parsed, fetched_at)
            self._record_article_errors(source, expanded)
        if self._linker is not None:
            items = self._linker.link(items)
        report.items = len(items)
        report.item_errors = len(parsed.errors)
        for error in parsed.errors:
            metrics().dead_letters.labels("ingest", f"parse_item:{error.reason}").inc()
            self._dlq.add(
                stage="ingest",
                reason=f"parse_item:{error.reason}",
                message=error.message,
                error_type="ParseError",
                payload={"source_id": source.id, "entry": error.model_dump(mode="json")},
                attempts=1,
                source=source.id,
            )
        correlation = uuid.uuid4().hex
        bind_context(correlation_id=correlation)  # this poll's log lines carry it too
        forward: list[NewsItem] = []
        distinct, repeats = distinct_items(items, parsed.format)
        report.unchanged += repeats  # the same guid twice in one document
        for decision in self._gate.decide_many(distinct, {"correlation_id": correlation}):
            setattr(report, decision.verdict, getattr(report, decision.verdict) + 1)
            if decision.forward:
                forward.append(decision.item)
        if source.fulltext and parsed.format in FEED_FORMATS and self._expander is not None:
            # After the gate: only new or changed items cost a page fetch.
            forward, expanded = self._expander.add_fulltext(source, forward, fetched_at)
            self._record_article_errors(source, expanded)
        if self._repeats is not None and forward:
            # what this source prints under many of its stories is not theirs
            forward = self._repeats.strip(source.id, forward)
        if self._embargo is not None:
            forward, report.held = self._embargo.split(forward, fetched_at)
        for chunk in chunks(forward, self._batch_size):
            try:
                self._send(Batch(items=chunk, correlation_id=correlation))
            except Exception:
                for item in chunk:
                    self._gate.forget(item.id, item.source)
                raise
            report.batches += 1
            report.forwarded.extend(i.id for i in chunk)
        return parsed.feed

    def _record_article_errors(self, source: Source, expanded: ExpandReport) -> None:
        for url, reason, message in expanded.errors:
            metrics().dead_letters.labels("ingest", f"article:{reason}").inc()
            self._dlq.add(
                stage="ingest",
                reason=f"article:{reason}",
                message=f"{redact(url)}: {message}",
                error_type="ArticleError",
                payload={"source_id": source.id, "url": redact(url)},
                attempts=1,
                source=source.id,
            )

    def _failed(
        self,
        source: Source,
        state: SourceState,
        report: PollReport,
        exc: WirestreamError,
        now: float,
    ) -> PollReport:
        retry_after = exc.retry_after if isinstance(exc, FetchFailed) else None
        report.next_due = failed(source, state, now=now, reason=exc.reason, message=str(exc),
                                 retry_after=retry_after)
        report.status = "failed"
        report.error = state.last_error
        metrics().poll_failures.labels(source.id, exc.reason).inc()
        self._registry.save_state(source.id, state)
        self._registry.schedule(source.id, report.next_due)
        _observe(report)
        log.warning(
            "poll of %s failed (%d in a row): %s",
            source.id,
            state.consecutive_failures,
            state.last_error,
        )
        return report
