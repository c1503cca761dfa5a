"""Sources: what operators configure, and the state the poller keeps.

Kept in Redis so every worker and scheduler sees the same set, and adding a
source at run time needs no restart:

* ``wirestream:sources`` — hash: source id → :class:`Source` JSON;
* ``wirestream:source_state:<id>`` — hash: conditional-GET validators,
  interval, health counters (:class:`SourceState`);
* ``wirestream:schedule`` — sorted set: source id → next due time (epoch s).
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Literal

import redis
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared import yaml_data
from shared.errors import ConfigError

__all__ = ["Source", "SourceRegistry", "SourceState", "load_sources_file"]

SOURCES_KEY = "wirestream:sources"
STATE_PREFIX = "wirestream:source_state:"
SCHEDULE_KEY = "wirestream:schedule"

SourceType = Literal["auto", "rss", "atom", "jsonfeed", "ninjs", "newsml-g2", "newsml-1", "nitf",
                     "sitemap", "html", "anpa1312", "iptc7901"]
_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


class SourceAuth(BaseModel):
    """How to authenticate; the secret itself is never stored, only where to
    read it from (an environment variable or a file)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["header", "basic", "query"]
    name: str = "Authorization"  # header name, or query parameter name
    username: str | None = None  # for basic
    secret_env: str | None = None
    secret_file: str | None = None

    @model_validator(mode="after")
    def _one_secret(self) -> SourceAuth:
        if bool(self.secret_env) == bool(self.secret_file):
            raise ValueError("auth needs exactly one of secret_env or secret_file")
        return self

    def secret(self) -> str:
        if self.secret_env:
            import os

            value = os.environ.get(self.secret_env)
            if value is None:
                raise ConfigError(f"auth secret env var {self.secret_env} is not set")
            return value
        assert self.secret_file is not None
        try:
            return Path(self.secret_file).read_text().strip()
        except OSError as exc:
            raise ConfigError(f"auth secret file {self.secret_file} unreadable: {exc}") from exc


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    name: str = ""
    type: SourceType = "auto"
    url: str
    # Poll interval bounds in seconds; the adaptive interval stays inside them.
    min_interval: int = Field(default=60, ge=5)
    max_interval: int = Field(default=3600, ge=5)
    language: str | None = None
    auth: SourceAuth | None = None
    # IANA zone of the source's times that carry none ("Europe/Berlin");
    # default UTC
    timezone: str | None = None
    fulltext: bool = False
    tags: list[str] = Field(default_factory=list)
    enabled: bool = True

    @field_validator("id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError("id must be 1-64 chars of a-z 0-9 _ . - (starting alphanumeric)")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        from services.ingest.dates import zone_of

        zone_of(value)  # ValueError for a name the zone database does not know
        return value

    @model_validator(mode="after")
    def _bounds(self) -> Source:
        if self.max_interval < self.min_interval:
            raise ValueError("max_interval must be >= min_interval")
        return self


class SourceState(BaseModel):
    model_config = ConfigDict(extra="ignore")

    etag: str | None = None
    last_modified: str | None = None
    interval: float | None = None
    last_poll: float | None = None
    last_success: float | None = None
    last_error: str | None = None
    last_error_at: float | None = None
    consecutive_failures: int = 0
    items_last_poll: int = 0
    new_last_poll: int = 0
    last_new_item: float | None = None


def load_sources_file(path: Path) -> list[Source]:
    try:
        raw = yaml_data.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read sources file {path}: {exc}") from exc
    entries = raw.get("sources", []) if isinstance(raw, dict) else raw
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: expected a list of sources under 'sources:'")
    try:
        return [Source.model_validate(entry) for entry in entries]
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


class SourceRegistry:
    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    def put(self, source: Source, *, due: float | None = None) -> None:
        """Add or replace a source; a new or re-enabled source is due now."""
        pipe = self._redis.pipeline(transaction=True)
        pipe.hset(SOURCES_KEY, source.id, source.model_dump_json())
        if source.enabled:
            pipe.zadd(
                SCHEDULE_KEY, {source.id: due if due is not None else time.time()}, nx=due is None
            )
        else:
            pipe.zrem(SCHEDULE_KEY, source.id)
        pipe.execute()

    def get(self, source_id: str) -> Source | None:
        raw = self._redis.hget(SOURCES_KEY, source_id)
        return Source.model_validate_json(raw) if raw else None

    def all(self) -> list[Source]:
        return sorted(
            (Source.model_validate_json(v) for v in self._redis.hvals(SOURCES_KEY)),
            key=lambda s: s.id,
        )

    def remove(self, source_id: str) -> bool:
        pipe = self._redis.pipeline(transaction=True)
        pipe.hdel(SOURCES_KEY, source_id)
        pipe.zrem(SCHEDULE_KEY, source_id)
        pipe.delete(STATE_PREFIX + source_id)
        removed = pipe.execute()[0]
        return bool(removed)

    def state(self, source_id: str) -> SourceState:
        raw: dict[bytes, bytes] = self._redis.hgetall(STATE_PREFIX + source_id)  # type: ignore[assignment]
        return SourceState.model_validate({k.decode(): v.decode() for k, v in raw.items()})

    def save_state(self, source_id: str, state: SourceState) -> None:
        values = {k: str(v) for k, v in state.model_dump().items() if v is not None}
        stale = [k for k, v in state.model_dump().items() if v is None]
        pipe = self._redis.pipeline(transaction=True)
        if values:
            pipe.hset(STATE_PREFIX + source_id, mapping=values)  # type: ignore[arg-type]
        if stale:
            pipe.hdel(STATE_PREFIX + source_id, *stale)
        pipe.execute()

    def schedule(self, source_id: str, due: float) -> None:
        # XX: never resurrect a source removed while it was being polled.
        self._redis.zadd(SCHEDULE_KEY, {source_id: due}, xx=True)

    def poll_now(self, source_id: str, now: float | None = None) -> bool:
        """Make an enabled source due at once, whatever its interval or
        failure backoff says (the poll then sets its next due time as any
        poll does). False for a source that is not scheduled: unknown or
        disabled."""
        self._redis.zadd(SCHEDULE_KEY, {source_id: now or time.time()}, xx=True)
        return self.next_due(source_id) is not None

    def next_due(self, source_id: str) -> float | None:
        score = self._redis.zscore(SCHEDULE_KEY, source_id)
        return float(score) if score is not None else None
