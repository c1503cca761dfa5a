"""Index throughput and search latency against the local Elasticsearch.

* **throughput** — the same generated stories written (a) by
  ``elasticsearch.helpers.bulk`` with ready-made documents (plain ``index``
  operations, 500 per request: the floor any indexer pays) and (b) by our
  :class:`~services.index.adapters.bulk.BulkIndexer` from ``NewsItem`` objects
  (document building, serialisation, external versioning, per-item result
  walk, 500 documents / 5 MB per request). Same cluster, same template,
  fresh indices for every run, runs alternated; medians. Goal: (b) at least 0.8 times (a).
* **search** — p50/p95 client-side latency (as the read-only consumer, over
  HTTP on loopback) of every query documented in docs/search.md, on an index
  of ``search_docs`` stories (default 100,000) spread over 12 monthly indices.
  The generated stories carry the entities, topics, places and clusters the
  documented queries ask for.

Bodies come from bench/corpus.py (300-1,500 words, 70% English, 20% Spanish,
10% German, French, Portuguese, Italian, Polish and Ukrainian); to keep
generation fast a pool of distinct bodies is reused under fresh ids, dates
and enrichment. Everything created is deleted at the end. No assertion on time anywhere.

``python -m bench.index_bench [--quick]`` prints the figures as a dict;
``run()`` returns them as :class:`bench.report.Figure` rows for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import time
import uuid
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.corpus import make_items
from bench.report import Figure

ROOT = Path(__file__).resolve().parents[1]
SECTION = "index"
SEARCH = "search"

# What the documented queries look for (docs/search.md), so they hit here too.
ENTITIES = [("Q22686", "PERSON", "Donald Trump", ["Trump", "Donald Trump", "Trump's"]),
            ("Q56226", "PERSON", "Kim Jong-un", ["Kim Jong-un"]),
            ("Q355", "ORG", "Facebook", ["Facebook"]),
            ("Q2283", "ORG", "Microsoft", ["Microsoft", "Microsofts"]),
            ("Q95", "ORG", "Google", ["Google"]),
            ("geo:PT", "GPE", "Portugal", ["Portugal"])]
TOPICS = [("medtop:11000000", "politics"), ("medtop:15000000", "sport"),
          ("medtop:04000000", "economy, business and finance"),
          ("medtop:13000000", "science and technology"),
          ("medtop:01000000", "arts, culture, entertainment and media")]
PLACES = [("Lisbon", "PT", 38.7223, -9.1393), ("Porto", "PT", 41.1496, -8.611),
          ("Madrid", "ES", 40.4168, -3.7038), ("Paris", "FR", 48.8566, 2.3522),
          ("Berlin", "DE", 52.52, 13.405), ("Kyiv", "UA", 50.45, 30.52),
          ("New York", "US", 40.7128, -74.006), ("Nairobi", "KE", -1.2921, 36.8219)]
# The 100k-story search index: shorter bodies keep the load to a few minutes
# on a 2-core machine; the query latencies hardly depend on body length.
SEARCH_BODY_WORDS = 200
WORDS = ["Facebook", "fires", "Stormy Daniels", "Trump", "yogis", "GOP lawmakers"]


def bench_items(n: int, *, seed: int = 11, pool: int = 600, months: int = 12,
                body_words: int | None = None) -> list[Any]:
    """``n`` NewsItems with synthetic enrichment (see the module docstring);
    bodies cut to ``body_words`` words when given."""
    from shared.models import (
        Enrichment,
        Entity,
        GeoPoint,
        LanguageResult,
        NewsItem,
        Place,
        TopicScore,
        Translation,
        TranslationStatus,
        content_hash,
        item_id,
    )

    rng = random.Random(seed)
    bodies = make_items(pool, seed=seed)
    start = datetime(2025, 12, 1, tzinfo=UTC)
    span = timedelta(days=30 * months)
    items = []
    for i in range(n):
        base = bodies[i % pool]
        body = " ".join(base.body.split(" ")[:body_words]) if body_words else base.body
        published = start + span * rng.random()
        guid = f"urn:bench:{seed}:{i}"
        headline = base.headline
        if rng.random() < 0.05:
            headline = f"{rng.choice(WORDS)}: {headline}"
        chosen = rng.sample(ENTITIES, rng.randint(0, 2))
        place = rng.choice(PLACES)
        english = base.language == "en"
        translation = None
        if not english:
            translation = Translation(status=TranslationStatus.translated,
                                      source_language=base.language, backend="bench",
                                      headline=f"English: {headline}",
                                      body_text=body[:2000] if base.language != "sw" else None)
        enrichment = Enrichment(
            language=LanguageResult(code=base.language, confidence=0.99, method="bench"),
            enriched_at=published + timedelta(minutes=2),
            pipeline_version="bench-1",
            translation=translation,
            entities=[Entity(id=e[0], type=e[1], name=e[2],
                             variants=rng.sample(e[3], rng.randint(1, len(e[3]))))
                      for e in chosen],
            topics=[TopicScore(code=code, label=label, score=round(rng.uniform(0.5, 1.0), 2))
                    for code, label in rng.sample(TOPICS, rng.randint(1, 2))],
            places=[Place(name=place[0], kind="city", country_code=place[1],
                          location=GeoPoint(lat=place[2], lon=place[3]), primary=True)],
            cluster_id=f"c-{rng.randrange(n // 4 + 1)}",
        )
        items.append(NewsItem(
            id=item_id("bench", guid), uri=guid, source=f"bench-{i % 5}",
            url=f"https://bench.example/{i}", headline=headline, body_text=body,
            summary=body[:300], language=base.language, firstcreated=published,
            versioncreated=published, fetched_at=published + timedelta(minutes=1),
            content_hash=content_hash(headline, body), enrichment=enrichment,
        ))
    return items


def documented_queries() -> dict[str, tuple[str, dict[str, Any]]]:
    """name -> (path after the alias, body) of every example in docs/search.md."""
    text = (ROOT / "docs" / "search.md").read_text()
    pattern = re.compile(
        r"<!-- example: ([\w-]+)[^>]*-->\s*```json\n(?:GET|POST) /wirestream-news(\S*)\n(.*?)```",
        re.S,
    )
    return {m.group(1): (m.group(2), json.loads(m.group(3))) for m in pattern.finditer(text)}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(*, docs: int = 5_000, search_docs: int = 100_000, runs: int = 3,
        query_reps: int = 30) -> list[Figure]:
    import httpx
    from elasticsearch import helpers

    from services.index.adapters.bulk import BulkIndexer
    from services.index.documents import index_month, to_document
    from services.index.names import IndexNames
    from services.index.setup import run_setup
    from shared.runtime import es_client
    from shared.settings import Settings

    settings = Settings()
    admin = es_client(settings, role="admin")
    writer = es_client(settings)
    prefixes: list[str] = []

    def fresh(months: Collection[str] = ()) -> str:
        # The reader role accepts wirestream-news-t<8 hex> (deploy/elasticsearch/roles.yml).
        prefix = f"wirestream-news-t{uuid.uuid4().hex[:8]}"
        prefixes.append(prefix)
        run_setup(admin, prefix)
        for month in sorted(months):  # index creation is not what we measure
            admin.options(ignore_status=400).indices.create(
                index=IndexNames(prefix).index(1, month))
        return prefix

    figures: list[Figure] = []
    try:
        # ------------------------------------------------------ throughput
        t = time.perf_counter()
        items = bench_items(docs)
        print(f"generated {docs} stories in {time.perf_counter() - t:.1f}s", flush=True)
        ready = [(item, to_document(item)) for item in items]
        months = {index_month(item) for item in items}
        size = sum(len(json.dumps(d, ensure_ascii=False)) for _, d in ready)

        def raw_bulk() -> float:
            prefix = fresh(months)
            names = IndexNames(prefix)
            actions = ({"_index": names.index(1, index_month(item)), "_id": item.id,
                        "_source": doc} for item, doc in ready)
            t = time.perf_counter()
            ok, errors = helpers.bulk(writer, actions, chunk_size=500, raise_on_error=True)
            elapsed = time.perf_counter() - t
            assert ok == docs and not errors
            return docs / elapsed

        def ours() -> float:
            prefix = fresh(months)
            indexer = BulkIndexer(writer, prefix)
            indexer.generation()  # the alias lookup happens once per process, not per run
            t = time.perf_counter()
            outcome = indexer.write(items)
            elapsed = time.perf_counter() - t
            assert len(outcome.indexed) == docs, outcome.counts()
            return docs / elapsed

        raw_rates: list[float] = []
        our_rates: list[float] = []
        for n in range(runs):
            order = (raw_bulk, ours) if n % 2 == 0 else (ours, raw_bulk)
            for measure in order:
                (raw_rates if measure is raw_bulk else our_rates).append(measure())
            print(f"run {n + 1}: raw {raw_rates[-1]:.0f} docs/s, ours {our_rates[-1]:.0f} docs/s",
                  flush=True)
            _drop(admin, prefixes)
        raw_rate, our_rate = statistics.median(raw_rates), statistics.median(our_rates)
        note = f"{docs} stories, {size / docs / 1024:.1f} KB per document, median of {runs}"
        figures += [
            Figure(SECTION, "raw helpers.bulk", raw_rate, "docs/s", "higher", note),
            Figure(SECTION, "BulkIndexer", our_rate, "docs/s", "higher", note),
            Figure(SECTION, "BulkIndexer / raw helpers.bulk", our_rate / raw_rate, "ratio",
                   "higher", "goal >= 0.8"),
        ]

        # ---------------------------------------------------------- search
        t = time.perf_counter()
        corpus = bench_items(search_docs, seed=12, body_words=SEARCH_BODY_WORDS)
        print(f"generated {search_docs} stories in {time.perf_counter() - t:.1f}s", flush=True)
        prefix = fresh()
        loader = BulkIndexer(writer, prefix)
        by_month = {index_month(item): item for item in corpus}
        loader.write(list(by_month.values()))  # creates the monthly indices
        # Bulk load as `index migrate` does it: no refresh until the end.
        admin.indices.put_settings(index=f"{prefix}-*", settings={"refresh_interval": "-1"})
        t = time.perf_counter()
        for start in range(0, search_docs, 5000):
            loader.write(corpus[start:start + 5000])
        load = search_docs / (time.perf_counter() - t)
        admin.indices.put_settings(index=f"{prefix}-*", settings={"refresh_interval": "1s"})
        admin.indices.refresh(index=f"{prefix}-*")
        count = admin.count(index=prefix)["count"]
        print(f"indexed {count} stories at {load:.0f} docs/s", flush=True)
        figures.append(Figure(SECTION, f"BulkIndexer, {search_docs} stories", load, "docs/s",
                              "higher", f"bodies cut to {SEARCH_BODY_WORDS} words, refresh off "
                              "during the load, 12 monthly indices"))
        secret = settings.es.reader_password
        assert secret is not None
        http = httpx.Client(base_url=settings.es.url, timeout=60,
                            auth=(settings.es.reader_username, secret.get_secret_value()))
        everything: list[float] = []
        for name, (path, documented) in documented_queries().items():
            # the documented queries name the default prefix's entity
            # directory; this run has its own (made by run_setup)
            body = json.loads(json.dumps(documented).replace(
                '"wirestream-news-entities"', f'"{prefix}-entities"'))
            latencies = []
            for rep in range(query_reps + 3):
                t = time.perf_counter()
                response = http.post(f"/{prefix}{path}", json=body)
                elapsed = (time.perf_counter() - t) * 1000
                assert response.status_code == 200, response.text
                if rep >= 3:  # the first three warm the caches
                    latencies.append(elapsed)
            everything += latencies
            p50, p95 = _percentile(latencies, 0.5), _percentile(latencies, 0.95)
            print(f"{name:22} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms", flush=True)
            figures += [Figure(SEARCH, f"{name} p50", p50, "ms", "lower"),
                        Figure(SEARCH, f"{name} p95", p95, "ms", "lower")]
        http.close()
        note = f"{count} stories, {query_reps} runs per query after 3 warm-ups"
        figures += [
            Figure(SEARCH, "all documented queries p50", _percentile(everything, 0.5), "ms",
                   "lower", note),
            Figure(SEARCH, "all documented queries p95", _percentile(everything, 0.95), "ms",
                   "lower", note),
        ]
    finally:
        _drop(admin, prefixes)
        admin.close()
        writer.close()
    return figures


def _drop(admin: Any, prefixes: list[str]) -> None:
    for prefix in prefixes:
        names = list(admin.indices.get(index=f"{prefix}-*", allow_no_indices=True))
        if names:
            admin.indices.delete(index=",".join(names))
        admin.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}-v1")
    prefixes.clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="2,000 / 10,000 stories, one run")
    args = parser.parse_args()
    sizes = ({"docs": 2000, "search_docs": 10_000, "runs": 1, "query_reps": 10} if args.quick
             else {})
    figures = run(**sizes)
    print(json.dumps({f"{f.section} / {f.name}": round(f.value, 3) for f in figures}, indent=2))


if __name__ == "__main__":
    main()
