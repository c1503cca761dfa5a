"""Typed configuration, built once at process start and injected.

Every setting is read from the environment with the prefix ``WIRESTREAM_``
and ``__`` between levels (``WIRESTREAM_ES__URL``, ``WIRESTREAM_REDIS__PASSWORD``).
Values missing from the environment are looked up in the env file named by
``WIRESTREAM_ENV_FILE`` (default ``var/local.env``, written by
``wirestream services up``), then fall back to the defaults below, which match
docker-compose.yml. Credentials are :class:`~pydantic.SecretStr`: they never
appear in ``repr``, logs or error records.
"""

from __future__ import annotations

import os
from functools import cached_property
from typing import Literal
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import BaseModel, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.errors import ConfigError

__all__ = [
    "ElasticsearchSettings",
    "IngestSettings",
    "RedisSettings",
    "Settings",
    "TranslatorSettings",
    "load_settings",
]


class RedisSettings(BaseModel):
    url: str = "redis://127.0.0.1:6379/0"
    password: SecretStr | None = None

    @cached_property
    def url_with_password(self) -> str:
        """The URL with the password spliced in, for Celery's broker URL.
        Never log this value."""
        if self.password is None:
            return self.url
        parts = urlsplit(self.url)
        host = parts.hostname or "127.0.0.1"
        port = f":{parts.port}" if parts.port else ""
        secret = quote(self.password.get_secret_value(), safe="")
        return urlunsplit((parts.scheme, f":{secret}@{host}{port}", parts.path, "", ""))


class ElasticsearchSettings(BaseModel):
    url: str = "http://127.0.0.1:9200"
    # The pipeline's least-privilege user: may write wirestream indices only.
    username: str = "wirestream_writer"
    password: SecretStr | None = None
    # Read-only consumer, used by `wirestream search` and the demo.
    reader_username: str = "wirestream_reader"
    reader_password: SecretStr | None = None
    # Superuser path, used by `wirestream index setup` only.
    admin_username: str = "elastic"
    admin_password: SecretStr | None = None
    index_prefix: str = "wirestream-news"
    # Bulk requests on a 2-core node with 1,000 small documents take well under
    # a second; 30 s leaves room for a node under GC without hanging forever.
    request_timeout: float = 30.0


class TranslatorSettings(BaseModel):
    backend: Literal["apertium", "libretranslate", "none"] = "apertium"
    apertium_url: str = "http://127.0.0.1:2737"
    libretranslate_url: str = "http://127.0.0.1:5000"
    libretranslate_api_key: SecretStr | None = None
    timeout: float = 30.0


class IngestSettings(BaseModel):
    # A feed larger than 10 MB after decompression is almost surely an error
    # or an attack; real news feeds are < 2 MB.
    max_bytes: int = 10 * 1024 * 1024
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    # Total deadline for one fetch including slow drip-feeding servers.
    total_timeout: float = 60.0
    max_redirects: int = 5
    # Loopback targets are refused by the SSRF guard unless this is set; the
    # demo and the tests serve feeds from 127.0.0.1 and turn it on.
    allow_loopback: bool = False
    user_agent: str = "wirestream/0.1 (+https://example.invalid/wirestream-bot)"
    # Politeness per host, shared by all workers through Redis: fetches in
    # flight at once, and the least time between two request starts.
    host_concurrency: int = 2
    host_min_delay: float = 1.0
    # Items per enrich task: big enough for nlp.pipe-style batching, small
    # enough that a retry does not redo much work.
    batch_size: int = 25


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="WIRESTREAM_",
        env_nested_delimiter="__",
        env_file=os.environ.get("WIRESTREAM_ENV_FILE", "var/local.env"),
        env_file_encoding="utf-8",
        extra="ignore",
    )

    redis: RedisSettings = Field(default_factory=RedisSettings)
    es: ElasticsearchSettings = Field(default_factory=ElasticsearchSettings)
    translator: TranslatorSettings = Field(default_factory=TranslatorSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    log_level: str = "INFO"
    log_json: bool = True
    # /metrics of each worker's main process; 0 disables. Compose scrapes
    # 9108 on every worker container; local runs give each worker its own.
    metrics_port: int = 9108
    metrics_addr: str = "0.0.0.0"


def load_settings() -> Settings:
    """Build the settings or fail with a :class:`ConfigError` naming the bad
    variable (so a worker with bad config dies at boot, not mid-task)."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"WIRESTREAM_{'__'.join(str(p).upper() for p in err['loc'])}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"invalid configuration: {problems}") from exc
