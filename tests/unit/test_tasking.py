"""The failure policy of every stage task, with a stand-in for Celery's task."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

from shared import errors
from shared.settings import CelerySettings
from shared.tasking import MAX_CRASH_RETRIES, MAX_TRANSIENT_RETRIES, backoff, run_stage


class RetryCalled(Exception):
    pass


@dataclass
class Request:
    retries: int = 0
    id: str = "task-1"


@dataclass
class FakeTask:
    request: Request = field(default_factory=Request)
    retried: list[dict[str, Any]] = field(default_factory=list)

    def retry(self, **kwargs: Any) -> RetryCalled:
        self.retried.append(kwargs)
        return RetryCalled()


class RecordingDLQ:
    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def add(self, **kwargs: Any) -> Any:
        self.entries.append(kwargs)

        class Entry:
            id = "e1"

        return Entry()


@dataclass
class FakeRuntime:
    """What run_stage reads of a runtime: the dead-letter store and the
    timing settings (Celery's section of the settings, defaults)."""

    dlq: RecordingDLQ = field(default_factory=RecordingDLQ)
    settings: Any = field(default_factory=lambda: SimpleNamespace(celery=CelerySettings()))


PAYLOAD = {"items": [{"id": "a", "source": "s1"}, {"id": "b", "source": "s1"}],
           "correlation_id": "c"}


def raise_(exc: BaseException) -> Any:
    def body() -> None:
        raise exc

    return body


def test_permanent_error_is_dead_lettered_at_once() -> None:
    task, rt = FakeTask(), FakeRuntime()
    run_stage(task, "enrich", rt, PAYLOAD, raise_(errors.PayloadError("bad")))  # type: ignore[arg-type]
    assert task.retried == []
    [entry] = rt.dlq.entries
    assert entry["reason"] == "invalid_payload"
    assert entry["item_ids"] == ["a", "b"]
    assert entry["source"] == "s1"
    assert entry["payload"] == PAYLOAD


def test_transient_error_retries_then_dead_letters_when_exhausted() -> None:
    task, rt = FakeTask(), FakeRuntime()
    with pytest.raises(RetryCalled):
        run_stage(task, "index", rt, PAYLOAD, raise_(errors.ServiceUnavailable("down")))  # type: ignore[arg-type]
    assert rt.dlq.entries == []
    task.request.retries = MAX_TRANSIENT_RETRIES
    run_stage(task, "index", rt, PAYLOAD, raise_(errors.ServiceUnavailable("down")))  # type: ignore[arg-type]
    assert rt.dlq.entries[0]["reason"] == "exhausted:service_unavailable"
    assert rt.dlq.entries[0]["attempts"] == MAX_TRANSIENT_RETRIES + 1


def test_retry_after_is_honoured() -> None:
    task, rt = FakeTask(), FakeRuntime()
    with pytest.raises(RetryCalled):
        run_stage(task, "ingest", rt, {"source_id": "s"},  # type: ignore[arg-type]
                  raise_(errors.FetchFailed("429", retry_after=120)))
    assert task.retried[0]["countdown"] >= 120


def test_an_unexpected_crash_gets_few_retries_then_a_dead_letter() -> None:
    task, rt = FakeTask(), FakeRuntime()
    with pytest.raises(RetryCalled):
        run_stage(task, "enrich", rt, PAYLOAD, raise_(KeyError("poison")))  # type: ignore[arg-type]
    task.request.retries = MAX_CRASH_RETRIES
    run_stage(task, "enrich", rt, PAYLOAD, raise_(KeyError("poison")))  # type: ignore[arg-type]
    assert rt.dlq.entries[0]["reason"] == "crash:KeyError"


def test_backoff_is_capped() -> None:
    assert all(0 <= backoff(n) <= 600 for n in range(30))


def test_a_redis_blip_anywhere_is_transient_with_the_full_budget() -> None:
    import redis

    task, rt = FakeTask(), FakeRuntime()
    task.request.retries = MAX_CRASH_RETRIES  # a crash would give up here
    with pytest.raises(RetryCalled):
        run_stage(task, "ingest", rt, {"source_id": "s"},  # type: ignore[arg-type]
                  raise_(redis.exceptions.ConnectionError("Connection reset by peer")))
    task.request.retries = MAX_TRANSIENT_RETRIES
    run_stage(task, "ingest", rt, {"source_id": "s"},  # type: ignore[arg-type]
              raise_(redis.exceptions.ReadOnlyError("You can't write against a read only replica")))
    assert rt.dlq.entries[0]["reason"] == "exhausted:redis_unavailable"
    # a full Redis (noeviction at maxmemory) frees up too: transient, its own reason
    task.request.retries = MAX_CRASH_RETRIES
    with pytest.raises(RetryCalled):
        run_stage(task, "ingest", rt, {"source_id": "s"},  # type: ignore[arg-type]
                  raise_(redis.exceptions.OutOfMemoryError("command not allowed when used "
                                                           "memory > 'maxmemory'.")))
    task.request.retries = MAX_TRANSIENT_RETRIES
    run_stage(task, "ingest", rt, {"source_id": "s"},  # type: ignore[arg-type]
              raise_(redis.exceptions.OutOfMemoryError("command not allowed")))
    assert rt.dlq.entries[1]["reason"] == "exhausted:redis_full"


def test_one_policy_for_statuses_and_waits() -> None:
    from shared.retrying import backoff as plain
    from shared.retrying import transient_status

    assert [s for s in (200, 304, 400, 403, 404, 408, 410, 425, 429, 500, 501, 503, 599)
            if transient_status(s)] == [408, 425, 429, 500, 501, 503, 599]
    assert [plain(n, base=0.5, cap=10.0) for n in range(7)] == [0.5, 1, 2, 4, 8, 10, 10]
    assert plain(10_000, base=1.0, cap=60.0) == 60.0
    assert all(0 <= plain(n, base=2.0, cap=600.0, jitter=True) <= min(600, 2 * 2 ** n)
               for n in range(12))
