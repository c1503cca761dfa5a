"""Dependency versions are pinned: requirements.lock (and requirements-dev.lock,
which includes it) pin every line with ``==`` (and the files' hashes), and every distribution
installed in this environment is pinned there at the installed version.

Not counted: the project itself (installed editable from the checkout) and
the installer's own tools that ``pip freeze`` leaves out too (pip,
setuptools, wheel, distribute)."""

from __future__ import annotations

import re
from importlib.metadata import distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements.lock"
NOT_LOCKED = {"wirestream", "pip", "setuptools", "wheel", "distribute"}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;=<>!~]+)(\s*;.*)?$")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(path: Path, seen: set[Path] | None = None) -> tuple[dict[str, str], list[str]]:
    """name -> version of every pin in a lock file (following ``-r``), and the
    lines that are not exact pins."""
    seen = seen or set()
    seen.add(path)
    pins: dict[str, str] = {}
    bad: list[str] = []
    # a requirement and its hashes are one logical line, joined by backslashes
    for raw in re.sub(r"\s*\\\n\s*", " ", path.read_text()).splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        line = line.split(" --hash=", 1)[0]
        if line.startswith(("-r ", "--requirement ")):
            included = path.parent / line.split(maxsplit=1)[1]
            if included not in seen:
                more, more_bad = _pins(included, seen)
                pins.update(more)
                bad.extend(more_bad)
            continue
        match = PIN.match(line)
        if match is None:
            bad.append(f"{path.name}: {raw}")
            continue
        pins[_canonical(match.group(1))] = match.group(3)
    return pins, bad


def _lock_files() -> list[Path]:
    if not LOCK.exists():
        pytest.skip("requirements.lock does not exist yet")
    dev = ROOT / "requirements-dev.lock"
    return [LOCK, dev] if dev.exists() else [LOCK]


def test_every_lock_line_is_an_exact_pin() -> None:
    bad: list[str] = []
    for lock in _lock_files():
        bad.extend(_pins(lock)[1])
    assert bad == [], f"lines that do not pin with ==: {bad}"


def test_every_installed_distribution_is_pinned_at_its_version() -> None:
    pins: dict[str, str] = {}
    for lock in _lock_files():
        pins.update(_pins(lock)[0])
    installed = {_canonical(d.metadata["Name"]): d.version for d in distributions()}
    unpinned = sorted(n for n in installed if n not in pins and n not in NOT_LOCKED)
    drift = sorted(f"{n} {installed[n]} (lock: {pins[n]})" for n in installed
                   if n in pins and pins[n] != installed[n])
    assert unpinned == [], f"installed but not in the lock files: {unpinned}"
    assert drift == [], f"installed at another version than locked: {drift}"
