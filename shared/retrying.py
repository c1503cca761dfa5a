"""The one retry policy every stage and client uses: which HTTP statuses are
worth another try, and how long to wait before it.

* :func:`transient_status` - 408 (request timeout), 425 (too early), 429
  (too many requests) and every 5xx: the server may answer next time.
  Anything else (4xx) will answer the same again.
* :func:`backoff` - capped exponential: ``base * 2 ** retries``, at most
  ``cap``; with ``jitter``, a uniform draw below that ("full jitter", so
  workers that failed together do not come back together).

Which *exceptions* are transient or permanent is decided in one place as
well: :data:`shared.tasking.TRANSIENT` and :data:`shared.tasking.PERMANENT`,
applied by :mod:`shared.tasking`.
"""

from __future__ import annotations

import random

__all__ = ["TRANSIENT_4XX", "backoff", "transient_status"]

TRANSIENT_4XX = frozenset({408, 425, 429})


def transient_status(status: int) -> bool:
    """An HTTP status another try may change: 408, 425, 429 or 5xx."""
    return status in TRANSIENT_4XX or 500 <= status <= 599


def backoff(retries: int, *, base: float, cap: float, jitter: bool = False) -> float:
    """Seconds to wait before the next try, after ``retries`` failed ones
    (0 for the first retry): ``min(cap, base * 2 ** retries)``, or a uniform
    draw below it with ``jitter``."""
    delay = min(cap, base * 2 ** min(max(retries, 0), 62))
    return random.uniform(0, delay) if jitter else delay
