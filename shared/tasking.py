"""How a stage task turns exceptions into retries and dead letters.

The one place that decides, using :data:`shared.errors.PERMANENT` and
:data:`shared.errors.TRANSIENT`:

* permanent error (bad payload, refused fetch, rejected document): dead-letter
  at once, ack the message;
* transient error (transport, service down, back-pressure): retry with capped
  exponential backoff and jitter; when the retries run out, dead-letter with
  reason ``exhausted:<reason>``;
* anything else is a bug or a poison input: a few retries (it may be a
  passing fault), then dead-letter with reason ``crash:<ExceptionType>``;
* soft time limit: treated as transient (the batch may be lighter next time).

Nothing is swallowed: every failure either goes back to the queue or into the
dead-letter store with its payload and reason.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

from celery import Task
from celery.exceptions import Retry, SoftTimeLimitExceeded
from pydantic import ValidationError

from shared.celery_app import MAX_RETRY_COUNTDOWN
from shared.errors import PERMANENT, TRANSIENT, PayloadError, TransientError, WirestreamError
from shared.metrics import metrics
from shared.models import Batch
from shared.runtime import Runtime
from shared.telemetry import bind_context, clear_context

__all__ = ["MAX_CRASH_RETRIES", "MAX_TRANSIENT_RETRIES", "backoff", "run_stage"]

log = logging.getLogger(__name__)

MAX_TRANSIENT_RETRIES = 8
MAX_CRASH_RETRIES = 2
T = TypeVar("T")


def backoff(attempt: int, *, base: float = 2.0, cap: float = MAX_RETRY_COUNTDOWN) -> float:
    """Capped exponential backoff with full jitter (seconds)."""
    return random.uniform(0, min(cap, base * (2**attempt)))


def parse_batch(payload: Any) -> Batch:
    try:
        return Batch.model_validate(payload)
    except ValidationError as exc:
        raise PayloadError(
            f"payload is not a valid batch: {exc.error_count()} errors: {exc}"
        ) from exc


def _describe(payload: Any) -> tuple[str | None, list[str]]:
    if isinstance(payload, dict):
        items = payload.get("items")
        if isinstance(items, list):
            ids = [str(i.get("id")) for i in items if isinstance(i, dict) and i.get("id")]
            sources = {str(i.get("source")) for i in items if isinstance(i, dict)}
            return (sources.pop() if len(sources) == 1 else None), ids
        if "source_id" in payload:
            return str(payload["source_id"]), []
    return None, []


def run_stage(
    task: Task, stage: str, runtime: Runtime, payload: Any, body: Callable[[], T]
) -> T | None:
    """Run ``body`` for one task message and apply the failure policy."""
    attempts = task.request.retries + 1
    source, item_ids = _describe(payload)
    correlation = payload.get("correlation_id") if isinstance(payload, dict) else None
    clear_context()
    bind_context(stage=stage, source=source, correlation_id=correlation, task_id=task.request.id)
    started = time.monotonic()
    try:
        return body()
    except Retry:
        raise
    except PERMANENT as exc:
        reason = exc.reason if isinstance(exc, WirestreamError) else "permanent"
        _dead_letter(runtime, stage, reason, exc, payload, attempts, source, item_ids)
        return None
    except (*TRANSIENT, SoftTimeLimitExceeded) as exc:
        reason = exc.reason if isinstance(exc, TransientError) else "time_limit"
        if task.request.retries < MAX_TRANSIENT_RETRIES:
            countdown = backoff(task.request.retries)
            retry_after = getattr(exc, "retry_after", None)
            if retry_after:
                countdown = min(max(countdown, float(retry_after)), MAX_RETRY_COUNTDOWN)
            log.warning(
                "%s: transient failure (%s), retry %d in %.1fs: %s",
                stage,
                reason,
                attempts,
                countdown,
                exc,
            )
            metrics().retries.labels(stage, reason).inc()
            raise task.retry(countdown=countdown, exc=exc) from exc
        _dead_letter(
            runtime, stage, f"exhausted:{reason}", exc, payload, attempts, source, item_ids
        )
        return None
    except Exception as exc:
        if task.request.retries < MAX_CRASH_RETRIES:
            log.exception("%s: unexpected error, retry %d", stage, attempts)
            metrics().retries.labels(stage, f"crash:{type(exc).__name__}").inc()
            raise task.retry(countdown=backoff(task.request.retries), exc=exc) from exc
        _dead_letter(
            runtime, stage, f"crash:{type(exc).__name__}", exc, payload, attempts, source, item_ids
        )
        return None
    finally:
        metrics().stage_seconds.labels(stage).observe(time.monotonic() - started)


def _dead_letter(
    runtime: Runtime,
    stage: str,
    reason: str,
    exc: BaseException,
    payload: Any,
    attempts: int,
    source: str | None,
    item_ids: list[str],
) -> None:
    entry = runtime.dlq.add(
        stage=stage,
        reason=reason,
        message=str(exc) or type(exc).__name__,
        error_type=type(exc).__name__,
        payload=payload if isinstance(payload, dict) else {"raw": repr(payload)[:10000]},
        attempts=attempts,
        source=source,
        item_ids=item_ids,
    )
    metrics().dead_letters.labels(stage, reason).inc()
    metrics().dead_letters.labels(stage, reason).inc()
    log.error(
        "%s: dead-lettered %s (%s) after %d attempt(s): %s", stage, entry.id, reason, attempts, exc
    )
