"""A worker's own figures: its process tree read from /proc (main process
and pool children), and the last-task time that only a finished task
moves."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

import pytest

from shared.metrics import ProcessTreeCollector, process_tree


def _values(collector: Any) -> dict[str, float]:
    out = {}
    for family in collector.collect():
        [sample] = family.samples
        assert sample.labels == {"stage": "enrich"}
        out[sample.name] = sample.value
    return out


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc (Linux)")
def test_the_process_tree_counts_the_children_and_their_memory() -> None:
    # a child holding 64 MB resident, as a pool process holds its models
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; b = bytearray(64 << 20); "
                               "print('ready', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        assert child.pid in process_tree(os.getpid())
        alone = _values(ProcessTreeCollector("enrich", root=child.pid))
        tree = _values(ProcessTreeCollector("enrich"))
    finally:
        child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()
    assert alone["wirestream_worker_processes"] == 1
    assert alone["wirestream_worker_resident_memory_bytes"] >= 64 << 20
    assert tree["wirestream_worker_processes"] >= 2
    # the tree holds the child's memory and more; the largest is at least it
    assert tree["wirestream_worker_resident_memory_bytes"] > alone[
        "wirestream_worker_resident_memory_bytes"]
    assert tree["wirestream_worker_resident_memory_max_bytes"] >= 64 << 20
    assert tree["wirestream_worker_open_fds"] >= 3
    assert tree["wirestream_worker_cpu_seconds_total"] > 0


def test_a_finished_task_moves_the_last_task_time() -> None:
    from prometheus_client import REGISTRY

    from shared.metrics import metrics
    from shared.tasking import run_stage
    from tests.unit.test_tasking import FakeRuntime, FakeTask

    before = time.time()
    run_stage(FakeTask(), "index", FakeRuntime(), {"items": []},  # type: ignore[arg-type]
              lambda: None)
    metrics()  # declared
    value = REGISTRY.get_sample_value("wirestream_worker_last_task_seconds",
                                      {"stage": "index"})
    assert value is not None and before <= value <= time.time()
