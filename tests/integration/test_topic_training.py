"""`wirestream topics train --indexed`: stories indexed in the real
Elasticsearch that label themselves (agency codes, a mapped section) join the
seed corpus, read back as the reader; `topics show` reads the model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch
from typer.testing import CliRunner

from services.index.adapters.bulk import BulkIndexer
from shared.models import Enrichment, TopicScore
from shared.runtime import es_client
from shared.settings import Settings
from tests.unit.test_shared import make_item
from wirestream.topics_cli import _indexed, topics_app


def story(doc_id: str, **fields: Any) -> Any:
    topics = fields.pop("topics", [])
    item = make_item(id=doc_id, headline=f"Story {doc_id}",
                     body_text=f"The text of story {doc_id}.", language="de")
    return item.model_copy(update={**fields, "enrichment": Enrichment(topics=topics)})


def test_indexed_stories_that_label_themselves_are_training_examples(
        index_ready: str, settings: Settings, es_admin: Elasticsearch, tmp_path: Path,
        monkeypatch: Any) -> None:
    writer = es_client(settings)
    agency = TopicScore(code="medtop:20000350", label="economy", score=1.0, level=2,
                        parent="medtop:04000000", origin="provider:medtop")
    ours = TopicScore(code="medtop:11000000", label="politics", score=0.9, origin="model")
    outcome = BulkIndexer(writer, index_ready).write([
        story("tt-1", topics=[agency]),
        story("tt-2", provider_keywords=["Fußball"], topics=[ours]),
        story("tt-3", url="https://example.com/wirtschaft/2024/a.html"),
        story("tt-4", topics=[ours]),  # labels nothing: our own topic
    ])
    writer.close()
    assert outcome.counts()["indexed"] == 4, outcome.counts()
    es_admin.indices.refresh(index=f"{index_ready}-*")
    # (other tests of the session index stories too: only ours are looked at)
    examples = sorted((e for e in _indexed(100_000) if e.text.startswith("Story tt-")),
                      key=lambda e: e.text)
    assert [(e.topic, e.origin) for e in examples] == [
        ("medtop:04000000", "provider"), ("medtop:15000000", "section"),
        ("medtop:04000000", "section")]
    assert all(e.language == "de" and e.text.startswith("Story tt-") for e in examples)

    # the whole command, with a small seed corpus to keep it quick
    from services.enrich import topic_corpus

    seed = topic_corpus.seed_examples()[::40]
    monkeypatch.setattr(topic_corpus, "seed_examples", lambda path=None: list(seed))
    out = tmp_path / "topics.npz"
    trained = CliRunner().invoke(topics_app, ["train", "--out", str(out), "--indexed",
                                              "100000"])
    assert trained.exit_code == 0, trained.output
    shown = CliRunner().invoke(topics_app, ["show", str(out)])
    assert shown.exit_code == 0, shown.output
    provenance = json.loads(shown.stdout)["provenance"]
    origins = provenance["origins"]
    assert origins["mewsc16"] == len(seed)
    assert origins["provider"] >= 1 and origins["section"] >= 2
    assert "section-labelled" in provenance["data"]
    # a file that is no model: show says why, exit 1
    (tmp_path / "broken.npz").write_bytes(b"nope")
    refused = CliRunner().invoke(topics_app, ["show", str(tmp_path / "broken.npz")])
    assert refused.exit_code == 1 and "not a readable model file" in refused.output
    # section suggestions, read the same way: "2024" (a URL segment) is no
    # section the mapping knows; "wirtschaft" and "fußball" are known
    suggested = CliRunner().invoke(topics_app, ["sections", "--least", "1"])
    assert suggested.exit_code == 0, suggested.output
    names = [line.split()[0] for line in suggested.stdout.splitlines()[1:]]
    assert "2024" in names and "wirtschaft" not in names and "fußball" not in names
