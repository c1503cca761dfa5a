"""The bulk writer's policy against a scripted client: chunking, per-item
outcomes, retries of the rejected subset only, generation changes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from elastic_transport import ApiResponseMeta, ConnectionError, HttpHeaders, NodeConfig
from elasticsearch import ApiError

from services.index.adapters.bulk import BulkIndexer, BulkLimits, chunked
from shared.errors import DocumentRejected, ServiceUnavailable
from tests.unit.test_shared import make_item

BLOCK = "block"  # per-item: cluster_block_exception (a migration froze the index)


def api_error(status: int) -> ApiError:
    meta = ApiResponseMeta(status=status, http_version="1.1", headers=HttpHeaders(),
                           duration=0.0, node=NodeConfig("http", "localhost", 9200))
    return ApiError(message=f"http {status}", meta=meta, body={})


class _Indices:
    def __init__(self, es: ScriptedES) -> None:
        self.es = es

    def get_alias(self, *, name: str) -> dict[str, Any]:
        self.es.alias_lookups += 1
        return {f"p-v{self.es.generation}-2026.11": {"aliases": {name: {}}}}


class ScriptedES:
    """Answers each bulk call with the next round of the script: a list of
    per-item statuses (or BLOCK), or an exception for the whole request."""

    def __init__(self, rounds: list[Any], *, generation: int = 1) -> None:
        self.rounds = rounds
        self.calls: list[list[tuple[str, str, int]]] = []  # (index, id, version)
        self.generation = generation
        self.alias_lookups = 0
        self.indices = _Indices(self)
        self.on_call: Any = None

    def bulk(self, *, operations: bytes, **_: Any) -> dict[str, Any]:
        lines = [json.loads(line) for line in operations.splitlines() if line]
        actions = [line["index"] for line in lines[::2]]
        self.calls.append([(a["_index"], a["_id"], a["version"]) for a in actions])
        if self.on_call:
            self.on_call(len(self.calls))
        script = self.rounds.pop(0)
        if isinstance(script, BaseException):
            raise script
        items = []
        for status in script:
            entry: dict[str, Any]
            if status == BLOCK:
                entry = {"status": 403, "error": {"type": "cluster_block_exception",
                                                  "reason": "blocked by: [FORBIDDEN/8]"}}
            else:
                entry = {"status": status}
                if status >= 400 and status != 409:
                    entry["error"] = {"type": "mapper_parsing_exception", "reason": "bad"}
            items.append({"index": entry})
        return {"errors": True, "items": items}


def items(n: int = 3, **over: Any) -> list[Any]:
    return [make_item(id=f"id{i}", uri=f"g{i}", **over) for i in range(n)]


def indexer(es: ScriptedES, **kw: Any) -> BulkIndexer:
    kw.setdefault("sleep", lambda s: None)
    return BulkIndexer(es, "p", **kw)  # type: ignore[arg-type]


def test_ids_versions_and_target_index() -> None:
    es = ScriptedES([[201, 201]])
    batch = items(2)
    outcome = indexer(es).write(batch)
    assert es.calls == [[("p-v1-2026.11", "id0", batch[0].es_version),
                         ("p-v1-2026.11", "id1", batch[1].es_version)]]
    assert outcome.counts() == {"indexed": 2, "stale": 0, "rejected": 0, "retries": 0,
                                "retried_items": 0, "requests": 1}


def test_only_the_rejected_subset_is_retried() -> None:
    es = ScriptedES([[201, 429, 409, 503], [200, 502], [200]])
    outcome = indexer(es).write(items(4))
    assert [[c[1] for c in call] for call in es.calls] == [
        ["id0", "id1", "id2", "id3"], ["id1", "id3"], ["id3"]]
    assert sorted(outcome.indexed) == ["id0", "id1", "id3"]
    assert outcome.stale == ["id2"]
    assert outcome.retries == 2 and outcome.retried_items == 3


def test_items_pushed_back_count_as_bulk_errors_by_status() -> None:
    from prometheus_client import REGISTRY

    def value(reason: str) -> float:
        labels = {"operation": "bulk", "reason": reason}
        return REGISTRY.get_sample_value("wirestream_es_errors_total", labels) or 0.0

    before = {r: value(r) for r in ("http_429", "http_503", "http_502")}
    indexer(ScriptedES([[201, 429, 409, 503], [200, 502], [200]])).write(items(4))
    assert {r: value(r) - before[r] for r in before} == {
        "http_429": 1.0, "http_503": 1.0, "http_502": 1.0}


def test_a_400_is_returned_for_the_dead_letter_store_not_retried() -> None:
    es = ScriptedES([[201, 400, 201]])
    outcome = indexer(es).write(items())
    assert [r.item.id for r in outcome.rejected] == ["id1"]
    assert outcome.rejected[0].status == 400
    assert outcome.rejected[0].reason == "mapper_parsing_exception: bad"
    assert len(es.calls) == 1


def test_persistent_429_raises_transient_after_bounded_capped_backoff() -> None:
    es = ScriptedES([[429, 429, 429]] * 6)
    sleeps: list[float] = []
    writer = indexer(es, max_attempts=6, backoff_base=1.0, backoff_cap=4.0, sleep=sleeps.append)
    with pytest.raises(ServiceUnavailable) as caught:
        writer.write(items())
    assert caught.value.reason == "es_backpressure"
    assert len(es.calls) == 6
    assert sleeps == [1.0, 2.0, 4.0, 4.0, 4.0]


def test_connection_errors_are_retried_then_raise_transient() -> None:
    down = ConnectionError("refused")
    es = ScriptedES([down, [201, 201, 201]])
    assert len(indexer(es).write(items()).indexed) == 3
    es = ScriptedES([down] * 4)
    with pytest.raises(ServiceUnavailable) as caught:
        indexer(es, max_attempts=4).write(items())
    assert caught.value.reason == "es_unavailable"


def test_request_level_errors() -> None:
    es = ScriptedES([api_error(503), [201, 201, 201]])
    assert len(indexer(es).write(items()).indexed) == 3
    with pytest.raises(ServiceUnavailable) as auth:
        indexer(ScriptedES([api_error(401)])).write(items())
    assert auth.value.reason == "es_auth"
    with pytest.raises(DocumentRejected):
        indexer(ScriptedES([api_error(400)])).write(items())


def test_a_frozen_index_makes_the_writer_look_up_the_generation_again() -> None:
    es = ScriptedES([[201, BLOCK, BLOCK], [201, 201]])

    def migrated(call: int) -> None:
        if call == 1:
            es.generation = 2  # the swap happened while the first request ran

    es.on_call = migrated
    writer = indexer(es)
    outcome = writer.write(items())
    assert [c[0] for c in es.calls[1]] == ["p-v2-2026.11", "p-v2-2026.11"]
    assert len(outcome.indexed) == 3
    assert writer.generation() == 2


def test_the_generation_is_cached_between_batches() -> None:
    es = ScriptedES([[201], [201], [201]])
    now = [0.0]
    writer = indexer(es, clock=lambda: now[0], generation_ttl=60.0)
    writer.write(items(1))
    writer.write(items(1))
    assert es.alias_lookups == 1
    now[0] = 61.0
    writer.write(items(1))
    assert es.alias_lookups == 2


def test_requests_are_cut_by_count_and_by_bytes() -> None:
    es = ScriptedES([[201] * 2, [201] * 2, [201]])
    indexer(es, limits=BulkLimits(max_docs=2)).write(items(5))
    assert [len(c) for c in es.calls] == [2, 2, 1]

    big = [make_item(id=f"b{i}", uri=f"b{i}", body_text="x" * 3000) for i in range(4)]
    es = ScriptedES([[201]] * 4)
    indexer(es, limits=BulkLimits(max_bytes=4000)).write(big)
    assert [len(c) for c in es.calls] == [1, 1, 1, 1]


def test_chunked() -> None:
    limits = BulkLimits(max_docs=3, max_bytes=100)
    assert [list(r) for r in chunked([10] * 7, limits)] == [[0, 1, 2], [3, 4, 5], [6]]
    assert [list(r) for r in chunked([60, 60, 200, 10], limits)] == [[0], [1], [2], [3]]
    assert list(chunked([], limits)) == []
