"""How a stage task turns exceptions into retries and dead letters.

The one place that decides, using :data:`PERMANENT` and :data:`TRANSIENT`
below (nothing else in the code base inspects exception types to decide
retries):

* permanent error (bad payload, refused fetch, rejected document): dead-letter
  at once, ack the message;
* transient error (transport, service down, back-pressure): retry with capped
  exponential backoff and jitter; when the retries run out, dead-letter with
  reason ``exhausted:<reason>``;
* anything else is a bug or a poison input: a few retries (it may be a
  passing fault), then give up with reason ``crash:<ExceptionType>``;
* soft time limit: like a crash (retrying the same batch gives the same
  batch), reason ``time_limit``;
* what never reaches this code - the hard time limit (the pool process is
  killed), a pool process lost more often than the retry budget allows - is
  given up by :func:`on_task_failure` (reasons ``time_limit:hard``,
  ``crash:WorkerLostError``).

*Giving up* on a batch of several valid items does not dead-letter the batch:
each item is sent again alone, with one attempt left, so one poison item ends
in the dead-letter store by itself and the rest of its batch flows on. A
single item, or a payload that is not a valid batch, is dead-lettered.

Nothing is swallowed: every failure either goes back to the queue or into the
dead-letter store with its payload and reason. When neither is possible (the
broker is down, so the retry or the dead letter cannot be written) the
message is rejected with requeue, and Redis delivers it again.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import redis.exceptions
from celery import Task
from celery.exceptions import Reject, Retry, SoftTimeLimitExceeded, TimeLimitExceeded
from celery.signals import task_failure
from pydantic import ValidationError

from shared import retrying
from shared.errors import PayloadError, PermanentError, TransientError, WirestreamError
from shared.metrics import metrics
from shared.models import Batch
from shared.queues import STAGE_TASKS
from shared.runtime import Runtime
from shared.settings import CelerySettings
from shared.telemetry import bind_context, clear_context

__all__ = [
    "MAX_CRASH_RETRIES",
    "MAX_TRANSIENT_RETRIES",
    "PERMANENT",
    "REDIS_TRANSIENT",
    "TRANSIENT",
    "backoff",
    "on_task_failure",
    "parse_batch",
    "reason_of",
    "run_stage",
]

PERMANENT: tuple[type[BaseException], ...] = (PermanentError,)
# The Redis client's errors that pass: a lost connection, a timeout, a replica
# that refuses writes during a failover, a Redis at maxmemory refusing writes.
# Every Redis adapter (the version gate, sources, politeness, embargo, the
# dead-letter store) can raise them; they are classified here, once, rather
# than wrapped at each call.
REDIS_TRANSIENT: tuple[type[BaseException], ...] = (
    redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
    redis.exceptions.ReadOnlyError,
    # full under noeviction: writes succeed again once memory is freed
    redis.exceptions.OutOfMemoryError)
TRANSIENT: tuple[type[BaseException], ...] = (TransientError, *REDIS_TRANSIENT)


def reason_of(exc: BaseException) -> str:
    """The reason slug of a transient or permanent failure for metrics and
    dead letters."""
    if isinstance(exc, WirestreamError):
        return exc.reason
    if isinstance(exc, redis.exceptions.OutOfMemoryError):
        return "redis_full"
    if isinstance(exc, REDIS_TRANSIENT):
        return "redis_unavailable"
    return "transient" if isinstance(exc, TRANSIENT) else "permanent"


log = logging.getLogger(__name__)

MAX_TRANSIENT_RETRIES = 8
MAX_CRASH_RETRIES = 2
T = TypeVar("T")

_DEFAULT_TIMING = CelerySettings()
_STAGE_OF_TASK = {task: stage for stage, (task, _queue) in STAGE_TASKS.items()}
# Task ids on_task_failure already gave up on in this process: Celery sends
# task_failure twice for one hard time limit (and a task retried after its
# lost pool process may fail the same way again); giving up twice would
# split a batch twice.
_GIVEN_UP: OrderedDict[str, None] = OrderedDict()


def backoff(
    attempt: int, *, base: float = 2.0, cap: float = _DEFAULT_TIMING.max_retry_countdown
) -> float:
    """A task's countdown before its retry number ``attempt + 1``: the shared
    policy (:func:`shared.retrying.backoff`) with full jitter."""
    return retrying.backoff(attempt, base=base, cap=cap, jitter=True)


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


def _retry(task: Task, exc: BaseException, countdown: float, limit: int) -> NoReturn:
    """``task.retry`` with the policy's limit (Celery's own default is 3). If
    the retry cannot be published (broker down) Celery would reject the
    message without requeue, losing it: requeue it instead."""
    try:
        raised = task.retry(countdown=countdown, exc=exc, max_retries=limit)
    except Reject as rejected:
        raise Reject(rejected.reason, requeue=True) from exc
    raise raised from exc


def run_stage(
    task: Task, stage: str, runtime: Runtime, payload: Any, body: Callable[[], T]
) -> T | None:
    """Run ``body`` for one task message and apply the failure policy."""
    attempts = task.request.retries + 1
    source, item_ids = _describe(payload)
    correlation = payload.get("correlation_id") if isinstance(payload, dict) else None
    clear_context()
    bind_context(stage=stage, source=source, correlation_id=correlation, task_id=task.request.id)
    timing = runtime.settings.celery
    started = time.monotonic()
    try:
        return body()
    except Retry:
        raise
    except PERMANENT as exc:
        reason = reason_of(exc)
        _dead_letter(runtime, stage, reason, exc, payload, attempts, source, item_ids)
        return None
    except TRANSIENT as exc:
        reason = reason_of(exc)
        if task.request.retries < MAX_TRANSIENT_RETRIES:
            cap = timing.max_retry_countdown
            countdown = backoff(task.request.retries, cap=cap)
            retry_after = getattr(exc, "retry_after", None)
            if retry_after:
                countdown = min(max(countdown, float(retry_after)), cap)
            log.warning(
                "%s: transient failure (%s), retry %d in %.1fs: %s",
                stage,
                reason,
                attempts,
                countdown,
                exc,
            )
            metrics().retries.labels(stage, reason).inc()
            _retry(task, exc, countdown, MAX_TRANSIENT_RETRIES)
        _dead_letter(
            runtime, stage, f"exhausted:{reason}", exc, payload, attempts, source, item_ids
        )
        return None
    except Exception as exc:
        if isinstance(exc, SoftTimeLimitExceeded):
            reason = "time_limit"
        else:
            reason = f"crash:{type(exc).__name__}"
        if task.request.retries < MAX_CRASH_RETRIES:
            log.exception("%s: %s, retry %d", stage, reason, attempts)
            metrics().retries.labels(stage, reason).inc()
            countdown = backoff(task.request.retries, cap=timing.max_retry_countdown)
            _retry(task, exc, countdown, MAX_CRASH_RETRIES)
        give_up(runtime, stage, reason, exc, payload, attempts)
        return None
    finally:
        metrics().stage_seconds.labels(stage).observe(time.monotonic() - started)
        metrics().last_task.labels(stage).set(time.time())


def give_up(
    runtime: Runtime, stage: str, reason: str, exc: BaseException, payload: Any, attempts: int
) -> None:
    """The end of the retries for something that may be item-specific (a
    crash, a time limit): a batch of several valid items is split into
    single-item tasks with one attempt left each; anything else is
    dead-lettered."""
    batch = _valid_batch(payload)
    if batch is None or len(batch.items) < 2:
        source, item_ids = _describe(payload)
        _dead_letter(runtime, stage, reason, exc, payload, attempts, source, item_ids)
        return
    try:
        for item in batch.items:
            # retries=MAX_CRASH_RETRIES: a single that crashes again is
            # dead-lettered at once; transient errors keep their budget.
            runtime.send(
                stage,
                Batch(items=[item], correlation_id=batch.correlation_id),
                retries=MAX_CRASH_RETRIES,
            )
    except Exception as send_exc:  # broker down: let Redis deliver the batch again
        raise Reject(f"could not split the batch: {send_exc}", requeue=True) from send_exc
    metrics().retries.labels(stage, f"split:{reason}").inc()
    log.warning(
        "%s: gave up on a batch of %d items after %d attempt(s) (%s); sent each item alone",
        stage,
        len(batch.items),
        attempts,
        reason,
    )


def _valid_batch(payload: Any) -> Batch | None:
    try:
        return Batch.model_validate(payload)
    except ValidationError:
        return None


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
    try:
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
    except Exception as store_exc:  # the store (Redis) is down: deliver it again later
        raise Reject(f"could not dead-letter: {store_exc}", requeue=True) from store_exc
    metrics().dead_letters.labels(stage, reason).inc()
    log.error(
        "%s: dead-lettered %s (%s) after %d attempt(s): %s", stage, entry.id, reason, attempts, exc
    )


def connect_failure_handler(runtime: Runtime) -> None:
    """Connect :func:`on_task_failure` for this process's ``runtime`` to
    Celery's ``task_failure`` signal (the worker's bootstrap does, once)."""

    def handler(sender: Task | None = None, task_id: str | None = None,
                exception: BaseException | None = None, args: Any = None,
                **_: Any) -> None:
        on_task_failure(runtime, sender, task_id, exception, args)

    task_failure.connect(handler, weak=False, dispatch_uid="wirestream.task_failure")


def on_task_failure(
    runtime: Runtime,
    sender: Task | None = None,
    task_id: str | None = None,
    exception: BaseException | None = None,
    args: Any = None,
) -> None:
    """Failures :func:`run_stage` never saw; Celery acks their messages.

    * the hard time limit: the pool process was killed mid-task;
    * a pool process lost while running the task more often than the retry
      budget allows (``task_retry_on_worker_lost``): an item that kills its
      process (segfault, OOM) every time;
    * anything that escaped the policy itself.

    Runs in the worker's main process for the first two. A stage task's
    payload is given up (split or dead-lettered) so it is not lost, once per
    task id.
    """
    stage = _STAGE_OF_TASK.get(getattr(sender, "name", "") or "")
    if stage is None or exception is None:
        return
    if task_id is not None:
        if task_id in _GIVEN_UP:
            return
        _GIVEN_UP[task_id] = None
        while len(_GIVEN_UP) > 10_000:
            _GIVEN_UP.popitem(last=False)
    payload = args[0] if args else None
    request = getattr(sender, "request", None)
    attempts = int(getattr(request, "retries", 0) or 0) + 1
    if isinstance(exception, TimeLimitExceeded):
        reason = "time_limit:hard"
    else:
        reason = f"crash:{type(exception).__name__}"
    log.error("%s: task failed outside the retry policy (%s): %s", stage, reason, exception)
    try:
        give_up(runtime, stage, reason, exception, payload, attempts)
    except Reject as exc:
        # Nothing to requeue from here: the message is acked. Say so loudly;
        # the reconciler re-drives the items (docs/guarantees.md).
        log.error("%s: could not give up on a failed task (%s): %s", stage, reason, exc)
