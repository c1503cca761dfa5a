"""The capacity model: from articles per day to the cores, worker processes,
Elasticsearch nodes and Redis memory that carry them.

Every resource is a measured per-article cost times a rate. The costs come
from ``make bench`` (bench/capacity.py, the ``capacity`` rows of
BENCHMARKS.md's figure table): the machine CPU each stage and each service
it calls spends per article in a steady state, the Redis bytes a story
leaves per key family, the broker bytes a queued story takes and the
Elasticsearch store per story. What the model adds is named in
:class:`Assumptions` and printed with every plan: the peak hour over the
day's mean, the share of a core a process may use, the size of an
Elasticsearch node, how long indices are kept, how many sources and
registry entities there are. How long Redis keeps each family is the code's
and the settings' own (:func:`window_days`).

It is a model of the steady state: it leaves out search load on
Elasticsearch, re-enrichment, catching up after an outage (the broker row
says what an hour of backlog takes) and the operating system's own share.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.settings import Settings

__all__ = ["COMPONENTS", "Assumptions", "Measured", "Plan", "describe", "markdown",
           "plan", "window_days"]

DAY = 86400.0
GB = 1024.0**3

# Per stage, the processes whose CPU the stage's articles cost.
COMPONENTS: dict[str, tuple[str, ...]] = {
    "ingest": ("ingest", "redis"),
    "enrich": ("enrich", "corenlp", "apertium-apy", "redis"),
    "index": ("index", "elasticsearch", "redis"),
}


def window_days(settings: Settings | None = None) -> dict[str, float]:
    """How long Redis keeps each per-story key family, in days: the
    expiries the code sets, and for the two a setting decides
    (``WIRESTREAM_TRANSLATOR__CACHE_DAYS``, ``WIRESTREAM_CLUSTERS__WINDOW_DAYS``)
    the settings' values (their defaults without ``settings``)."""
    from services.ingest.adapters.articles import SEEN_TTL_SECONDS
    from services.ingest.adapters.gate import ITEM_TTL_SECONDS
    from services.ingest.adapters.stories import STORY_TTL_SECONDS
    from shared.settings import ClusterSettings, TranslatorSettings

    translator = settings.translator if settings else TranslatorSettings()
    clusters = settings.clusters if settings else ClusterSettings()
    return {
        "version gate": ITEM_TTL_SECONDS / DAY,
        "story links": STORY_TTL_SECONDS / DAY,
        "seen article URLs": SEEN_TTL_SECONDS / DAY,
        "near-duplicate signatures": clusters.window_days,
        "cluster ids": clusters.window_days,
        "LSH buckets": clusters.window_days,
        "translation cache": translator.cache_days,
    }


# Kept per source (a window of its last items), not per story.
REPEATS = "repeat counts"
REPEATS_WINDOW_ITEMS = 200


@dataclass(frozen=True)
class Measured:
    """Per-article costs from the ``capacity`` rows of BENCHMARKS.md.

    ``cpu_ms[stage][component]``: CPU ms per article of each process during
    the stage's steady state, at the process count whose articles per
    core-second were highest (:attr:`processes`): the busiest run, where the
    services' idle cost (timers, heartbeats, garbage collection) is shared
    by the most articles, as on a loaded production host. ``es_replica_ms``:
    Elasticsearch CPU per article summed over the three nodes of a cluster
    with one replica, the cheapest of its runs.
    ``redis_bytes[family]``: ``MEMORY USAGE`` bytes per story;
    ``redis_overhead``: the server's ``used_memory`` growth over their sum.
    """

    cpu_ms: Mapping[str, Mapping[str, float]]
    es_replica_ms: float
    redis_bytes: Mapping[str, float]
    redis_overhead: float
    registry_bytes_per_entity: float
    es_store_bytes: float
    broker_bytes: Mapping[str, float]
    poll_ms_not_modified: float = 0.0  # CPU of a poll answered 304
    poll_ms_unchanged: float = 0.0  # CPU of a poll of a whole feed, nothing new in it
    enrich_rss_mb: float = 0.0
    processes: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def from_benchmarks(cls, path: Path) -> Measured:
        text = path.read_text(encoding="utf-8")
        rows = _capacity_rows(text)
        if not rows:
            raise ValueError(f"{path} holds no capacity figures: run `make bench` "
                             "(python -m bench.run --only capacity)")
        cpu: dict[str, dict[str, float]] = {}
        chosen: dict[str, int] = {}
        for stage, components in COMPONENTS.items():
            counts = sorted({int(m[1]) for name in rows
                             if (m := re.match(rf"{stage}, (\d+) processes: ", name))})
            if not counts:
                raise ValueError(f"no capacity figures for the {stage} stage in {path}")
            best = max(counts, key=lambda n: rows[f"{stage}, {n} processes: articles per "
                                                  "core-second"])
            chosen[stage] = best
            cpu[stage] = {c: rows[f"{stage}, {best} processes: CPU per article, {c}"]
                          for c in components}
        replica = [v for k, v in rows.items()
                   if re.fullmatch(r"index, 3 ES nodes, \d+ processes: ES CPU per article", k)]
        families = {k.split(": ", 1)[1]: v for k, v in rows.items()
                    if k.startswith("Redis bytes per story: ")}
        summed = sum(families.values())
        used = rows.get("Redis used_memory growth per story", summed)
        return cls(
            cpu_ms=cpu,
            es_replica_ms=min(replica) if replica else 2 * cpu["index"]["elasticsearch"],
            redis_bytes=families,
            redis_overhead=max(1.0, used / summed) if summed else 1.0,
            registry_bytes_per_entity=rows.get("Redis bytes per registry entity", 0.0),
            es_store_bytes=rows["Elasticsearch primary store per story"],
            broker_bytes={q: rows[f"broker bytes per story: {q} queue"]
                          for q in ("enrich", "index")
                          if f"broker bytes per story: {q} queue" in rows},
            poll_ms_not_modified=rows.get("ingest, poll answered 304: CPU per poll", 0.0),
            poll_ms_unchanged=rows.get(
                "ingest, poll of an unchanged 100-story feed: CPU per poll", 0.0),
            enrich_rss_mb=_e2e_rss(text),
            processes=chosen,
        )


def _capacity_rows(text: str) -> dict[str, float]:
    """name -> value of the figure table's ``capacity`` rows."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        if not line.startswith("| capacity |"):
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        if len(cells) >= 3 and re.fullmatch(r"-?[0-9.]+(e[-+]?\d+)?", cells[2]):
            out[cells[1]] = float(cells[2])
    return out


def _e2e_rss(text: str) -> float:
    match = re.search(r"^\| end-to-end \| peak RSS enrich worker \| ([0-9.]+) \|", text, re.M)
    return float(match[1]) if match else 0.0


@dataclass(frozen=True)
class Assumptions:
    """What the model takes as given; each changes a plan proportionally."""

    peak_factor: float = 2.0  # the busiest hour's rate over the day's mean
    utilisation: float = 0.7  # the share of each core a plan fills at the peak
    node_cores: int = 8  # cores of an Elasticsearch node
    node_disk_gb: float = 2000.0  # data disk of an Elasticsearch node
    disk_watermark: float = 0.85  # Elasticsearch's high watermark: usable share
    retention_days: int = 365  # how long monthly indices are kept
    replicas: int = 1
    articles_per_source_day: float = 20.0  # sources = articles per day / this
    poll_interval_s: float = 900.0  # mean time between two polls of a source
    fetch_seconds: float = 0.5  # a publisher's answer, wall time: a pool process waits
    refetch_share: float = 0.25  # polls that bring a whole feed back, nothing new in it
    registry_entities: int = 1_000_000  # people, organisations and places known
    backlog_hours: float = 1.0  # a stopped stage's queue the broker must hold


def describe(a: Assumptions) -> str:
    """The assumptions in words, as a plan is printed with them."""
    return (f"the busiest hour {a.peak_factor:g}x the day's mean; {a.utilisation:.0%} of each "
            f"core; {a.articles_per_source_day:g} articles per source a day, a poll every "
            f"{a.poll_interval_s:g} s, {a.refetch_share:.0%} of polls bringing an unchanged "
            f"feed back, publishers answering in {a.fetch_seconds:g} s; {a.replicas} "
            f"replica(s); Elasticsearch nodes of {a.node_cores} cores and "
            f"{a.node_disk_gb:,.0f} GB filled to {a.disk_watermark:.0%}, indices kept "
            f"{a.retention_days} days; a registry of {a.registry_entities:,} entities; "
            f"{a.backlog_hours:g} h of backlog in the broker")


@dataclass(frozen=True)
class Plan:
    articles_per_day: float
    peak_rate: float  # articles/s in the busiest hour
    polls_per_second: float
    cores: dict[str, float]  # component -> cores at the peak, utilisation included
    processes: dict[str, int]  # stage -> worker pool processes
    es_nodes_cpu: int
    es_nodes_disk: int
    es_disk_gb: float  # primaries and replicas over the retention
    redis_gb: dict[str, float]  # family -> GB held
    redis_core: float  # share of one core Redis's commands take at the peak

    @property
    def es_nodes(self) -> int:
        return max(self.es_nodes_cpu, self.es_nodes_disk)

    @property
    def redis_total_gb(self) -> float:
        return sum(self.redis_gb.values())

    @property
    def enrich_cores(self) -> float:
        return sum(self.cores[c] for c in ("enrich", "corenlp", "apertium-apy"))


def plan(articles_per_day: float, measured: Measured,
         assumptions: Assumptions | None = None,
         windows: Mapping[str, float] | None = None) -> Plan:
    """The resources for ``articles_per_day`` (``windows``: days Redis keeps
    each family, :func:`window_days` by default)."""
    a = assumptions or Assumptions()
    windows = {**window_days(), **(windows or {})}
    peak = articles_per_day / DAY * a.peak_factor
    cores: dict[str, float] = {}
    for components in measured.cpu_ms.values():
        for component, ms in components.items():
            if component == "elasticsearch" and a.replicas > 0:
                ms = measured.es_replica_ms
            cores[component] = cores.get(component, 0.0) + peak * ms / 1000 / a.utilisation
    # Polls: every source every poll_interval_s, most answered 304, some
    # bringing their whole feed back with nothing new (their CPU on top of
    # the articles'). A pool process waits for the publisher's answer: the
    # ingest processes are those busy at once (Little's law), or its cores,
    # whichever is more.
    sources = articles_per_day / a.articles_per_source_day
    polls = sources / a.poll_interval_s
    poll_ms = (a.refetch_share * measured.poll_ms_unchanged
               + (1 - a.refetch_share) * measured.poll_ms_not_modified)
    cores["ingest"] = cores.get("ingest", 0.0) + polls * poll_ms / 1000 / a.utilisation
    processes = {stage: max(1, math.ceil(cores[stage])) for stage in COMPONENTS}
    waiting = polls * (a.fetch_seconds + poll_ms / 1000) / a.utilisation
    processes["ingest"] = max(processes["ingest"], math.ceil(waiting))
    es_cpu_nodes = math.ceil(cores.get("elasticsearch", 0.0) / a.node_cores)
    es_disk_gb = (measured.es_store_bytes * (1 + a.replicas) * articles_per_day
                  * a.retention_days / GB)
    es_disk_nodes = math.ceil(es_disk_gb / (a.node_disk_gb * a.disk_watermark))
    floor = 3 if a.replicas > 0 else 1  # a replica needs a second node; a vote, a third
    redis: dict[str, float] = {}
    for family, per_story in measured.redis_bytes.items():
        if family in windows:
            held = per_story * articles_per_day * windows[family]
        elif family == REPEATS:
            sources = articles_per_day / a.articles_per_source_day
            held = per_story * REPEATS_WINDOW_ITEMS * sources
        else:
            continue  # the registry below; what does not grow with stories
        redis[family] = held * measured.redis_overhead / GB
    redis["entity registry"] = (measured.registry_bytes_per_entity * a.registry_entities
                                * measured.redis_overhead / GB)
    broker = sum(measured.broker_bytes.values())
    redis["broker backlog"] = broker * peak * 3600 * a.backlog_hours / GB
    return Plan(
        articles_per_day=articles_per_day,
        peak_rate=peak,
        polls_per_second=polls,
        cores=cores,
        processes=processes,
        es_nodes_cpu=max(floor, es_cpu_nodes),
        es_nodes_disk=max(floor, es_disk_nodes),
        es_disk_gb=es_disk_gb,
        redis_gb=redis,
        redis_core=cores.get("redis", 0.0) * a.utilisation,
    )


def markdown(rates: Iterable[float], measured: Measured,
             assumptions: Assumptions | None = None,
             windows: Mapping[str, float] | None = None) -> str:
    """The capacity table for each daily volume of ``rates``."""
    header = ("| articles/day | peak articles/s | enrich cores (worker + CoreNLP + APy) "
              "| enrich processes | index processes | sources, polls/s | ingest cores "
              "| ingest processes | ES nodes (CPU / disk) | ES disk | Redis memory | Redis core |")
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for rate in rates:
        p = plan(rate, measured, assumptions, windows)
        c = p.cores
        sources = p.polls_per_second * (assumptions or Assumptions()).poll_interval_s
        lines.append(
            f"| {rate:,.0f} | {p.peak_rate:.1f} | {_cores(p.enrich_cores)} "
            f"({_cores(c['enrich'])} + {_cores(c['corenlp'])} + {_cores(c['apertium-apy'])}) "
            f"| {p.processes['enrich']} | {p.processes['index']} "
            f"| {sources:,.0f}, {p.polls_per_second:.1f} | {_cores(c['ingest'])} "
            f"| {p.processes['ingest']} | {p.es_nodes} ({p.es_nodes_cpu} / {p.es_nodes_disk}) "
            f"| {_size(p.es_disk_gb)} | {_size(p.redis_total_gb)} | {p.redis_core:.2f} |")
    return "\n".join(lines)


def _cores(n: float) -> str:
    return f"{n:.2f}" if n < 1 else f"{n:.1f}"


def _size(gb: float) -> str:
    return f"{gb / 1024:.1f} TB" if gb >= 1024 else f"{gb:.1f} GB"
