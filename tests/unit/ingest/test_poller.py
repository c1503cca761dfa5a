"""The poller against in-memory ports (tests/unit/ingest/fakes.py): what one
poll records, sends and schedules, without Redis or HTTP. The same poller on
the real adapters: tests/integration/test_ingest_poller.py."""

from __future__ import annotations

from services.ingest.parsers import parse_document
from services.ingest.poller import Poller
from services.ingest.sources import Source
from shared.errors import FetchFailed
from shared.models import Batch
from tests.faults._rig import rss
from tests.unit.fakes import MemoryDeadLetters
from tests.unit.ingest.fakes import (
    Answer,
    MemoryGate,
    MemorySources,
    ScriptedFetcher,
)

SOURCE = Source(id="wire", url="https://wire.example/feed.xml", type="rss",
                min_interval=60, max_interval=3600)
NOW = 1_800_000_000.0


def feed(*titles: str) -> bytes:
    return rss([{"title": t, "link": f"https://wire.example/{n}", "guid": f"g{n}",
                 "summary": f"{t}: the story.", "date": "Fri, 04 Dec 2026 10:00:00 GMT"}
                for n, t in enumerate(titles)])


def poller(answers: list[object], sent: list[Batch]) -> tuple[Poller, MemorySources,
                                                             MemoryDeadLetters, ScriptedFetcher]:
    sources, dead = MemorySources(), MemoryDeadLetters()
    fetcher = ScriptedFetcher(answers)  # type: ignore[arg-type]
    return Poller(fetcher=fetcher, registry=sources, gate=MemoryGate(), dlq=dead,
                  send=sent.append, batch_size=2, parse=parse_document,
                  clock=lambda: NOW), sources, dead, fetcher


def test_a_poll_sends_what_is_new_in_batches_and_schedules_the_next() -> None:
    sent: list[Batch] = []
    first, second = Answer(feed("Port strike", "Rail strike", "Bus strike"), etag='"v1"'), \
        Answer(feed("Port strike", "Rail strike ends", "Bus strike"), etag='"v2"')
    p, sources, dead, fetcher = poller([first, second, Answer(not_modified=True)], sent)

    report = p.poll(SOURCE)
    assert (report.status, report.new, report.batches) == ("ok", 3, 2)  # batches of 2
    assert [len(b.items) for b in sent] == [2, 1]
    assert len({b.correlation_id for b in sent}) == 1  # one poll, one correlation id
    state = sources.states["wire"]
    assert state.etag == '"v1"' and state.last_success == NOW and state.items_last_poll == 3
    assert sources.due["wire"] == report.next_due and NOW < report.next_due <= NOW + 60 * 1.1

    report = p.poll(SOURCE)  # the validators go back to the server
    assert fetcher.asked[1]["etag"] == '"v1"'
    assert (report.new, report.changed, report.unchanged) == (0, 1, 2)
    assert [i.version for i in sent[-1].items] == [2]

    report = p.poll(SOURCE)
    assert report.status == "not_modified" and report.batches == 0
    assert dead.entries == {}


def test_a_failed_fetch_backs_off_and_keeps_the_validators() -> None:
    sent: list[Batch] = []
    p, sources, _, _ = poller([Answer(feed("One"), etag='"v1"'),
                               FetchFailed("503 from the server", reason="http_503",
                                           retry_after=900)], sent)
    p.poll(SOURCE)
    report = p.poll(SOURCE)
    state = sources.states["wire"]
    assert report.status == "failed" and state.consecutive_failures == 1
    assert state.last_error == "http_503: 503 from the server"
    assert state.etag == '"v1"'  # the last good validators stay
    assert report.next_due >= NOW + 900  # the server's Retry-After is honoured


def test_a_send_that_fails_forgets_its_items_so_the_next_poll_sends_them_again() -> None:
    sent: list[Batch] = []
    calls = {"n": 0}

    def flaky(batch: Batch) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("broker away")
        sent.append(batch)

    sources, dead, gate = MemorySources(), MemoryDeadLetters(), MemoryGate()
    fetcher = ScriptedFetcher([Answer(feed("One")), Answer(feed("One"))])
    p = Poller(fetcher=fetcher, registry=sources, gate=gate, dlq=dead, send=flaky,
               batch_size=10, parse=parse_document, clock=lambda: NOW)
    try:
        p.poll(SOURCE)
    except ConnectionError:
        pass
    else:
        raise AssertionError("the failed hand-over must reach the task (it retries)")
    report = p.poll(SOURCE)  # the same feed: sent again, as a newer version
    assert report.changed == 1 and [i.version for i in sent[0].items] == [2]
