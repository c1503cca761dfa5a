"""The entity directory: which entity ids are one entity now.

Documents keep the entity ids they were indexed with (``entity_ids`` and
``entities.id``): an operator's merge, unmerge or split in the registry
rewrites no document. Instead the directory index ``<prefix>-entities``
holds, for every id of every merge group the registry has had, one small
document (its ``_id`` is the entity id)::

    {"id": "person-3f2a...", "survivor": "person-3f2a...",
     "ids": ["person-3f2a...", "person-9b1c..."], "updated": "2026-12-05T23:01:00Z"}

and a search for an entity follows merges through Elasticsearch's terms
lookup (:func:`entity_clause`; an id that was never merged has no directory
document and matches by the plain term)::

    {"bool": {"should": [
        {"term": {"entity_ids": ID}},
        {"terms": {"entity_ids": {"index": "<prefix>-entities", "id": ID, "path": "ids"}}}]}}

Whichever id of a group a consumer holds - the survivor's, or one merged
into it long after they stored it - finds every document of the entity;
after an unmerge each side finds its own documents again.

Written by ``wirestream entities merge|unmerge|load|publish`` as the writer
(``index`` privilege on ``wirestream-*``); read by search consumers (the
reader may ``get`` from this index only, which the terms lookup needs).
Redis stays the truth: ``wirestream entities publish`` rewrites every group.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from elasticsearch import Elasticsearch, helpers

from services.index.names import IndexNames

__all__ = ["DIRECTORY_MAPPING", "create_directory", "entity_clause", "publish_groups"]

DIRECTORY_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "id": {"type": "keyword"},
        "survivor": {"type": "keyword"},
        "ids": {"type": "keyword"},
        "updated": {"type": "date"},
    },
}
DIRECTORY_SETTINGS: dict[str, Any] = {
    "number_of_shards": 1,
    # small, read by every entity search: a copy on every node that can hold one
    "auto_expand_replicas": "0-all",
}


def create_directory(es: Elasticsearch, names: IndexNames) -> bool:
    """Create the directory index if it is missing (``index setup`` does,
    as the admin); True when it was created."""
    if es.indices.exists(index=names.entities):
        es.indices.put_mapping(index=names.entities, dynamic=DIRECTORY_MAPPING["dynamic"],
                               properties=DIRECTORY_MAPPING["properties"])
        return False
    answer = es.options(ignore_status=400).indices.create(
        index=names.entities, mappings=DIRECTORY_MAPPING, settings=DIRECTORY_SETTINGS)
    return bool(answer.body.get("acknowledged"))


def _actions(index: str, groups: Iterable[tuple[str, Sequence[str]]],
             now: datetime) -> Iterable[dict[str, Any]]:
    stamp = now.isoformat().replace("+00:00", "Z")
    for survivor, ids in groups:
        members = sorted(set(ids) | {survivor})
        for entity_id in members:
            yield {"_op_type": "index", "_index": index, "_id": entity_id,
                   "_source": {"id": entity_id, "survivor": survivor, "ids": members,
                               "updated": stamp}}


def publish_groups(es: Elasticsearch, names: IndexNames,
                   groups: Iterable[tuple[str, Sequence[str]]],
                   now: datetime | None = None) -> int:
    """Write one directory document per id of each (survivor, ids) group; an
    id alone (unmerged) is a group of itself. Returns the documents written;
    raises :class:`elasticsearch.helpers.BulkIndexError` if any failed."""
    written, _ = helpers.bulk(es, _actions(names.entities, groups, now or datetime.now(UTC)),
                              refresh="wait_for", stats_only=True)
    return int(written)


def entity_clause(entity_id: str, names: IndexNames) -> list[dict[str, Any]]:
    """The ``should`` clauses that find documents of ``entity_id`` or of any
    id merged with it (see the module docstring)."""
    return [
        {"term": {"entity_ids": entity_id}},
        {"terms": {"entity_ids": {"index": names.entities, "id": entity_id, "path": "ids"}}},
    ]
