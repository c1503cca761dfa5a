"""Where the time goes: cProfile of the slowest stage (enrich) on the corpus.

Returns one figure (documents/s under the profiler, for context) and leaves
the top functions by own time in :func:`extra_note` for BENCHMARKS.md.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import time
from datetime import UTC, datetime

from bench.corpus import make_items
from bench.report import Figure

_NOTE: list[str] = []


def run(*, docs: int = 60) -> list[Figure]:
    import httpx

    from services.enrich.loading import load_models
    from services.enrich.stage import enrich_items
    from shared.models import NewsItem, content_hash, item_id
    from shared.runtime import redis_client
    from shared.settings import Settings

    settings = Settings()
    client = redis_client(settings)
    http = httpx.Client(timeout=60)
    models = load_models(settings, client, http)
    now = datetime.now(UTC)
    items = [
        NewsItem(id=item_id("profile", b.guid), uri=b.guid, source="profile",
                 headline=b.headline, body_text=b.body, language=b.language,
                 versioncreated=b.published, fetched_at=now,
                 content_hash=content_hash(b.headline, b.body))
        for b in make_items(docs, seed=31)
    ]
    enrich_items(items[:2], models)  # warm-up: lazy model parts
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    for start_at in range(0, len(items), 25):
        enrich_items(items[start_at:start_at + 25], models)
    profiler.disable()
    elapsed = time.perf_counter() - start
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(12)
    lines = [ln for ln in out.getvalue().splitlines() if ln.strip()]
    table = [ln for ln in lines if "(" in ln and ln.strip()[0].isdigit()][:12]
    _NOTE[:] = ["Top functions by own time (cProfile, enrich stage, "
                f"{docs} documents incl. translation through APy):", "", "```", *table, "```"]
    http.close()
    client.close()
    return [Figure("profile", "enrich stage under cProfile", docs / elapsed, "docs/s",
                   "higher", "profiler overhead included")]


def extra_note() -> str:
    return "\n".join(_NOTE)
