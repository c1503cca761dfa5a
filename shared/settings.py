"""Typed configuration, built once at process start and injected.

Every setting is read from the environment with the prefix ``WIRESTREAM_``
and ``__`` between levels (``WIRESTREAM_ES__URL``, ``WIRESTREAM_REDIS__PASSWORD``).
Values missing from the environment are looked up in the env file named by
``WIRESTREAM_ENV_FILE`` (default ``var/local.env``, written by
``wirestream services up``), then fall back to the defaults below, which match
docker-compose.yml. Any variable may instead name a file holding its value:
``WIRESTREAM_REDIS__PASSWORD_FILE=/run/secrets/redis_password`` (Docker
secrets; :class:`FileSecrets`). Credentials are :class:`~pydantic.SecretStr`: they never
appear in ``repr``, logs or error records.
"""

from __future__ import annotations

import os
import re
from functools import cached_property
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import (
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from shared.errors import ConfigError

__all__ = [
    "CelerySettings",
    "ClusterSettings",
    "ElasticsearchSettings",
    "IngestSettings",
    "ReconcileSettings",
    "RedisSettings",
    "Settings",
    "TranslatorSettings",
    "is_field",
    "load_settings",
]


class RedisSettings(BaseModel):
    url: str = "redis://127.0.0.1:6379/0"
    # The Redis ACL user of this process (deploy/redis/users.acl: one per
    # role, each limited to its commands and keys); None is Redis's
    # ``default`` user, the administrator's.
    username: str | None = None
    password: SecretStr | None = None
    # Redis Sentinel: "host:port" of each Sentinel, comma-separated. Set, every
    # client (the broker's included) asks them for the current primary of
    # ``sentinel_master`` and follows a failover; the host and port of
    # ``url`` are then unused (its database number still counts).
    sentinels: str = ""
    sentinel_master: str = "wirestream"
    # The Sentinels' own password (their requirepass); unset: none.
    sentinel_password: SecretStr | None = None

    @property
    def sentinel_addresses(self) -> list[tuple[str, int]]:
        out: list[tuple[str, int]] = []
        for entry in (e.strip() for e in self.sentinels.split(",")):
            if not entry:
                continue
            host, sep, port = entry.rpartition(":")
            if not sep or not host or not port.isdigit():
                raise ConfigError(f"WIRESTREAM_REDIS__SENTINELS: not host:port: {entry!r}")
            out.append((host.strip("[]"), int(port)))
        return out

    def sentinel_kwargs(self) -> dict[str, Any]:
        """How a client talks to the Sentinels themselves (their password,
        bounded timeouts)."""
        options: dict[str, Any] = {"socket_timeout": 5, "socket_connect_timeout": 5}
        if self.sentinel_password is not None:
            options["password"] = self.sentinel_password.get_secret_value()
        return options

    @property
    def db(self) -> int:
        path = urlsplit(self.url).path.strip("/")
        return int(path) if path.isdigit() else 0

    @cached_property
    def url_with_password(self) -> str:
        """The URL with the user and password spliced in, for Celery's broker
        URL (with Sentinels: one ``sentinel://`` URL per Sentinel, ``;``
        between them, as kombu reads them). Never log this value."""
        if self.sentinels:
            user = quote(self.username or "", safe="")
            secret = quote(self.password.get_secret_value(), safe="") if self.password else ""
            auth = f"{user}:{secret}@" if user or secret else ""
            return ";".join(
                f"sentinel://{auth}{f'[{host}]' if ':' in host else host}:{port}/{self.db}"
                for host, port in self.sentinel_addresses)
        if self.password is None and self.username is None:
            return self.url
        parts = urlsplit(self.url)
        host = parts.hostname or "127.0.0.1"
        port = f":{parts.port}" if parts.port else ""
        user = quote(self.username or "", safe="")
        secret = quote(self.password.get_secret_value(), safe="") if self.password else ""
        return urlunsplit((parts.scheme, f"{user}:{secret}@{host}{port}", parts.path, "", ""))


class ElasticsearchSettings(BaseModel):
    # One node, or several separated by commas (the nodes of a cluster: the
    # client spreads requests over them and stops sending to one that fails).
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
    # PEM file of the CA that signed Elasticsearch's HTTPS certificate (an
    # https:// URL with a private CA); unset: the system's trust store.
    ca_certs: str | None = None
    # Replicas of each news index: a number, or a range that follows the
    # cluster's size ("0-1": none on one node, one as soon as a second node
    # joins; Elasticsearch's index.auto_expand_replicas).
    replicas: str = "0-1"

    @field_validator("replicas")
    @classmethod
    def _replicas(cls, value: str) -> str:
        value = value.strip()
        if not re.fullmatch(r"\d+|\d+-(\d+|all)", value):
            raise ValueError(f"replicas must be a number or a range like 0-1 or 0-all, "
                             f"not {value!r}")
        return value

    @property
    def urls(self) -> list[str]:
        """The nodes of :attr:`url`, in order."""
        nodes = [u.strip() for u in self.url.split(",") if u.strip()]
        if not nodes:
            raise ConfigError("WIRESTREAM_ES__URL names no Elasticsearch node")
        return nodes


class TranslatorSettings(BaseModel):
    backend: Literal["apertium", "libretranslate", "none"] = "apertium"
    apertium_url: str = "http://127.0.0.1:2737"
    libretranslate_url: str = "http://127.0.0.1:5000"
    libretranslate_api_key: SecretStr | None = None
    timeout: float = 30.0
    # Days a translated chunk stays in the shared cache: a re-poll, a
    # correction or a re-enrich of a story within them translates nothing
    # again. It was 90 days, which made the cache the largest Redis key
    # family (docs/operations.md, "Capacity"); a large installation keeps a
    # few days.
    cache_days: float = Field(default=14.0, gt=0)


class ClusterSettings(BaseModel):
    """Near-duplicate clusters (services/enrich/adapters/clusters.py)."""

    # Days a story can be joined by a near-copy: wire rewrites and outlet
    # copies arrive within hours. Each story keeps its signature and band
    # entries in Redis this long (the second largest key family).
    window_days: float = Field(default=7.0, gt=0)


class NerSettings(BaseModel):
    """Named-entity recognition: the Stanford CoreNLP server (docs/enrichment.md)."""

    backend: Literal["corenlp", "spacy"] = "corenlp"
    corenlp_url: str = "http://127.0.0.1:9000"
    # A story's NER on a warm server takes well under a second; a request
    # that needs longer is a stuck or overloaded server.
    timeout: float = 30.0
    # Characters of one request: a 1 MB document must not hold a batch (the
    # rest of it is read in later requests of the same batch).
    max_request_chars: int = 50_000
    # Languages the server reads with their own model. Italian's model is
    # better than reading Italian as a related language but an order of
    # magnitude slower than the others (both measured: BENCHMARKS.md and
    # docs/enrichment.md): at a few percent of Italian copy it would take
    # most of a core. Add "it" where Italian matters more than throughput.
    languages: list[Literal["en", "de", "fr", "es", "it"]] = Field(
        default_factory=lambda: ["en", "de", "fr", "es"])  # type: ignore[arg-type]


class TopicSettings(BaseModel):
    """The learned topic model (services.enrich.topic_model; docs/enrichment.md)."""

    # built by `wirestream topics train`; missing or unusable: the rules alone
    model_path: str = "var/models/topics.npz"
    # a top level the model gives at least this calibrated probability is kept
    min_probability: float = Field(default=0.2, ge=0.0, le=1.0)
    # how often a worker looks whether the model file changed (swapped in
    # without a restart)
    check_seconds: float = Field(default=60.0, ge=0.0)


# Where an operator may allow feeds (IngestSettings.allow_networks): private
# unicast ranges only, never loopback, link-local (cloud metadata) or the rest
ALLOWABLE_NETWORKS: tuple[IPv4Network | IPv6Network, ...] = (
    IPv4Network("10.0.0.0/8"), IPv4Network("172.16.0.0/12"), IPv4Network("192.168.0.0/16"),
    IPv4Network("100.64.0.0/10"), IPv6Network("fc00::/7"))


def allowable_network(text: str) -> IPv4Network | IPv6Network:
    """``text`` as a network an operator may allow, or ValueError: it must
    lie inside :data:`ALLOWABLE_NETWORKS` (RFC 1918, CGNAT, ULA)."""
    network = ip_network(text.strip(), strict=False)
    if not any(isinstance(network, type(outer)) and network.subnet_of(outer)  # type: ignore[arg-type]
               for outer in ALLOWABLE_NETWORKS):
        raise ValueError(f"{text!r} is not inside a private range (10/8, 172.16/12, "
                         "192.168/16, 100.64/10, fc00::/7): it cannot be allowed")
    return network


class IngestSettings(BaseModel):
    # A feed larger than 10 MB after decompression is almost surely an error
    # or an attack; real news feeds are < 2 MB.
    max_bytes: int = 10 * 1024 * 1024
    # Entries read from one document (the rest is refused with one recorded
    # error, and a feed is cut before parsing so the rest costs nothing), and
    # text characters of one item (headline + summary + body).
    max_items_per_document: int = Field(default=10_000, ge=1)
    max_item_chars: int = Field(default=1_000_000, ge=1000)
    # Paragraphs a source repeats (services/ingest/adapters/repeats.py): learned from
    # its last `repeats_window` items (0 turns it off); dropped when at least
    # `repeats_min_items` of them carry the paragraph.
    repeats_window: int = Field(default=200, ge=0)
    repeats_min_items: int = Field(default=3, ge=2)
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    # Total deadline for one fetch including slow drip-feeding servers.
    total_timeout: float = 60.0
    max_redirects: int = 5
    # Loopback targets are refused by the SSRF guard unless this is set; the
    # demo and the tests serve feeds from 127.0.0.1 and turn it on.
    allow_loopback: bool = False
    # Private networks whose feeds may be fetched (an agency's wire server on
    # the newsroom's intranet), as CIDRs inside 10/8, 172.16/12, 192.168/16,
    # 100.64/10 or fc00::/7; e.g. WIRESTREAM_INGEST__ALLOW_NETWORKS='["10.20.0.0/24"]'.
    # Loopback, link-local (cloud metadata) and the other ranges stay refused.
    allow_networks: list[str] = Field(default_factory=list)

    @field_validator("allow_networks")
    @classmethod
    def _allowable(cls, value: list[str]) -> list[str]:
        return [str(allowable_network(text)) for text in value]

    @property
    def allowed_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        return tuple(ip_network(text) for text in self.allow_networks)
    user_agent: str = "wirestream/0.1 (+https://example.invalid/wirestream-bot)"
    # Politeness per host, shared by all workers through Redis: fetches in
    # flight at once, and the least time between two request starts.
    host_concurrency: int = 2
    host_min_delay: float = 1.0
    # Extra boilerplate rule files (same schema as
    # services/ingest/boilerplate.yaml), appended to the shipped rules; a bad
    # file fails the worker at boot.
    boilerplate_files: list[str] = Field(default_factory=list)
    # Items per enrich task: big enough for nlp.pipe-style batching, small
    # enough that a retry does not redo much work.
    batch_size: int = 25


class CelerySettings(BaseModel):
    """Timing of delivery, retries and redelivery (docs/guarantees.md).

    One invariant, checked at boot: Redis must never hand a message to a
    second worker while a healthy first one still holds it, so
    ``visibility_timeout > task_time_limit + max_retry_countdown``. The price
    of a long visibility timeout is the other side of the same knob: a
    message held by a worker whose *main* process dies (SIGKILL, OOM, lost
    host) is delivered again only after it.
    """

    # Hard limit for one task (a batch): the worker kills the child process
    # running it. The task's message is then dead-lettered (or, for a batch,
    # split into single items), see shared.tasking.
    task_time_limit: int = Field(default=300, ge=2)
    # A minute earlier, SoftTimeLimitExceeded lets the task give up cleanly.
    task_soft_time_limit: int = Field(default=240, ge=1)
    # Longest countdown any retry waits (shared.tasking.backoff). A delayed
    # retry sits unacked in a worker until its countdown has run out.
    max_retry_countdown: int = Field(default=600, ge=1)
    # Seconds before Redis redelivers a message that was delivered and not
    # acked: 2 x (300 + 600) leaves room for a slow task behind a retry.
    visibility_timeout: int = Field(default=1800, ge=3)
    # Seconds a new pool process has to report that it is up before the
    # worker kills it and starts another. Celery's 4 s is short on a loaded
    # host: a worker main process still busy starting (while a sibling
    # container loads its models) reads the report late and kills a healthy
    # child.
    proc_alive_timeout: float = Field(default=30.0, gt=0)
    # Pool processes are replaced after this many tasks, which bounds slow
    # leaks in parser libraries.
    max_tasks_per_child: int = Field(default=2000, ge=1)

    @model_validator(mode="after")
    def _timing(self) -> CelerySettings:
        if self.task_soft_time_limit >= self.task_time_limit:
            raise ValueError(
                f"task_soft_time_limit ({self.task_soft_time_limit}) must be below "
                f"task_time_limit ({self.task_time_limit})"
            )
        floor = self.task_time_limit + self.max_retry_countdown
        if self.visibility_timeout <= floor:
            raise ValueError(
                f"visibility_timeout ({self.visibility_timeout}) must exceed "
                f"task_time_limit + max_retry_countdown ({self.task_time_limit} + "
                f"{self.max_retry_countdown} = {floor}), or Redis would hand a message "
                "still held by a healthy worker to a second one"
            )
        return self


class ReconcileSettings(BaseModel):
    """The reconciler (services.ingest.reconciler): items the version gate
    accepted that are neither searchable nor dead-lettered after
    ``deadline`` seconds are re-driven, at most ``max_redrives`` times, then
    dead-lettered with reason ``reconcile:not_indexed``."""

    enabled: bool = True
    # Longer than any legitimate path to the index: the transient retry window
    # (about 510 s at most with the default backoff cap), a redelivery after a
    # lost worker (the visibility timeout, 1800 s) and a queue backlog.
    deadline: float = Field(default=3600.0, gt=0)
    # How often the scheduler runs a pass.
    interval: float = Field(default=300.0, gt=0)
    # Items accepted longer ago than this are not looked at any more.
    horizon: float = Field(default=2 * 86400.0, gt=0)
    max_redrives: int = Field(default=2, ge=0)


FILE_SUFFIX = "_FILE"
EXAMPLE_PREFIX = "change-me"  # .env.example's placeholders


def is_field(model: type[BaseModel], keys: list[str]) -> bool:
    """Whether ``keys`` (``["redis", "password"]``) name a field of ``model``,
    level by level."""
    for depth, key in enumerate(keys):
        field = model.model_fields.get(key)
        if field is None:
            return False
        if depth < len(keys) - 1:
            annotation = field.annotation
            if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
                return False
            model = annotation
    return True


class FileSecrets(PydanticBaseSettingsSource):
    """Settings read from files named by ``<VARIABLE>_FILE``
    (``WIRESTREAM_REDIS__PASSWORD_FILE=/run/secrets/redis_password``), the
    convention of Docker secrets: the value never sits in the environment a
    ``docker inspect`` shows. One trailing newline is dropped. Setting both
    a variable and its ``_FILE`` is a ConfigError, as is a file that cannot
    be read."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        prefix = str(settings_cls.model_config.get("env_prefix", ""))
        self.values: dict[str, Any] = {}
        for name, path in os.environ.items():
            upper = name.upper()
            if not (upper.startswith(prefix) and upper.endswith(FILE_SUFFIX)):
                continue
            variable = name[:-len(FILE_SUFFIX)]
            keys = variable[len(prefix):].lower().split("__")
            if not is_field(settings_cls, keys):
                continue  # not a setting (WIRESTREAM_ENV_FILE names the env file)
            if os.environ.get(variable):
                raise ConfigError(f"both {variable} and {name} are set: keep one")
            try:
                value = Path(path).read_text(encoding="utf-8").removesuffix("\n")
            except OSError as exc:
                raise ConfigError(f"{name}: cannot read {path}: {exc.strerror}") from exc
            target = self.values
            for key in keys[:-1]:
                target = target.setdefault(key, {})
            target[keys[-1]] = value

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self.values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return self.values


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
    ner: NerSettings = Field(default_factory=NerSettings)
    topics: TopicSettings = Field(default_factory=TopicSettings)
    clusters: ClusterSettings = Field(default_factory=ClusterSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    celery: CelerySettings = Field(default_factory=CelerySettings)
    reconcile: ReconcileSettings = Field(default_factory=ReconcileSettings)
    log_level: str = "INFO"
    log_json: bool = True
    # /metrics of each worker's main process; 0 disables. Compose scrapes
    # 9108 on every worker container; local runs give each worker its own.
    metrics_port: int = 9108
    # loopback unless told: compose sets 0.0.0.0, which inside a container is
    # its service network only (nothing publishes the port)
    metrics_addr: str = "127.0.0.1"

    @model_validator(mode="after")
    def _no_example_passwords(self) -> Settings:
        """.env.example's ``change-me-*`` placeholders are no passwords: a
        process configured with one refuses to start."""
        for section in (self.redis, self.es):
            for name, value in section:
                if isinstance(value, SecretStr) and value.get_secret_value().startswith(
                        EXAMPLE_PREFIX):
                    raise ValueError(f"{type(section).__name__}.{name} still holds the example "
                                     "value of .env.example: set a real password in .env")
        return self

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # the environment, then files named by *_FILE, then the env file
        return (init_settings, env_settings, FileSecrets(settings_cls), dotenv_settings,
                file_secret_settings)


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
