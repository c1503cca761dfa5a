"""The pipeline's promise under faults (docs/guarantees.md), case by case.

Each test pushes N unique items (``WIRESTREAM_FAULTS_N``, default 2,000)
through the real workers, injects its fault while they flow, lets the system
settle (bounded wait) and checks the promise with
:func:`tests.faults._rig.assert_promise`: every item searchable exactly once
at the version the gate accepted last, or dead-lettered with a stage and a
reason; no duplicate ids. The tests share one pipeline and run in order; a
test that kills processes restarts them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest

from tests.faults._rig import (
    CRASH,
    KILL,
    ROOT,
    SLOW,
    STUCK,
    Accounting,
    Rig,
    Run,
    assert_promise,
    cut_before_last_handover,
    message_source,
    publish_run,
    queued_for,
    supervised,
)
from wirestream.dev.harness import PipelineProcesses, wait_for

pytestmark = pytest.mark.timeout(900)

N = int(os.environ.get("WIRESTREAM_FAULTS_N", "2000"))
# Items for the cases about a few specific items (poison, time limit, ...).
SMALL = int(os.environ.get("WIRESTREAM_FAULTS_SMALL_N", "200"))
# Case 8 only: while the translator is down every non-English document costs
# the enrich stage about 1.5 s (three attempts to list the pairs, per
# document; see the report), so a batch of 25 outlives the soft time limit.
TRANSLATED = int(os.environ.get("WIRESTREAM_FAULTS_TRANSLATED_N", "10"))
# Seconds Elasticsearch stays away in case 5 (the issue asks for 120).
# 45 s outlives the bulk writer's own retries several times over and makes
# every index task retry; WIRESTREAM_FAULTS_ES_OUTAGE=150 also outlives the
# suite's retry window, so batches are dead-lettered and then replayed.
ES_OUTAGE = float(os.environ.get("WIRESTREAM_FAULTS_ES_OUTAGE", "45"))
SETTLE = 420.0


# ----------------------------------------------------------------- helpers
def indexed_count(rig: Rig, run: Run) -> int:
    rig.es_admin.indices.refresh(index=f"{rig.prefix}-v*-*", ignore_unavailable=True,
                                 allow_no_indices=True)
    result = rig.es_admin.count(index=f"{rig.prefix}-v*-*",
                                query={"prefix": {"source": f"{run.name}-"}},
                                ignore_unavailable=True, allow_no_indices=True)
    return int(result["count"])


def wait_indexed(rig: Rig, run: Run, at_least: int, timeout: float = 300) -> None:
    assert wait_for(lambda: indexed_count(rig, run) >= at_least, timeout, 1.0), (
        f"{run.name}: fewer than {at_least} indexed after {timeout}s\n{rig.log_tail()}"
    )


def settled(rig: Rig, run: Run, timeout: float = SETTLE, **kwargs: Any) -> Accounting:
    started = time.monotonic()
    acc = rig.settle(run, timeout=timeout, **kwargs)
    print(f"\n[{run.name}] settled after {time.monotonic() - started:.0f}s: {acc.summary()}")
    return acc


def metric(procs: PipelineProcesses, stage: str, name: str, **labels: str) -> float:
    """Sum of a counter over the label values given (others summed over)."""
    port = procs.metrics_ports[stage]
    total = 0.0
    for line in httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text.splitlines():
        if not line.startswith(name + "{"):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def restart_all(procs: PipelineProcesses) -> None:
    for stage in PipelineProcesses.STAGES:
        procs.start_worker(stage)
    procs.start_scheduler()


def queued(rig: Rig, queue: str, run: Run) -> int:
    """Messages of this run waiting in ``queue``."""
    client = rig.redis()
    try:
        return queued_for(client, queue, f"{run.name}-")
    finally:
        client.close()


def restart_scheduler(procs: PipelineProcesses, env: dict[str, str] | None) -> None:
    procs.signal("scheduler", signal.SIGTERM)
    assert procs.wait_exit("scheduler", 30) is not None
    if env is None:
        procs.stage_env.pop("scheduler", None)
    else:
        procs.stage_env["scheduler"] = env
    procs.start_scheduler()


def cli(rig: Rig, *args: str) -> subprocess.CompletedProcess[str]:
    """``wirestream ...`` with the rig's environment, as an operator runs it."""
    env = {**os.environ, **rig.env}
    return subprocess.run(
        [sys.executable, "-m", "wirestream.cli", *args], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=120, check=False,
    )


# ------------------------------------------------------------------ cases
def test_01_enrich_pool_process_sigkilled_mid_batch(rig: Rig, live: PipelineProcesses) -> None:
    """A pool process of the enrich worker is SIGKILLed while it runs a batch
    (it marks the batch it runs in ``busy/<pid>``), twice during the run: the
    main process starts a new one and the batch is run again."""
    busy = rig.work / "busy"
    run = publish_run(rig.server, rig.registry(), "c01", N)
    killed: list[int] = []
    for fraction in (0.2, 0.5):
        wait_indexed(rig, run, int(N * fraction))
        pool = set(live.pool_pids("enrich"))

        def mid_batch(pool: set[int] = pool) -> bool:
            return any(int(p.name) in pool for p in busy.iterdir())

        assert wait_for(mid_batch, 60, 0.05), "no enrich batch seen running"
        victim = next(int(p.name) for p in busy.iterdir() if int(p.name) in pool)
        os.kill(victim, signal.SIGKILL)
        killed.append(victim)
    acc = settled(rig, run)
    assert_promise(acc, allow_dead=False)  # docs/guarantees.md: "no dead letter"
    assert live.alive()["enrich"], "the enrich main process must survive its pool process"
    log = (rig.work / "log" / "enrich.log").read_text(errors="replace")
    assert all(f"pid:{pid} exited with 'signal 9" in log for pid in killed), (
        "the kills did not hit a running task"
    )


def test_02_every_worker_sigkilled_at_once_then_restarted(
    rig: Rig, live: PipelineProcesses
) -> None:
    run = publish_run(rig.server, rig.registry(), "c02", N)
    wait_indexed(rig, run, N // 4)
    names = list(live.procs)
    for name in names:
        live.signal(name, signal.SIGKILL)  # the whole group: main and pool processes
    for name in names:
        assert live.wait_exit(name, 30) is not None
    client = rig.redis()
    held = int(client.hlen("unacked"))
    client.close()
    at_kill = indexed_count(rig, run)
    restart_all(live)
    # messages held by the dead workers come back after the visibility timeout
    acc = settled(rig, run)
    print(f"[c02] {held} messages unacked at the kill, {at_kill} of {N} indexed then")
    assert at_kill < N, "the kill came after the run had finished"
    assert_promise(acc, allow_dead=False)  # killed work is redone, not given up


def test_03_sigterm_under_heavy_load_is_a_warm_shutdown(
    rig: Rig, live: PipelineProcesses
) -> None:
    run = publish_run(rig.server, rig.registry(), "c03", N)
    wait_indexed(rig, run, N // 4)
    names = list(live.procs)
    for name in names:
        os.kill(live.pid(name), signal.SIGTERM)  # main process only: Celery's warm shutdown
    codes = {name: live.wait_exit(name, 120) for name in names}
    hung = [name for name, code in codes.items() if code is None]
    # the logs of the processes that did not exit, not the others'
    logs = "\n".join(
        f"--- {name}.log\n" + "\n".join(
            (rig.work / "log" / f"{name}.log").read_text(errors="replace").splitlines()[-60:])
        for name in hung)
    for name in hung:  # so that the cases after this one start clean
        live.kill(name)
    at_stop = indexed_count(rig, run)
    restart_all(live)
    acc = settled(rig, run)
    assert at_stop < N, "the shutdown came after the run had finished"
    assert codes == {name: 0 for name in names}, f"warm shutdown exit codes: {codes}\n{logs}"
    assert_promise(acc, allow_dead=False)


def test_04_redis_sigkilled_and_restarted_with_aof(rig: Rig, live: PipelineProcesses) -> None:
    """Redis SIGKILLed under load and started again (same configuration, its
    AOF replayed). Workers reconnect; a worker that exits on the lost
    connection (kombu 5.7 can: AttributeError in Channel.close, see
    docs/guarantees.md) is restarted as compose would."""
    run = publish_run(rig.server, rig.registry(), "c04", N)
    wait_indexed(rig, run, N // 4)
    with supervised(live) as restarted:
        at_kill = indexed_count(rig, run)
        rig.redis_server.kill()  # returns once the process is gone (asserted there)
        time.sleep(3)  # the outage's length: the workers meet it, not a wait for a condition
        rig.redis_server.start()  # LocalServices.start_redis: same config, AOF replayed
        acc = settled(rig, run)
    print(f"[c04] processes that exited and were restarted: {restarted}; "
          f"{at_kill} of {N} indexed at the kill")
    assert at_kill < N, "the kill came after the run had finished"
    assert_promise(acc, allow_dead=False)


def test_04b_redis_loses_its_last_writes_and_the_reconciler_recovers(
    rig: Rig, live: PipelineProcesses
) -> None:
    """What a machine crash costs with ``appendfsync everysec``, simulated:
    Redis is SIGKILLed while ingest polls, and its AOF is cut right before
    the last hand-over of a poll to the enrich queue - the worst place for
    the last fsync to fall: the gate's decisions for those items survive,
    their messages (and every later write: acks, source state, other
    stages' messages) are gone. Nothing would ever send those items again;
    the reconciler (deadline 30 s here) must re-drive them."""
    restart_scheduler(live, {"WIRESTREAM_RECONCILE__DEADLINE": "30",
                             "WIRESTREAM_RECONCILE__INTERVAL": "2"})
    try:
        registry = rig.registry()
        run = publish_run(rig.server, registry, "c4b", N)
        sources = run.source_ids()
        assert wait_for(lambda: sum(1 for s in sources if registry.state(s).last_poll)
                        >= len(sources) // 3, 120, 0.05)
        with supervised(live) as restarted:
            rig.redis_server.kill()
            incr = [f for f in rig.redis_server.aof_files() if ".incr." in f.name][-1]
            size = incr.stat().st_size
            cut = cut_before_last_handover(incr)
            rig.redis_server.start()
            acc = settled(rig, run, timeout=360)
        client = rig.redis()
        stats = {k.decode(): v.decode() for k, v in client.hgetall(
            "wirestream:reconcile:stats").items()}
        client.close()
    finally:
        restart_scheduler(live, None)
    print(f"[c4b] cut {cut} of {size} AOF bytes; reconciler totals {stats}; "
          f"restarted {restarted}")
    assert_promise(acc)
    assert int(stats.get("redriven", 0)) > 0, "nothing was lost: the cut missed the hand-over"


def test_05_elasticsearch_away_while_ingest_goes_on(rig: Rig, live: PipelineProcesses) -> None:
    """Elasticsearch unreachable for ES_OUTAGE seconds (connection refused,
    open connections reset: the proxy goes away) while ingest and enrich go
    on. Batches that exhaust their retries are dead-lettered with
    ``exhausted:es_unavailable``; an operator replays them afterwards."""
    run = publish_run(rig.server, rig.registry(), "c05", N)
    wait_indexed(rig, run, N // 10)
    rig.proxy.stop()
    outage_started = time.monotonic()
    at_stop = indexed_count(rig, run)
    time.sleep(ES_OUTAGE)
    # ingest went on meanwhile: the gate accepted more than was indexed
    client = rig.redis()
    accepted = sum(1 for i in run.expected if client.exists("wirestream:item:" + i))
    client.close()
    rig.proxy.start()
    print(f"[c05] outage {time.monotonic() - outage_started:.0f}s; indexed {at_stop} "
          f"before it, {accepted} accepted by ingest when it ended")
    assert accepted > at_stop, "ingest did not go on while Elasticsearch was away"
    first = settled(rig, run)
    assert_promise(first)
    exhausted = [e for e in first.dead if e.reason.startswith("exhausted:")]
    print(f"[c05] dead-lettered by the outage: {len(first.dead_ids)} items in "
          f"{len(exhausted)} entries")
    replay = cli(rig, "dlq", "replay", "--reason", "exhausted:")
    assert replay.returncode == 0, replay.stderr
    final = settled(rig, run)
    assert_promise(final, allow_dead=False)
    assert final.indexed == run.expected


def test_06_elasticsearch_answers_429_to_a_share_of_bulk_items(
    rig: Rig, live: PipelineProcesses
) -> None:
    """A tenth of the items of every bulk request are answered 429 (and not
    written): the bulk writer retries the rejected subset with backoff, then
    the task retries; nothing is lost, nothing is dead-lettered."""
    rig.proxy.reject_share = 0.1
    rejected_before = rig.proxy.rejected_items
    try:
        run = publish_run(rig.server, rig.registry(), "c06", N)
        acc = settled(rig, run)
    finally:
        rig.proxy.reject_share = 0.0
    rejected = rig.proxy.rejected_items - rejected_before
    print(f"[c06] {rejected} bulk items answered 429")
    assert rejected > N // 20, "the proxy rejected (almost) nothing"
    assert_promise(acc, allow_dead=False)


def test_07_poison_items_end_in_the_dead_letter_store_alone(
    rig: Rig, live: PipelineProcesses
) -> None:
    """One item crashes the enrich step every time; another kills the index
    pool process every time (a segfault, an OOM). Each ends in the
    dead-letter store after a bounded number of attempts, alone: its batch
    is split and the rest flows."""
    run = publish_run(rig.server, rig.registry(), "c07", SMALL, markers={7: CRASH, 31: KILL})
    acc = settled(rig, run)
    assert_promise(acc)
    poison = {marker: doc_id for doc_id, marker in run.marked.items()}
    by_item = {i: e for e in acc.dead for i in e.item_ids}
    assert acc.dead_ids == set(poison.values()), "only the poison items may be dead-lettered"
    assert len(acc.dead) == 2, "one dead letter per poison item"
    crash, kill = by_item[poison[CRASH]], by_item[poison[KILL]]
    assert (crash.stage, crash.reason) == ("enrich", "crash:RuntimeError")
    assert (kill.stage, kill.reason) == ("index", "crash:WorkerLostError")
    assert crash.item_ids == [poison[CRASH]] and kill.item_ids == [poison[KILL]]
    # bounded: the batch had 3 attempts, then the item alone 1 more
    assert crash.attempts <= 3 and kill.attempts <= 3


def test_08_translator_down_then_back(rig: Rig, live: PipelineProcesses) -> None:
    """Spanish items while the translator is unreachable: every one indexed
    untranslated, marked (``translation.status: failed`` and a step error
    ``translator_unavailable``); once it is back,
    ``wirestream enrich --again 'enrichment_errors.reason:translator_unavailable'``
    re-translates them (docs/enrichment.md)."""
    rig.apy_proxy.stop()
    try:
        run = publish_run(rig.server, rig.registry(), "c08", TRANSLATED, language="es")
        acc = settled(rig, run)
    finally:
        rig.apy_proxy.start()
    assert_promise(acc, allow_dead=False)
    docs = docs_of(rig, run)
    assert all(d.get("language") == "es" for d in docs)
    assert all(d.get("translation", {}).get("status") == "failed" for d in docs)
    assert all("headline_en" not in d for d in docs)
    assert all(any(e.get("reason") == "translator_unavailable"
                   for e in d.get("enrichment_errors", [])) for d in docs)

    stale_before = metric(live, "index", "wirestream_items_total", outcome="stale_version")
    indexed_before = metric(live, "index", "wirestream_items_total", outcome="indexed")
    again = subprocess.run(
        [sys.executable, "-c", "import typer; from wirestream.enrich_cli import enrich; "
         "typer.run(enrich)", "--again",
         f"enrichment_errors.reason:translator_unavailable AND source:{run.name}-*"],
        cwd=ROOT, env={**os.environ, **rig.env}, capture_output=True, text=True,
        timeout=300, check=False,
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"re-sent {TRANSLATED} documents" in again.stdout, again.stdout

    def handled() -> bool:  # every re-sent document reached the indexer
        done = (metric(live, "index", "wirestream_items_total", outcome="stale_version")
                - stale_before
                + metric(live, "index", "wirestream_items_total", outcome="indexed")
                - indexed_before)
        return done >= TRANSLATED

    assert wait_for(handled, 300, 1.0), "the re-enriched documents never reached the indexer"
    docs = docs_of(rig, run)
    untranslated = [d["id"] for d in docs if "headline_en" not in d]
    assert untranslated == [], (
        f"{len(untranslated)} of {len(docs)} documents still untranslated after the re-enrich"
    )


def docs_of(rig: Rig, run: Run) -> list[dict[str, Any]]:
    rig.es_admin.indices.refresh(index=f"{rig.prefix}-v*-*")
    result = rig.es_admin.search(index=f"{rig.prefix}-v*-*", size=10000,
                                 query={"prefix": {"source": f"{run.name}-"}})
    return [hit["_source"] for hit in result["hits"]["hits"]]


def test_09_the_same_messages_delivered_twice_at_once(
    rig: Rig, live: PipelineProcesses
) -> None:
    """Every enrich and index message duplicated next to itself (what a
    redelivery after the visibility timeout does) and consumed by two pool
    processes at once."""
    rig.pause("enrich")
    rig.pause("index")
    run = publish_run(rig.server, rig.registry(), "c09", N)
    batches = -(-N // 25)
    assert wait_for(lambda: queued(rig, "enrich", run) >= batches, 120, 0.5)
    duplicate_adjacent(rig, "enrich")
    stale_before = metric(live, "index", "wirestream_items_total", outcome="stale_version")
    rig.resume("enrich")
    assert wait_for(lambda: queued(rig, "index", run) >= 2 * batches, 300, 1.0)
    duplicate_adjacent(rig, "index")
    rig.resume("index")
    acc = settled(rig, run)
    assert_promise(acc, allow_dead=False)
    stale = metric(live, "index", "wirestream_items_total", outcome="stale_version")
    print(f"[c09] refused as stale by external versioning: {stale - stale_before}")
    assert stale - stale_before >= 3 * N * 0.9, "the duplicates were not all processed"


def duplicate_adjacent(rig: Rig, queue: str) -> None:
    """Each message of ``queue`` twice, the copies next to each other."""
    client = rig.redis()
    try:
        messages = client.lrange(queue, 0, -1)
        pipe = client.pipeline(transaction=True)
        pipe.delete(queue)
        for message in messages:
            pipe.rpush(queue, message, message)
        pipe.execute()
    finally:
        client.close()


def test_10_version_2_indexed_before_version_1(rig: Rig, live: PipelineProcesses) -> None:
    """Versions 1 and 2 of every item wait in the index queue; it is turned
    around so every version 2 is written first. Version 1 is then refused
    (external versioning) and version 2 stays."""
    rig.pause("index")
    registry = rig.registry()
    run = publish_run(rig.server, registry, "c10", N)
    batches = -(-N // 25)
    assert wait_for(lambda: queued(rig, "index", run) >= batches, 300, 1.0)
    publish_run(rig.server, registry, "c10", N, version=2)  # same guids, new text
    assert wait_for(lambda: queued(rig, "index", run) >= 2 * batches, 300, 1.0)
    client = rig.redis()
    try:  # newest first: every version 2 reaches the indexer before its version 1
        messages = client.lrange("index", 0, -1)
        pipe = client.pipeline(transaction=True)
        pipe.delete("index")
        pipe.rpush("index", *reversed(messages))
        pipe.execute()
    finally:
        client.close()
    stale_before = metric(live, "index", "wirestream_items_total", outcome="stale_version")
    rig.resume("index")
    acc = settled(rig, run)
    assert_promise(acc, allow_dead=False)
    versions = {h["version"] for hits in acc.es_hits.values() for h in hits}
    assert versions == {2}
    assert all("(update 2)" in hits[0]["headline"] for hits in acc.es_hits.values())
    stale = metric(live, "index", "wirestream_items_total", outcome="stale_version")
    assert stale - stale_before >= N, "version 1 was not refused after version 2"


def test_11_tasks_past_their_time_limits(rig: Rig, live: PipelineProcesses) -> None:
    """One item makes its index task run until the soft limit stops it
    (every time); another is stuck past the soft limit until the hard limit
    kills the pool process (code stuck in C). Both end dead-lettered alone
    (``time_limit``, ``time_limit:hard``); the rest flows."""
    run = publish_run(rig.server, rig.registry(), "c11", SMALL, markers={3: SLOW, 60: STUCK})
    acc = settled(rig, run)
    assert_promise(acc)
    by_item = {i: e for e in acc.dead for i in e.item_ids}
    assert acc.dead_ids == set(run.marked), "only the slow items may be dead-lettered"
    assert len(acc.dead) == 2, "one dead letter per slow item"
    reasons = {run.marked[i]: (by_item[i].stage, by_item[i].reason) for i in run.marked}
    assert reasons == {SLOW: ("index", "time_limit"), STUCK: ("index", "time_limit:hard")}


def test_12_stuck_items_are_found_and_redriven_by_the_reconciler(
    rig: Rig, live: PipelineProcesses
) -> None:
    """The enrich messages of a run vanish after the gate accepted the items
    (as when Redis loses its last writes): nothing would ever send them
    again. The reconciler in the scheduler finds them after its deadline and
    re-drives them; items the feed no longer carries are dead-lettered after
    the re-drives (``reconcile:not_indexed``)."""
    restart_scheduler(live, {"WIRESTREAM_RECONCILE__DEADLINE": "25",
                             "WIRESTREAM_RECONCILE__INTERVAL": "2",
                             "WIRESTREAM_RECONCILE__MAX_REDRIVES": "1"})
    rig.pause("enrich")
    try:
        registry = rig.registry()
        run = publish_run(rig.server, registry, "c12", SMALL)
        batches = -(-SMALL // 25)
        assert wait_for(lambda: queued(rig, "enrich", run) >= batches, 120, 0.5)
        client = rig.redis()
        lost = 0
        for message in client.lrange("enrich", 0, -1):  # the run's messages are gone
            if (message_source(message) or "").startswith("c12-"):
                lost += int(client.lrem("enrich", 1, message))
        client.close()
        assert lost == batches
        # the first feed no longer carries its last 5 items
        source, (path, guids) = sorted(run.feeds.items())[0]
        gone = guids[-5:]
        from tests.faults._rig import feed_items, rss

        numbers = [int(g.rsplit(":", 1)[1]) for g in guids[:-5]]
        rig.server.publish(path, rss(feed_items("c12", range(numbers[0], numbers[-1] + 1))))
        rig.resume("enrich")
        acc = settled(rig, run, timeout=240)
    finally:
        restart_scheduler(live, None)
    assert_promise(acc)
    from shared.models import item_id

    gone_ids = {item_id(source, g) for g in gone}
    assert acc.dead_ids == gone_ids
    assert {e.reason for e in acc.dead} == {"reconcile:not_indexed"}
    assert {e.stage for e in acc.dead} == {"ingest"}
    # the rest came back as version 2: re-driven, not re-created
    assert acc.indexed == run.expected - gone_ids
    assert {h["version"] for hits in acc.es_hits.values() for h in hits} == {2}

