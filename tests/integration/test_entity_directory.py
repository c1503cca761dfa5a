"""Merges and unmerges in the registry are followed by searches without
re-indexing: the entity directory in the real Elasticsearch, written by the
operator commands against the real Redis, read by the reader's terms lookup."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis
from elasticsearch import AuthorizationException, Elasticsearch
from typer.testing import CliRunner

from services.enrich.adapters.entity_registry import EntityRegistry
from services.enrich.aliases import Candidate
from services.enrich.names import clean_surface, name_key, person_parts
from services.index.adapters.bulk import BulkIndexer
from services.index.names import IndexNames
from services.index.search import SearchFilters, search_body
from shared.models import Enrichment, Entity, Mention
from shared.runtime import es_client
from shared.settings import Settings
from tests.unit.test_shared import make_item


def person(surface: str) -> Candidate:
    name = clean_surface(surface, "PERSON")
    given, surname = person_parts(name)
    return Candidate(type="PERSON", name=name, key=name_key(name, "PERSON"), variants=[name],
                     surname=surname, surname_only=not given)


def story(doc_id: str, entity_id: str, name: str) -> Any:
    text = f"{name} spoke on Monday."
    item = make_item(id=doc_id, headline=f"story {doc_id}", body_text=text)
    entity = Entity(id=entity_id, type="PERSON", name=name, variants=[name],
                    mentions=[Mention(field="body_text", start=0, end=len(name), surface=name)])
    return item.model_copy(update={"enrichment": Enrichment(entities=[entity])})


@pytest.fixture
def clients(settings: Settings) -> Iterator[tuple[Elasticsearch, Elasticsearch]]:
    writer, reader = es_client(settings), es_client(settings, role="reader")
    yield writer, reader
    writer.close()
    reader.close()


def found(reader: Elasticsearch, prefix: str, entity: str) -> list[str]:
    body = search_body("", SearchFilters(entity=entity), 50, prefix)
    hits = reader.search(index=prefix, **body)["hits"]["hits"]
    return sorted(h["_id"] for h in hits if h["_id"].startswith("dir-"))


def test_a_search_by_id_follows_a_merge_and_its_undoing(
    index_ready: str, redis_db: redis.Redis, clients: tuple[Elasticsearch, Elasticsearch],
    es_admin: Elasticsearch, monkeypatch: Any,
) -> None:
    from wirestream import enrich_cli as cli

    writer, reader = clients
    admin = es_admin
    registry = EntityRegistry(redis_db)
    monkeypatch.setattr(cli, "_registry", lambda: EntityRegistry(redis_db))
    # two ids for one man, as a registry can end up with before an operator
    # looks: each indexed with its own documents
    [(full, _)] = registry.resolve([person("Edward Heath")])
    [(other, _)] = registry.resolve([person("Ted Heath")])
    [(third, _)] = registry.resolve([person("Annalena Baerbock")])
    assert len({full, other, third}) == 3
    outcome = BulkIndexer(writer, index_ready).write([
        story("dir-1", full, "Edward Heath"), story("dir-2", other, "Ted Heath"),
        story("dir-3", third, "Annalena Baerbock")])
    assert outcome.counts()["indexed"] == 3, outcome.counts()
    admin.indices.refresh(index=f"{index_ready}-*")
    assert found(reader, index_ready, full) == ["dir-1"]

    merged = CliRunner().invoke(cli.entities_app, ["merge", full, other])
    assert merged.exit_code == 0, merged.output
    assert "entity directory: 2 id(s) in 1 group(s) written" in merged.output
    admin.indices.refresh(index=f"{index_ready}-*")
    # whichever id a consumer holds, it finds both documents; nothing was re-indexed
    assert found(reader, index_ready, full) == ["dir-1", "dir-2"]
    assert found(reader, index_ready, other) == ["dir-1", "dir-2"]
    assert found(reader, index_ready, third) == ["dir-3"]  # never merged: no directory entry
    assert [e["kind"] for e in registry.review(5)][:1] == ["merge"]

    undone = CliRunner().invoke(cli.entities_app, ["unmerge", other])
    assert undone.exit_code == 0, undone.output
    admin.indices.refresh(index=f"{index_ready}-*")
    assert found(reader, index_ready, full) == ["dir-1"]
    assert found(reader, index_ready, other) == ["dir-2"]
    # the registry is as before the merge: each spelling resolves to its own id
    assert registry.resolve([person("Ted Heath")])[0][0] == other
    assert registry.resolve([person("Edward Heath")])[0][0] == full
    assert [e["kind"] for e in registry.review(5)][:1] == ["unmerge"]

    # a full publish (after a failed update, a new cluster) writes the same
    republished = CliRunner().invoke(cli.entities_app, ["publish"])
    assert republished.exit_code == 0, republished.output
    directory = IndexNames(index_ready).entities
    admin.indices.refresh(index=directory)
    assert admin.get(index=directory, id=other)["_source"]["ids"] == [other]


def test_the_reader_may_read_the_directory_and_nothing_more(
    index_ready: str, clients: tuple[Elasticsearch, Elasticsearch],
) -> None:
    _, reader = clients
    directory = IndexNames(index_ready).entities
    with pytest.raises(AuthorizationException):
        reader.index(index=directory, id="person-x", document={"id": "person-x"})
    # reading (what the terms lookup does) is allowed: a missing id is a 404, not a 403
    assert reader.options(ignore_status=404).get(index=directory, id="nobody").meta.status == 404


def test_a_failed_directory_update_says_how_to_repeat_it(
    index_ready: str, redis_db: redis.Redis, monkeypatch: Any,
) -> None:
    from wirestream import enrich_cli as cli

    registry = EntityRegistry(redis_db)
    monkeypatch.setattr(cli, "_registry", lambda: EntityRegistry(redis_db))
    [(a, _)] = registry.resolve([person("Edward Heath")])
    [(b, _)] = registry.resolve([person("Ted Heath")])
    monkeypatch.setenv("WIRESTREAM_ES__PASSWORD", "not-the-password")
    result = CliRunner().invoke(cli.entities_app, ["merge", a, b])
    assert result.exit_code == 1
    assert "wirestream entities publish" in result.output
    assert registry.get(b) is not None and registry.get(b).merged_into == a  # type: ignore[union-attr]
