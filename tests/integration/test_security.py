"""Elasticsearch security as the pipeline relies on it (real node).

* no or wrong credentials: 401 everywhere;
* the consumer (reader) can search the read alias and nothing else: no
  writes, no deletes, no GET by id (which would bypass the alias filter), no
  concrete indices, no alias changes;
* the writer can index into (and create) wirestream indices only: it cannot
  read anything, touch other indices, delete documents or indices, change
  aliases, settings or cluster settings. (Elasticsearch 9 still lets the
  `index` privilege add *new* fields with a put-mapping request, a deprecated
  compatibility rule; the strict mapping refuses anything else.)
* `wirestream index setup`'s own role check agrees.
"""

from __future__ import annotations

import httpx
import pytest
from elasticsearch import Elasticsearch

from services.index.adapters.bulk import current_generation
from services.index.names import IndexNames
from services.index.setup import check_roles
from shared.settings import Settings


def _call(settings: Settings, method: str, path: str, auth: tuple[str, str] | None,
          json: object | None = None, content: bytes | None = None) -> httpx.Response:
    headers = {"content-type": "application/x-ndjson"} if content is not None else None
    return httpx.request(method, settings.es.url + path, auth=auth, json=json, content=content,
                         headers=headers, timeout=30)


def _creds(settings: Settings, role: str) -> tuple[str, str]:
    es = settings.es
    user, secret = {
        "writer": (es.username, es.password),
        "reader": (es.reader_username, es.reader_password),
    }[role]
    assert secret is not None
    return user, secret.get_secret_value()


def _live_index(es_admin: Elasticsearch, prefix: str) -> str:
    names = IndexNames(prefix)
    return sorted(es_admin.indices.get_alias(name=names.write_alias))[0]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/_cluster/health"),
        ("GET", "/{alias}/_search"),
        ("POST", "/{alias}/_count"),
        ("PUT", "/{alias}-write/_doc/x"),
    ],
)
def test_no_credentials_is_401(settings: Settings, index_ready: str, method: str,
                               path: str) -> None:
    url = path.format(alias=index_ready)
    assert _call(settings, method, url, None, {"id": "x"} if method == "PUT" else None
                 ).status_code == 401
    user, _ = _creds(settings, "reader")
    assert _call(settings, method, url, (user, "wrong-password")).status_code == 401


def test_reader_searches_the_alias_and_nothing_else(
    settings: Settings, index_ready: str, es_admin: Elasticsearch
) -> None:
    reader = _creds(settings, "reader")
    concrete = _live_index(es_admin, index_ready)
    assert _call(settings, "GET", f"/{index_ready}/_search", reader).status_code == 200
    assert _call(settings, "POST", f"/{index_ready}/_count", reader).status_code == 200
    refused = [
        ("PUT", f"/{index_ready}/_doc/x", {"id": "x"}),
        ("PUT", f"/{index_ready}-write/_doc/x", {"id": "x"}),
        ("DELETE", f"/{index_ready}-write/_doc/x", None),
        ("DELETE", f"/{concrete}", None),
        ("GET", f"/{index_ready}/_doc/x", None),  # GET by id ignores the alias filter
        ("POST", f"/{index_ready}/_mget", {"ids": ["x"]}),
        ("GET", f"/{concrete}/_search", None),  # the unfiltered concrete index
        ("GET", f"/{index_ready}-write/_search", None),  # the unfiltered write alias
        ("POST", "/_aliases", {"actions": [{"add": {"index": concrete, "alias": "mine"}}]}),
        ("GET", "/.security/_search", None),
        ("PUT", "/_cluster/settings", {"persistent": {"cluster.routing.allocation.enable":
                                                      "none"}}),
    ]
    for method, path, body in refused:
        response = _call(settings, method, path, reader, body)
        assert response.status_code == 403, (method, path, response.text)
    bulk = b'{"index":{"_index":"%s","_id":"x"}}\n{"id":"x"}\n' % concrete.encode()
    response = _call(settings, "POST", "/_bulk", reader, content=bulk)
    assert response.status_code == 403 or response.json()["items"][0]["index"]["status"] == 403


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/.security/_search", None),
        ("PUT", "/other-index", None),
        ("PUT", "/other-index/_doc/1", {"x": 1}),
        (
            "PUT",
            "/_cluster/settings",
            {"persistent": {"cluster.routing.allocation.enable": "none"}},
        ),
        ("PUT", "/_index_template/evil", {"index_patterns": ["x*"]}),
        ("GET", "/{alias}/_search", None),
        ("GET", "/{concrete}/_search", None),
        ("GET", "/{alias}/_doc/x", None),
        ("DELETE", "/{concrete}", None),
        ("DELETE", "/{concrete}/_doc/x", None),  # kills are tombstones, never deletes
        # the update API reads: `_source=true` answers with the stored story,
        # and "document missing" tells which ids exist
        ("POST", "/{concrete}/_update/x?_source=true", {"doc": {}}),
        ("POST", "/{alias}/_update/x?_source=true", {"doc": {}}),
        ("PUT", "/{concrete}/_settings", {"index.blocks.write": True}),
        ("POST", "/_aliases", {"actions": [{"remove": {"index": "{concrete}",
                                                       "alias": "{alias}"}}]}),
    ],
)
def test_writer_cannot_read_or_administer(
    settings: Settings, index_ready: str, es_admin: Elasticsearch, method: str, path: str,
    body: object | None,
) -> None:
    concrete = _live_index(es_admin, index_ready)
    fill = {"{alias}": index_ready, "{concrete}": concrete}
    for key, value in fill.items():
        path = path.replace(key, value)
    if body is not None:
        text = httpx.Response(200, json=body).text
        for key, value in fill.items():
            text = text.replace(key, value)
        body = httpx.Response(200, content=text.encode()).json()
    response = _call(settings, method, path, _creds(settings, "writer"), body)
    assert response.status_code == 403, response.text


def test_writer_can_write_and_create_wirestream_indices(
    settings: Settings, index_ready: str, es_admin: Elasticsearch
) -> None:
    writer = _creds(settings, "writer")
    assert _call(settings, "GET", "/_cluster/health", writer).status_code == 200
    names = IndexNames(index_ready)
    new = names.index(current_generation(es_admin, names), "1999.01")
    response = _call(settings, "PUT", f"/{new}", writer)
    assert response.status_code == 200, response.text
    bulk = b'{"index":{"_index":"%s","_id":"w1","version":1,"version_type":"external"}}\n' \
           b'{"id":"w1"}\n' % new.encode()
    response = _call(settings, "POST", "/_bulk", writer, content=bulk)
    assert response.json()["items"][0]["index"]["status"] == 201, response.text


def test_writer_cannot_read_a_stored_story_through_update(
    settings: Settings, index_ready: str, es_admin: Elasticsearch
) -> None:
    writer = _creds(settings, "writer")
    concrete = _live_index(es_admin, index_ready)
    doc = b'{"index":{"_index":"%s","_id":"probe-1","version":5,"version_type":"external"}}\n' \
          b'{"id":"probe-1","headline":"embargoed until noon"}\n' % concrete.encode()
    written = _call(settings, "POST", "/_bulk", writer, content=doc).json()
    assert written["items"][0]["index"]["status"] in (200, 201), written
    for existing in ("probe-1", "no-such-id"):
        # one 403 for an id that exists and one that does not: no oracle
        one = _call(settings, "POST", f"/{concrete}/_update/{existing}?_source=true", writer,
                    {"doc": {}})
        assert one.status_code == 403 and "embargoed" not in one.text, one.text
        update = b'{"update":{"_index":"%s","_id":"%s"}}\n{"doc":{},"_source":true}\n' % (
            concrete.encode(), existing.encode())
        item = _call(settings, "POST", "/_bulk", writer, content=update).json()["items"][0]
        assert item["update"]["status"] == 403 and "embargoed" not in str(item), item
    # and the pipeline's own write still works: a newer external version
    newer = doc.replace(b'"version":5', b'"version":6')
    item = _call(settings, "POST", "/_bulk", writer, content=newer).json()["items"][0]
    assert item["index"]["status"] == 200, item
    es_admin.delete(index=concrete, id="probe-1", refresh=True)


def test_the_setup_role_check_agrees(
    settings: Settings, index_ready: str, es_admin: Elasticsearch
) -> None:
    names = IndexNames(index_ready)
    users = {"writer": settings.es.username, "reader": settings.es.reader_username}
    assert check_roles(es_admin, names, current_generation(es_admin, names), users) == []


def test_credentials_never_appear_in_settings_repr(settings: Settings) -> None:
    secrets = [s.get_secret_value() for s in (settings.es.password, settings.es.reader_password,
                                              settings.es.admin_password) if s is not None]
    shown = repr(settings) + str(settings.model_dump())
    assert secrets and not any(secret in shown for secret in secrets)
