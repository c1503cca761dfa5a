"""Fixtures of the hostile-input suite: the rig of the fault suite (its own
private Redis, the Elasticsearch proxy, the network jail in every worker), a
hostile loopback server, a canary server no request may ever reach, and the
real pipeline once per module.

The workers fetch with a short total deadline (8 s) so slow-drip servers
end quickly, and the reconciler is off (the 10,000-item case drops the
enrich messages of its items on purpose).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults._fixtures import rig, services
from tests.faults._rig import Rig
from tests.hostile._servers import Canary, HostileServer
from wirestream.dev.harness import PipelineProcesses

__all__ = ["rig", "services"]  # fixtures used by this directory's tests

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(HERE):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def canary() -> Iterator[Canary]:
    with Canary() as server:
        yield server


@pytest.fixture(scope="session")
def rig_kind() -> str:
    return "hostile"


@pytest.fixture(scope="session")
def rig_env(canary: Canary) -> dict[str, str]:
    return {
        "WIRESTREAM_INGEST__TOTAL_TIMEOUT": "8",
        "WIRESTREAM_INGEST__READ_TIMEOUT": "3",
        "WIRESTREAM_INGEST__CONNECT_TIMEOUT": "2",
        "WIRESTREAM_RECONCILE__ENABLED": "false",
        # one poll of 10,000 entries takes longer than the fault suite's limits
        "WIRESTREAM_CELERY__TASK_SOFT_TIME_LIMIT": "120",
        "WIRESTREAM_CELERY__TASK_TIME_LIMIT": "150",
        "WIRESTREAM_CELERY__VISIBILITY_TIMEOUT": "200",
        # every connect to the canary is written to the jail log
        "WIRESTREAM_FAULT_JAIL_WATCH": str(canary.port),
    }


@pytest.fixture(scope="session")
def hostile() -> Iterator[HostileServer]:
    with HostileServer() as server:
        yield server


@pytest.fixture(scope="module")
def pipeline(rig: Rig) -> Iterator[PipelineProcesses]:
    limits = {"WIRESTREAM_CELERY__TASK_SOFT_TIME_LIMIT": "120",
              "WIRESTREAM_CELERY__TASK_TIME_LIMIT": "150"}
    with rig.running(concurrency={"ingest": 1, "enrich": 2, "index": 1},
                     stage_env={"ingest": limits, "index": limits}) as procs:
        yield procs
