"""Integration fixtures: the real local services, isolated per test session.

Every session gets its own Redis database (broker queues, source registry,
version gate and dead letters included) and its own index prefix, so tests
never see the demo's data or each other's. Workers started by the tests get
the same environment.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
import redis
from elasticsearch import Elasticsearch

from shared.settings import Settings

if TYPE_CHECKING:
    from services.enrich.stage import Models

ROOT = Path(__file__).resolve().parents[2]
# Redis database reserved for tests (the pipeline itself uses 0). Two test
# sessions running at once on one machine must pick different databases.
TEST_DB = int(os.environ.get("WIRESTREAM_TEST_REDIS_DB", "9"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def services() -> dict[str, str]:
    from wirestream.dev.local_services import LocalServices

    return LocalServices(ROOT, echo=lambda _: None).up()


@pytest.fixture(scope="session")
def test_env(services: dict[str, str]) -> Iterator[dict[str, str]]:
    prefix = f"wirestream-news-t{uuid.uuid4().hex[:8]}"
    env = {
        "WIRESTREAM_ENV_FILE": str(ROOT / "var" / "local.env"),
        "WIRESTREAM_REDIS__URL": services["WIRESTREAM_REDIS__URL"].rsplit("/", 1)[0]
        + f"/{TEST_DB}",
        "WIRESTREAM_ES__INDEX_PREFIX": prefix,
        "WIRESTREAM_INGEST__ALLOW_LOOPBACK": "true",
        "WIRESTREAM_LOG_LEVEL": "INFO",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    settings = Settings()
    client = redis.Redis.from_url(settings.redis.url,
                                  password=settings.redis.password.get_secret_value()
                                  if settings.redis.password else None)
    client.flushdb()
    client.close()
    yield env
    admin = admin_es(settings)
    # Wildcard deletes are refused (destructive_requires_name): list, then name.
    names = list(admin.indices.get(index=f"{prefix}-*", allow_no_indices=True).keys())
    if names:
        admin.indices.delete(index=",".join(names))
    admin.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}-v1")
    admin.close()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def admin_es(settings: Settings) -> Elasticsearch:
    from shared.runtime import es_client

    return es_client(settings, role="admin")


@pytest.fixture(scope="session")
def settings(test_env: dict[str, str]) -> Settings:
    return Settings()


@pytest.fixture
def redis_db(settings: Settings) -> Iterator[redis.Redis]:
    from shared.runtime import redis_client

    client = redis_client(settings)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture(scope="session")
def es_admin(settings: Settings) -> Iterator[Elasticsearch]:
    client = admin_es(settings)
    yield client
    client.close()


@pytest.fixture(scope="session")
def index_ready(settings: Settings, es_admin: Elasticsearch) -> str:
    from services.index.setup import setup_index

    setup_index(es_admin, settings.es.index_prefix)
    return settings.es.index_prefix


@pytest.fixture
def http(settings: Settings) -> Iterator[httpx.Client]:
    """The enrich worker's HTTP client (translator and NER server)."""
    from services.enrich.adapters.translation_backends import http_client

    with http_client(settings.translator) as client:
        yield client


@pytest.fixture
def models(settings: Settings, redis_db: redis.Redis, http: httpx.Client) -> Models:
    """Every enrich model against the real services, as a worker loads them."""
    from services.enrich.loading import load_models

    return load_models(settings, redis_db, http)
