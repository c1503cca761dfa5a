"""The workers' process pool: Celery's prefork pool, which finishes writing
the task message it had begun to hand a pool process before a warm shutdown
waits for the pool.

The prefork pool writes a task message to a pool process's pipe a piece at
a time, from the worker's event loop. A message larger than the pipe's
buffer (a batch of full-text stories is) takes several turns of the loop. On
SIGTERM the loop stops: if it stopped in the middle of such a message, the
pool process waits for the rest for ever and Celery's warm shutdown waits for
the pool process for ever (seen in the fault suite: ``index`` never exited).
Celery finishes those writes (``AsynPool.flush``) when the broker connection
is lost, not at shutdown; :class:`TaskPool` does it at shutdown too. The
task message whose writing had not begun is dropped from the pool, and the
broker hands it out again, as after any shutdown (acks are late).
"""

from __future__ import annotations

from billiard.pool import RUN
from celery.concurrency.prefork import TaskPool as PreforkPool

__all__ = ["TaskPool"]


class TaskPool(PreforkPool):  # type: ignore[misc]
    """``worker_pool`` of shared.celery_app (``shared.pool:TaskPool``)."""

    def on_close(self) -> None:
        # A warm shutdown closes every bootstep before it stops any; closing
        # the pool is the last moment its writes can still be finished.
        pool = self._pool
        if pool is not None and pool._state == RUN and self.flush is not None:
            self.flush()
        super().on_close()
