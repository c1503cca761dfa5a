"""Elasticsearch security as the pipeline relies on it (real node)."""

from __future__ import annotations

import httpx
import pytest

from shared.settings import Settings


def _call(settings: Settings, method: str, path: str, auth: tuple[str, str] | None,
          json: object | None = None) -> httpx.Response:
    return httpx.request(method, settings.es.url + path, auth=auth, json=json, timeout=30)


def _creds(settings: Settings, role: str) -> tuple[str, str]:
    es = settings.es
    user, secret = {
        "writer": (es.username, es.password),
        "reader": (es.reader_username, es.reader_password),
    }[role]
    assert secret is not None
    return user, secret.get_secret_value()


def test_no_credentials_is_401(settings: Settings) -> None:
    assert _call(settings, "GET", "/_cluster/health", None).status_code == 401
    assert _call(settings, "GET", f"/{settings.es.index_prefix}/_search", None).status_code == 401


def test_reader_cannot_write_or_delete(settings: Settings, index_ready: str) -> None:
    reader = _creds(settings, "reader")
    assert _call(settings, "GET", f"/{index_ready}/_search", reader).status_code == 200
    put = _call(settings, "PUT", f"/{index_ready}/_doc/x", reader, {"id": "x"})
    assert put.status_code == 403
    from datetime import UTC, datetime

    concrete = f"{index_ready}-v1-{datetime.now(UTC):%Y.%m}"
    delete = _call(settings, "DELETE", f"/{concrete}", reader)
    assert delete.status_code == 403


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/.security/_search", None),
        ("PUT", "/other-index", None),
        (
            "PUT",
            "/_cluster/settings",
            {"persistent": {"cluster.routing.allocation.enable": "none"}},
        ),
        ("PUT", "/_index_template/evil", {"index_patterns": ["x*"]}),
    ],
)
def test_writer_cannot_touch_other_indices_or_cluster_settings(
    settings: Settings, method: str, path: str, body: object | None
) -> None:
    response = _call(settings, method, path, _creds(settings, "writer"), body)
    assert response.status_code == 403, response.text


def test_writer_can_write_wirestream_indices(settings: Settings, index_ready: str) -> None:
    writer = _creds(settings, "writer")
    response = _call(settings, "GET", "/_cluster/health", writer)
    assert response.status_code == 200
    response = _call(settings, "PUT", f"/{index_ready}-v1-1999.01", writer)
    assert response.status_code == 200, response.text
    # reading is not the writer's job
    assert _call(settings, "GET", f"/{index_ready}-v1-1999.01/_search", writer).status_code == 403
