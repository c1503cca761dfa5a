"""Many write commands in one script call, against the real Redis."""

from __future__ import annotations

import pytest
import redis

from shared.redis_writes import WriteBatch


def test_commands_run_in_order_with_their_own_semantics(redis_db: redis.Redis) -> None:
    writes = WriteBatch(redis_db)
    writes.add("HSETNX", "t:w:e", "name", "Olaf Scholz")
    writes.add("HSETNX", "t:w:e", "name", "Scholz")  # no-op: the field exists
    writes.add("SADD", "t:w:v", "Scholz", "Olaf Scholz", "Шольц")
    writes.add("SADD", "t:w:v", "Scholz")
    writes.add("SET", "t:w:sig", b"\x00\xff\x10", "EX", 60)
    writes.add("HSET", "t:w:e", "name", "Olaf Scholz (SPD)")  # after the HSETNX, wins
    writes.add("EXPIRE", "t:w:v", 30)
    assert len(writes) == 7
    assert writes.execute() == 7
    assert len(writes) == 0
    assert redis_db.hget("t:w:e", "name") == b"Olaf Scholz (SPD)"
    assert redis_db.smembers("t:w:v") == {b"Scholz", b"Olaf Scholz", "Шольц".encode()}
    assert redis_db.get("t:w:sig") == b"\x00\xff\x10"
    assert 0 < redis_db.ttl("t:w:sig") <= 60 and 0 < redis_db.ttl("t:w:v") <= 30


def test_nothing_to_send_makes_no_call_and_other_commands_are_refused(
    redis_db: redis.Redis,
) -> None:
    writes = WriteBatch(redis_db)
    assert writes.execute() == 0
    with pytest.raises(ValueError, match="FLUSHDB"):
        writes.add("FLUSHDB", "t:w:x")
    assert len(writes) == 0
