"""Redis users per role (deploy/redis/users.acl.in) on the local Redis as
`wirestream services up` configures it: each role is refused what is not its
own (FLUSHALL, CONFIG, another stage's keys, writes for the exporter) and can
do its own job through the real adapters. That the workers need nothing more
is shown by the end-to-end test (tests/integration/test_pipeline.py), whose
processes log in as these users and leave Redis's ACL log empty."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from services.enrich.adapters.clusters import ClusterIndex
from services.enrich.adapters.entity_registry import EntityRegistry
from services.enrich.aliases import Candidate
from services.ingest.adapters.gate import VersionGate
from services.ingest.adapters.source_registry import SourceRegistry
from services.ingest.sources import Source
from shared.dlq import DeadLetterStore
from shared.settings import Settings
from tests.faults._fixtures import TEST_DB
from tests.unit.test_shared import make_item
from wirestream.dev.redis_users import ROLES, password_variable
from wirestream.ops.exporter import collect_state

# A key of each group (deploy/redis/users.acl.in) and the roles that own it
KEYS = {
    "wirestream:item:x": {"ingest", "scheduler", "operator"},
    "wirestream:host:example.org:next": {"ingest", "operator"},
    "wirestream:sources": {"ingest", "scheduler", "operator"},
    "wirestream:scheduler:heartbeat": {"scheduler", "operator"},
    "wirestream:reconcile:stats": {"scheduler", "operator"},
    "ws:ent:alias": {"enrich", "operator"},
    "ws:lsh:a32:c:x": {"enrich", "operator"},
    "ws:enrich:tr:apertium:spa|eng:x": {"enrich", "operator"},
    "wirestream:dlq": {"ingest", "enrich", "index", "scheduler", "operator"},
    "enrich": {"ingest", "enrich", "index", "scheduler", "operator"},  # a queue
}


def _login(services: dict[str, str], role: str) -> redis.Redis:
    url = services["WIRESTREAM_REDIS__URL"].rsplit("/", 1)[0] + f"/{TEST_DB}"
    return redis.Redis.from_url(url, username=role,
                                password=services[password_variable(role)], socket_timeout=10)


@pytest.fixture
def users(services: dict[str, str]) -> Iterator[Callable[[str], redis.Redis]]:
    opened: list[redis.Redis] = []

    def login(role: str) -> redis.Redis:
        client = _login(services, role)
        opened.append(client)
        return client

    yield login
    for client in opened:
        client.close()


def _refused(call: Callable[[], Any]) -> bool:
    try:
        call()
    except redis.exceptions.NoPermissionError:
        return True
    return False


# Asked with ACL DRYRUN (as the administrator): whether the user may run a
# command, without running it - a wrong rule must not flush the test Redis.
DESTRUCTIVE = [("FLUSHALL",), ("FLUSHDB",), ("CONFIG", "SET", "maxmemory-policy", "allkeys-lru"),
               ("SHUTDOWN",), ("SWAPDB", "0", "1"), ("DEBUG", "SLEEP", "0"),
               ("SCRIPT", "KILL"), ("REPLICAOF", "127.0.0.1", "1"), ("MIGRATE", "h", "1", "k", "0",
                                                                       "1")]


@pytest.mark.parametrize("role", ROLES)
def test_no_role_may_flush_reconfigure_or_administer(
        role: str, users: Callable[[str], redis.Redis], admin: redis.Redis) -> None:
    for command in DESTRUCTIVE:
        answer = admin.execute_command("ACL", "DRYRUN", role, *command)
        assert answer not in (b"OK", "OK"), f"{role} may {' '.join(command)}"
    client = users(role)
    assert client.ping()
    for name, call in [
        ("CONFIG GET", lambda: client.config_get("requirepass")),
        ("KEYS", lambda: client.keys("*")),
        ("ACL LIST", lambda: client.acl_list()),
        ("ACL SETUSER", lambda: client.acl_setuser(role, enabled=True, keys=["*"])),
        ("CLIENT LIST", lambda: client.client_list()),
        ("MONITOR", lambda: client.execute_command("MONITOR")),
    ]:
        assert _refused(call), f"{role} may {name}"


@pytest.fixture
def admin(services: dict[str, str]) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(services["WIRESTREAM_REDIS__URL"].rsplit("/", 1)[0]
                                  + f"/{TEST_DB}",
                                  password=services["WIRESTREAM_REDIS__PASSWORD"])
    yield client
    client.close()


@pytest.mark.parametrize("role", [r for r in ROLES if r != "exporter"])
def test_each_role_reaches_its_own_keys_and_no_other_stage_s(
        role: str, users: Callable[[str], redis.Redis]) -> None:
    client = users(role)
    for key, owners in KEYS.items():
        read = _refused(lambda key=key: client.type(key))
        write = _refused(lambda key=key: client.expire(key, 60))
        assert (read, write) == ((False, False) if role in owners else (True, True)), (role, key)


def test_the_exporter_reads_everything_and_writes_nothing(
        users: Callable[[str], redis.Redis], settings_for: Callable[[str], Settings]) -> None:
    exporter = users("exporter")
    for key in KEYS:
        assert not _refused(lambda key=key: exporter.type(key)), key
        assert _refused(lambda key=key: exporter.set(key, "1")), key
        assert _refused(lambda key=key: exporter.delete(key)), key
    assert _refused(lambda: exporter.publish("/0.celery.pidbox", "x"))
    # and it reads what the exporter reads, INFO included
    state = collect_state(settings_for("exporter"), exporter, probe=False)
    assert state.services["redis"] is True and state.redis_memory_used > 0


@pytest.fixture
def settings_for(services: dict[str, str]) -> Callable[[str], Settings]:
    def make(role: str) -> Settings:
        url = services["WIRESTREAM_REDIS__URL"].rsplit("/", 1)[0] + f"/{TEST_DB}"
        return Settings(redis={"url": url, "username": role,
                               "password": services[password_variable(role)]})
    return make


def test_each_stage_does_its_job_through_the_real_adapters(
        users: Callable[[str], redis.Redis], admin: redis.Redis) -> None:
    admin.flushdb()
    try:
        operator = users("operator")
        SourceRegistry(operator).put(Source(id="acl-wire", url="https://news.example/rss",
                                            type="rss"), due=0.0)
        ingest = users("ingest")
        [decision] = VersionGate(ingest).decide_many([(make_item(id="acl-1"), None)])
        assert decision.forward
        DeadLetterStore(ingest).add(stage="ingest", reason="parse_error", message="m",
                                    error_type="ParseError", payload={"x": 1}, attempts=1)
        enrich = users("enrich")
        [(person, _)] = EntityRegistry(enrich).resolve([Candidate(
            type="PERSON", name="Olaf Scholz", key="PERSON:olaf shols", surname="shols")])
        assert person.startswith("person-")
        [cluster] = ClusterIndex(enrich).assign([make_item(id="acl-2", body_text=" ".join(
            f"word{n}" for n in range(80)))])
        assert cluster is not None
        DeadLetterStore(users("index")).add(stage="index", reason="es_rejected", message="m",
                                            error_type="DocumentRejected", payload={"y": 2},
                                            attempts=1)
        assert DeadLetterStore(operator).count() == 2
        assert SourceRegistry(users("scheduler")).get("acl-wire") is not None
    finally:
        admin.flushdb()
