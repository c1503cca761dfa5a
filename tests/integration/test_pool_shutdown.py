"""A warm shutdown while the worker is handing a large task message to its
pool process (shared.pool): the worker finishes the handover, the task runs
and the worker exits.

Celery's prefork pool writes a message larger than the pipe's buffer a piece
at a time from its event loop; stopped in the middle, the pool process
waited for the rest and the warm shutdown waited for the pool process, for
ever (the fault suite's index worker, 2026-12-06). The message here is a few
megabytes, so its writing takes many turns of the loop, and SIGTERM is sent
once the pool process has read part of it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
QUEUE = "wirestream-pool-shutdown-test"

APP = f'''
import os, pathlib
from celery import Celery
from shared.celery_app import create_app
from shared.settings import load_settings

ours = create_app(load_settings())
app = Celery("pooltest", set_as_current=True)
app.conf.update(
    broker_url=ours.conf.broker_url,
    broker_transport_options=ours.conf.broker_transport_options,
    worker_pool=ours.conf.worker_pool,  # the workers' pool, as configured
    task_acks_late=True, worker_prefetch_multiplier=1, task_ignore_result=True,
    task_default_queue="{QUEUE}", task_serializer="json", accept_content=["json"],
    worker_hijack_root_logger=False,
)


@app.task(name="pooltest.swallow")
def swallow(blob):
    pathlib.Path(os.environ["POOLTEST_OUT"]).write_text(str(len(blob)))
'''


def _wait_for_line(log: Path, text: str, proc: subprocess.Popen[bytes], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if text in log.read_text(errors="replace"):
            return True
        time.sleep(0.002)
    return False


def _bytes_read(pid: int) -> int:
    """Bytes the process has read so far (``rchar`` of /proc/PID/io)."""
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError(f"no rchar for {pid}")


def _wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.001)
    return False


@pytest.mark.timeout(240)
def test_sigterm_mid_handover_of_a_large_message_exits_and_loses_nothing(
    tmp_path: Path, settings: Settings, redis_db: object, test_env: dict[str, str]
) -> None:
    (tmp_path / "pooltest_app.py").write_text(APP)
    out, log = tmp_path / "ran", tmp_path / "worker.log"
    env = {**os.environ, **test_env, "POOLTEST_OUT": str(out),
           "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)])}
    with log.open("ab") as sink:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "pooltest_app", "worker", "-c", "1",
             "-Q", QUEUE, "--loglevel", "INFO", "--without-gossip", "--without-mingle",
             "--without-heartbeat", "-n", "pooltest@%h"],
            cwd=tmp_path, env=env, stdout=sink, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        assert _wait_for_line(log, "ready.", worker, 90), log.read_text()[-3000:]
        children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()
        assert len(children) == 1, children
        child = int(children[0])
        before = _bytes_read(child)
        sys.path.insert(0, str(tmp_path))
        try:
            import pooltest_app
        finally:
            sys.path.remove(str(tmp_path))
        size = 2 * 1024 * 1024
        pooltest_app.swallow.apply_async(args=["x" * size], queue=QUEUE)
        assert _wait_for_line(log, "] received", worker, 60), log.read_text()[-3000:]
        # SIGTERM once the pool process has read more than a pipe's buffer
        # of it: the message is then part way through its handover
        assert _wait_until(lambda: _bytes_read(child) - before > 256 * 1024, 60)
        os.kill(worker.pid, signal.SIGTERM)  # the main process: a warm shutdown
        try:
            code = worker.wait(60)
        except subprocess.TimeoutExpired:
            code = None
        assert code == 0, f"warm shutdown exit code {code}\n{log.read_text()[-3000:]}"
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)
        sys.modules.pop("pooltest_app", None)
    from shared.runtime import redis_client

    client = redis_client(settings)
    try:
        requeued = int(client.llen(QUEUE)) + int(client.hlen("unacked"))
        client.delete(QUEUE)
    finally:
        client.close()
    # the message part way through its handover was finished and its task
    # ran; the broker may hand it out once more (its ack comes after the
    # consumer closed: at least once, as after any warm shutdown of a busy
    # worker; the stages are idempotent)
    assert out.exists() and out.read_text() == str(size), log.read_text()[-3000:]
    assert requeued <= 1
