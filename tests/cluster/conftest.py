"""The cluster suite: a three-node Elasticsearch cluster of the local
integ-test-zip (wirestream.dev.es_cluster) on loopback ports of its own,
started once per module and removed after it. Every test here is
``integration`` and ``cluster``; run them alone with ``pytest -m cluster``.
Starting the nodes takes one to two minutes on two cores."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster._ports import free_base
from wirestream.dev.es_cluster import EsCluster
from wirestream.dev.local_services import LocalServices

HERE = Path(__file__).parent
ROOT = HERE.parents[1]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "cluster: against a multi-node Elasticsearch cluster (tests/cluster)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(HERE):
            item.add_marker(pytest.mark.integration)
            item.add_marker(pytest.mark.cluster)


def _cluster_base(nodes: int) -> int:
    """``WIRESTREAM_LOCAL_ES_CLUSTER_PORT`` when set, else a base whose HTTP
    and transport ports (base.., base+100..) are all free."""
    if "WIRESTREAM_LOCAL_ES_CLUSTER_PORT" in os.environ:
        return int(os.environ["WIRESTREAM_LOCAL_ES_CLUSTER_PORT"])
    return free_base([*range(nodes), *range(100, 100 + nodes)])


@pytest.fixture(scope="session")
def services() -> dict[str, str]:
    return LocalServices(ROOT, echo=lambda _: None).up()


@pytest.fixture(scope="module")
def cluster(services: dict[str, str]) -> Iterator[EsCluster]:
    root = ROOT / "var" / "es-cluster-test" / str(os.getpid())
    nodes = EsCluster(LocalServices(ROOT, echo=lambda _: None), nodes=3, root=root,
                      base_port=_cluster_base(3), heap="512m", echo=lambda _: None)
    try:
        nodes.up(fresh=True)
        yield nodes
    finally:
        nodes.down()
        shutil.rmtree(root, ignore_errors=True)
