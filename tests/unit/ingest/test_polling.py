"""Adaptive intervals and the publisher's own hints (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime

from services.ingest.politeness import feed_hints_delay
from services.ingest.poller import next_interval
from services.ingest.sources import Source, SourceState

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
