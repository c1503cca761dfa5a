"""Adaptive intervals and the publisher's own hints (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime

from services.ingest.sources import Source, SourceState
from services.ingest.stage import feed_hints_delay, next_interval

SRC = Source(id="s", url="http://example.org/feed", min_interval=60, max_interval=3600)


def test_interval_shrinks_when_busy_and_grows_when_quiet_within_bounds() -> None:
    assert next_interval(SRC, SourceState(interval=600), new_items=5) == 300
    assert next_interval(SRC, SourceState(interval=600), new_items=0) == 900
    assert next_interval(SRC, SourceState(interval=70), new_items=3) == 60
    assert next_interval(SRC, SourceState(interval=3000), new_items=0) == 3600
    assert next_interval(SRC, SourceState(), new_items=0) == 90  # starts at min_interval


NOON = datetime(2026, 11, 27, 12, 30, tzinfo=UTC)  # a Friday


def test_ttl_pushes_the_next_poll_out() -> None:
    due = feed_hints_delay(NOON, ttl_minutes=45, skip_hours=[], skip_days=[])
    assert due == datetime(2026, 11, 27, 13, 15, tzinfo=UTC)


def test_skip_hours_and_days_move_to_the_first_allowed_hour() -> None:
    due = feed_hints_delay(NOON, ttl_minutes=None, skip_hours=[12, 13, 14], skip_days=[])
    assert due == datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
    weekend = feed_hints_delay(
        NOON, ttl_minutes=None, skip_hours=[], skip_days=["Friday", "Saturday"]
    )
    assert weekend == datetime(2026, 11, 29, 0, 0, tzinfo=UTC)


def test_nonsense_hints_are_ignored() -> None:
    assert feed_hints_delay(NOON, ttl_minutes=-5, skip_hours=list(range(24)), skip_days=[]) == NOON


def _still(seconds: float) -> float:  # no jitter: exact due times
    return seconds


def test_a_successful_poll_sets_health_interval_and_the_next_due() -> None:
    from services.ingest.parsers import FeedMeta
    from services.ingest.stage import succeeded

    state = SourceState(interval=600, consecutive_failures=3, last_error="x")
    now = NOON.timestamp()
    due = succeeded(SRC, state, now=now, etag='"e1"', last_modified=None, items=20,
                    new_items=4, spread=_still)
    assert (state.etag, state.last_success, state.consecutive_failures) == ('"e1"', now, 0)
    assert (state.items_last_poll, state.new_last_poll, state.last_new_item) == (20, 4, now)
    assert state.interval == 300 and due == now + 300  # busy: polled sooner
    # a Retry-After or the feed's ttl pushes the next poll out, never in
    assert succeeded(SRC, SourceState(interval=600), now=now, etag=None, last_modified=None,
                     items=1, new_items=0, retry_after=7200, spread=_still) == now + 7200
    feed = FeedMeta(ttl=120)  # counted from the due time the interval gives
    assert succeeded(SRC, SourceState(interval=600), now=now, etag=None, last_modified=None,
                     items=1, new_items=0, feed=feed, spread=_still) == now + 900 + 7200
    quiet = SourceState(interval=600, last_new_item=now - 50)
    succeeded(SRC, quiet, now=now, etag=None, last_modified=None, items=5, new_items=0,
              spread=_still)
    assert quiet.last_new_item == now - 50 and quiet.interval == 900


def test_a_failed_poll_backs_off_exponentially_to_a_cap() -> None:
    from services.ingest.stage import MAX_FAILURE_BACKOFF, failed

    state = SourceState(interval=60)
    now = NOON.timestamp()
    delays = [failed(SRC, state, now=now, reason="http_503", message="Service Unavailable",
                     spread=_still) - now for _ in range(12)]
    assert delays[:4] == [120, 240, 480, 960]
    assert max(delays) == MAX_FAILURE_BACKOFF == delays[-1]
    assert state.consecutive_failures == 12 and state.last_error == "http_503: Service Unavailable"
    # a server's Retry-After beyond the backoff is honoured
    assert failed(SRC, SourceState(interval=60), now=now, reason="http_429", message="",
                  retry_after=3000, spread=_still) == now + 3000


def test_the_gate_sees_each_id_once_with_its_version_only_in_wire_formats() -> None:
    from services.ingest.stage import distinct_items
    from tests.unit.test_shared import make_item

    items = [make_item(id="a", version=3), make_item(id="b", version=2),
             make_item(id="a", version=4)]
    wire, dropped = distinct_items(items, "ninjs")
    assert [(i.id, v) for i, v in wire] == [("a", 3), ("b", 2)] and dropped == 1
    feed, _ = distinct_items(items, "rss")
    assert [v for _, v in feed] == [0, 0]  # a feed's default version means nothing
