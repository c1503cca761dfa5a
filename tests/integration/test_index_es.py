"""The bulk writer and the read alias against the real Elasticsearch."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from elasticsearch import Elasticsearch

from services.index.adapters.bulk import BulkIndexer
from services.index.names import IndexNames
from services.index.stage import index_batch
from shared.dlq import DeadLetterStore
from shared.errors import ServiceUnavailable
from shared.models import Batch, PubStatus
from shared.runtime import es_client
from shared.settings import Settings
from tests.unit.test_shared import make_item


@contextmanager
def scratch_prefix(es_admin: Elasticsearch) -> Iterator[str]:
    """A prefix of its own (the reader role accepts ``wirestream-news-t<8 hex>``),
    for tests that change a whole prefix; everything of it is deleted after."""
    prefix = f"wirestream-news-t{uuid.uuid4().hex[:8]}"
    try:
        yield prefix
    finally:
        names = list(es_admin.indices.get(index=f"{prefix}-*", allow_no_indices=True))
        if names:
            es_admin.indices.delete(index=",".join(names))
        templates = es_admin.options(ignore_status=404).indices.get_index_template(
            name=f"{prefix}-*"
        )
        for template in templates.body.get("index_templates", []):
            es_admin.indices.delete_index_template(name=template["name"])


def _refresh(es_admin: Elasticsearch, prefix: str) -> None:
    es_admin.indices.refresh(index=f"{prefix}-*")


@pytest.fixture
def writer(settings: Settings) -> Iterator[Elasticsearch]:
    client = es_client(settings)
    yield client
    client.close()


@pytest.fixture
def reader(settings: Settings) -> Iterator[Elasticsearch]:
    client = es_client(settings, role="reader")
    yield client
    client.close()


def _ids(reader: Elasticsearch, alias: str, ids: list[str]) -> list[str]:
    hits = reader.search(index=alias, query={"ids": {"values": ids}}, size=len(ids))
    return sorted(h["_id"] for h in hits["hits"]["hits"])


def test_redelivery_and_late_old_versions_never_overwrite(
    index_ready: str, es_admin: Elasticsearch, writer: Elasticsearch, reader: Elasticsearch
) -> None:
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
    hits = reader.search(index=index_ready, query={"term": {"id": "ver-1"}})["hits"]
    assert hits["total"]["value"] == 1
    assert hits["hits"][0]["_source"]["headline"] == "second version"


def test_a_kill_replaces_the_story_with_a_tombstone(
    index_ready: str, es_admin: Elasticsearch, writer: Elasticsearch, reader: Elasticsearch
) -> None:
    indexer = BulkIndexer(writer, index_ready)
    story = make_item(id="kill-2", headline="secret story", body_text="secret body", version=1)
    kill = story.model_copy(update={"version": 2, "pubstatus": PubStatus.canceled,
                                    "versioncreated": story.versioncreated + timedelta(hours=1)})
    assert indexer.write([story]).indexed == ["kill-2"]
    assert indexer.write([kill]).indexed == ["kill-2"]
    # the old usable version arriving late cannot resurrect it
    assert indexer.write([story]).stale == ["kill-2"]
    _refresh(es_admin, index_ready)
    assert _ids(reader, index_ready, ["kill-2"]) == []
    # nothing of the text is left, even unfiltered (a GET by id ignores alias filters)
    [hit] = es_admin.search(index=f"{index_ready}-write",
                            query={"ids": {"values": ["kill-2"]}})["hits"]["hits"]
    stored = hit["_source"]
    assert stored["pubstatus"] == "canceled" and stored["version"] == 2
    assert "secret" not in json.dumps(stored)
    # and consumers cannot GET by id at all (search only, through the filter)
    assert reader.options(ignore_status=403).get(index=index_ready, id="kill-2").meta.status == 403


def test_embargoed_items_are_hidden_until_their_time(
    index_ready: str, es_admin: Elasticsearch, writer: Elasticsearch, reader: Elasticsearch
) -> None:
    now = datetime.now(UTC)
    indexer = BulkIndexer(writer, index_ready)
    outcome = indexer.write([
        make_item(id="vis-1", headline="visible story"),
        make_item(id="kill-1", headline="killed story", pubstatus=PubStatus.canceled),
        make_item(id="emb-1", headline="embargoed story", embargoed=now + timedelta(hours=2)),
        make_item(id="emb-2", headline="lifted story", embargoed=now - timedelta(hours=1)),
    ])
    assert sorted(outcome.indexed) == ["emb-1", "emb-2", "kill-1", "vis-1"]
    _refresh(es_admin, index_ready)
    assert _ids(reader, index_ready, ["vis-1", "kill-1", "emb-1", "emb-2"]) == ["emb-2", "vis-1"]


def test_a_new_month_gets_its_index_with_both_aliases(
    index_ready: str, es_admin: Elasticsearch, writer: Elasticsearch, reader: Elasticsearch
) -> None:
    indexer = BulkIndexer(writer, index_ready)
    old = make_item(id="old-1", headline="from the archive",
                    firstcreated=datetime(1990, 5, 4, tzinfo=UTC))
    assert indexer.write([old]).indexed == ["old-1"]
    name = IndexNames(index_ready).index(indexer.generation(), "1990.05")
    aliases = es_admin.indices.get_alias(index=name)[name]["aliases"]
    assert set(aliases) == {index_ready, f"{index_ready}-write"}
    _refresh(es_admin, index_ready)
    assert _ids(reader, index_ready, ["old-1"]) == ["old-1"]


class Injects429:
    """Wraps the real client: on every bulk request a share of the items is
    not sent and answered with a 429 instead, like a node whose write queue
    is full. Everything else goes to the real Elasticsearch."""

    def __init__(self, es: Elasticsearch, share: float, seed: int = 7) -> None:
        self._es = es
        self._share = share
        self._random = random.Random(seed)
        self.sent: list[list[str]] = []
        self.refused: list[list[str]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._es, name)

    def bulk(self, *, operations: bytes, **kwargs: Any) -> dict[str, Any]:
        lines = operations.splitlines(keepends=True)
        pairs = [lines[i : i + 2] for i in range(0, len(lines), 2)]
        refuse = {i for i in range(len(pairs)) if self._random.random() < self._share}
        ids = [json.loads(pair[0])["index"]["_id"] for pair in pairs]
        self.refused.append([ids[i] for i in sorted(refuse)])
        keep = [i for i in range(len(pairs)) if i not in refuse]
        self.sent.append([ids[i] for i in keep])
        answers: dict[int, dict[str, Any]] = {}
        if keep:
            body = b"".join(line for i in keep for line in pairs[i])
            response = self._es.bulk(operations=body, **kwargs)
            answers = dict(zip(keep, response["items"], strict=True))
        items = [
            answers.get(i)
            or {"index": {"_id": ids[i], "status": 429,
                          "error": {"type": "es_rejected_execution_exception",
                                    "reason": "injected: write queue full"}}}
            for i in range(len(pairs))
        ]
        return {"errors": bool(refuse), "items": items}


def test_injected_429s_are_retried_on_the_refused_items_only(
    index_ready: str, es_admin: Elasticsearch, writer: Elasticsearch, reader: Elasticsearch
) -> None:
    client = Injects429(writer, share=0.3)
    indexer = BulkIndexer(client, index_ready, max_attempts=10, backoff_base=0.01)  # type: ignore[arg-type]
    batch = [make_item(id=f"r429-{n}", uri=f"r429-{n}", headline=f"story {n}") for n in range(200)]
    outcome = indexer.write(batch)
    assert sorted(outcome.indexed) == sorted(i.id for i in batch)
    assert outcome.retries >= 1
    # each retry round re-sent exactly what the previous round had refused
    for k in range(1, len(client.sent)):
        assert sorted(client.sent[k] + client.refused[k]) == sorted(client.refused[k - 1])
    assert client.refused[-1] == []
    assert sum(len(s) for s in client.sent) == len(batch)  # nothing written twice
    _refresh(es_admin, index_ready)
    found = reader.count(index=index_ready, query={"prefix": {"id": "r429-"}})["count"]
    assert found == len(batch)


def test_a_document_the_mapping_refuses_is_dead_lettered_with_the_reason(
    index_ready: str, writer: Elasticsearch, redis_db: redis.Redis
) -> None:
    good = make_item(id="dl-good", uri="dl-good")
    bad = make_item(id="dl-bad", uri="dl-bad", urgency=10**12)  # not an integer for ES
    dlq = DeadLetterStore(redis_db)
    outcome = index_batch(Batch(items=[good, bad]), BulkIndexer(writer, index_ready), dlq)
    assert outcome.indexed == ["dl-good"]
    [entry] = list(dlq.iter(stage="index"))
    assert entry.item_ids == ["dl-bad"] and entry.reason == "es_rejected"
    assert entry.message.startswith("400 ") and "urgency" in entry.message
    assert Batch.model_validate(entry.payload).items[0].id == "dl-bad"


def test_elasticsearch_unreachable_raises_transient_and_loses_nothing(
    settings: Settings, index_ready: str, redis_db: redis.Redis
) -> None:
    dead = Elasticsearch("http://127.0.0.1:9", request_timeout=2, max_retries=0)
    indexer = BulkIndexer(dead, index_ready, backoff_base=0.01)
    dlq = DeadLetterStore(redis_db)
    with pytest.raises(ServiceUnavailable) as caught:
        index_batch(Batch(items=[make_item(id="down-1")]), indexer, dlq)
    assert caught.value.reason == "es_unavailable"
    assert dlq.count() == 0  # the task retries the whole batch later
    dead.close()


def test_every_listed_node_is_used_so_a_dead_one_is_passed_over(
    settings: Settings, index_ready: str, redis_db: redis.Redis, es_admin: Elasticsearch,
    reader: Elasticsearch,
) -> None:
    """WIRESTREAM_ES__URL lists the nodes of a cluster: the pipeline's client
    sends to all of them. Here the first one listed answers nothing; a batch
    the stage could not write raises and is sent again, as its task retries,
    and every story is written once, through the node that answers. A client
    that used the first URL alone would never write."""
    dead = "http://127.0.0.1:9"
    listed = settings.model_copy(update={"es": settings.es.model_copy(
        update={"url": f"{dead},{settings.es.url}"})})
    assert listed.es.urls == [dead, settings.es.url]
    writer = es_client(listed)
    indexer = BulkIndexer(writer, index_ready, backoff_base=0.01)
    dlq = DeadLetterStore(redis_db)
    run = uuid.uuid4().hex[:8]
    items = [make_item(id=f"nodes-{run}-{n}", uri=f"nodes-{run}-{n}") for n in range(10)]
    refused = 0
    for _ in range(5):
        try:
            outcome = index_batch(Batch(items=items), indexer, dlq)
            break
        except ServiceUnavailable:
            refused += 1
    else:
        pytest.fail("five sends and nothing written: the second node was never tried")
    writer.close()
    assert sorted(outcome.indexed) == sorted(i.id for i in items)
    assert refused <= 1 and dlq.count() == 0
    _refresh(es_admin, index_ready)
    assert _ids(reader, index_ready, [i.id for i in items]) == sorted(i.id for i in items)


def test_reenrichment_replaces_an_equal_version_but_never_an_older_one(
    settings: Settings, index_ready: str, es_admin: Elasticsearch
) -> None:
    from services.index.names import IndexNames

    writer = es_client(settings)
    indexer = BulkIndexer(writer, index_ready)
    v1 = make_item(id="reenrich-1", headline="same story", version=1)
    assert indexer.write([v1]).indexed == ["reenrich-1"]
    again = v1.model_copy(update={"byline": "re-enriched"})
    # plain redelivery of an equal version stays a no-op
    assert indexer.write([again]).stale == ["reenrich-1"]
    # re-enrichment replaces it
    assert indexer.write([again], replace_equal=True).indexed == ["reenrich-1"]
    older = v1.model_copy(update={"versioncreated": v1.versioncreated - timedelta(hours=1),
                                  "byline": "older"})
    assert indexer.write([older], replace_equal=True).stale == ["reenrich-1"]
    _refresh(es_admin, index_ready)
    hits = es_admin.search(index=IndexNames(index_ready).read_alias,
                           query={"ids": {"values": ["reenrich-1"]}})["hits"]["hits"]
    assert [h["_source"]["byline"] for h in hits] == ["re-enriched"]
    writer.close()


def test_byline_role_is_indexed_and_filterable(
    settings: Settings, index_ready: str, es_admin: Elasticsearch
) -> None:
    """The byline's role line (ingest splits "By Jo Lee" / "AP Business
    Writer") is a mapped keyword a consumer filters on."""
    from services.index.names import IndexNames

    writer = es_client(settings)
    item = make_item(id="byline-role-1", headline="role story", byline="Jo Lee",
                     byline_role="AP Business Writer")
    assert BulkIndexer(writer, index_ready).write([item]).indexed == ["byline-role-1"]
    _refresh(es_admin, index_ready)
    hits = es_admin.search(index=IndexNames(index_ready).read_alias,
                           query={"term": {"byline_role": "AP Business Writer"}})["hits"]["hits"]
    assert [(h["_id"], h["_source"]["byline"]) for h in hits] == [("byline-role-1", "Jo Lee")]
    writer.close()
