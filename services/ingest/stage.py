"""The ingest stage's decisions, without I/O: what one poll's outcome does to
a source's state and when it is polled next, and which of a document's
items go to the version gate.

:class:`services.ingest.poller.Poller` does the I/O around these (fetch,
parse, the gate and the registry in Redis, sending batches); everything
here is a function of its arguments (the jitter is one too), so the unit
tests call it directly.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta

from services.ingest.parsers import FeedMeta
from services.ingest.sources import Source, SourceState
from shared.models import NewsItem
from shared.retrying import backoff

__all__ = [
    "FEED_FORMATS",
    "MAX_FAILURE_BACKOFF",
    "VERSIONED_FORMATS",
    "chunks",
    "distinct_items",
    "failed",
    "feed_hints_delay",
    "jitter",
    "next_interval",
    "succeeded",
]

# Failures back off exponentially from the source's interval up to this cap.
MAX_FAILURE_BACKOFF = 6 * 3600
# Only wire formats carry version numbers; a feed's default of 1 must not
# make a changed entry look older than the version we sent.
VERSIONED_FORMATS = frozenset({"ninjs", "newsml-g2", "newsml-1", "nitf", "anpa1312", "iptc7901"})
FEED_FORMATS = frozenset({"rss", "atom", "jsonfeed"})
ERROR_CHARS = 500

Jitter = Callable[[float], float]


def jitter(seconds: float) -> float:
    """+-10%, so thousands of sources with equal intervals do not poll in step."""
    return seconds * random.uniform(0.9, 1.1)


def next_interval(source: Source, state: SourceState, new_items: int) -> float:
    """Adaptive interval inside the operator's bounds: halve it when the
    poll found new items, grow it by half when it found none."""
    current = state.interval or float(source.min_interval)
    proposed = current / 2 if new_items else current * 1.5
    return float(min(source.max_interval, max(source.min_interval, proposed)))


def succeeded(source: Source, state: SourceState, *, now: float, etag: str | None,
              last_modified: str | None, items: int, new_items: int,
              retry_after: float | None = None, feed: FeedMeta | None = None,
              spread: Jitter = jitter) -> float:
    """Record a successful poll on ``state`` (validators, health, the
    adaptive interval) and return when the source is due next: its interval
    (jittered), no sooner than the server's Retry-After or what the feed
    itself asks (RSS ttl, skipHours, skipDays)."""
    state.etag = etag
    state.last_modified = last_modified
    state.last_success = now
    state.consecutive_failures = 0
    state.items_last_poll = items
    state.new_last_poll = new_items
    if new_items:
        state.last_new_item = now
    state.interval = next_interval(source, state, new_items)
    due = now + spread(state.interval)
    if retry_after:
        due = max(due, now + retry_after)
    if feed is not None:
        asked = feed_hints_delay(datetime.fromtimestamp(due, UTC), ttl_minutes=feed.ttl,
                                 skip_hours=feed.skip_hours, skip_days=feed.skip_days)
        due = max(due, asked.timestamp())
    return due


def failed(source: Source, state: SourceState, *, now: float, reason: str, message: str,
           retry_after: float | None = None, spread: Jitter = jitter) -> float:
    """Record a failed poll on ``state`` and return when to try again:
    exponential backoff from the source's interval, capped at
    :data:`MAX_FAILURE_BACKOFF`, no sooner than the server's Retry-After."""
    state.consecutive_failures += 1
    state.last_error = f"{reason}: {message}"[:ERROR_CHARS]
    state.last_error_at = now
    base = state.interval or float(source.min_interval)
    due = now + spread(backoff(state.consecutive_failures, base=base, cap=MAX_FAILURE_BACKOFF))
    # the server's Retry-After is a floor the jitter must not undercut
    return max(due, now + retry_after) if retry_after else due


def distinct_items(items: Sequence[NewsItem], fmt: str
                   ) -> tuple[list[tuple[NewsItem, int | None]], int]:
    """The items of one document for the version gate, each with the version
    it claims (0 where the format carries none), the first of each id only;
    and how many repeats were dropped (the same guid twice in one feed)."""
    versioned = fmt in VERSIONED_FORMATS
    seen: set[str] = set()
    out: list[tuple[NewsItem, int | None]] = []
    for item in items:
        if item.id in seen:
            continue
        seen.add(item.id)
        out.append((item, item.version if versioned else 0))
    return out, len(items) - len(out)


def chunks(items: list[NewsItem], size: int) -> Iterator[list[NewsItem]]:
    """The batches the forwarded items are sent in."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def feed_hints_delay(
    now: datetime,
    *,
    ttl_minutes: int | None,
    skip_hours: list[int],
    skip_days: list[str],
) -> datetime:
    """The earliest time the feed asks us to come back (``now`` if it asks
    nothing). skipHours are GMT hours 0-23; skipDays English day names."""
    earliest = now + timedelta(minutes=ttl_minutes) if ttl_minutes and ttl_minutes > 0 else now
    hours = {h for h in skip_hours if 0 <= h <= 23}
    days = {d.strip().lower() for d in skip_days}
    if len(hours) == 24 and not days:
        return earliest  # a feed that skips every hour is misconfigured: ignore
    candidate = earliest.astimezone(UTC)
    # Walk forward hour by hour (at most a week) until neither rule skips it.
    for _ in range(24 * 8):
        if candidate.hour not in hours and candidate.strftime("%A").lower() not in days:
            return candidate
        candidate = (candidate + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    return earliest
