# The wirestream application image. One image for every role: the command
# after the `wirestream` entrypoint picks it (`worker enrich`, `scheduler`,
# `index setup`, ...); see docker-compose.yml.
#
# Build: `docker compose build` (or `docker build -t wirestream:local .`).
# Needs BuildKit, the default builder since Docker 23 (RUN --mount below).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------- build stage
FROM ${PYTHON_IMAGE} AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# A C toolchain for any pinned package without a wheel for this platform.
# This stage is thrown away, so the compiler never reaches the runtime image.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src

# The lock alone first: this (slow) layer is rebuilt only when the lock changes,
# not on every code change. --no-deps: the lock already pins every transitive
# dependency, so nothing unpinned can sneak in.
# --require-hashes: every file downloaded must be the one PyPI published
# (scripts/lock_hashes.py wrote their sha256 into the lock). The runtime stage
# installs the wheels built here from a copy of the lock without the hashes
# (a wheel built from an sdist has no published hash).
COPY requirements.lock ./
RUN pip wheel --require-hashes --no-deps --wheel-dir /wheels -r requirements.lock \
 && grep -v '^ *--hash=' requirements.lock | sed 's/ *\\$//' > requirements.plain

# Then the project itself (.dockerignore keeps secrets, caches and data out).
COPY . .
RUN pip wheel --no-deps --wheel-dir /app-wheel .

# -------------------------------------------------------------- runtime stage
FROM ${PYTHON_IMAGE} AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    VIRTUAL_ENV=/opt/wirestream \
    PATH=/opt/wirestream/bin:$PATH

# Install only from the wheels built above (--no-index: no network, nothing
# resolved afresh), the pinned dependencies and then the project, both with
# --no-deps; `pip check` fails the build if the lock misses a dependency.
# The wheels are bind-mounted, so they add nothing to the image's size.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    --mount=type=bind,from=build,source=/app-wheel,target=/app-wheel \
    --mount=type=bind,from=build,source=/src/requirements.plain,target=/tmp/requirements.lock \
    python -m venv "$VIRTUAL_ENV" \
 && pip install --no-index --no-deps --find-links /wheels -r /tmp/requirements.lock \
 && pip install --no-index --no-deps /app-wheel/*.whl \
 && pip check

# An unprivileged user with a fixed uid (predictable file ownership on volumes).
RUN groupadd --system --gid 10001 wirestream \
 && useradd --system --uid 10001 --gid wirestream --create-home \
      --home-dir /home/wirestream --shell /usr/sbin/nologin wirestream

# The topic model, trained from the corpus that ships with the source (seeded:
# the same source gives the same model); workers read it from the path below,
# and may retrain it there (the directory is theirs; compose mounts a volume).
ENV WIRESTREAM_TOPICS__MODEL_PATH=/opt/wirestream/models/topics.npz
RUN --mount=type=bind,from=build,source=/src/data/topics,target=/tmp/topics \
    wirestream topics train --corpus /tmp/topics/mewsc16.tsv.gz \
      --out "$WIRESTREAM_TOPICS__MODEL_PATH" \
 && chown -R 10001:10001 /opt/wirestream/models
USER 10001:10001
WORKDIR /home/wirestream

# Prometheus metrics of the workers (settings.metrics_port).
EXPOSE 9108

ENTRYPOINT ["wirestream"]
CMD ["--help"]
