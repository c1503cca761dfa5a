"""Fixtures shared by the fault, hostile-input and security suites: the
local services, the rig (private Redis, proxies in front of Elasticsearch and
APy, a feed server, an isolated index prefix) and its work directory.

A conftest imports the fixtures it wants by name (``from
tests.faults._fixtures import rig, services``); each suite then gets its own
rig for its session.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from tests.faults._rig import (
    INJECT_DIR,
    PIPELINE_ROLES,
    ROOT,
    FaultProxy,
    PrivateRedis,
    Rig,
    timing_env,
)
from wirestream.dev.harness import FeedServer

TEST_DB = int(os.environ.get("WIRESTREAM_TEST_REDIS_DB", "9"))


@pytest.fixture(scope="session")
def services() -> dict[str, str]:
    from wirestream.dev.local_services import LocalServices

    return LocalServices(ROOT, echo=lambda _: None).up()


def build_rig(
    work: Path, services: dict[str, str], *, db: int = TEST_DB,
    extra_env: dict[str, str] | None = None, redis_server: Any = None,
) -> Rig:
    """``redis_server``: a started Redis of the rig's own (PrivateRedis's
    interface: ``url``, ``password``, ``credentials``, ``stop``); by default
    a PrivateRedis started here."""
    if redis_server is None:
        redis_server = PrivateRedis(work / "redis")
        redis_server.start()
    proxy = FaultProxy(services["WIRESTREAM_ES__URL"])
    proxy.start()
    apy_proxy = FaultProxy(services["WIRESTREAM_TRANSLATOR__APERTIUM_URL"])
    apy_proxy.start()
    # the reader role may search the read alias of test sessions:
    # wirestream-news-t<8 hex digits> (deploy/elasticsearch/roles.yml)
    prefix = f"wirestream-news-t{uuid.uuid4().hex[:8]}"
    (work / "log").mkdir(parents=True, exist_ok=True)
    env = {
        "WIRESTREAM_ENV_FILE": str(ROOT / "var" / "local.env"),
        "WIRESTREAM_REDIS__URL": redis_server.url(db),
        "WIRESTREAM_REDIS__PASSWORD": redis_server.password,
        "WIRESTREAM_ES__URL": proxy.url,
        "WIRESTREAM_TRANSLATOR__BACKEND": "apertium",
        "WIRESTREAM_TRANSLATOR__APERTIUM_URL": apy_proxy.url,
        "WIRESTREAM_ES__INDEX_PREFIX": prefix,
        "WIRESTREAM_INGEST__ALLOW_LOOPBACK": "true",
        # one loopback "host" serves every feed: no politeness delay here
        "WIRESTREAM_INGEST__HOST_MIN_DELAY": "0.01",
        "WIRESTREAM_INGEST__HOST_CONCURRENCY": "8",
        "WIRESTREAM_LOG_LEVEL": "INFO",
        "PYTHONPATH": str(INJECT_DIR),
        "WIRESTREAM_FAULT_JAIL_LOG": str(work / "jail.jsonl"),
        **timing_env(),
        **(extra_env or {}),
    }
    es_admin = Elasticsearch(
        services["WIRESTREAM_ES__URL"],
        basic_auth=("elastic", services["WIRESTREAM_ES__ADMIN_PASSWORD"]),
        request_timeout=60,
    )
    from services.index.setup import setup_index

    setup_index(es_admin, prefix)
    server = FeedServer()
    server.__enter__()
    return Rig(env=env, prefix=prefix, redis_server=redis_server, db=db, proxy=proxy,
               apy_proxy=apy_proxy, es_admin=es_admin, server=server, work=work)


def teardown_rig(rig: Rig) -> None:
    # the workers and the scheduler ran as their roles' Redis users: none
    # was refused a command, key or channel (Redis's ACL log, since its
    # last start)
    client = rig.redis()
    try:
        refused = [e for e in client.acl_log() if e.get("username") in PIPELINE_ROLES]
    finally:
        client.close()
    rig.server.__exit__(None, None, None)
    rig.proxy.close()
    rig.apy_proxy.close()
    admin = rig.es_admin
    # wildcard deletes are refused (destructive_requires_name): list, then name
    names = list(admin.indices.get(index=f"{rig.prefix}-v*-*", allow_no_indices=True))
    if names:
        admin.indices.delete(index=",".join(names))
    templates = admin.options(ignore_status=404).indices.get_index_template(
        name=f"{rig.prefix}-v*"
    )
    for template in templates.get("index_templates", []):
        admin.indices.delete_index_template(name=template["name"])
    admin.close()
    rig.redis_server.stop()
    assert refused == [], f"Redis refused the pipeline's users: {refused[:3]}"


def work_dir(kind: str) -> Path:
    """``var/<kind>/<time>-<pid>``: logs, jail log and the private Redis of one
    session, kept for reading after a failure (the three latest are kept)."""
    base = ROOT / "var" / kind
    base.mkdir(parents=True, exist_ok=True)
    for old in sorted(base.iterdir())[:-2]:
        shutil.rmtree(old, ignore_errors=True)
    work = base / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    work.mkdir()
    return work


@pytest.fixture(scope="session")
def rig_kind() -> str:
    """Name of the work directory under var/; a suite's conftest overrides it."""
    return "faults"


@pytest.fixture(scope="session")
def rig_env() -> dict[str, str]:
    """Extra environment of the rig's processes; a suite's conftest overrides it."""
    return {}


@pytest.fixture(scope="session")
def rig(services: dict[str, str], rig_kind: str, rig_env: dict[str, str]) -> Iterator[Rig]:
    built = build_rig(work_dir(rig_kind), services, extra_env=rig_env)
    try:
        yield built
    finally:
        teardown_rig(built)
