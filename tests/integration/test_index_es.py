"""The bulk writer and the read alias against the real Elasticsearch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from elasticsearch import Elasticsearch

from services.index.bulk import BulkIndexer
from shared.models import PubStatus
from shared.runtime import es_client
from shared.settings import Settings
from tests.unit.test_shared import make_item


def _reader(settings: Settings) -> Elasticsearch:
    return es_client(settings, role="reader")


def _refresh(es_admin: Elasticsearch, prefix: str) -> None:
    es_admin.indices.refresh(index=f"{prefix}-*")


def test_redelivery_and_late_old_versions_never_overwrite(
    settings: Settings, index_ready: str, es_admin: Elasticsearch
) -> None:
    writer = es_client(settings)
    indexer = BulkIndexer(writer, index_ready)
    v1 = make_item(id="ver-1", headline="first version", version=1)
    v2 = make_item(id="ver-1", headline="second version", version=2,
                   versioncreated=v1.versioncreated + timedelta(minutes=5))
    assert indexer.write([v2]).indexed == ["ver-1"]
    late = indexer.write([v1])
    assert late.stale == ["ver-1"] and late.indexed == []
    again = indexer.write([v2])
    assert again.stale == ["ver-1"]
    _refresh(es_admin, index_ready)
    reader = _reader(settings)
    doc = reader.get(index=index_ready, id="ver-1")
    assert doc["_source"]["headline"] == "second version"
    assert reader.count(index=index_ready, query={"term": {"id": "ver-1"}})["count"] == 1
    reader.close()
    writer.close()


def test_kills_and_embargoed_items_are_hidden_from_readers(
    settings: Settings, index_ready: str, es_admin: Elasticsearch
) -> None:
    writer = es_client(settings)
    indexer = BulkIndexer(writer, index_ready)
    now = datetime.now(UTC)
    visible = make_item(id="vis-1", headline="visible story")
    killed = make_item(id="kill-1", headline="killed story", pubstatus=PubStatus.canceled)
    embargoed = make_item(id="emb-1", headline="embargoed story",
                          embargoed=now + timedelta(hours=2))
    lifted = make_item(id="emb-2", headline="lifted story", embargoed=now - timedelta(hours=1))
    outcome = indexer.write([visible, killed, embargoed, lifted])
    assert sorted(outcome.indexed) == ["emb-1", "emb-2", "kill-1", "vis-1"]
    _refresh(es_admin, index_ready)
    reader = _reader(settings)
    hits = reader.search(index=index_ready, query={"ids": {"values": ["vis-1", "kill-1",
                                                                      "emb-1", "emb-2"]}})
    assert sorted(h["_id"] for h in hits["hits"]["hits"]) == ["emb-2", "vis-1"]
    reader.close()
    writer.close()
