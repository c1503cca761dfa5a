"""Fixtures of the security suite: the fault suite's rig (its own private
Redis, proxies, network jail) with a source credential in the workers'
environment, and the real pipeline once per module."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults._fixtures import rig, services
from tests.faults._rig import Rig
from wirestream.dev.harness import PipelineProcesses

__all__ = ["rig", "services"]  # fixtures used by this directory's tests

HERE = Path(__file__).parent
# The secret a configured source authenticates with (header and query token).
FEED_TOKEN = "feedtok-" + secrets.token_urlsafe(16)


SERVICE_FIXTURES = {"rig", "services", "pipeline"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Tests that use the real services are integration tests; the others
    # (the lock file check) stay in the unit tier's network guard.
    for item in items:
        if Path(str(item.fspath)).is_relative_to(HERE) and SERVICE_FIXTURES & set(
            getattr(item, "fixturenames", ())
        ):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def rig_kind() -> str:
    return "security"


@pytest.fixture(scope="session")
def rig_env() -> dict[str, str]:
    return {"WIRESTREAM_TEST_FEED_TOKEN": FEED_TOKEN}


@pytest.fixture(scope="module")
def pipeline(rig: Rig) -> Iterator[PipelineProcesses]:
    with rig.running(concurrency={"ingest": 1, "enrich": 1, "index": 1}) as procs:
        yield procs
