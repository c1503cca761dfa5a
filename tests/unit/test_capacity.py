"""The capacity model (wirestream.ops.capacity): reading the capacity rows
of BENCHMARKS.md and the arithmetic from per-article costs to resources."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.enrich.adapters.clusters import CLUSTER_TTL_SECONDS, ClusterIndex
from services.enrich.adapters.translation_cache import (
    TRANSLATION_TTL_SECONDS,
    RedisTranslationCache,
)
from services.ingest.adapters.gate import ITEM_TTL_SECONDS
from shared.settings import Settings
from wirestream.cli import app
from wirestream.ops.capacity import (
    GB,
    Assumptions,
    Measured,
    markdown,
    plan,
    window_days,
)

ROWS = """
| section | figure | value | unit | better | vs previous | note |
|---|---|---|---|---|---|---|
| capacity | ingest, 1 processes: articles per core-second | 300 | articles/s | higher | - | |
| capacity | ingest, 2 processes: articles per core-second | 200 | articles/s | higher | - | |
| capacity | ingest, 1 processes: CPU per article, ingest | 2 | ms/article | lower | - | |
| capacity | ingest, 1 processes: CPU per article, redis | 1 | ms/article | lower | - | |
| capacity | ingest, 2 processes: CPU per article, ingest | 9 | ms/article | lower | - | |
| capacity | ingest, 2 processes: CPU per article, redis | 9 | ms/article | lower | - | |
| capacity | ingest, poll answered 304: CPU per poll | 4 | ms/poll | lower | - | |
| capacity | ingest, poll of an unchanged 100-story feed: CPU per poll | 100 | ms/poll | lower | | |
| capacity | enrich, 2 processes: articles per core-second | 10 | articles/s | higher | - | |
| capacity | enrich, 2 processes: CPU per article, enrich | 40 | ms/article | lower | - | |
| capacity | enrich, 2 processes: CPU per article, corenlp | 30 | ms/article | lower | - | |
| capacity | enrich, 2 processes: CPU per article, apertium-apy | 20 | ms/article | lower | - | |
| capacity | enrich, 2 processes: CPU per article, redis | 1 | ms/article | lower | - | |
| capacity | index, 1 processes: articles per core-second | 50 | articles/s | higher | - | |
| capacity | index, 1 processes: CPU per article, index | 2 | ms/article | lower | - | |
| capacity | index, 1 processes: CPU per article, elasticsearch | 5 | ms/article | lower | - | |
| capacity | index, 1 processes: CPU per article, redis | 1 | ms/article | lower | - | |
| capacity | index, 3 ES nodes, 1 processes: ES CPU per article | 12 | ms/article | lower | - | |
| capacity | index, 3 ES nodes, 2 processes: ES CPU per article | 11 | ms/article | lower | - | |
| capacity | Redis bytes per story: version gate | 250 | bytes | lower | - | |
| capacity | Redis bytes per story: LSH buckets | 7000 | bytes | lower | - | |
| capacity | Redis bytes per story: repeat counts | 600 | bytes | lower | - | |
| capacity | Redis bytes per story: not per story | 30 | bytes | lower | - | |
| capacity | Redis used_memory growth per story | 9440 | bytes | lower | - | |
| capacity | Redis bytes per registry entity | 1000 | bytes | lower | - | |
| capacity | Elasticsearch primary store per story | 10000 | bytes | lower | - | |
| capacity | broker bytes per story: enrich queue | 8000 | bytes | lower | - | |
| capacity | broker bytes per story: index queue | 12000 | bytes | lower | - | |
| end-to-end | peak RSS enrich worker | 519.1 | MB | lower | 1.00x | |
"""


@pytest.fixture
def measured(tmp_path: Path) -> Measured:
    path = tmp_path / "BENCHMARKS.md"
    path.write_text(ROWS)
    return Measured.from_benchmarks(path)


def test_windows_are_the_codes_expiries_and_the_settings() -> None:
    assert window_days()["version gate"] == ITEM_TTL_SECONDS / 86400
    # the adapters' own defaults are the settings' defaults
    assert window_days()["LSH buckets"] == CLUSTER_TTL_SECONDS / 86400
    assert ClusterIndex.ttl == CLUSTER_TTL_SECONDS
    assert window_days()["translation cache"] == TRANSLATION_TTL_SECONDS / 86400
    assert RedisTranslationCache(client=None).ttl == TRANSLATION_TTL_SECONDS  # type: ignore[arg-type]
    configured = Settings(translator={"cache_days": 3}, clusters={"window_days": 2})
    days = window_days(configured)
    assert days["translation cache"] == 3
    assert days["LSH buckets"] == days["cluster ids"] == days["near-duplicate signatures"] == 2


def test_reads_the_costs_of_the_most_efficient_runs(measured: Measured) -> None:
    # ingest: 1 process carried more articles per core-second than 2
    assert measured.processes == {"ingest": 1, "enrich": 2, "index": 1}
    assert measured.cpu_ms["ingest"] == {"ingest": 2, "redis": 1}
    assert measured.cpu_ms["enrich"]["corenlp"] == 30
    assert measured.es_replica_ms == 11  # the cheapest of the cluster runs
    assert measured.redis_overhead == pytest.approx(9440 / 7880)
    assert measured.broker_bytes == {"enrich": 8000, "index": 12000}
    assert measured.enrich_rss_mb == 519.1
    assert (measured.poll_ms_not_modified, measured.poll_ms_unchanged) == (4, 100)


def test_plan_arithmetic(measured: Measured) -> None:
    a = Assumptions(peak_factor=2.0, utilisation=0.5, replicas=1, node_cores=8,
                    node_disk_gb=1000, disk_watermark=1.0, retention_days=1000,
                    articles_per_source_day=100, registry_entities=1_000_000,
                    backlog_hours=1.0, poll_interval_s=864, fetch_seconds=0.5,
                    refetch_share=0.25)
    p = plan(864_000, measured, a)  # 10 articles/s on average, 20 at the peak
    assert p.peak_rate == pytest.approx(20.0)
    # cores = 20 articles/s x ms / 1000 / 0.5
    assert p.cores["enrich"] == pytest.approx(1.6)
    assert p.cores["corenlp"] == pytest.approx(1.2)
    assert p.cores["elasticsearch"] == pytest.approx(20 * 11 / 1000 / 0.5)  # with a replica
    assert p.cores["redis"] == pytest.approx(20 * 3 / 1000 / 0.5)
    assert p.redis_core == pytest.approx(20 * 3 / 1000)
    # 8,640 sources polled every 864 s: 10 polls/s of 0.25 x 100 + 0.75 x 4 ms
    assert p.polls_per_second == pytest.approx(10.0)
    assert p.cores["ingest"] == pytest.approx(20 * 2 / 1000 / 0.5 + 10 * 28 / 1000 / 0.5)
    # each poll holds a process for 0.528 s: 5.28 busy at once, 10.56 at 50%
    assert p.processes == {"ingest": 11, "enrich": 2, "index": 1}
    # disk: 10 KB x 2 copies x 864k/day x 1000 days = 16,093 GB on 1,000 GB nodes
    assert p.es_disk_gb == pytest.approx(10000 * 2 * 864_000 * 1000 / GB)
    assert p.es_nodes_disk == 17
    assert p.es_nodes_cpu == 3  # 0.44 cores: the floor of a cluster with a replica
    assert p.es_nodes == 17
    overhead = 9440 / 7880
    assert p.redis_gb["version gate"] == pytest.approx(
        250 * 864_000 * window_days()["version gate"] * overhead / GB)
    assert p.redis_gb["LSH buckets"] == pytest.approx(
        7000 * 864_000 * window_days()["LSH buckets"] * overhead / GB)
    # per source: 8,640 sources x a 200-item window
    assert p.redis_gb["repeat counts"] == pytest.approx(600 * 200 * 8640 * overhead / GB)
    assert p.redis_gb["entity registry"] == pytest.approx(1000 * 1_000_000 * overhead / GB)
    assert p.redis_gb["broker backlog"] == pytest.approx(20000 * 20 * 3600 / GB)
    assert "not per story" not in p.redis_gb


def test_shorter_windows_and_no_replica(measured: Measured) -> None:
    base = plan(3_000_000, measured)
    short = plan(3_000_000, measured, windows={"version gate": 18})
    assert short.redis_gb["version gate"] == pytest.approx(base.redis_gb["version gate"] / 10)
    single = plan(3_000_000, measured, Assumptions(replicas=0))
    assert single.cores["elasticsearch"] < base.cores["elasticsearch"]
    assert single.es_disk_gb == pytest.approx(base.es_disk_gb / 2)


def test_plans_grow_with_the_volume(measured: Measured) -> None:
    small, large = plan(30_000, measured), plan(3_000_000, measured)
    assert large.enrich_cores == pytest.approx(small.enrich_cores * 100)
    assert large.redis_total_gb > small.redis_total_gb
    assert large.es_nodes >= small.es_nodes >= 3


def test_markdown_table(measured: Measured) -> None:
    table = markdown([30_000, 3_000_000], measured).splitlines()
    assert len(table) == 4
    assert table[0].count("|") == table[1].count("|") == table[2].count("|")
    assert table[3].startswith("| 3,000,000 | 69.4 |")


def test_missing_figures_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "BENCHMARKS.md"
    path.write_text("| end-to-end | throughput | 1 | articles/s | higher | - | |\n")
    with pytest.raises(ValueError, match="no capacity figures"):
        Measured.from_benchmarks(path)


def test_cli(tmp_path: Path) -> None:
    path = tmp_path / "BENCHMARKS.md"
    path.write_text(ROWS)
    result = CliRunner().invoke(app, ["capacity", "100000", "--figures", str(path),
                                      "--gate-days", "30", "--cluster-window-days", "2"])
    assert result.exit_code == 0, result.output
    assert "| 100,000 | 2.3 |" in result.output
    for family, days in (("version gate", 30), ("LSH buckets", 2)):
        assert re.search(rf"{family} [0-9.]+ \({days} d\)", result.output), family
    assert "the busiest hour 2x the day's mean; 70% of each core" in result.output
    bad = CliRunner().invoke(app, ["capacity", "--figures", str(path), "--gate-days", "0"])
    assert bad.exit_code != 0
    empty = tmp_path / "empty.md"
    empty.write_text("nothing\n")
    refused = CliRunner().invoke(app, ["capacity", "--figures", str(empty)])
    assert refused.exit_code == 1
    assert "no capacity figures" in refused.output
