"""Re-enrichment: documents back to items, paging, batching, back-pressure;
plain-text input."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.enrich.reenrich import (
    Reenricher,
    from_document,
    looks_like_plain_text,
    plain_text_item,
)
from services.index.documents import to_document
from services.index.search import each_document
from shared.errors import PayloadError, ServiceUnavailable
from shared.models import Concept, Enrichment, LanguageResult, NewsItem, Subject
from tests.unit.test_shared import make_item


def story(n: int) -> NewsItem:
    return make_item(
        id=f"id{n:03d}", uri=f"guid-{n}", headline=f"Headline {n}", body_text="Body.",
        language="es", firstcreated=datetime(2026, 11, 1, tzinfo=UTC),
        subjects=[Subject(code="medtop:04000000", scheme="medtop")],
        places=[Concept(name="Madrid")], provider_keywords=["x"],
        enrichment=Enrichment(language=LanguageResult(code="ca", confidence=0.7)),
    )


def test_an_indexed_document_becomes_the_item_it_came_from() -> None:
    item = story(1)
    back = from_document(to_document(item))
    assert back == item.model_copy(update={"enrichment": None})
    assert back.language == "es"  # the declared language, not the detected one


def test_a_tombstone_is_not_a_story() -> None:
    with pytest.raises(PayloadError):
        from_document({"id": "x", "pubstatus": "canceled"})


class FakeSearch:
    """search_after paging over a sorted list of documents."""

    def __init__(self, docs: list[dict[str, Any]]) -> None:
        self.docs = docs
        self.bodies: list[dict[str, Any]] = []

    def __call__(self, *, index: str, body: dict[str, Any]) -> dict[str, Any]:
        self.bodies.append(body)
        after = body.get("search_after")
        start = 0 if after is None else next(
            i + 1 for i, d in enumerate(self.docs) if [d["updated"], d["id"]] == after)
        page = self.docs[start:start + body["size"]]
        return {"hits": {"hits": [{"_source": d, "sort": [d["updated"], d["id"]]}
                                  for d in page]}}


def test_pages_are_walked_and_sent_in_batches_with_back_pressure() -> None:
    docs = [to_document(story(n)) for n in range(7)]
    docs.insert(3, {"id": "tomb", "updated": docs[2]["updated"], "pubstatus": "canceled"})
    search = FakeSearch(docs)
    sent: list[list[str]] = []
    depths = iter([500, 10, 0, 0])
    sleeps: list[float] = []
    reenricher = Reenricher(search=search, index="alias", send=lambda b: sent.append(
        [i.id for i in b]), queue_depth=lambda: next(depths), walk=each_document, batch_size=3,
        page_size=4,
        max_queue=200, sleep=sleeps.append)
    assert reenricher.run("enrichment_errors.reason:translator_unavailable") == (7, 1)
    assert sent == [["id000", "id001", "id002"], ["id003", "id004", "id005"], ["id006"]]
    assert sleeps == [1.0]  # waited once for the queue to drain
    assert len(search.bodies) == 3  # 4 + 4 + an empty page
    assert search.bodies[0]["query"] == {
        "query_string": {"query": "enrichment_errors.reason:translator_unavailable"}}


def test_limit_stops_early() -> None:
    search = FakeSearch([to_document(story(n)) for n in range(10)])
    sent: list[int] = []
    reenricher = Reenricher(search=search, index="a", send=lambda b: sent.append(len(b)),
                            queue_depth=lambda: 0, walk=each_document, batch_size=25,
                            page_size=4)
    assert reenricher.run("*", limit=5) == (5, 0)
    assert sent == [5]


def test_plain_text_is_wrapped_headline_first() -> None:
    item = plain_text_item("\n  Storm hits Lisbon\nThe storm arrived at dawn.\nMore.\n",
                           language="en")
    assert (item.headline, item.body_text, item.source) == (
        "Storm hits Lisbon", "The storm arrived at dawn.\nMore.", "cli")
    assert item.id == plain_text_item("Storm hits Lisbon\nThe storm arrived at dawn.\nMore.").id
    assert looks_like_plain_text(b"Storm hits Lisbon")
    assert not looks_like_plain_text(b"\xef\xbb\xbf <?xml version='1.0'?><rss/>")
    assert not looks_like_plain_text(b' {"uri": "x"}')


def test_a_queue_nobody_drains_is_reported_while_waiting_and_then_given_up() -> None:
    search = FakeSearch([to_document(story(n)) for n in range(5)])
    sent: list[int] = []
    progress: list[int] = []
    waits: list[tuple[int, float]] = []
    depths = iter([0, 0] + [300] * 1000)  # two batches go, then nobody takes any
    reenricher = Reenricher(search=search, index="a", send=lambda b: sent.append(len(b)),
                            queue_depth=lambda: next(depths), walk=each_document,
                            batch_size=2, page_size=10, max_wait=25.0,
                            sleep=lambda s: None, progress=progress.append,
                            waiting=lambda d, w: waits.append((d, w)))
    with pytest.raises(ServiceUnavailable) as raised:
        reenricher.run("*")
    assert sent == [2, 2] and progress == [2, 4]
    assert waits == [(300, 0.0), (300, 10.0), (300, 20.0)]  # every 10 s waited
    assert "for 25 s: no enrich worker is taking them" in str(raised.value)
    assert "4 document(s) were re-sent before" in str(raised.value)
