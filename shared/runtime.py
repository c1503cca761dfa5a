"""Per-process resources: settings, the Celery app and the clients.

One :class:`Runtime` per process. Clients are created lazily on first use,
which under Celery's prefork pool happens in the child after the fork, and
closed on shutdown (``worker_process_shutdown``). Tasks receive what they need
from here; nothing reads settings from module globals mid-task.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import redis
from celery import Celery
from elastic_transport.client_utils import DEFAULT
from elasticsearch import Elasticsearch
from redis.sentinel import Sentinel

from shared.dlq import DeadLetterStore
from shared.models import Batch
from shared.queues import STAGE_TASKS
from shared.settings import Settings

__all__ = ["Runtime", "batch_repr", "es_client", "redis_client", "send_batch",
           "sentinel_manager"]


def redis_client(settings: Settings) -> redis.Redis:
    """The process's Redis client: to ``url``, or, with Sentinels, to the
    current primary they name (a failover is followed: a connection that
    fails asks them again; the errors of the switch are transient, see
    shared.tasking)."""
    conf = settings.redis
    password = conf.password.get_secret_value() if conf.password else None
    # Bounded waits: a dead Redis must surface as an error, not a hang.
    timeouts: dict[str, Any] = {"socket_timeout": 10, "socket_connect_timeout": 5}
    if conf.sentinels:
        primary: redis.Redis = sentinel_manager(settings).master_for(  # type: ignore[no-untyped-call]
            conf.sentinel_master, username=conf.username, password=password, db=conf.db,
            health_check_interval=30, **timeouts)
        return primary
    return redis.Redis.from_url(conf.url, username=conf.username, password=password,
                                health_check_interval=30, **timeouts)


def sentinel_manager(settings: Settings) -> Sentinel:
    return Sentinel(settings.redis.sentinel_addresses,  # type: ignore[no-untyped-call]
                    sentinel_kwargs=settings.redis.sentinel_kwargs())


def es_client(settings: Settings, *, role: str = "writer") -> Elasticsearch:
    """An Elasticsearch client as the writer (default), ``reader`` or ``admin``."""
    es = settings.es
    user, secret = {
        "writer": (es.username, es.password),
        "reader": (es.reader_username, es.reader_password),
        "admin": (es.admin_username, es.admin_password),
    }[role]
    auth = (user, secret.get_secret_value()) if secret is not None else None
    return Elasticsearch(
        es.urls,
        basic_auth=auth,
        request_timeout=es.request_timeout,
        ca_certs=es.ca_certs or DEFAULT,  # https:// URLs only
        # Retries are ours (bulk retries the rejected subset; tasks retry with
        # backoff), so the client must not replay whole requests by itself.
        max_retries=0,
        retry_on_timeout=False,
    )


def batch_repr(batch: Batch) -> str:
    """What a batch message shows as its arguments in task events, worker
    logs and monitoring tools: its size, correlation id and first item id.
    Celery's default is a 1 KB repr of the documents, which costs the
    producer a walk of the whole batch and tells an operator less."""
    first = batch.items[0].id if batch.items else "-"
    return (f"(<batch of {len(batch.items)} items, correlation {batch.correlation_id}, "
            f"first {first}>,)")


def send_batch(app: Celery, stage: str, batch: Batch, **options: Any) -> None:
    """Hand a batch to ``stage``'s task queue."""
    task, queue = STAGE_TASKS[stage]
    app.send_task(task, args=[batch.model_dump(mode="json")], queue=queue,
                  argsrepr=batch_repr(batch), kwargsrepr="{}", **options)


class Runtime:
    def __init__(self, settings: Settings, app: Celery) -> None:
        self.settings = settings
        self.app = app

    @cached_property
    def redis(self) -> redis.Redis:
        return redis_client(self.settings)

    @cached_property
    def es(self) -> Elasticsearch:
        return es_client(self.settings)

    @cached_property
    def dlq(self) -> DeadLetterStore:
        return DeadLetterStore(self.redis)

    def send(self, stage: str, batch: Batch, **options: Any) -> None:
        """Hand a batch to the next stage's queue."""
        send_batch(self.app, stage, batch, **options)

    def close(self) -> None:
        for name in ("redis", "es"):
            client = self.__dict__.pop(name, None)
            if client is not None:
                client.close()
        self.__dict__.pop("dlq", None)
