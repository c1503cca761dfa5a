"""The index stage against in-memory ports: rejections go to the dead-letter
store with the item and the reason, one entry per item; a transient failure
propagates so the task retries, and dead-letters nothing."""

from __future__ import annotations

import pytest

from services.index.stage import index_batch
from shared.errors import ServiceUnavailable
from shared.models import Batch
from tests.unit.fakes import MemoryDeadLetters
from tests.unit.index.fakes import MemoryWriter
from tests.unit.test_shared import make_item


def test_rejections_are_dead_lettered_with_item_and_reason() -> None:
    good, bad = make_item(id="a", uri="a"), make_item(id="b", uri="b")
    writer, dlq = MemoryWriter(refuse={"b": "mapper_parsing: x"}), MemoryDeadLetters()
    outcome = index_batch(Batch(items=[good, bad], correlation_id="c"), writer, dlq)
    assert outcome.indexed == ["a"] and set(writer.stored) == {"a"}
    [entry] = dlq.entries.values()
    assert entry.stage == "index" and entry.reason == "es_rejected"
    assert entry.message == "400 mapper_parsing: x"
    assert entry.item_ids == ["b"]
    replay = Batch.model_validate(entry.payload)
    assert [i.id for i in replay.items] == ["b"] and replay.correlation_id == "c"


def test_a_redelivered_batch_that_is_refused_again_adds_no_second_entry() -> None:
    bad = make_item(id="b", uri="b")
    writer, dlq = MemoryWriter(refuse={"b": "mapper_parsing: x"}), MemoryDeadLetters()
    for _ in range(2):
        index_batch(Batch(items=[bad], correlation_id="c"), writer, dlq)
    assert len(dlq.entries) == 1


def test_stale_versions_are_neither_written_nor_dead_lettered() -> None:
    writer, dlq = MemoryWriter(), MemoryDeadLetters()
    index_batch(Batch(items=[make_item(id="a", uri="a", version=2)]), writer, dlq)
    outcome = index_batch(Batch(items=[make_item(id="a", uri="a", version=1)]), writer, dlq)
    assert outcome.stale == ["a"] and writer.stored["a"].version == 2
    again = index_batch(Batch(items=[make_item(id="a", uri="a", version=2)], reenrich=True),
                        writer, dlq)
    assert again.indexed == ["a"]  # re-enrichment replaces an equal version
    assert dlq.entries == {}


def test_elasticsearch_down_raises_and_dead_letters_nothing() -> None:
    down = ServiceUnavailable("es down", reason="es_unavailable")
    writer, dlq = MemoryWriter(down=down), MemoryDeadLetters()
    with pytest.raises(ServiceUnavailable):
        index_batch(Batch(items=[make_item()]), writer, dlq)
    assert dlq.entries == {} and writer.stored == {}
