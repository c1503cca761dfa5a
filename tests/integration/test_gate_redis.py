"""The version gate, the source registry, the scheduler and the dead-letter
store against the real Redis."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import redis

from services.ingest.adapters.gate import VersionGate
from services.ingest.adapters.source_registry import SourceRegistry
from services.ingest.scheduler import Scheduler
from services.ingest.sources import Source, SourceState
from shared.dlq import DeadLetterStore
from shared.models import PubStatus, content_hash
from shared.settings import Settings
from tests.unit.test_shared import make_item


def test_new_unchanged_changed_stale(redis_db: redis.Redis) -> None:
    gate = VersionGate(redis_db)
    first = make_item()
    d1 = gate.decide(first)
    assert (d1.verdict, d1.item.version) == ("new", 1)
    assert gate.decide(first).verdict == "unchanged"

    # same guid, new content, provider timestamp unchanged (RSS without updated)
    edited = first.model_copy(update={"headline": "Edited", "content_hash": content_hash("E")})
    d2 = gate.decide(edited)
    assert (d2.verdict, d2.item.version) == ("changed", 2)
    assert d2.item.versioncreated > first.versioncreated
    assert d2.item.es_version > d1.item.es_version
    assert d2.item.firstcreated == d1.item.firstcreated

    # a second edit while the feed's date still has not moved
    edited_again = first.model_copy(update={"content_hash": content_hash("E2")})
    d3 = gate.decide(edited_again)
    assert (d3.verdict, d3.item.version) == ("changed", 3)
    assert d3.item.es_version > d2.item.es_version

    # a kill is a change even with identical text
    killed = edited_again.model_copy(update={"pubstatus": PubStatus.canceled})
    assert gate.decide(killed).verdict == "changed"

    # provider-versioned older copy arriving late
    old = first.model_copy(update={"content_hash": content_hash("old")})
    assert gate.decide(old, provider_version=1).verdict == "stale"
    older_time = first.model_copy(
        update={
            "content_hash": content_hash("older"),
            "versioncreated": first.versioncreated - timedelta(hours=1),
        }
    )
    assert gate.decide(older_time).verdict == "stale"


def test_decide_many_matches_one_by_one_decisions(
    redis_db: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pipelined gate of a poll decides exactly as item-by-item calls
    would, across pipeline chunks, with provider versions applied per item."""
    monkeypatch.setattr("services.ingest.adapters.gate.PIPELINE_SIZE", 3)
    gate = VersionGate(redis_db)
    items = [make_item(id=f"many-{n}") for n in range(7)]
    first = gate.decide_many([(item, 0) for item in items], {"correlation_id": "poll-1"})
    assert [(d.verdict, d.item.version) for d in first] == [("new", 1)] * 7
    assert {d.item.correlation_id for d in first} == {"poll-1"}  # the caller's update too
    edited = items[2].model_copy(update={"content_hash": content_hash("edit")})
    second = gate.decide_many([(items[0], 0), (edited, 0), (items[6], 0)])
    assert [d.verdict for d in second] == ["unchanged", "changed", "unchanged"]
    assert second[1].item.version == 2
    # the provider's version 1 arriving after we stored version 2
    provider_old = items[2].model_copy(update={"content_hash": content_hash("old")})
    third = gate.decide_many([(provider_old, 1), (items[5], 0)])
    assert [d.verdict for d in third] == ["stale", "unchanged"]
    assert gate.decide_many([]) == []
    assert gate.decide(edited).verdict == "unchanged"  # both paths share the stored state


def test_concurrent_duplicates_pass_the_gate_once(redis_db: redis.Redis) -> None:
    gate = VersionGate(redis_db)
    item = make_item(id="dup-1")
    verdicts: list[str] = []
    lock = threading.Lock()

    def run() -> None:
        v = gate.decide(item).verdict
        with lock:
            verdicts.append(v)

    threads = [threading.Thread(target=run) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(verdicts) == ["new"] + ["unchanged"] * 15


def test_forget_makes_the_next_poll_resend_as_a_newer_version(redis_db: redis.Redis) -> None:
    gate = VersionGate(redis_db)
    item = make_item(id="lost-1")
    first = gate.decide(item)
    gate.forget(item.id, item.source)
    again = gate.decide(item)
    assert again.verdict == "changed"
    assert again.item.es_version > first.item.es_version


def test_scheduler_claims_each_due_source_once(redis_db: redis.Redis) -> None:
    registry = SourceRegistry(redis_db)
    for n in range(5):
        registry.put(Source(id=f"s{n}", url=f"http://127.0.0.1/{n}"), due=100.0)
    registry.put(Source(id="later", url="http://127.0.0.1/x"), due=10_000.0)
    enqueued: list[str] = []
    a = Scheduler(redis_db, enqueued.append, clock=lambda: 200.0, batch=2)
    b = Scheduler(redis_db, enqueued.append, clock=lambda: 200.0)
    assert sorted(a.run_once()) == [f"s{n}" for n in range(5)]
    assert b.run_once() == []  # claimed: leased into the future
    assert sorted(enqueued) == [f"s{n}" for n in range(5)]
    assert registry.next_due("s0") == 200.0 + 300


def test_source_state_round_trip_and_removal(redis_db: redis.Redis) -> None:
    registry = SourceRegistry(redis_db)
    registry.put(Source(id="a", url="http://127.0.0.1/a"))
    registry.save_state("a", SourceState(etag='"x"', consecutive_failures=2, last_error="boom"))
    state = registry.state("a")
    assert (state.etag, state.consecutive_failures, state.last_error) == ('"x"', 2, "boom")
    registry.save_state("a", SourceState(etag=None, consecutive_failures=0))
    assert registry.state("a").etag is None
    assert registry.remove("a")
    assert registry.get("a") is None and registry.next_due("a") is None


def test_dead_letters_filter_and_remove(redis_db: redis.Redis) -> None:
    store = DeadLetterStore(redis_db)
    a = store.add(
        stage="index",
        reason="es_rejected",
        message="m",
        error_type="X",
        payload={"items": []},
        attempts=1,
        source="s1",
    )
    store.add(
        stage="enrich",
        reason="crash:KeyError",
        message="m",
        error_type="KeyError",
        payload={"items": []},
        attempts=3,
        source="s2",
    )
    assert store.count() == 2
    assert [e.id for e in store.iter(stage="index")] == [a.id]
    assert [e.source for e in store.iter(reason="crash")] == ["s2"]
    assert store.get(a.id) == a
    assert store.remove(a.id) and not store.remove(a.id)
    assert store.count() == 1


def test_a_failure_delivered_twice_is_one_dead_letter(redis_db: redis.Redis) -> None:
    from tests.unit.test_shared import make_item

    store = DeadLetterStore(redis_db)
    v1 = make_item(id="it-1", version=1).model_dump(mode="json")
    v2 = make_item(id="it-1", version=2).model_dump(mode="json")

    def rejected(item: dict[str, object], correlation: str, reason: str = "es_rejected"
                 ) -> str:
        return store.add(stage="index", reason=reason, message="mapper_parsing_exception",
                         error_type="DocumentRejected", attempts=1, item_ids=["it-1"],
                         payload={"items": [item], "correlation_id": correlation}).id

    first = rejected(v1, "c-1")
    # the same batch redelivered (and the same item in another poll's batch)
    assert rejected(v1, "c-1") == rejected(v1, "c-2") == first
    assert store.count() == 1
    # another version of the item, or another reason, is another failure
    assert rejected(v2, "c-3") != first and rejected(v1, "c-1", "crash:KeyError") != first
    assert store.count() == 3
    # replayed (removed), the next failure is recorded again
    assert store.remove(first) and rejected(v1, "c-1") == first and store.count() == 3
    # without items, the payload decides: the same broken feed entry polled twice
    entry = {"source_id": "s", "entry": {"index": 3, "reason": "no_title"}}
    ids = {store.add(stage="ingest", reason="parse_item:no_title", message="m",
                     error_type="ParseError", attempts=1, payload=entry).id for _ in range(2)}
    assert len(ids) == 1 and store.count() == 4


def test_exporter_sees_queues_dead_letters_and_source_health(
    redis_db: redis.Redis, settings: object
) -> None:
    import time as _time

    from prometheus_client import CollectorRegistry, generate_latest

    from shared.stats import last_hour, record
    from wirestream.ops.exporter import StateCollector, collect_state

    redis_db.rpush("enrich", b"{}", b"{}")  # two waiting messages, as kombu stores them
    DeadLetterStore(redis_db).add(
        stage="index", reason="es_rejected", message="m", error_type="X", payload={}, attempts=1
    )
    registry_ = SourceRegistry(redis_db)
    registry_.put(Source(id="quiet-one", url="http://127.0.0.1/q", min_interval=60))
    now = _time.time()
    registry_.save_state(
        "quiet-one",
        SourceState(
            last_success=now - 10, interval=60, last_new_item=now - 7200, consecutive_failures=2
        ),
    )
    record(redis_db, "index", 5)
    record(redis_db, "index", 2)
    assert last_hour(redis_db, ("ingest", "index")) == {"ingest": 0, "index": 7}

    state = collect_state(settings, redis_db, probe=False)  # type: ignore[arg-type]
    assert state.queues["enrich"] == 2 and state.dead_letters == 1
    [health] = state.sources
    assert health.quiet and health.consecutive_failures == 2

    registry = CollectorRegistry()
    registry.register(StateCollector(settings, redis_db))  # type: ignore[arg-type]
    text = generate_latest(registry).decode()
    assert 'wirestream_queue_depth{queue="enrich"} 2.0' in text
    assert "wirestream_dead_letters 1.0" in text
    assert 'wirestream_source_consecutive_failures{source="quiet-one"} 2.0' in text
    assert 'wirestream_service_up{service="redis"} 1.0' in text
    assert 'wirestream_service_up{service="elasticsearch"} 1.0' in text


def test_exporter_gauges_are_absent_not_zero_while_redis_cannot_be_read(
    redis_db: redis.Redis, settings: Settings
) -> None:
    import socket

    from prometheus_client import CollectorRegistry, generate_latest

    from wirestream.ops.exporter import StateCollector

    DeadLetterStore(redis_db).add(
        stage="index", reason="es_rejected", message="m", error_type="X", payload={}, attempts=1
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    password = settings.redis.password.get_secret_value() if settings.redis.password else None
    # the real server refusing a wrong password, and nothing listening at all
    refusing = redis.Redis.from_url(settings.redis.url, password=f"{password}-wrong")
    down = redis.Redis(host="127.0.0.1", port=closed, socket_connect_timeout=1)
    for client in (refusing, down):
        registry = CollectorRegistry()
        registry.register(StateCollector(settings, client))
        text = generate_latest(registry).decode()
        assert 'wirestream_service_up{service="redis"} 0.0' in text
        assert 'wirestream_service_up{service="elasticsearch"} 1.0' in text
        samples = [line for line in text.splitlines() if line and not line.startswith("#")
                   and not line.startswith("wirestream_service_up")]
        assert samples == [], samples  # no dead-letter count of 0, no queue of 0
        client.close()
    # readable again: the count is back as it was, with no dip in between
    registry = CollectorRegistry()
    registry.register(StateCollector(settings, redis_db))
    assert "wirestream_dead_letters 1.0" in generate_latest(registry).decode()


def test_a_full_redis_shows_in_the_exporter_while_ping_still_answers(
    redis_db: redis.Redis, settings: Settings
) -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    from wirestream.ops.exporter import StateCollector, collect_state

    def refused_writes() -> int:
        return collect_state(settings, redis_db, probe=False).redis_errors.get("OOM", 0)

    before = refused_writes()
    saved = redis_db.config_get("maxmemory")["maxmemory"]
    redis_db.config_set("maxmemory", 1)  # full: noeviction refuses every write
    try:
        with pytest.raises(redis.exceptions.OutOfMemoryError, match="maxmemory"):
            redis_db.rpush("enrich", b"{}")
        assert redis_db.ping()  # "up" by the old measure
        registry = CollectorRegistry()
        registry.register(StateCollector(settings, redis_db))
        text = generate_latest(registry).decode()
    finally:
        redis_db.config_set("maxmemory", saved)
    assert 'wirestream_service_up{service="redis"} 1.0' in text
    assert "wirestream_redis_memory_max_bytes 1.0" in text
    used = next(float(line.split()[-1]) for line in text.splitlines()
                if line.startswith("wirestream_redis_memory_used_bytes "))
    assert used > 1
    assert f'wirestream_redis_errors_total{{error="OOM"}} {before + 1}.0' in text
    assert refused_writes() == before + 1


def test_host_limiter_caps_concurrency_and_spaces_requests(redis_db: redis.Redis) -> None:
    from services.ingest.adapters.politeness import HostLimiter

    limiter = HostLimiter(redis_db, concurrency=2, min_delay=0.0, lease_seconds=30)
    a, _ = limiter.acquire("news.example", now=1000.0)
    b, _ = limiter.acquire("news.example", now=1000.0)
    c, wait = limiter.acquire("news.example", now=1000.0)
    assert a and b and c is None and 0 < wait <= 5
    assert limiter.acquire("other.example", now=1000.0)[0] is not None  # per host
    limiter.release(a)
    assert limiter.acquire("news.example", now=1000.0)[0] is not None
    # a lease of a killed worker expires on its own
    assert limiter.acquire("news.example", now=1031.0)[0] is not None

    spaced = HostLimiter(redis_db, concurrency=5, min_delay=2.0)
    first, _ = spaced.acquire("slow.example", now=2000.0)
    second, wait = spaced.acquire("slow.example", now=2000.5)
    assert first is not None and second is None and abs(wait - 1.5) < 1e-6
    assert spaced.acquire("slow.example", now=2002.0)[0] is not None


def test_wire_item_and_web_page_of_one_story_become_one_document(
    redis_db: redis.Redis,
) -> None:
    from services.ingest.adapters.stories import StoryLinker

    linker = StoryLinker(redis_db)
    gate = VersionGate(redis_db)
    url = "https://news.example/2026/11/harbour-strike"
    wire = make_item(id="wire-1", source="wire", canonical_url=url)
    web = make_item(
        id="web-9",
        source="web",
        canonical_url=url,
        headline="Harbour strike (web)",
        content_hash=content_hash("web text"),
    )
    [wire_linked] = linker.link([wire])
    [web_linked] = linker.link([web])
    assert wire_linked.id == web_linked.id == "wire-1"

    assert gate.decide(wire_linked).verdict == "new"
    web_decision = gate.decide(web_linked)
    assert (web_decision.verdict, web_decision.item.version) == ("changed", 2)
    # re-polls of either source do not flip-flop into new versions
    assert gate.decide(wire_linked).verdict == "unchanged"
    assert gate.decide(web_linked).verdict == "unchanged"


def test_landing_page_links_are_not_identities(redis_db: redis.Redis) -> None:
    from services.ingest.adapters.stories import StoryLinker

    linker = StoryLinker(redis_db)
    home = "https://news.example/"
    same = "https://news.example/live"
    items = [
        make_item(id="a", source="s1", canonical_url=home),
        make_item(id="b", source="s1", canonical_url=same),
        make_item(id="c", source="s1", canonical_url=same),
    ]
    assert [i.id for i in linker.link(items)] == ["a", "b", "c"]
    [other] = linker.link([make_item(id="z", source="s2", canonical_url=same)])
    assert other.id == "z"  # never claimed: shared inside one document


def test_embargoed_items_wait_in_ingest_until_their_time(redis_db: redis.Redis) -> None:
    from datetime import UTC, datetime

    from services.ingest.adapters.embargo import EmbargoHold
    from shared.models import Batch

    hold = EmbargoHold(redis_db)
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    free_item = make_item(id="free")
    later = make_item(id="later", embargoed=datetime(2026, 11, 27, 14, 0, tzinfo=UTC))
    past = make_item(id="past", embargoed=datetime(2026, 11, 27, 11, 0, tzinfo=UTC))
    free, held = hold.split([free_item, later, past], now)
    assert [i.id for i in free] == ["free", "past"] and held == 1 and hold.count() == 1

    sent: list[Batch] = []
    assert hold.release_due(now.timestamp() + 3600, sent.append) == 0
    assert hold.release_due(now.timestamp() + 2 * 3600, sent.append) == 1
    assert [i.id for b in sent for i in b.items] == ["later"]
    assert sent[0].items[0] == later  # the payload comes back intact
    assert hold.count() == 0

    def broken(batch: Batch) -> None:
        raise ConnectionError("broker down")

    hold.split([later], now)
    with pytest.raises(ConnectionError):
        hold.release_due(now.timestamp() + 3 * 3600, broken)
    assert hold.count() == 1  # back on hold, nothing lost
