"""The index stage: rejections go to the dead-letter store with the item and
the reason; a transient failure propagates so the task retries."""

from __future__ import annotations

from typing import Any

import pytest

from services.index.bulk import BulkOutcome, Rejection
from services.index.stage import index_batch
from shared.errors import ServiceUnavailable
from shared.models import Batch
from tests.unit.test_shared import make_item


class FakeIndexer:
    def __init__(self, outcome: BulkOutcome | Exception) -> None:
        self.outcome = outcome

    def write(self, items: Any, *, replace_equal: bool = False) -> BulkOutcome:
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome


class FakeDlq:
    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def add(self, **entry: Any) -> None:
        self.entries.append(entry)


def test_rejections_are_dead_lettered_with_item_and_reason() -> None:
    good, bad = make_item(id="a", uri="a"), make_item(id="b", uri="b")
    outcome = BulkOutcome(indexed=["a"], rejected=[Rejection(bad, 400, "mapper_parsing: x")])
    dlq = FakeDlq()
    index_batch(Batch(items=[good, bad], correlation_id="c"), FakeIndexer(outcome), dlq)  # type: ignore[arg-type]
    [entry] = dlq.entries
    assert entry["stage"] == "index" and entry["reason"] == "es_rejected"
    assert entry["message"] == "400 mapper_parsing: x"
    assert entry["item_ids"] == ["b"]
    replay = Batch.model_validate(entry["payload"])
    assert [i.id for i in replay.items] == ["b"] and replay.correlation_id == "c"


def test_elasticsearch_down_raises_and_dead_letters_nothing() -> None:
    dlq = FakeDlq()
    down = ServiceUnavailable("es down", reason="es_unavailable")
    with pytest.raises(ServiceUnavailable):
        index_batch(Batch(items=[make_item()]), FakeIndexer(down), dlq)  # type: ignore[arg-type]
    assert dlq.entries == []
