"""The Celery application shared by the three workers and the scheduler.

Built once per process from :class:`shared.settings.Settings`. Every setting
says why it is set; the defaults Celery ships are tuned for short idempotent
tasks with results, and ours are the opposite: longer batches, no results,
at-least-once delivery.
"""

from __future__ import annotations

from celery import Celery
from kombu.entity import Exchange, Queue

from shared.queues import QUEUES, STAGE_TASKS
from shared.settings import Settings

__all__ = ["TASK_TIME_LIMIT", "VISIBILITY_TIMEOUT", "create_app"]

# Hard limit for one task (a batch of items). A soft limit a minute earlier
# lets the task dead-letter what it holds cleanly instead of being killed.
TASK_TIME_LIMIT = 300
TASK_SOFT_TIME_LIMIT = 240
# Longest countdown any retry uses (see shared.tasking.backoff).
MAX_RETRY_COUNTDOWN = 600
# Redis redelivers an unacked message after the visibility timeout. It must be
# longer than any task plus any countdown/eta, or a slow task or a delayed
# retry would be delivered twice while still pending.
VISIBILITY_TIMEOUT = 2 * (TASK_TIME_LIMIT + MAX_RETRY_COUNTDOWN)


def create_app(settings: Settings) -> Celery:
    app = Celery("wirestream", set_as_current=True)
    app.conf.update(
        broker_url=settings.redis.url_with_password,
        broker_transport_options={
            "visibility_timeout": VISIBILITY_TIMEOUT,
            # Fail fast on a dead broker instead of hanging a producer.
            "socket_timeout": 30,
            "socket_connect_timeout": 10,
        },
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
        # ...and when the worker process dies (SIGKILL, OOM), requeue instead
        # of acking it as failed.
        task_reject_on_worker_lost=True,
        # A worker reserves one message at a time: batches are large and a
        # prefetched message would wait behind a slow one (and be redelivered
        # if the worker dies).
        worker_prefetch_multiplier=1,
        task_time_limit=TASK_TIME_LIMIT,
        task_soft_time_limit=TASK_SOFT_TIME_LIMIT,
        # Recycle children now and then to bound slow leaks in parser libraries.
        worker_max_tasks_per_child=2000,
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
