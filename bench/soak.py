"""`make soak`: sustained mixed-language load with faults injected at random.

Runs the real pipeline (workers and scheduler as processes, the fault
suite's rig: a private Redis, proxies in front of Elasticsearch and APy, the
network jail) and, for ``--duration`` seconds:

* publishes items of the seeded benchmark corpus (70% English, 20% Spanish,
  10% de/fr/pt/it/pl/uk; bodies of 300-1,500 words) at ``--rate`` items/s,
  spread over ``--feeds`` RSS feeds (each feed keeps its newest 50 items),
  default half the end-to-end peak recorded in BENCHMARKS.md;
* every ``--fault-every`` seconds on average injects one fault at random:
  a SIGKILLed enrich pool process, every worker SIGKILLed then restarted,
  SIGTERM to every worker then restarted, Redis SIGKILLed and restarted,
  Elasticsearch away (the proxy goes down) for 30-60 s, 429s on 20% of bulk
  items for 60 s, the translator away for 60 s, a poison item (crashes
  enrich every time);
* samples the RSS of every worker (main and pool processes) every 10 s.

Then it lets the system settle and reports throughput, latency percentiles
(published to written in Elasticsearch, from the document's ``indexed``
time), RSS over time per worker, the faults injected, and the final counts
checked against the promise of docs/guarantees.md (every item searchable
once at its latest version, or dead-lettered with a reason; no duplicates).

Usage::

    python -m bench.soak [--duration 1800] [--rate R] [--feeds 20]
                         [--fault-every 120] [--faults all|kill_enrich,...]
                         [--seed 7] [--report var/soak/report.md]

Exit status 0 when the promise held, 1 when it did not. The report is
Markdown, printed and written to ``--report``; its figures and the report
itself go to the ``soak`` section of BENCHMARKS.md (``--benchmarks -`` for
nowhere; the other sections are kept).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from bench.corpus import BenchItem, make_items
from bench.report import Figure

ROOT = Path(__file__).resolve().parents[1]
SECTION = "soak"
FAULTS = ("kill_enrich", "kill_all", "term_all", "kill_redis", "es_down", "es_429",
          "translator_down", "poison")
POISON = "SOAK-POISON-ITEM"
FALLBACK_RATE = 5.0
# Items a feed keeps: at the default rate a feed gets an item every few
# seconds, so 50 cover minutes of polls; more would make every poll re-parse
# hundreds of unchanged bodies.
WINDOW = 50
# The Markdown report of the last run() in this process (for BENCHMARKS.md).
LAST_REPORT = ""
LAST_OK = False


def benchmark_peak(path: Path) -> float | None:
    """The end-to-end peak (articles/s) recorded by `make bench`, if any."""
    if not path.exists():
        return None
    best = None
    for line in path.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if (len(cells) >= 4 and cells[0] == "end-to-end" and cells[1].startswith("throughput")
                and cells[3] == "articles/s"):
            try:
                value = float(cells[2])
            except ValueError:
                continue
            best = value if best is None else max(best, value)
    return best


# ------------------------------------------------------------------ feeds
@dataclass
class Feed:
    source_id: str
    path: str
    entries: list[tuple[BenchItem, str, datetime]] = field(default_factory=list)

    def xml(self) -> bytes:
        body = []
        for item, title, published in self.entries[-WINDOW:]:
            html = "".join(f"<p>{escape(p)}</p>" for p in item.body.split("\n\n"))
            body.append(
                f"<item><title>{escape(title)}</title>"
                # one URL per guid: a shared URL would make the story linker
                # turn one item into a version of another
                f"<link>https://soak.example/{escape(item.guid.replace(':', '/'))}</link>"
                f'<guid isPermaLink="false">{escape(item.guid)}</guid>'
                f"<pubDate>{format_datetime(published)}</pubDate>"
                f"<description>{escape(html)}</description></item>"
            )
        return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
                "<title>soak</title><link>https://soak.example/</link><description>soak"
                f"</description>{''.join(body)}</channel></rss>").encode()


@dataclass
class Soak:
    rig: Any
    procs: Any
    rng: random.Random
    feeds: list[Feed]
    published: dict[str, float] = field(default_factory=dict)  # item id -> publish time
    faults: list[tuple[float, str, str]] = field(default_factory=list)
    rss: list[tuple[float, str, int, int]] = field(default_factory=list)  # t, stage, pid, kB
    stop: threading.Event = field(default_factory=threading.Event)
    poison: set[str] = field(default_factory=set)  # item ids of injected poison items


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def sample_memory(soak: Soak, started: float) -> None:
    while not soak.stop.wait(10):
        now = time.monotonic() - started
        for stage in ("ingest", "enrich", "index"):
            if stage not in soak.procs.procs:
                continue
            for pid in [soak.procs.pid(stage), *soak.procs.pool_pids(stage)]:
                soak.rss.append((now, stage, pid, _rss_kb(pid)))


# ----------------------------------------------------------------- faults
def _restart_all(procs: Any) -> None:
    for stage in ("ingest", "enrich", "index"):
        procs.start_worker(stage)
    procs.start_scheduler()


def inject(soak: Soak, kind: str) -> str:
    rig, procs = soak.rig, soak.procs
    if kind == "kill_enrich":
        pool = procs.pool_pids("enrich")
        if not pool:
            return "no enrich pool process"
        victim = soak.rng.choice(pool)
        os.kill(victim, signal.SIGKILL)
        return f"SIGKILL enrich pool process {victim}"
    if kind in ("kill_all", "term_all"):
        names = list(procs.procs)
        for name in names:
            if kind == "kill_all":
                procs.signal(name, signal.SIGKILL)
            else:
                os.kill(procs.pid(name), signal.SIGTERM)
        for name in names:
            if procs.wait_exit(name, 150) is None:
                procs.signal(name, signal.SIGKILL)
                procs.wait_exit(name, 30)
        _restart_all(procs)
        return f"{'SIGKILL' if kind == 'kill_all' else 'SIGTERM'} to {', '.join(names)}; restarted"
    if kind == "kill_redis":
        rig.redis_server.kill()
        time.sleep(3)
        rig.redis_server.start()
        return "Redis SIGKILLed, restarted after 3 s (AOF)"
    if kind == "es_down":
        seconds = soak.rng.uniform(30, 60)
        rig.proxy.stop()
        soak.stop.wait(seconds)
        rig.proxy.start()
        return f"Elasticsearch away for {seconds:.0f} s"
    if kind == "es_429":
        rig.proxy.reject_share = 0.2
        soak.stop.wait(60)
        rig.proxy.reject_share = 0.0
        return "429 on 20% of bulk items for 60 s"
    if kind == "translator_down":
        rig.apy_proxy.stop()
        soak.stop.wait(60)
        rig.apy_proxy.start()
        return "translator away for 60 s"
    if kind == "poison":
        feed = soak.rng.choice(soak.feeds)
        item = make_items(1, seed=soak.rng.randrange(10**9))[0]
        poisoned = BenchItem(guid=f"urn:soak:poison:{len(soak.published)}", language="en",
                             headline=f"{item.headline} {POISON}", body=item.body,
                             published=item.published)
        soak.poison.add(_append(soak, feed, poisoned))
        return f"poison item in {feed.source_id}"
    raise ValueError(kind)


def _append(soak: Soak, feed: Feed, item: BenchItem) -> str:
    from shared.models import item_id

    now = datetime.now(UTC)
    feed.entries.append((item, item.headline, now))
    soak.rig.server.publish(feed.path, feed.xml())
    doc_id = item_id(feed.source_id, item.guid)
    soak.published[doc_id] = time.time()
    return doc_id


# ------------------------------------------------------------------- run
def run(
    *,
    duration: float = 1800.0,
    rate: float | None = None,
    feeds: int = 20,
    fault_every: float = 120.0,
    faults: tuple[str, ...] = FAULTS,
    seed: int = 7,
    settle_timeout: float = 900.0,
    report: Path | None = None,
    echo: Callable[[str], None] = print,
) -> list[Figure]:
    from services.ingest.sources import Source
    from tests.faults._fixtures import build_rig, teardown_rig, work_dir
    from tests.faults._rig import settle as settle_run
    from tests.faults._rig import timing_env

    peak = benchmark_peak(ROOT / "BENCHMARKS.md")
    if rate is None:
        rate = peak / 2 if peak else FALLBACK_RATE
        echo(f"rate {rate:.2f} items/s ("
             + (f"half the recorded peak {peak:.2f}/s)" if peak else
                f"no end-to-end peak in BENCHMARKS.md; fallback {FALLBACK_RATE}/s)"))
    from wirestream.dev.local_services import LocalServices

    services = LocalServices(ROOT, echo=lambda _: None).up()
    work = work_dir("soak")
    rig = build_rig(work, services, extra_env={
        **timing_env(),
        "WIRESTREAM_LOG_LEVEL": "WARNING",
    })
    procs = rig.pipeline(concurrency={"ingest": 1, "enrich": 2, "index": 1})
    if "poison" in faults:
        procs.stage_env["enrich"] = {"WIRESTREAM_FAULT_CRASH": POISON}
    rng = random.Random(seed)
    soak = Soak(rig, procs, rng, [Feed(f"soak-s{k:03d}", f"/soak/{k:03d}.rss")
                                  for k in range(feeds)])
    registry = rig.registry()
    for feed in soak.feeds:
        url = rig.server.publish(feed.path, feed.xml())
        registry.put(Source(id=feed.source_id, url=url, type="rss", min_interval=5,
                            max_interval=15), due=0.0)
    corpus = make_items(max(100, int(rate * duration * 1.1) + 10), seed=seed)
    procs.start()
    started = time.monotonic()
    sampler = threading.Thread(target=sample_memory, args=(soak, started), daemon=True)
    sampler.start()
    fault_thread: threading.Thread | None = None
    next_fault = started + rng.expovariate(1 / fault_every) if faults else float("inf")
    published = 0
    try:
        while time.monotonic() - started < duration:
            due = int((time.monotonic() - started) * rate)
            while published < min(due, len(corpus)):
                _append(soak, soak.feeds[published % feeds], corpus[published])
                published += 1
            if time.monotonic() >= next_fault and (fault_thread is None
                                                   or not fault_thread.is_alive()):
                kind = rng.choice(faults)

                def do(kind: str = kind) -> None:
                    at = time.monotonic() - started
                    soak.faults.append((at, kind, inject(soak, kind)))

                fault_thread = threading.Thread(target=do, daemon=True)
                fault_thread.start()
                next_fault = time.monotonic() + rng.expovariate(1 / fault_every)
            time.sleep(0.2)
        load_seconds = time.monotonic() - started
        if fault_thread is not None:
            fault_thread.join()
        echo(f"published {published} items in {load_seconds:.0f} s; settling")
        expected = set(soak.published)
        settle_started = time.monotonic()
        acc = settle_run("soak", expected, rig.redis, rig.es_admin, rig.prefix,
                         timeout=settle_timeout)
        settle_seconds = time.monotonic() - settle_started
        total_seconds = time.monotonic() - started
        latencies = _latencies(rig, soak)
    finally:
        soak.stop.set()
        procs.stop(timeout=120)
        teardown_rig(rig)
    client_ok = acc.complete and not acc.duplicates and not acc.unexpected
    poisoned = soak.poison & acc.dead_ids
    figures = _figures(soak, acc, latencies, published, load_seconds, total_seconds, rate)
    text = _report(soak, acc, latencies, figures, published, load_seconds, settle_seconds,
                   rate, duration, work, client_ok, (len(poisoned), len(soak.poison)))
    echo(text)
    target = report or work / "report.md"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    echo(f"report written to {target}")
    global LAST_REPORT, LAST_OK
    LAST_REPORT, LAST_OK = text, client_ok
    return figures


def _latencies(rig: Any, soak: Soak) -> list[float]:
    from elasticsearch import helpers

    out = []
    for hit in helpers.scan(rig.es_admin, index=f"{rig.prefix}-v*-*",
                            query={"query": {"prefix": {"source": "soak-"}},
                                   "_source": ["id", "indexed", "version"]}, size=1000):
        doc = hit["_source"]
        at = soak.published.get(doc["id"])
        if at is None or doc.get("version", 1) != 1 or "indexed" not in doc:
            continue
        indexed = datetime.fromisoformat(doc["indexed"]).timestamp()
        out.append(max(0.0, indexed - at))
    return sorted(out)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(q * len(values)))]


def _memory(soak: Soak) -> dict[str, tuple[float, float, float]]:
    """stage -> (largest process RSS in the first 10% of the run, in the last
    10%, overall max), MB."""
    out: dict[str, tuple[float, float, float]] = {}
    if not soak.rss:
        return out
    end = max(t for t, *_ in soak.rss)
    for stage in ("ingest", "enrich", "index"):
        rows = [(t, kb) for t, s, _, kb in soak.rss if s == stage]
        if not rows:
            continue
        first = [kb for t, kb in rows if t <= end * 0.1] or [rows[0][1]]
        last = [kb for t, kb in rows if t >= end * 0.9] or [rows[-1][1]]
        out[stage] = (max(first) / 1024, max(last) / 1024, max(kb for _, kb in rows) / 1024)
    return out


def _figures(soak: Soak, acc: Any, latencies: list[float], published: int,
             load_seconds: float, total_seconds: float, rate: float) -> list[Figure]:
    figures = [
        Figure(SECTION, "offered load", rate, "items/s", "higher"),
        Figure(SECTION, "throughput over the run", len(acc.indexed) / total_seconds,
               "items/s", "higher", f"{len(acc.indexed)} indexed in {total_seconds:.0f} s"),
        Figure(SECTION, "latency p50", _pct(latencies, 0.5), "s", "lower",
               "published to written, first versions"),
        Figure(SECTION, "latency p95", _pct(latencies, 0.95), "s", "lower"),
        Figure(SECTION, "latency p99", _pct(latencies, 0.99), "s", "lower"),
        Figure(SECTION, "faults injected", len(soak.faults), "faults", "higher"),
        Figure(SECTION, "items lost", len(acc.missing), "items", "lower"),
        Figure(SECTION, "duplicate documents", len(acc.duplicates), "docs", "lower"),
    ]
    for stage, (first, last, peak) in _memory(soak).items():
        figures.append(Figure(SECTION, f"RSS growth {stage} (last 10% / first 10%)",
                              last / first if first else float("nan"), "ratio", "lower",
                              f"{first:.0f} -> {last:.0f} MB, peak {peak:.0f} MB"))
    return figures


def _report(soak: Soak, acc: Any, latencies: list[float], figures: list[Figure],
            published: int, load_seconds: float, settle_seconds: float, rate: float,
            duration: float, work: Path, ok: bool, poisoned: tuple[int, int]) -> str:
    lines = [
        f"# Soak {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"`python -m bench.soak --duration {duration:.0f} --rate {rate:.2f}` on "
        f"{os.cpu_count()} cores; logs in `{work}`.",
        "",
        f"* published {published} items in {load_seconds:.0f} s "
        f"({published / load_seconds:.2f}/s offered); settled {settle_seconds:.0f} s after",
        f"* final counts: {acc.summary()}",
        f"* poison items dead-lettered: {poisoned[0]} of {poisoned[1]} injected",
        "* timings are the fault suites' (tests/faults/_rig.py `timing_env`): the retry "
        "countdown is capped at 4 s, so a transient failure is given up after about half a "
        "minute of retries (production default: 600 s cap); an Elasticsearch outage longer "
        "than that dead-letters index batches as `exhausted:es_unavailable`, which "
        "`wirestream dlq replay --reason exhausted:` makes searchable once it is back",
        f"* promise {'HELD' if ok else 'BROKEN'}",
        "",
        "| figure | value | unit | note |",
        "|---|---|---|---|",
    ]
    lines += [f"| {f.name} | {f.value:.4g} | {f.unit} | {f.note} |" for f in figures]
    lines += ["", "## Faults", "", "| at (s) | fault | what happened |", "|---|---|---|"]
    lines += [f"| {at:.0f} | {kind} | {what} |" for at, kind, what in soak.faults]
    lines += ["", "## RSS per worker (largest process, MB) over time", "",
              "| t (s) | ingest | enrich | index |", "|---|---|---|---|"]
    by_time: dict[int, dict[str, int]] = {}
    for t, stage, _, kb in soak.rss:
        slot = by_time.setdefault(int(t // 60) * 60, {})
        slot[stage] = max(slot.get(stage, 0), kb)
    for t in sorted(by_time):
        row = by_time[t]
        lines.append(f"| {t} | " + " | ".join(f"{row.get(s, 0) / 1024:.0f}"
                                            for s in ("ingest", "enrich", "index")) + " |")
    if latencies:
        lines += ["", f"Latency over {len(latencies)} first versions: p50 "
                  f"{_pct(latencies, 0.5):.1f} s, p95 {_pct(latencies, 0.95):.1f} s, p99 "
                  f"{_pct(latencies, 0.99):.1f} s, max {latencies[-1]:.1f} s, mean "
                  f"{statistics.fmean(latencies):.1f} s."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=1800.0, help="seconds of load")
    parser.add_argument("--rate", type=float, default=None, help="items/s (default: half peak)")
    parser.add_argument("--feeds", type=int, default=20)
    parser.add_argument("--fault-every", type=float, default=120.0,
                        help="mean seconds between faults")
    parser.add_argument("--faults", default="all", help=f"all or some of {','.join(FAULTS)}")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--settle-timeout", type=float, default=900.0)
    parser.add_argument("--report", type=Path, default=None)
    parser.add_argument("--benchmarks", type=Path, default=ROOT / "BENCHMARKS.md",
                        help="where the figures go (other sections are kept); '-' for nowhere")
    args = parser.parse_args(argv)
    chosen = FAULTS if args.faults == "all" else tuple(
        f for f in re.split(r"[,\s]+", args.faults) if f)
    unknown = set(chosen) - set(FAULTS)
    if unknown:
        parser.error(f"unknown faults: {sorted(unknown)}")
    os.environ.setdefault("WIRESTREAM_ENV_FILE", str(ROOT / "var" / "local.env"))
    figures = run(duration=args.duration, rate=args.rate, feeds=args.feeds,
                  fault_every=args.fault_every, faults=chosen, seed=args.seed,
                  settle_timeout=args.settle_timeout, report=args.report)
    if str(args.benchmarks) != "-":  # written even when the promise broke
        from bench.report import write_report

        argv_text = " ".join(sys.argv[1:] if argv is None else argv)
        command = "make soak" + (f" (python -m bench.soak {argv_text})" if argv_text else "")
        body = LAST_REPORT.split("\n", 1)[1] if LAST_REPORT else ""
        for line in write_report(args.benchmarks, figures, command=command,
                                 notes={SECTION: body.replace("\n#", "\n###")}):
            print(line)
    return 0 if LAST_OK else 1


if __name__ == "__main__":
    sys.exit(main())
