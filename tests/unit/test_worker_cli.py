"""The worker command's process settings."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from wirestream import cli


def test_math_libraries_get_one_thread_unless_the_operator_says_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in cli.MATH_THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "4")  # the operator's choice stays
    cli.single_threaded_math()
    assert os.environ["OPENBLAS_NUM_THREADS"] == "1"
    assert os.environ["MKL_NUM_THREADS"] == "1"
    assert os.environ["OMP_NUM_THREADS"] == "4"


def test_numpy_is_not_loaded_before_the_worker_sets_its_threads() -> None:
    """The variables only count if numpy (and its OpenBLAS) loads after them:
    importing the CLI must not load it."""
    probe = "import sys, wirestream.cli; print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
