"""Fixtures of the fault suite: the rig (see tests/faults/_fixtures.py) once
per session, and the real workers once per module, restarted by the tests
that kill them.

Every test here is ``integration`` (real services) and ``faults``; run them
alone with ``pytest -m faults``. Timings are short on purpose (see
:func:`tests.faults._rig.timing_env` and docs/guarantees.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from tests.faults._fixtures import rig, rig_env, rig_kind, services
from tests.faults._rig import Rig, faulty_stage_env
from wirestream.dev.harness import PipelineProcesses, wait_for

__all__ = ["rig", "rig_env", "rig_kind", "services"]  # fixtures for this directory

HERE = Path(__file__).parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "faults: fault-injection suite against the real pipeline (tests/faults)"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(HERE):
            item.add_marker(pytest.mark.integration)
            item.add_marker(pytest.mark.faults)


@pytest.fixture(scope="module")
def pipeline(rig: Rig) -> Iterator[PipelineProcesses]:
    """The workers and the scheduler, shared by the tests of a module, with
    the faulty-item markers armed (items without them are untouched)."""
    busy = rig.work / "busy"
    busy.mkdir(exist_ok=True)
    with rig.running(stage_env=faulty_stage_env(busy)) as procs:
        yield procs


@pytest.fixture
def live(rig: Rig, pipeline: PipelineProcesses) -> Iterator[PipelineProcesses]:
    """The module's pipeline, with any process a previous test left dead
    started again; afterwards, every process must be alive and no packet
    may have been aimed outside loopback."""
    if pipeline.restart_dead():
        rig.wait_ready(pipeline)
    yield pipeline
    assert wait_for(lambda: all(pipeline.alive().values()), 10), pipeline.alive()
    refused = [e for e in rig.jail_log() if e["refused"]]
    assert refused == [], f"the network jail refused: {refused[:5]}"


@pytest.fixture
def es_admin(rig: Rig) -> Elasticsearch:
    return rig.es_admin
