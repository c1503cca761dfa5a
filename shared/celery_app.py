"""The Celery application shared by the three workers and the scheduler.

Built once per process from :class:`shared.settings.Settings`. Every setting
says why it is set; the defaults Celery ships are tuned for short idempotent
tasks with results, and ours are the opposite: longer batches, no results,
at-least-once delivery.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from kombu.entity import Exchange, Queue

from shared.queues import QUEUES, STAGE_TASKS
from shared.settings import CelerySettings, Settings
from shared.tasking import MAX_CRASH_RETRIES

__all__ = [
    "MAX_RETRY_COUNTDOWN",
    "TASK_SOFT_TIME_LIMIT",
    "TASK_TIME_LIMIT",
    "VISIBILITY_TIMEOUT",
    "create_app",
    "sentinel_options",
    "transport_options",
]

# The defaults of the timing settings (WIRESTREAM_CELERY__*), for code that
# needs them without a Settings object (the compose checks). Workers use
# Settings.celery; see CelerySettings for what each one bounds.
_DEFAULTS = CelerySettings()
TASK_TIME_LIMIT = _DEFAULTS.task_time_limit
TASK_SOFT_TIME_LIMIT = _DEFAULTS.task_soft_time_limit
MAX_RETRY_COUNTDOWN = _DEFAULTS.max_retry_countdown
VISIBILITY_TIMEOUT = _DEFAULTS.visibility_timeout


def transport_options(timing: CelerySettings) -> dict[str, Any]:
    """Options of kombu's Redis transport derived from the timing settings."""
    return {
        # Redis redelivers an unacked message after the visibility timeout. It
        # is longer than any task plus any countdown (checked at boot), so a
        # slow task or a delayed retry is not delivered twice while pending.
        "visibility_timeout": timing.visibility_timeout,
        # How often a worker looks for messages whose visibility timeout ran
        # out (those of a worker that died). kombu's default scans every 10th
        # tick of 10 s; one cheap ZRANGE every few seconds bounds the wait
        # after the timeout to a few seconds instead of up to 100.
        "unacked_restore_interval": max(1, min(10, timing.visibility_timeout // 20)),
        "unacked_restore_throttle": 1,
        # The restore scan holds a mutex; if the worker holding it dies, the
        # next scan waits for it to expire. Restores are transactional per
        # message, so a shorter expiry cannot restore a message twice.
        "unacked_mutex_expire": max(5, min(300, timing.visibility_timeout // 4)),
        # Fail fast on a dead broker instead of hanging a producer.
        "socket_timeout": 30,
        "socket_connect_timeout": 10,
    }


def sentinel_options(settings: Settings) -> dict[str, Any]:
    """kombu's Sentinel transport (``sentinel://`` broker URLs): which
    primary to ask the Sentinels for, and how to talk to them."""
    if not settings.redis.sentinels:
        return {}
    return {"master_name": settings.redis.sentinel_master,
            "sentinel_kwargs": settings.redis.sentinel_kwargs()}


def create_app(settings: Settings) -> Celery:
    timing = settings.celery
    app = Celery("wirestream", set_as_current=True)
    app.conf.update(
        broker_url=settings.redis.url_with_password,
        broker_transport_options={**transport_options(timing),
                                  **sentinel_options(settings)},
        # Keep retrying the broker at boot: compose starts workers while Redis
        # may still be loading its AOF.
        broker_connection_retry_on_startup=True,
        # JSON only: a pickled message could execute code on the worker.
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        result_accept_content=["json"],
        # Stages hand their output to the next queue; nobody reads results.
        task_ignore_result=True,
        result_backend=None,
        # Ack after the task ran, so a worker killed mid-task does not lose
        # the message; the stages are idempotent, so redelivery is harmless.
        task_acks_late=True,
        # ...and when the pool process running it dies (SIGKILL, OOM, a
        # segfault), send the task again as a retry. A lost process counts as
        # a crash: after the crash budget (max_retries below) the task fails
        # and shared.tasking.on_task_failure splits or dead-letters it, so an
        # item that kills its process every time cannot loop forever (plain
        # reject_on_worker_lost would requeue it without end). If that retry
        # cannot be sent, the message is requeued.
        task_retry_on_worker_lost=True,
        task_reject_on_worker_lost=True,
        task_annotations={
            "*": {
                "max_retries": MAX_CRASH_RETRIES,
                "default_retry_delay": min(5, timing.max_retry_countdown),
            }
        },
        # A worker reserves one message at a time: batches are large and a
        # prefetched message would wait behind a slow one (and be redelivered
        # if the worker dies).
        worker_prefetch_multiplier=1,
        # Hard limit for one task (a batch of items); the soft limit before it
        # lets the task give up cleanly (shared.tasking). WIRESTREAM_CELERY__*.
        task_time_limit=timing.task_time_limit,
        task_soft_time_limit=timing.task_soft_time_limit,
        # Celery's prefork pool, which also finishes the task message it was
        # writing to a pool process when a warm shutdown begins (shared.pool).
        worker_pool="shared.pool:TaskPool",
        # Recycle children now and then to bound slow leaks in parser libraries.
        worker_max_tasks_per_child=timing.max_tasks_per_child,
        worker_proc_alive_timeout=timing.proc_alive_timeout,
        # Only the declared queues exist; a typo in a queue name is an error,
        # not a silently created queue nobody consumes.
        task_queues=[Queue(name, Exchange(name), routing_key=name) for name in QUEUES],
        task_create_missing_queues=False,
        task_default_queue=QUEUES[0],
        task_routes={task: {"queue": queue} for task, queue in STAGE_TASKS.values()},
        # Let `wirestream status` see which task each worker runs.
        worker_send_task_events=True,
        task_send_sent_event=False,
        # Workers answer `celery inspect ping` for health checks.
        worker_enable_remote_control=True,
        worker_hijack_root_logger=False,
        timezone="UTC",
        enable_utc=True,
    )
    return app
