#!/usr/bin/env bash
# Install what wirestream needs on a Debian 12 machine, idempotently:
# Debian packages (Redis, Apertium APy and language pairs, Maven), the Python
# virtualenv in .venv with the pinned requirements, and the project itself.
# Elasticsearch and Stanford CoreNLP (with its models; javac from
# openjdk-17-jdk-headless compiles its loopback binder) are fetched later by
# `wirestream services up` (Maven Central).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(redis-server redis-sentinel apertium apertium-apy apertium-eng-spa apertium-eng-cat maven prometheus
  prometheus-alertmanager
  openjdk-17-jdk-headless
  apertium-es-pt apertium-spa-ita apertium-fr-es apertium-es-ro apertium-en-gl apertium-eu-en
  apertium-hbs-eng apertium-isl-eng apertium-mkd-eng apertium-rus-ukr
  hunspell-en-us hunspell-de-de hunspell-es hunspell-fr hunspell-it hunspell-pt-pt hunspell-nl
  hunspell-ru hunspell-sv hunspell-no hunspell-da hunspell-uk)
PYTHON=${PYTHON:-python3}

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "missing prerequisite Debian packages: ${missing[*]}" >&2
    echo "install them with: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  echo "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "missing prerequisite: Python >= 3.11 (set PYTHON=/path/to/python3.11)" >&2
  exit 1
fi
if [[ ! -x .venv/bin/python ]]; then
  echo "creating .venv"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.lock requirements-dev.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  echo "installing pinned Python packages (requirements-dev.lock)"
  .venv/bin/python -m pip install -q --upgrade pip
  # Hash-checking mode (every pin carries its files' sha256); --no-deps: the
  # locks pin every transitive dependency, and `pip check` proves it.
  .venv/bin/python -m pip install -q --require-hashes --no-deps -r requirements-dev.lock
  .venv/bin/python -m pip check
  .venv/bin/python -m pip install -q --no-deps -e .
  echo "$want" > "$stamp"
fi
