"""Speed and memory of the enrich stage.

* enrich throughput (docs/s): every offline step (language, entities,
  places, topics, keywords; no translation, registry or clustering: those
  are network round trips measured separately) on English news documents,
  in batches of 25 as the worker runs them;
* raw CoreNLP server throughput on the same texts with the same request
  properties (NER only, one request per story, as a plain client would
  send them), in the same run - the target is enrich >= 0.8x raw for the
  entity step, and the full stage is reported next to it; raw spaCy
  ``nlp.pipe`` (the previous engine) is reported for comparison;
* translation throughput against the real APy (Spanish -> English, cache
  off), when APy answers;
* peak RSS of a fresh process that loads every model (lingua, natasha,
  gazetteer, topic rules, yake-rust, the CoreNLP client) and enriches a
  batch - what one worker process holds (target <= 600 MB); the CoreNLP
  server's own peak RSS.

``run()`` returns :class:`bench.report.Figure` rows; nothing asserts on time.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.report import Figure

__all__ = ["run"]

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data" / "enrich"
SECTION = "enrich speed"
BATCH = 25


def _documents(count: int) -> list[Any]:
    """English documents of 150-500 words built from the labelled sets'
    texts (deterministic)."""
    from datetime import UTC, datetime

    from shared.models import NewsItem, content_hash

    rows = [json.loads(line) for name in ("clusters.jsonl", "topics_en.jsonl", "ner_en.jsonl")
            for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    paragraphs = [r.get("body") or r.get("lead") or r.get("text") for r in rows]
    headlines = [r.get("headline") or r["text"][:80] for r in rows]
    now = datetime(2026, 11, 1, tzinfo=UTC)
    docs = []
    for n in range(count):
        body = "\n\n".join(paragraphs[(n * 7 + k) % len(paragraphs)] for k in range(2 + n % 4))
        headline = headlines[n % len(headlines)]
        docs.append(NewsItem(id=f"s{n}", uri=f"bench:{n}", source="bench", headline=headline,
                             body_text=body, language="en", versioncreated=now, fetched_at=now,
                             content_hash=content_hash(headline, body)))
    return docs


def _timed(fn: Any, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _translation(paragraphs: int) -> tuple[float, float] | None:
    """(characters/s, chunks/s) through APy with no cache, or None."""
    from services.enrich.adapters.translation_backends import (
        ApertiumBackend,
        build_backend,
        http_client,
    )
    from services.enrich.translate import Translator
    from shared.models import NewsItem, content_hash
    from shared.settings import load_settings

    settings = load_settings()
    base = ("El gobierno aprobó el presupuesto del próximo año tras un largo debate en el "
            "parlamento. La oposición votó en contra y anunció que recurrirá la ley ante el "
            "tribunal constitucional. ")
    from datetime import UTC, datetime

    now = datetime(2026, 11, 1, tzinfo=UTC)
    items = [NewsItem(id=f"t{n}", uri=f"t{n}", source="bench", headline=f"Titular número {n}",
                      body_text=(base * (1 + n % 3)) + f"Párrafo {n}.", language="es",
                      versioncreated=now, fetched_at=now, content_hash=content_hash(str(n)))
             for n in range(paragraphs)]
    with http_client(settings.translator) as client:
        backend = build_backend(settings.translator, client)
        if not isinstance(backend, ApertiumBackend):
            return None
        try:
            backend.pairs()
        except Exception as exc:  # no APy: the figure is skipped, not faked
            print(f"(no APy: {exc}; translation figures skipped)", file=sys.stderr)
            return None
        translator = Translator(backend, None)
        started = time.perf_counter()
        out = translator.translate_batch(items, ["es"] * len(items))
        elapsed = time.perf_counter() - started
    chars = sum(len(i.headline) + len(i.body_text or "") for i in items)
    chunks = sum(t.chunks for t, _ in out)
    return chars / elapsed, chunks / elapsed


# VmHWM, not ru_maxrss: Linux carries ru_maxrss across fork and exec, so a
# fresh process started by a big bench process would report the parent's peak.
_RSS_SCRIPT = """
import sys
from services.enrich.loading import load_models
from services.enrich.stage import enrich_items
from shared.settings import load_settings
sys.path.insert(0, {root!r})
from bench.enrich_speed import _documents
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
import httpx
models = load_models(load_settings(), None, httpx.Client(timeout=60))
loaded = hwm()
for start in range(0, 100, 25):
    enrich_items(_documents(100)[start:start + 25], models)
peak = hwm()
print(loaded / 1024, peak / 1024)
"""


def _rss() -> tuple[float, float]:
    """(MB after loading, peak MB after 4 batches) of a fresh process."""
    out = subprocess.run([sys.executable, "-c", _RSS_SCRIPT.format(root=str(ROOT))],
                         capture_output=True, text=True, check=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    loaded, peak = out.stdout.split()[-2:]
    return float(loaded), float(peak)


def _corenlp_raw(http: Any, url: str, texts: list[str]) -> None:
    """A plain client of the server: one request per story, the same
    properties the stage sends."""
    from shared.corenlp import ner_properties

    params = {"properties": json.dumps(ner_properties("en"))}
    for text in texts:
        response = http.post(url, params=params, content=text.encode(), timeout=120)
        response.raise_for_status()
        response.json()


def run(docs: int = 200, runs: int = 5, translate: int = 30) -> list[Figure]:
    import httpx

    from services.enrich.aliases import OfflineResolver
    from services.enrich.entities import load_english, recognise, tag_entities
    from services.enrich.keywords import KeywordExtractors
    from services.enrich.language import build_detector
    from services.enrich.loading import build_ner
    from services.enrich.places import build_gazetteer
    from services.enrich.stage import Models, enrich_items
    from services.enrich.topic_model import TopicModelFile
    from services.enrich.topics import load_rules
    from shared.settings import load_settings

    settings = load_settings()
    items = _documents(docs)
    english = load_english()
    gazetteer = build_gazetteer()
    http = httpx.Client(timeout=120)
    ner = build_ner(settings, http, russian=False)
    models = Models(language=build_detector(), ner=ner,
                    gazetteer=gazetteer, resolver=OfflineResolver(), topics=load_rules(),
                    topic_model=TopicModelFile(Path(settings.topics.model_path)),
                    keywords=KeywordExtractors())
    # one document per story, its headline and body joined (what a plain
    # user of the server or of spaCy would send, and what the stage reads)
    texts = ["\n\n".join(t for t in (i.headline, i.body_text) if t) for i in items]
    batches = [items[s:s + BATCH] for s in range(0, len(items), BATCH)]
    url = settings.ner.corenlp_url.rstrip("/") + "/"

    def raw() -> None:
        _corenlp_raw(http, url, texts)

    def spacy_raw() -> None:
        for _ in english.pipe(texts, batch_size=32):
            pass

    def entities() -> None:
        for batch in batches:
            raw_mentions = recognise(batch, ["en"] * len(batch), [None] * len(batch), ner)
            tag_entities(batch, raw_mentions, gazetteer, OfflineResolver())

    def full() -> None:
        for batch in batches:
            enrich_items(batch, models)

    raw()  # warm-up: first call allocates
    spacy_raw()
    full()
    # Interleaved (raw, entities, full, spaCy, raw, ...) so a slow spell of
    # the machine weighs on all alike; each the fastest of its runs (noise
    # on this shared VM only ever adds time).
    times: dict[str, list[float]] = {"raw": [], "entities": [], "full": [], "spacy": []}
    for _ in range(runs):
        for name, fn in (("raw", raw), ("entities", entities), ("full", full),
                         ("spacy", spacy_raw)):
            times[name].append(_timed(fn, 1))
    t_raw, t_entities, t_full, t_spacy = (min(times[k])
                                          for k in ("raw", "entities", "full", "spacy"))
    words = sum(len(t.split()) for t in texts)
    figures = [
        Figure(SECTION, "raw CoreNLP server (NER only, a request per story)", docs / t_raw,
               "docs/s", "higher",
               f"{docs} English docs of 150-500 words ({words / t_raw:,.0f} words/s), the "
               "stage's properties, same run"),
        Figure(SECTION, "entity step (NER + rules + ids)", docs / t_entities, "docs/s",
               "higher", "batches of 25, a batch's stories packed into few requests"),
        Figure(SECTION, "entity step / raw CoreNLP", t_raw / t_entities, "ratio", "higher",
               "target >= 0.8"),
        Figure(SECTION, "full enrich without network steps", docs / t_full, "docs/s",
               "higher", "language, entities, places, topics, keywords"),
        Figure(SECTION, "full enrich / raw CoreNLP", t_raw / t_full, "ratio", "higher",
               f"fastest of {runs} interleaved runs each; per run "
               + ", ".join(f"{r / f:.2f}" for r, f in zip(times["raw"], times["full"],
                                                         strict=True))),
        Figure(SECTION, "raw spaCy nlp.pipe (the previous engine), for comparison",
               docs / t_spacy, "docs/s", "higher",
               "en_core_web_sm NER only, in process; F1 in the NER quality section"),
    ]
    http.close()
    translated = _translation(translate) if translate else None
    if translated is not None:
        chars, chunks = translated
        figures += [
            Figure(SECTION, "translation via APy (spa->eng, no cache)", chars, "chars/s",
                   "higher",
                   f"{translate} documents, chunks joined into requests of <= 10,000 characters"),
            Figure(SECTION, "translation via APy, chunks", chunks, "chunks/s", "higher"),
        ]
    loaded, peak = _rss()
    figures += [
        Figure(SECTION, "worker RSS with all models loaded", loaded, "MB", "lower",
               "fresh process; lingua, natasha, gazetteer, rules, yake-rust, the CoreNLP "
               "client (the server's memory is its own: docs/operations.md)"),
        Figure(SECTION, "worker peak RSS after 100 documents", peak, "MB", "lower",
               "target <= 600"),
    ]
    corenlp = _server_rss()
    if corenlp is not None:
        figures.append(Figure(SECTION, "CoreNLP server peak RSS", corenlp, "MB", "lower",
                              "JVM, heap -Xmx as started by wirestream services up; five "
                              "languages' NER loaded"))
    return figures


def _server_rss() -> float | None:
    from wirestream.dev.local_services import LocalServices

    pid = LocalServices(ROOT, echo=lambda _: None).pids().get("corenlp")
    if not pid:
        return None
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


if __name__ == "__main__":
    os.environ.setdefault("WIRESTREAM_ENV_FILE", str(ROOT / "var" / "local.env"))
    quick = "--quick" in sys.argv
    for f in run(docs=60 if quick else 200, runs=1 if quick else 3,
                 translate=10 if quick else 30):
        print(f"{f.name}: {f.value:.4g} {f.unit}" + (f"  ({f.note})" if f.note else ""))
