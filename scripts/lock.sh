#!/usr/bin/env bash
# Regenerate requirements.lock (runtime, from a clean `pip install .`) and
# requirements-dev.lock (the dev extra on top), each pin with its files' sha256
# (scripts/lock_hashes.py). Needs the package registries.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m venv "$tmp/rt"
"$tmp/rt/bin/pip" install -q --upgrade pip
"$tmp/rt/bin/pip" install -q .
{
  echo "# Runtime dependencies, every version pinned (generated from a clean venv with"
  echo "# \`pip install .\`; regenerate with scripts/lock.sh). Used by the Dockerfile and,"
  echo "# with requirements-dev.lock, by scripts/bootstrap.sh."
  "$tmp/rt/bin/pip" freeze --exclude-editable | grep -viE '^wirestream' | sort -f
} > requirements.lock
python3 -m venv "$tmp/dev"
"$tmp/dev/bin/pip" install -q --upgrade pip
"$tmp/dev/bin/pip" install -q -r requirements.lock ".[dev]"
{
  echo "# Development and test tools on top of requirements.lock, every version pinned."
  echo "-r requirements.lock"
  "$tmp/dev/bin/pip" freeze --exclude-editable | grep -viE '^wirestream' | sort -f \
    | grep -vxFf <(grep '==' requirements.lock)
} > requirements-dev.lock
# the sha256 of every file PyPI serves for each pin: pip then refuses any other
"$tmp/dev/bin/python" scripts/lock_hashes.py requirements.lock requirements-dev.lock
echo "wrote requirements.lock and requirements-dev.lock"
