"""Every data file the code reads from its packages ships in the wheel the
image installs: a file under shared/ or services/ that no package-data
pattern of pyproject.toml matches would be missing there (as
services/enrich/data/given_name_variants.tsv was until 2026-12-06)."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CODE = {".py", ".pyc", ".pyi", ".md"}


def test_every_package_file_is_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["*"]
    missing = []
    for top in ("shared", "services"):
        for path in (ROOT / top).rglob("*"):
            if not path.is_file() or "__pycache__" in path.parts or path.suffix in CODE:
                continue
            if not any(fnmatch.fnmatch(path.name, pattern) for pattern in patterns):
                missing.append(path.relative_to(ROOT).as_posix())
    assert missing == [], f"not in the wheel (pyproject.toml package-data): {missing}"
