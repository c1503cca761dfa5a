"""Document conversion against the strict mapping, and the bulk retry policy."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.index.bulk import BulkIndexer
from services.index.documents import index_for, to_document
from services.index.mapping import index_template, mappings
from shared.errors import ServiceUnavailable
from shared.models import Enrichment, LanguageResult, StepError, Subject
from tests.unit.test_shared import make_item


def full_item() -> Any:
    return make_item(
        url="https://example.org/a",
        summary="s",
        body_text="b",
        byline="By X",
        language="en",
        firstcreated=datetime(2026, 10, 31, 23, 0, tzinfo=UTC),
        embargoed=datetime(2026, 11, 2, tzinfo=UTC),
        subjects=[Subject(code="medtop:04000000", name="economy", scheme="medtop")],
        enrichment=Enrichment(
            language=LanguageResult(code="en", confidence=0.9, method="lingua"),
            enriched_at=datetime(2026, 11, 1, 12, 6, tzinfo=UTC),
            pipeline_version="enrich-1",
            errors=[StepError(step="x", reason="ValueError", message="m",
                              at=datetime(2026, 11, 1, tzinfo=UTC))],
        ),
    )


def test_every_emitted_field_is_mapped() -> None:
    properties = mappings()["properties"]
    doc = to_document(full_item())
    assert set(doc) <= set(properties), set(doc) - set(properties)
    for key in ("subjects", "enrichment_errors"):
        for entry in doc[key]:
            assert set(entry) <= set(properties[key]["properties"])


def test_mapping_is_strict_and_template_hides_kills_and_embargo() -> None:
    assert mappings()["dynamic"] == "strict"
    template = index_template("wirestream-news")
    alias_filter = template["template"]["aliases"]["wirestream-news"]["filter"]
    must_not = alias_filter["bool"]["must_not"]
    assert {"terms": {"pubstatus": ["withheld", "canceled"]}} in must_not
    assert {"range": {"embargoed": {"gt": "now"}}} in must_not


def test_document_goes_to_the_month_of_first_creation() -> None:
    item = full_item()
    assert index_for(item, "p") == "p-v1-2026.10"
    # a later version keeps its index even though versioncreated moved on
    later = item.model_copy(update={"versioncreated": datetime(2026, 12, 5, tzinfo=UTC)})
    assert index_for(later, "p") == "p-v1-2026.10"


def test_detected_language_wins_over_the_declared_one() -> None:
    doc = to_document(full_item().model_copy(update={"language": "de"}))
    assert doc["language"] == "en"
    assert doc["language_confidence"] == 0.9


class ScriptedBulk:
    """Answers bulk calls from a script of per-item statuses."""

    def __init__(self, rounds: list[list[int]]) -> None:
        self.rounds = rounds
        self.calls: list[list[str]] = []

    def bulk(self, *, operations: list[dict[str, Any]], refresh: bool) -> dict[str, Any]:
        ids = [op["index"]["_id"] for op in operations[::2]]
        self.calls.append(ids)
        statuses = self.rounds.pop(0)
        items = []
        for status in statuses:
            entry: dict[str, Any] = {"status": status}
            if status >= 400 and status != 409:
                entry["error"] = {"type": "mapper_parsing_exception", "reason": "bad"}
            items.append({"index": entry})
        return {"errors": any(s >= 300 for s in statuses), "items": items}


def three_items() -> list[Any]:
    return [make_item(id=f"id{n}", uri=f"g{n}") for n in range(3)]


def test_only_the_rejected_subset_is_retried() -> None:
    es = ScriptedBulk([[201, 429, 409], [200]])
    indexer = BulkIndexer(es, "p", sleep=lambda s: None)  # type: ignore[arg-type]
    outcome = indexer.write(three_items())
    assert es.calls == [["id0", "id1", "id2"], ["id1"]]
    assert outcome.indexed == ["id0", "id1"]
    assert outcome.stale == ["id2"]
    assert outcome.retries == 1


def test_a_400_is_returned_for_the_dead_letter_store_not_retried() -> None:
    es = ScriptedBulk([[201, 400, 201]])
    outcome = BulkIndexer(es, "p", sleep=lambda s: None).write(three_items())  # type: ignore[arg-type]
    assert [r.item.id for r in outcome.rejected] == ["id1"]
    assert "mapper_parsing_exception" in outcome.rejected[0].reason
    assert len(es.calls) == 1


def test_persistent_429_raises_transient_after_bounded_attempts() -> None:
    es = ScriptedBulk([[429, 429, 429]] * 4)
    sleeps: list[float] = []
    indexer = BulkIndexer(es, "p", max_attempts=4, sleep=sleeps.append)  # type: ignore[arg-type]
    with pytest.raises(ServiceUnavailable):
        indexer.write(three_items())
    assert len(es.calls) == 4
    assert sleeps == sorted(sleeps) and max(sleeps) <= 8.0
