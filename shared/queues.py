"""Queue and task names: the wire contract between the three services.

Services call each other's tasks by these names with ``send_task`` so that no
service imports another's code (each can ship and scale alone).
"""

from __future__ import annotations

__all__ = ["QUEUES", "STAGE_TASKS", "TASK_ENRICH", "TASK_INDEX", "TASK_POLL"]

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
