"""Capacity: what each stage carries per core, how it scales with its
processes, what a three-node Elasticsearch cluster costs next to one node,
and what a story leaves behind in Redis and on disk. These are the figures
the capacity model (:mod:`wirestream.ops.capacity`, docs/operations.md
"Capacity") is computed from.

How a round runs (one per process count ``n`` of ``processes``): the
seeded corpus of the end-to-end benchmark (bench/corpus.py) is served as RSS
from a loopback feed server, in a scratch Redis database and index prefix,
and the stages run one after another, each as a real worker with ``n`` pool
processes (``wirestream worker STAGE --concurrency n``) while the next
stage's worker is not yet started, so its queue fills:

1. the scheduler and the ingest worker poll every feed;
2. the enrich worker drains what ingest queued (CoreNLP, APy, natasha and
   the Redis state as in production: registry, clusters, translation cache);
3. the index worker drains what enrich queued into one Elasticsearch node.

A stage is timed from its first finished task to its last (so a worker's
start and its models' loading are left out: a capacity figure is a steady
state) by the per-stage counters the workers keep in Redis
(:mod:`shared.stats`). Over the same span the CPU of every process is read
from /proc: the stage's worker and the services it calls, and the whole
machine. ``machine CPU per article`` is the stage's full cost, since nothing
else runs meanwhile; ``articles per core-second`` is its inverse.

The index figures are not the rounds' own drains, which last seconds and
vary by a third: the index stage's queue as enrich left it (the last
round's) is put back, unchanged, and drained three times per process count
(the median reported) into the local node, then into a three-node cluster
of the same Elasticsearch (:class:`wirestream.dev.es_cluster.EsCluster`,
the template's ``auto_expand_replicas 0-1`` giving each shard one replica):
the same documents, so the difference is the cluster's. All of it on one
machine of two cores: three nodes cannot be faster here than one, and the
figure that carries over to real hosts is the CPU per article each node
spends.

After each round, what a story left in Redis, by key family (``MEMORY USAGE``
of every key of the scratch database, and the server's ``used_memory``
growth), and in Elasticsearch (the store of the force-merged primaries per
document).
"""

from __future__ import annotations

import re
import shutil
import socket
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.corpus import BenchItem, make_items, rss
from bench.procs import (
    ROOT,
    SOURCE_PREFIX,
    bench_env,
    cpu_reading,
    isolated,
    register,
    tree_cpu,
)
from bench.report import Figure

SECTION = "capacity"

# Key families of the Redis state a story leaves (key pattern -> name);
# everything else (sources, schedule, counters, the broker) does not grow
# with the stories.
FAMILIES: tuple[tuple[str, str], ...] = (
    (r"^wirestream:item:", "version gate"),
    (r"^wirestream:story:", "story links"),
    (r"^wirestream:seen_url:", "seen article URLs"),
    (r"^wirestream:repeats:", "repeat counts"),
    (r"^ws:lsh:a32:s:", "near-duplicate signatures"),
    (r"^ws:lsh:a32:c:", "cluster ids"),
    (r"^ws:lsh:a32:b:", "LSH buckets"),
    (r"^ws:enrich:tr:", "translation cache"),
    (r"^ws:ent:", "entity registry"),
)
OTHER = "not per story"


@dataclass
class Drain:
    """One stage's steady state: ``articles`` finished over ``seconds``,
    and the CPU seconds per article of each process and the machine.
    ``whole``: the stage finished between two readings, so the span is
    the whole wait, from the call (start-up costs included)."""

    articles: int
    seconds: float
    cpu: dict[str, float] = field(default_factory=dict)
    whole: bool = False

    @property
    def rate(self) -> float:
        return self.articles / self.seconds if self.seconds > 0 else 0.0


def _stage_count(client: Any, stage: str) -> int:
    """Items the stage's workers finished in the scratch database in the last
    hour (:mod:`shared.stats`: one MGET of known keys; a SCAN of the
    database four times a second would be Redis CPU the stages never cost)."""
    from shared.stats import last_hour

    return last_hour(client, (stage,))[stage]


def drain(procs: Any, count: Callable[[], int], total: int, *, extra: dict[str, int],
          timeout: float = 1200.0, interval: float = 0.25) -> Drain:
    """Wait until ``count()`` reaches ``total``; the span from the first
    reading above zero to the last, and the CPU spent in it."""
    called = (time.monotonic(), 0, cpu_reading(procs, extra))
    deadline = called[0] + timeout
    first: tuple[float, int, dict[str, float]] | None = None
    while True:
        done = count()
        now = time.monotonic()
        if done > 0 and first is None:
            first = (now, done, cpu_reading(procs, extra))
        if done >= total:
            break
        if now > deadline:
            raise RuntimeError(f"only {done} of {total} done in {timeout:.0f}s: {procs.alive()}")
        time.sleep(interval)
    end, after = time.monotonic(), cpu_reading(procs, extra)
    assert first is not None
    whole = first[1] >= total
    start, done_first, before = called if whole else first
    articles = total - done_first
    cpu = {name: (after[name] - before[name]) / articles for name in before if name in after}
    return Drain(articles, end - start, cpu, whole)


def _family(key: str) -> str:
    for pattern, name in FAMILIES:
        if re.match(pattern, key):
            return name
    return OTHER


def redis_footprint(client: Any) -> dict[str, tuple[int, int]]:
    """Key family -> (keys, bytes by ``MEMORY USAGE ... SAMPLES 0``) of the
    client's database."""
    keys = [k.decode() if isinstance(k, bytes) else k for k in client.scan_iter(count=2000)]
    out: dict[str, tuple[int, int]] = {}
    for start in range(0, len(keys), 1000):
        chunk = keys[start:start + 1000]
        pipe = client.pipeline(transaction=False)
        for key in chunk:
            pipe.memory_usage(key, samples=0)
        for key, used in zip(chunk, pipe.execute(), strict=True):
            n, size = out.get(_family(key), (0, 0))
            out[_family(key)] = (n + 1, size + int(used or 0))
    return out


def es_footprint(admin: Any, prefix: str) -> tuple[int, int]:
    """(stories, primary store bytes) of the prefix's indices after a
    force merge to one segment (the state a month's index settles in)."""
    index = f"{prefix}-*"
    admin.indices.refresh(index=index)
    admin.options(request_timeout=600).indices.forcemerge(index=index, max_num_segments=1)
    stories = int(admin.count(index=index)["count"])
    stats = admin.indices.stats(index=index, metric="store")
    return stories, int(stats["_all"]["primaries"]["store"]["size_in_bytes"])


def _queue_keys(queue: str) -> list[str]:
    from shared.queues import PRIORITY_SEP, PRIORITY_STEPS

    return [queue, *(f"{queue}{PRIORITY_SEP}{p}" for p in PRIORITY_STEPS)]


def snapshot_queue(client: Any, queue: str) -> dict[str, list[bytes]]:
    """The broker's waiting messages of ``queue`` (every priority list)."""
    return {key: client.lrange(key, 0, -1) for key in _queue_keys(queue)}


def _bytes(snapshot: dict[str, list[bytes]]) -> int:
    return sum(len(m) for messages in snapshot.values() for m in messages)


def restore_queue(client: Any, snapshot: dict[str, list[bytes]]) -> int:
    """Put a :func:`snapshot_queue` back, in its order; the messages."""
    for key, values in snapshot.items():
        if values:
            client.rpush(key, *values)
    return sum(len(v) for v in snapshot.values())


@dataclass
class Round:
    processes: int
    ingest: Drain
    enrich: Drain
    index: Drain
    redis: dict[str, tuple[int, int]]
    redis_used: int
    stories: int
    store_bytes: int
    index_queue: dict[str, list[bytes]]
    entities: int = 0
    broker: dict[str, float] = field(default_factory=dict)


class Workers:
    """The bench's worker processes and a Celery control client to start
    and stop their consuming: every worker of a round starts (and loads its
    models) before any story arrives, with its queue's consumer cancelled
    until the stage before it has finished."""

    def __init__(self, procs: Any, settings: Any) -> None:
        from shared.celery_app import create_app

        self.procs = procs
        self.app = create_app(settings)
        self.host = socket.gethostname()

    def name(self, stage: str) -> str:
        return f"{stage}@{self.host}"

    def ready(self, stages: tuple[str, ...], timeout: float = 300.0) -> None:
        """Every worker of ``stages`` answers a ping and has gone idle (its
        pool processes are up and their models loaded: its process tree
        spends under a twentieth of a core for a second)."""
        from wirestream.dev.harness import wait_for

        names = [self.name(s) for s in stages]

        def answered() -> bool:
            replies = self.app.control.ping(destination=names, timeout=1.0)
            return {n for reply in replies for n in reply} >= set(names)

        if not wait_for(answered, timeout):
            raise RuntimeError(f"workers {names} did not answer: {self.procs.alive()}")
        for stage in stages:
            pid = self.procs.pid(stage)
            last = [tree_cpu(pid)]

            def idle(pid: int = pid, last: list[float] = last) -> bool:
                now = tree_cpu(pid)
                spent, last[0] = now - last[0], now
                return spent < 0.05

            if not wait_for(idle, timeout, interval=1.0):
                raise RuntimeError(f"the {stage} worker never went idle")

    def pause(self, stage: str) -> None:
        self._confirm(self.app.control.cancel_consumer(
            stage, destination=[self.name(stage)], reply=True), stage)

    def resume(self, stage: str) -> None:
        self._confirm(self.app.control.add_consumer(
            stage, destination=[self.name(stage)], reply=True), stage)

    def _confirm(self, replies: Any, stage: str) -> None:
        if not any(self.name(stage) in reply for reply in replies or []):
            raise RuntimeError(f"worker {self.name(stage)} did not confirm: {replies}")

    def close(self) -> None:
        self.app.close()


@dataclass
class Repolls:
    """Polls that bring nothing new: CPU seconds per poll when the
    feed answers 304 (its ETag matched) and when it sends the whole feed
    again with every item unchanged (a feed without validators, or one whose
    bytes moved: the gate reads every item and finds it known)."""

    not_modified: float
    unchanged: float
    polls: int


def _polled_since(registry: Any, ids: list[str], since: float) -> int:
    return sum(1 for i in ids if (registry.state(i).last_poll or 0) > since)


def repoll(procs: Any, registry: Any, ids: list[str], *, rounds: int = 1,
           timeout: float = 300.0) -> float:
    """Make every source due ``rounds`` times, each time waiting until all
    were polled; CPU seconds per poll of the ingest worker, the scheduler
    and Redis (not the machine's: the feed server, a stand-in for the
    publisher's, and this loop's reading of the sources' state run in this
    process)."""

    def spent() -> float:
        reading = cpu_reading(procs)
        return sum(reading[name] for name in ("ingest", "scheduler", "redis"))

    before = spent()
    for _ in range(rounds):
        since = time.time()
        for source_id in ids:
            registry.poll_now(source_id)
        deadline = time.monotonic() + timeout
        while _polled_since(registry, ids, since) < len(ids):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the sources were not all polled in {timeout:.0f}s")
            time.sleep(0.05)
    return (spent() - before) / (rounds * len(ids))


def ingest_round(items: list[BenchItem], *, feeds: int, processes: int
                 ) -> tuple[Drain, Repolls]:
    """The ingest stage alone (scheduler and ingest worker; nothing drains
    its output) over more stories than a pipeline round: a poll of a feed
    of 100 stories takes a fraction of a second. Then every feed polled
    again with nothing new: answering 304, then sending the same items in
    new bytes (another channel title)."""
    from services.ingest.adapters.source_registry import SourceRegistry
    from shared.runtime import redis_client
    from wirestream.dev.harness import FeedServer, PipelineProcesses

    prefix = f"wirestream-news-cap{uuid.uuid4().hex[:6]}"
    with isolated(prefix) as settings, FeedServer() as server:
        client = redis_client(settings)
        procs = PipelineProcesses(ROOT, env=bench_env(prefix), concurrency=processes,
                                  log_dir=ROOT / "var" / "log" / "bench")
        size = -(-len(items) // feeds)
        chunks = [items[n * size:(n + 1) * size] for n in range(feeds)]
        urls = [server.publish(f"/feed-{n}.rss", rss(chunk)) for n, chunk in enumerate(chunks)]
        workers = Workers(procs, settings)
        registry = SourceRegistry(client)
        try:
            procs.start_worker("ingest")
            procs.start_scheduler()
            workers.ready(("ingest",))
            register(settings, urls, interval=24 * 3600)
            first = drain(procs, lambda: _stage_count(client, "ingest"), len(items), extra={})
            ids = [f"{SOURCE_PREFIX}-{n}" for n in range(feeds)]
            not_modified = repoll(procs, registry, ids, rounds=3)
            for n, chunk in enumerate(chunks):
                server.publish(f"/feed-{n}.rss", rss(chunk, title="bench, again"))
            unchanged = repoll(procs, registry, ids)
            if _stage_count(client, "ingest") != len(items):
                raise RuntimeError("a poll with nothing new sent items downstream")
            return first, Repolls(not_modified, unchanged, len(ids))
        finally:
            workers.close()
            procs.stop()
            client.close()


def pipeline_round(items: list[BenchItem], *, feeds: int, processes: int) -> Round:
    from shared.runtime import es_client, redis_client
    from wirestream.dev.harness import FeedServer, PipelineProcesses

    prefix = f"wirestream-news-cap{uuid.uuid4().hex[:6]}"
    total = len(items)
    with isolated(prefix) as settings, FeedServer() as server:
        admin = es_client(settings, role="admin")
        client = redis_client(settings)
        procs = PipelineProcesses(ROOT, env=bench_env(prefix), concurrency=processes,
                                  log_dir=ROOT / "var" / "log" / "bench")
        size = -(-total // feeds)
        urls = [server.publish(f"/feed-{n}.rss", rss(items[n * size:(n + 1) * size]))
                for n in range(feeds)]
        workers = Workers(procs, settings)
        try:
            procs.start()
            workers.ready(procs.STAGES)
            workers.pause("enrich")
            workers.pause("index")
            used_before = int(client.info("memory")["used_memory"])
            # polled once: a second poll of a finished feed would be counted
            register(settings, urls, interval=24 * 3600)
            ingest = drain(procs, lambda: _stage_count(client, "ingest"), total, extra={})
            broker = {"enrich": _bytes(snapshot_queue(client, "enrich")) / total}
            workers.resume("enrich")
            enrich = drain(procs, lambda: _stage_count(client, "enrich"), total, extra={})
            index_queue = snapshot_queue(client, "index")
            broker["index"] = _bytes(index_queue) / total
            workers.resume("index")
            index = drain(procs, lambda: _stage_count(client, "index"), total, extra={})
        finally:
            workers.close()
            procs.stop()
        footprint = redis_footprint(client)
        used = int(client.info("memory")["used_memory"]) - used_before
        entities = sum(1 for _ in client.scan_iter(match="ws:ent:e:*", count=2000))
        stories, store = es_footprint(admin, prefix)
        admin.close()
        client.close()
    return Round(processes, ingest, enrich, index, footprint, used, stories, store, index_queue,
                 entities, broker)


def replay_index(index_queue: dict[str, list[bytes]], total: int, processes: tuple[int, ...],
                 *, env: dict[str, str], extra: dict[str, int], repeats: int = 3
                 ) -> tuple[dict[int, Drain], int, int]:
    """The index stage draining the same queued messages, put back unchanged,
    into the Elasticsearch ``env`` names (the local node when it names
    none): ``repeats`` times per process count, after one drain that warms
    the nodes and is not reported. Per count the drain of the median rate (a
    drain takes seconds: one alone varies by a third); and (stories,
    primary store bytes) of the last."""
    from shared.runtime import es_client, redis_client
    from wirestream.dev.harness import PipelineProcesses

    out: dict[int, Drain] = {}
    stories = store = 0
    for n in (0, *processes):
        runs: list[Drain] = []
        for _ in range(repeats if n else 1):
            prefix = f"wirestream-news-cap{uuid.uuid4().hex[:6]}"
            with isolated(prefix, env) as settings:
                client = redis_client(settings)
                admin = es_client(settings, role="admin")
                procs = PipelineProcesses(ROOT, env={**bench_env(prefix), **env},
                                          scheduler=False, concurrency=max(1, n),
                                          log_dir=ROOT / "var" / "log" / "bench")
                workers = Workers(procs, settings)
                try:
                    procs.start_worker("index")
                    workers.ready(("index",))
                    if restore_queue(client, index_queue) == 0:
                        raise RuntimeError("the index queue snapshot is empty")
                    runs.append(drain(procs, lambda c=client: _stage_count(c, "index"), total,
                                      extra=extra))
                finally:
                    workers.close()
                    procs.stop()
                stories, store = es_footprint(admin, prefix)
                admin.close()
                client.close()
        if n:
            out[n] = sorted(runs, key=lambda d: d.rate)[len(runs) // 2]
    return out, stories, store


def cluster_drains(index_queue: dict[str, list[bytes]], total: int,
                   processes: tuple[int, ...]) -> tuple[dict[int, Drain], int, int]:
    """:func:`replay_index` into a three-node cluster started for it."""
    from wirestream.dev.es_cluster import EsCluster
    from wirestream.dev.local_services import LocalServices

    root = ROOT / "var" / "es-cluster-bench"
    cluster = EsCluster(LocalServices(ROOT, echo=lambda _: None), nodes=3, root=root,
                        heap="768m", echo=lambda _: None)
    try:
        env = cluster.up(fresh=True)
        nodes = {f"elasticsearch {s.name}": s.pid for s in cluster.status() if s.pid}
        return replay_index(index_queue, total, processes, env=env, extra=nodes)
    finally:
        cluster.down()
        shutil.rmtree(root, ignore_errors=True)


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def _cluster_es(drain_: Drain) -> float:
    return sum(v for k, v in drain_.cpu.items() if k.startswith("elasticsearch node-"))


def entities_per_story() -> tuple[float, float, int]:
    """Distinct labelled entities per story and the share of them no earlier
    story named, over the real labelled text of bench/data/ner (every
    language, stories in file order): the registry's growth bound."""
    import json

    seen: set[tuple[str, str]] = set()
    per_story: dict[str, set[tuple[str, str]]] = {}
    for path in sorted((ROOT / "bench" / "data" / "ner").glob("*.jsonl")):
        if path.stem == "parallel":
            continue  # one story in nine languages: not independent stories
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            story = row["source"].split("#", 1)[0]
            per_story.setdefault(story, set()).update(
                (str(text).casefold(), str(kind)) for text, kind in row["entities"])
    new = 0
    for names in per_story.values():
        new += len(names - seen)
        seen |= names
    total = sum(len(v) for v in per_story.values())
    return total / len(per_story), new / max(1, total), len(per_story)


def run(*, items: int = 1200, feeds: int = 24, ingest_items: int = 6000,
        processes: tuple[int, ...] = (1, 2, 3), cluster: bool = True) -> list[Figure]:
    corpus = make_items(items, seed=31)
    # The servers' first minutes (the JVMs compile their hot paths) are no
    # steady state: a small round first, not reported.
    pipeline_round(make_items(60, seed=998), feeds=3, processes=1)
    rounds = [pipeline_round(corpus, feeds=feeds, processes=n) for n in processes]
    big = make_items(ingest_items, seed=37)
    ingests = {n: ingest_round(big, feeds=ingest_items // 100, processes=n) for n in processes}
    # the index stage on one node the way it is measured on three: the last
    # round's queue replayed, the median of three drains
    singles, _, _ = replay_index(rounds[-1].index_queue, items, processes, env={}, extra={})
    for r in rounds:
        r.ingest = ingests[r.processes][0]
        r.index = singles[r.processes]
    figures: list[Figure] = []
    # the processes whose CPU a stage's articles cost, as the model reads them
    from wirestream.ops.capacity import COMPONENTS as services

    for stage in ("ingest", "enrich", "index"):
        one = getattr(rounds[0], stage).rate
        for r in rounds:
            d: Drain = getattr(r, stage)
            machine = d.cpu["machine"]
            parts = ", ".join(f"{name} {_ms(d.cpu.get(name, 0.0))}"
                              for name in services[stage])
            figures += [
                Figure(SECTION, f"{stage}, {r.processes} processes: throughput", d.rate,
                       "articles/s", "higher",
                       f"{d.articles} articles in {d.seconds:.1f} s, "
                       + ("start-up included" if d.whole else "first task to last")
                       + ("; the feed server is in the machine's CPU"
                          if stage == "ingest" else "")),
                Figure(SECTION, f"{stage}, {r.processes} processes: machine CPU per article",
                       _ms(machine), "ms/article", "lower", f"of which {parts} ms"),
                *(Figure(SECTION, f"{stage}, {r.processes} processes: CPU per article, {name}",
                         _ms(d.cpu.get(name, 0.0)), "ms/article", "lower", "process tree")
                  for name in services[stage]),
                Figure(SECTION, f"{stage}, {r.processes} processes: articles per core-second",
                       1 / machine if machine > 0 else 0.0, "articles/s", "higher",
                       "the stage with the services it calls, nothing else running"),
            ]
            if r.processes != rounds[0].processes and one > 0:
                figures.append(Figure(
                    SECTION, f"{stage}, scaling {r.processes} / {rounds[0].processes} processes",
                    d.rate / one, "ratio", "higher", f"{len(_cores())} cores"))
    repolls = [polls for _, polls in ingests.values()]
    figures += [
        Figure(SECTION, "ingest, poll answered 304: CPU per poll",
               _ms(statistics.median(p.not_modified for p in repolls)), "ms/poll", "lower",
               f"{repolls[0].polls} feeds polled 3 times over, median of {len(repolls)} "
               "process counts; the ingest worker, the scheduler and Redis"),
        Figure(SECTION, "ingest, poll of an unchanged 100-story feed: CPU per poll",
               _ms(statistics.median(p.unchanged for p in repolls)), "ms/poll", "lower",
               "the same items in new bytes: fetched, parsed and gated, nothing sent; "
               "the corpus's stories carry their whole text"),
    ]
    stories = statistics.median(r.stories for r in rounds)
    families = sorted({f for r in rounds for f in r.redis})
    for family in families:
        per = statistics.median(r.redis.get(family, (0, 0))[1] / r.stories for r in rounds)
        keys = statistics.median(r.redis.get(family, (0, 0))[0] / r.stories for r in rounds)
        figures.append(Figure(SECTION, f"Redis bytes per story: {family}", round(per, 1),
                              "bytes", "lower",
                              f"{keys:.2f} keys per story; MEMORY USAGE; median of "
                              f"{len(rounds)} rounds of {stories:.0f} stories"))
    registry = [(r.redis.get("entity registry", (0, 0))[1], r.entities) for r in rounds]
    figures.append(Figure(SECTION, "Redis bytes per registry entity",
                          round(statistics.median(b / max(1, e) for b, e in registry), 1),
                          "bytes", "lower", "every ws:ent key over the entities of the "
                          f"registry (median {statistics.median(e for _, e in registry):.0f}; the "
                          "corpus draws its names from short lists, so per story this is low)"))
    for queue in ("enrich", "index"):
        figures.append(Figure(
            SECTION, f"broker bytes per story: {queue} queue",
            round(statistics.median(r.broker[queue] for r in rounds), 1), "bytes", "lower",
            "the waiting messages' bodies as the broker holds them, over their stories"))
    mean, fresh, stories_read = entities_per_story()
    figures.append(Figure(SECTION, "distinct entities per story, labelled real text", mean,
                          "entities", "lower", f"{stories_read} stories of bench/data/ner; "
                          f"{fresh:.0%} of them named by no earlier story of the set"))
    figures.append(Figure(SECTION, "Redis used_memory growth per story",
                          round(statistics.median(r.redis_used / r.stories for r in rounds), 1),
                          "bytes", "lower", "the server's own count: keys, values, the "
                          "expiry table and allocator overhead, the broker's leftovers"))
    figures.append(Figure(SECTION, "Elasticsearch primary store per story",
                          round(statistics.median(r.store_bytes / r.stories for r in rounds), 1),
                          "bytes", "lower", "force-merged to one segment; the corpus's "
                          "stories are 300-1,500 words"))
    if cluster:
        last = rounds[-1]
        drains, c_stories, c_store = cluster_drains(last.index_queue, items, processes)
        for n, d in drains.items():
            es = _cluster_es(d)
            single = next(r.index for r in rounds if r.processes == n)
            figures += [
                Figure(SECTION, f"index, 3 ES nodes, {n} processes: throughput", d.rate,
                       "articles/s", "higher",
                       f"1 replica; one node: {single.rate:.1f}/s"),
                Figure(SECTION, f"index, 3 ES nodes, {n} processes: ES CPU per article",
                       _ms(es), "ms/article", "lower",
                       f"three nodes summed; one node without a replica: "
                       f"{_ms(single.cpu.get('elasticsearch', 0.0))} ms"),
                Figure(SECTION, f"index, 3 ES nodes, {n} processes: machine CPU per article",
                       _ms(d.cpu["machine"]), "ms/article", "lower", ""),
            ]
        figures.append(Figure(SECTION, "Elasticsearch store per story, 1 replica",
                              round(c_store / max(1, c_stories), 1), "bytes", "lower",
                              "primaries only; the replica doubles it on disk"))
    return figures


def _cores() -> list[int]:
    import os

    return sorted(os.sched_getaffinity(0))


if __name__ == "__main__":
    for figure in run(items=240, feeds=6, ingest_items=1200, processes=(1, 2), cluster=True):
        print(figure)
