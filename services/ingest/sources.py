"""Sources: what operators configure, and the state the poller keeps.

Kept in Redis (:class:`services.ingest.adapters.source_registry.SourceRegistry`)
so every worker and scheduler sees the same set, and adding a source at run
time needs no restart:

* ``wirestream:sources`` — hash: source id → :class:`Source` JSON;
* ``wirestream:source_state:<id>`` — hash: conditional-GET validators,
  interval, health counters (:class:`SourceState`);
* ``wirestream:schedule`` — sorted set: source id → next due time (epoch s).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared import yaml_data
from shared.errors import ConfigError

__all__ = ["Source", "SourceAuth", "SourceState", "load_sources_file"]


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
