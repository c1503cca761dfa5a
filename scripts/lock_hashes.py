"""Add the sha256 of every file PyPI serves for each pinned requirement of a
lock file (``name==version``), so ``pip install`` runs in hash-checking mode
(``--require-hashes``): a file that differs from the one PyPI published is
refused. Every file of the release counts (all platforms, the sdist), so
the lock works wherever the image or the virtualenv is built.

``python scripts/lock_hashes.py requirements.lock requirements-dev.lock``
(scripts/lock.sh runs it). Reads PyPI's JSON simple index (PEP 691); needs
the package registry.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import httpx

INDEX = "https://pypi.org/simple"
PINNED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]+\])?==([^\s;\\]+)")
SDIST = re.compile(r"\.(tar\.gz|zip|tar\.bz2)$")


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def file_version(filename: str) -> str | None:
    if filename.endswith(".whl"):
        return filename.split("-")[1]
    stem = SDIST.sub("", filename)
    return stem.rsplit("-", 1)[1] if stem != filename and "-" in stem else None


def hashes(client: httpx.Client, name: str, version: str) -> list[str]:
    response = client.get(f"{INDEX}/{normalise(name)}/",
                          headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    response.raise_for_status()
    found = sorted({f["hashes"]["sha256"] for f in response.json()["files"]
                    if "sha256" in f.get("hashes", {})
                    and file_version(f["filename"]) in (version, version.replace("-", "_"))})
    if not found:
        raise SystemExit(f"{name}=={version}: PyPI lists no file of this version")
    return found


def rewrite(path: Path, client: httpx.Client) -> None:
    out: list[str] = []
    lines = path.read_text().splitlines()
    logical = []
    for line in lines:  # drop hashes of an earlier run
        if line.lstrip().startswith("--hash="):
            continue
        logical.append(line.rstrip().removesuffix("\\").rstrip())
    for line in logical:
        match = PINNED.match(line)
        if not match:
            out.append(line)
            continue
        digests = hashes(client, match.group(1), match.group(3))
        out.append(line + " \\")
        out += [f"    --hash=sha256:{d}" + (" \\" if i < len(digests) - 1 else "")
                for i, d in enumerate(digests)]
    path.write_text("\n".join(out) + "\n")


def main(paths: list[str]) -> None:
    with httpx.Client(timeout=60, follow_redirects=True) as client:
        for name in paths:
            rewrite(Path(name), client)
            print(f"hashed {name}")


if __name__ == "__main__":
    main(sys.argv[1:])
