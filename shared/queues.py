"""Queue and task names: the wire contract between the three services.

Services call each other's tasks by these names with ``send_task`` so that no
service imports another's code (each can ship and scale alone).
"""

from __future__ import annotations

from typing import Any

__all__ = ["QUEUES", "STAGE_TASKS", "TASK_ENRICH", "TASK_INDEX", "TASK_POLL", "queue_depth"]

INGEST = "ingest"
ENRICH = "enrich"
INDEX = "index"
QUEUES: tuple[str, ...] = (INGEST, ENRICH, INDEX)

TASK_POLL = "wirestream.ingest.poll_source"
TASK_ENRICH = "wirestream.enrich.enrich_batch"
TASK_INDEX = "wirestream.index.index_batch"

# stage name -> (task name, queue); used by dead-letter replay
STAGE_TASKS: dict[str, tuple[str, str]] = {
    INGEST: (TASK_POLL, INGEST),
    ENRICH: (TASK_ENRICH, ENRICH),
    INDEX: (TASK_INDEX, INDEX),
}


# kombu's Redis transport keeps messages of priority p in "<queue>\x06\x16<p>"
# besides "<queue>" (default priority steps 0, 3, 6, 9).
PRIORITY_SEP = "\x06\x16"
PRIORITY_STEPS = (3, 6, 9)


def queue_depth(client: Any, queue: str) -> int:
    """Messages waiting in a Celery queue of the Redis broker, every
    priority step counted (``client``: a redis.Redis)."""
    keys = [queue] + [f"{queue}{PRIORITY_SEP}{p}" for p in PRIORITY_STEPS]
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.llen(key)
    return int(sum(pipe.execute()))
