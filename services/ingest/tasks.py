"""Celery task of the ingest service."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from functools import cache
from typing import Any

from celery import Task

from services.ingest.articles import ArticleExpander
from services.ingest.embargo import EmbargoHold
from services.ingest.fetch import FeedFetcher
from services.ingest.gate import VersionGate
from services.ingest.parsers import ParseResult, parse_document
from services.ingest.politeness import HostLimiter
from services.ingest.poller import Poller
from services.ingest.repeats import RepeatedParagraphs
from services.ingest.sources import SourceRegistry
from services.ingest.stories import StoryLinker
from services.ingest.text import load_boilerplate_rules
from shared.errors import PayloadError
from shared.models import Batch
from shared.queues import ENRICH, INGEST, TASK_POLL
from shared.stats import record
from shared.tasking import run_stage
from shared.worker import app, runtime

log = logging.getLogger(__name__)


@cache
def _parse() -> Callable[..., ParseResult]:
    """parse_document with the boilerplate rules built once per process
    (the shipped ones plus the operator's files, WIRESTREAM_INGEST__BOILERPLATE_FILES)
    and the operator's bounds."""
    settings = runtime.settings.ingest
    rules = load_boilerplate_rules(settings.boilerplate_files)
    return functools.partial(parse_document, boilerplate=rules,
                             max_items=settings.max_items_per_document,
                             max_item_chars=settings.max_item_chars)


@cache
def _fetcher() -> FeedFetcher:
    # One HTTP client per worker process (created in the child, after fork).
    return FeedFetcher(runtime.settings.ingest)


def _poller() -> Poller:
    def send(batch: Batch) -> None:
        runtime.send(ENRICH, batch)

    return Poller(
        fetcher=_fetcher(),
        registry=SourceRegistry(runtime.redis),
        gate=VersionGate(runtime.redis),
        dlq=runtime.dlq,
        send=send,
        batch_size=runtime.settings.ingest.batch_size,
        parse=_parse(),
        expander=ArticleExpander(fetcher=_fetcher(), parse=_parse(), client=runtime.redis),
        limiter=HostLimiter(
            runtime.redis,
            concurrency=runtime.settings.ingest.host_concurrency,
            min_delay=runtime.settings.ingest.host_min_delay,
        ),
        linker=StoryLinker(runtime.redis),
        embargo=EmbargoHold(runtime.redis),
        repeats=RepeatedParagraphs(runtime.redis,
                                   window=runtime.settings.ingest.repeats_window,
                                   min_items=runtime.settings.ingest.repeats_min_items)
        if runtime.settings.ingest.repeats_window else None,
    )


@app.task(name=TASK_POLL, bind=True)
def poll_source_task(self: Task, payload: dict[str, Any]) -> None:
    def body() -> None:
        source_id = payload.get("source_id") if isinstance(payload, dict) else None
        if not isinstance(source_id, str):
            raise PayloadError("poll payload needs a source_id")
        source = SourceRegistry(runtime.redis).get(source_id)
        if source is None or not source.enabled:
            log.info("source %s is gone or disabled; nothing to poll", source_id)
            return
        report = _poller().poll(source)
        record(runtime.redis, INGEST, report.new + report.changed)
        log.info(
            "polled %s: %s, %d items, %d new, %d changed, %d unchanged, %d stale",
            source.id,
            report.status,
            report.items,
            report.new,
            report.changed,
            report.unchanged,
            report.stale,
        )

    run_stage(self, INGEST, runtime, payload, body)
