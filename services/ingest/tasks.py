"""Celery task of the ingest service, registered by the process's bootstrap
(wirestream.bootstrap) on its app with its runtime."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from functools import cached_property
from typing import Any

from celery import Celery, Task
from celery.signals import worker_process_shutdown

from services.ingest.adapters.articles import ArticleExpander
from services.ingest.adapters.embargo import EmbargoHold
from services.ingest.adapters.fetch import FeedFetcher
from services.ingest.adapters.gate import VersionGate
from services.ingest.adapters.politeness import HostLimiter
from services.ingest.adapters.repeats import RepeatedParagraphs
from services.ingest.adapters.source_registry import SourceRegistry
from services.ingest.adapters.stories import StoryLinker
from services.ingest.parsers import ParseResult, parse_document
from services.ingest.poller import Poller
from services.ingest.text import load_boilerplate_rules
from shared.errors import PayloadError
from shared.models import Batch
from shared.queues import ENRICH, INGEST, TASK_POLL
from shared.runtime import Runtime
from shared.stats import record
from shared.tasking import run_stage

__all__ = ["register"]

log = logging.getLogger(__name__)


class _Ingest:
    """What a pool process builds once (after the fork, on first use): the
    parser with the boilerplate rules (the shipped ones plus the operator's
    files, WIRESTREAM_INGEST__BOILERPLATE_FILES) and the operator's bounds,
    and the one HTTP client."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    @cached_property
    def parse(self) -> Callable[..., ParseResult]:
        settings = self.runtime.settings.ingest
        rules = load_boilerplate_rules(settings.boilerplate_files)
        return functools.partial(parse_document, boilerplate=rules,
                                 max_items=settings.max_items_per_document,
                                 max_item_chars=settings.max_item_chars)

    @cached_property
    def fetcher(self) -> FeedFetcher:
        return FeedFetcher(self.runtime.settings.ingest)

    def poller(self) -> Poller:
        runtime = self.runtime
        settings = runtime.settings.ingest

        def send(batch: Batch) -> None:
            runtime.send(ENRICH, batch)

        return Poller(
            fetcher=self.fetcher,
            registry=SourceRegistry(runtime.redis),
            gate=VersionGate(runtime.redis),
            dlq=runtime.dlq,
            send=send,
            batch_size=settings.batch_size,
            parse=self.parse,
            expander=ArticleExpander(fetcher=self.fetcher, parse=self.parse,
                                     client=runtime.redis),
            limiter=HostLimiter(runtime.redis, concurrency=settings.host_concurrency,
                                min_delay=settings.host_min_delay),
            linker=StoryLinker(runtime.redis),
            embargo=EmbargoHold(runtime.redis),
            repeats=RepeatedParagraphs(runtime.redis, window=settings.repeats_window,
                                       min_items=settings.repeats_min_items)
            if settings.repeats_window else None,
        )

    def close(self) -> None:
        fetcher = self.__dict__.pop("fetcher", None)
        if fetcher is not None:
            fetcher.close()


def register(app: Celery, runtime: Runtime) -> None:
    ingest = _Ingest(runtime)
    # the pool process's HTTP client is closed with it
    worker_process_shutdown.connect(lambda **_: ingest.close(), weak=False)

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
            report = ingest.poller().poll(source)
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
