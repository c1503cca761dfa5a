"""docker-compose.yml, the Dockerfiles, .env.example and deploy/, checked
without a Docker engine.

Most checks read the compose file as plain YAML (anchors and merge keys
resolved, as compose sees them) and cross-check it against the code it runs:
the settings it must feed, the CLI commands it calls, the queues, the pinned
Elasticsearch version. ``deploy/elasticsearch/es-config.sh`` runs for real
against a stub of ``elasticsearch-users``. ``docker compose config`` and
``promtool`` run when they are installed, and are skipped (saying why) when
they are not.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import shutil
import stat
import subprocess
import tomllib
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from shared.queues import QUEUES
from wirestream.dev.redis_users import ROLES

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
APP_DOCKERFILE = ROOT / "Dockerfile"
APERTIUM_DOCKERFILE = ROOT / "deploy" / "apertium" / "Dockerfile"
ES_CONFIG_SCRIPT = ROOT / "deploy" / "elasticsearch" / "es-config.sh"
ROLES_FILE = ROOT / "deploy" / "elasticsearch" / "roles.yml"
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
DASHBOARD_DIR = ROOT / "deploy" / "grafana" / "dashboards"
OPERATIONS_DOC = ROOT / "docs" / "operations.md"
EXPORTER_PORT = 9109

REQUIRED_SERVICES = {
    "redis",
    "elasticsearch",
    "es-config",
    "apertium",
    "corenlp",
    "setup",
    "ingest",
    "enrich",
    "index",
    "scheduler",
    "exporter",
    "flower",
    "prometheus",
    "grafana",
}
WORKERS = tuple(QUEUES)
APP_SERVICES = ("setup", *WORKERS, "scheduler", "exporter")
ONE_SHOT = {"es-config", "setup"}
PORT_PUBLISHERS = {"prometheus", "alertmanager", "grafana", "flower"}
ES_IMAGE_REPO = "docker.elastic.co/elasticsearch/elasticsearch"
ES_HOME = "/usr/share/elasticsearch"

# Settings without a safe default inside compose (the defaults point at
# 127.0.0.1, the passwords default to none): every app service needs them.
REQUIRED_APP_ENV = {
    "WIRESTREAM_REDIS__URL": "redis://redis:6379/0",
    "WIRESTREAM_ES__URL": "https://elasticsearch:9200",
    "WIRESTREAM_ES__CA_CERTS": "/run/es-ca/ca.crt",
    "WIRESTREAM_ES__PASSWORD_FILE": "/run/secrets/es_writer_password",
    "WIRESTREAM_ES__READER_PASSWORD_FILE": "/run/secrets/es_reader_password",
    "WIRESTREAM_TRANSLATOR__APERTIUM_URL": "http://apertium:2737",
}
ADMIN_ENV = "WIRESTREAM_ES__ADMIN_PASSWORD_FILE"
# The Redis user of each app service (deploy/redis/users.acl.in)
REDIS_USER = {"setup": "operator", "ingest": "ingest", "enrich": "enrich", "index": "index",
              "scheduler": "scheduler", "exporter": "exporter"}
# compose secret -> the .env variable it is made from
SECRETS = {"redis_password": "REDIS_PASSWORD", "es_writer_password": "ES_WRITER_PASSWORD",
           "es_reader_password": "ES_READER_PASSWORD", "elastic_password": "ELASTIC_PASSWORD",
           **{f"redis_{role}_password": f"REDIS_{role.upper()}_PASSWORD" for role in ROLES}}


# ------------------------------------------------------------------ helpers
@cache
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict), "docker-compose.yml is not a mapping"
    return data


def services() -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = compose()["services"]
    return result


@cache
def env_example() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f".env.example: not KEY=value: {line!r}"
        assert key not in values, f".env.example: {key} twice"
        values[key.strip()] = value.strip()
    return values


def strings(node: Any) -> Iterator[str]:
    """Every string (keys and values) of a YAML tree."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from strings(key)
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def references(text: str) -> list[tuple[str, str, str]]:
    """Compose interpolations in ``text`` as (name, operator, argument);
    ``$$`` is an escaped dollar. A bare ``$NAME`` is returned with operator
    ``"bare"``."""
    found: list[tuple[str, str, str]] = []
    i = 0
    while i < len(text):
        if text[i] != "$":
            i += 1
            continue
        nxt = text[i + 1 : i + 2]
        if nxt == "$":
            i += 2
            continue
        if nxt == "{":
            end = text.index("}", i)
            body = text[i + 2 : end]
            match = _NAME.match(body)
            assert match, f"bad interpolation {text[i : end + 1]!r}"
            rest = body[match.end() :]
            op = next((o for o in (":-", ":?", ":+", "-", "?", "+") if rest.startswith(o)), "")
            found.append((match.group(), op, rest[len(op) :]))
            i = end + 1
            continue
        match = _NAME.match(text, i + 1)
        if match:
            found.append((match.group(), "bare", ""))
        i += 1
    return found


def interpolate(text: str, env: dict[str, str]) -> str:
    def value(name: str, op: str, arg: str) -> str:
        current = env.get(name)
        if op in (":-", "-"):
            return current if current or (op == "-" and current is not None) else arg
        if op in (":?", "?"):
            assert current or (op == "?" and current is not None), f"{name}: {arg}"
            return current or ""
        if op in (":+", "+"):
            return arg if current or (op == "+" and current is not None) else ""
        return current or ""

    out = re.sub(
        r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?+])?([^}]*)\}",
        lambda m: "$" if m.group() == "$$" else value(m[1], m[2] or "", m[3]),
        text,
    )
    return out


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def interpolated_env(name: str) -> dict[str, str]:
    return {k: interpolate(v, env_example()) for k, v in environment(services()[name]).items()}


def bind_mounts(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(source, target) of the volumes entries; named volumes included."""
    mounts = []
    for entry in service.get("volumes", []):
        if isinstance(entry, str):
            source, target = entry.split(":")[:2]
        else:
            source, target = entry["source"], entry["target"]
        mounts.append((source, target))
    return mounts


def duration_seconds(value: str) -> float:
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    total = 0.0
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", value):
        total += float(number) * units[unit]
    return total


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, f"{path}: dangling line continuation"
    result = []
    for line in logical:
        word, _, args = line.partition(" ")
        result.append((word.upper(), args.strip()))
    return result


def pinned_es_version() -> str:
    """wirestream.dev.local_services.ES_VERSION if that module exists, else the
    single source of truth shared.versions.ES_VERSION."""
    name = (
        "wirestream.dev.local_services"
        if importlib.util.find_spec("wirestream.dev.local_services")
        else "shared.versions"
    )
    version = importlib.import_module(name).ES_VERSION
    assert isinstance(version, str)
    return version


# ------------------------------------------------------------ the file itself
def test_compose_parses_and_has_every_service() -> None:
    assert isinstance(services(), dict)
    missing = REQUIRED_SERVICES - set(services())
    assert not missing, f"services missing from docker-compose.yml: {sorted(missing)}"


def test_shared_app_config_is_one_anchor() -> None:
    assert "x-app" in compose(), "the shared app config lives in the x-app anchor"
    app_image = compose()["x-app"]["image"]
    for name in APP_SERVICES:
        assert services()[name]["image"] == app_image, f"{name} does not use the x-app image"
    builders = [n for n in APP_SERVICES if "build" in services()[n]]
    assert builders == ["setup"], "exactly one app service builds the shared image"
    build = services()["setup"]["build"]
    assert (ROOT / build["context"] / build.get("dockerfile", "Dockerfile")).is_file()


def test_elasticsearch_image_is_the_pinned_version() -> None:
    expected = f"{ES_IMAGE_REPO}:{pinned_es_version()}"
    for name in ("elasticsearch", "es-config"):
        assert services()[name]["image"] == expected, name


def test_pinned_versions_agree() -> None:
    from shared.versions import ES_VERSION

    assert pinned_es_version() == ES_VERSION


# ------------------------------------------------------------- environment
def test_every_app_service_gets_the_settings_without_safe_default() -> None:
    for name in APP_SERVICES:
        env = environment(services()[name])
        for key, literal in REQUIRED_APP_ENV.items():
            assert key in env, f"{name} lacks {key}"
            if literal is not None:
                assert env[key] == literal, f"{name}: {key}={env[key]!r}"
        mounted = set(services()[name].get("secrets", []))
        # its own Redis user, and no other's password
        role = REDIS_USER[name]
        assert env.get("WIRESTREAM_REDIS__USERNAME") == role, name
        assert env.get("WIRESTREAM_REDIS__PASSWORD_FILE") == f"/run/secrets/redis_{role}_password"
        assert {m for m in mounted if m.startswith("redis_")} == {f"redis_{role}_password"}, name
        if name == "setup":
            assert ADMIN_ENV in env, "setup needs the superuser password"
            assert "elastic_password" in mounted
        else:
            assert ADMIN_ENV not in env, f"{name} must not get the superuser password"
            assert "elastic_password" not in mounted, f"{name} must not see it either"


def test_app_containers_read_passwords_from_secrets_not_the_environment() -> None:
    declared = compose()["secrets"]
    assert {k: v["environment"] for k, v in declared.items()} == SECRETS
    for variable in SECRETS.values():
        assert env_example()[variable], f".env.example: {variable} has no placeholder"
    for name in APP_SERVICES:
        service = services()[name]
        for key, value in environment(service).items():
            assert "PASSWORD" not in key or key.endswith("_FILE"), f"{name}: {key} in the env"
            if key.endswith("_FILE"):
                secret = value.removeprefix("/run/secrets/")
                assert secret in service["secrets"] and secret in declared, f"{name}: {key}"


def test_service_urls_name_compose_services() -> None:
    for key, url in REQUIRED_APP_ENV.items():
        if url is None or "://" not in url:
            continue
        host = url.split("://", 1)[1].split(":", 1)[0]
        assert host in services(), f"{key} points at {host}, which is no service"


def _settings_field_exists(key: str) -> bool:
    from shared.settings import Settings, is_field

    return is_field(Settings, key.removeprefix("WIRESTREAM_").lower().split("__"))


def test_every_wirestream_variable_is_a_real_setting() -> None:
    for name in APP_SERVICES:
        for key in environment(services()[name]):
            if key.startswith("WIRESTREAM_"):
                setting = key.removesuffix("_FILE")  # the value read from that file
                assert _settings_field_exists(setting), f"{name}: {key} matches no setting"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_environment_builds_the_settings(name: str, monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    """The container's environment, interpolated from .env.example, really
    configures shared.settings (nesting, types, secrets)."""
    from shared.settings import Settings

    for key in list(os.environ):
        if key.startswith("WIRESTREAM_"):
            monkeypatch.delenv(key)
    # Docker mounts each secret of the service at /run/secrets/<name>: here,
    # a directory of files made from .env.example as compose makes them
    secrets = tmp_path / "secrets"
    secrets.mkdir()

    def mount(filled: dict[str, str]) -> None:
        for secret in services()[name].get("secrets", []):
            (secrets / secret).write_text(filled[SECRETS[secret]])

    for key, value in interpolated_env(name).items():
        monkeypatch.setenv(key, value.replace("/run/secrets", str(secrets)))
    # .env.example as shipped: its placeholders are refused
    mount(env_example())
    with pytest.raises(ValidationError, match=r"example value of \.env\.example"):
        Settings(_env_file=None)  # type: ignore[call-arg]
    # filled in as an operator does
    example = {k: v.replace("change-me", "chosen") for k, v in env_example().items()}
    mount(example)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.redis.url == "redis://redis:6379/0"
    assert settings.redis.password is not None
    role = REDIS_USER[name]
    assert settings.redis.username == role
    assert settings.redis.password.get_secret_value() == example[f"REDIS_{role.upper()}_PASSWORD"]
    assert settings.es.url == "https://elasticsearch:9200"
    assert settings.es.ca_certs == "/run/es-ca/ca.crt"
    assert settings.es.password is not None
    assert settings.es.password.get_secret_value() == example["ES_WRITER_PASSWORD"]
    assert settings.es.reader_password is not None
    assert settings.es.reader_password.get_secret_value() == example["ES_READER_PASSWORD"]
    assert settings.translator.apertium_url == "http://apertium:2737"
    if name == "setup":
        assert settings.es.admin_password is not None
        assert settings.es.admin_password.get_secret_value() == example["ELASTIC_PASSWORD"]


def test_env_example_lists_every_variable_compose_uses() -> None:
    used = {name for text in strings(compose()) for name, _, _ in references(text)}
    used |= {secret["environment"] for secret in compose()["secrets"].values()}
    listed = set(env_example())
    assert used - listed == set(), f"missing from .env.example: {sorted(used - listed)}"
    assert listed - used == set(), f"in .env.example but unused: {sorted(listed - used)}"


def test_no_bare_dollar_variables() -> None:
    for text in strings(compose()):
        bare = [name for name, op, _ in references(text) if op == "bare"]
        assert not bare, f"use ${{{bare[0]}}} (or $$ to escape) in {text!r}"


def test_secrets_are_required_and_documented() -> None:
    lines = ENV_EXAMPLE.read_text().splitlines()
    for i, line in enumerate(lines):
        if line.strip() and not line.startswith("#"):
            above = lines[i - 1] if i else ""
            assert above.startswith("#"), f".env.example: no comment above {line!r}"
    for text in strings(compose()):
        for name, op, message in references(text):
            if "PASSWORD" in name or "AUTH" in name:
                assert op == ":?", f"${{{name}}} must be ${{{name}:?...}}: required"
                assert message.strip(), f"${{{name}:?}} needs a message"
                assert env_example()[name], f".env.example: {name} has no placeholder"


def test_healthchecks_carry_no_interpolated_secret() -> None:
    for name, service in services().items():
        test = service.get("healthcheck", {}).get("test", [])
        for text in strings(test):
            assert not references(text), f"{name}: healthcheck interpolates {text!r}"


# ----------------------------------------------------------- dependencies
def _image_has_healthcheck(service: dict[str, Any]) -> bool:
    build = service.get("build")
    if not build:
        return False
    dockerfile = ROOT / build["context"] / build.get("dockerfile", "Dockerfile")
    return any(word == "HEALTHCHECK" for word, _ in dockerfile_instructions(dockerfile))


def test_healthchecks_exist() -> None:
    for name in ("redis", "elasticsearch", "apertium", "corenlp", *WORKERS, "scheduler",
                 "exporter"):
        service = services()[name]
        assert "healthcheck" in service or _image_has_healthcheck(service), name


def test_depends_on_waits_for_health_or_completion() -> None:
    for name, service in services().items():
        depends = service.get("depends_on", {})
        assert isinstance(depends, dict), f"{name}: depends_on needs conditions (long form)"
        for dep, spec in depends.items():
            assert dep in services(), f"{name} depends on unknown {dep}"
            expected = "service_completed_successfully" if dep in ONE_SHOT else "service_healthy"
            assert spec.get("condition") == expected, f"{name} -> {dep}: {spec}"
            target = services()[dep]
            if expected == "service_healthy":
                assert "healthcheck" in target or _image_has_healthcheck(target), dep
            assert not target.get("profiles") or set(target["profiles"]) <= set(
                service.get("profiles", [])
            ), f"{name} depends on {dep}, which only runs in a profile"


def test_dependencies_of_each_stage() -> None:
    def deps(name: str) -> set[str]:
        return set(services()[name].get("depends_on", {}))

    assert deps("elasticsearch") == {"es-config"}
    assert deps("setup") == {"elasticsearch"}
    for worker in WORKERS:
        assert {"redis", "setup"} <= deps(worker), worker
    assert "apertium" in deps("enrich")
    assert "corenlp" in deps("enrich")
    assert "elasticsearch" in deps("index")
    assert {"redis", "setup"} <= deps("scheduler")


def test_workers_run_their_queue_and_check_their_health() -> None:
    from shared.celery_app import TASK_TIME_LIMIT

    for queue in WORKERS:
        service = services()[queue]
        assert service["command"] == ["worker", queue]
        assert service["healthcheck"]["test"] == ["CMD", "wirestream", "health", "worker", queue]
        # A stopping worker must be allowed to finish its running batch.
        assert duration_seconds(service["stop_grace_period"]) > TASK_TIME_LIMIT
    assert services()["scheduler"]["command"] == ["scheduler"]
    assert services()["scheduler"]["healthcheck"]["test"][:4] == [
        "CMD", "wirestream", "health", "scheduler"]
    assert services()["setup"]["command"] == ["index", "setup"]


@pytest.mark.parametrize(
    "argv",
    [
        ["worker", "--help"],
        ["scheduler", "--help"],
        ["index", "setup", "--help"],
        ["health", "worker", "--help"],
        ["exporter", "--help"],
        ["health", "exporter", "--help"],
        ["health", "scheduler", "--help"],
    ],
)
def test_compose_commands_exist_in_the_cli(argv: list[str]) -> None:
    from typer.testing import CliRunner

    from wirestream.cli import app

    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, result.output


def test_the_entrypoint_is_the_project_script() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "wirestream" in pyproject["project"]["scripts"]


# --------------------------------------------------- scaling and resources
def test_nothing_prevents_scaling() -> None:
    for name, service in services().items():
        assert "container_name" not in service, f"{name}: container_name blocks --scale"
        if name in APP_SERVICES:
            assert "hostname" not in service, f"{name}: a fixed hostname breaks health checks"
        if "ports" in service:
            assert name in PORT_PUBLISHERS, f"{name} must not publish host ports"
            for port in service["ports"]:
                assert str(port).startswith("127.0.0.1:"), f"{name}: {port} is not loopback"


def test_every_service_has_limits_and_a_restart_policy() -> None:
    for name, service in services().items():
        limits = service.get("deploy", {}).get("resources", {}).get("limits", {})
        assert {"memory", "cpus"} <= set(limits), f"{name}: deploy.resources.limits"
        expected = {"no"} if name in ONE_SHOT else {"unless-stopped", "always"}
        assert str(service.get("restart")) in expected, f"{name}: restart={service.get('restart')}"


def test_data_lives_in_named_volumes() -> None:
    volumes = set(compose()["volumes"])
    assert {"redis-data", "es-data", "es-config"} <= volumes
    assert ("redis-data", "/data") in bind_mounts(services()["redis"])
    es_mounts = bind_mounts(services()["elasticsearch"])
    assert ("es-data", f"{ES_HOME}/data") in es_mounts
    assert ("es-config", f"{ES_HOME}/config") in es_mounts
    for name, service in services().items():
        for source, _ in bind_mounts(service):
            if not source.startswith((".", "/")):
                assert source in volumes, f"{name}: volume {source} is not declared"


def test_referenced_files_exist() -> None:
    for name, service in services().items():
        for source, _ in bind_mounts(service):
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name}: {source} does not exist"
        build = service.get("build")
        if build:
            context = ROOT / build["context"]
            assert (context / build.get("dockerfile", "Dockerfile")).is_file(), name


# ----------------------------------------------------------------- CoreNLP
def test_corenlp_service() -> None:
    """Built from deploy/corenlp, never published, reached by the enrich
    worker by its service name, health-checked by annotating."""
    service = services()["corenlp"]
    assert service["build"]["context"] == "deploy/corenlp"
    assert "ports" not in service
    assert service["healthcheck"]["test"] == ["CMD", "/bin/sh", "/opt/corenlp/healthcheck.sh"]
    assert environment(services()["enrich"])["WIRESTREAM_NER__CORENLP_URL"] == (
        "http://corenlp:9000"
    )
    assert "corenlp" not in {
        dep for name in APP_SERVICES if name != "enrich" for dep in services()[name].get(
            "depends_on", {})
    }
    heap = environment(service)["CORENLP_HEAP"]
    assert heap.endswith("g")
    limit = service["deploy"]["resources"]["limits"]["memory"]
    # The JVM needs room beyond its heap (metaspace, code cache, threads).
    assert limit.endswith("g") and int(limit[:-1]) >= int(heap[:-1]) + 1


def test_corenlp_image_fetches_the_pinned_version_with_maven() -> None:
    from shared.versions import CORENLP_VERSION

    pom = (ROOT / "deploy" / "corenlp" / "pom.xml").read_text()
    assert f"<corenlp.version>{CORENLP_VERSION}</corenlp.version>" in pom
    for classifier in ("models", "models-german", "models-french", "models-spanish",
                       "models-italian"):
        assert f"<classifier>{classifier}</classifier>" in pom, classifier
    assert "<classifier>models-chinese</classifier>" not in pom
    dockerfile = dockerfile_instructions(ROOT / "deploy" / "corenlp" / "Dockerfile")
    runs = " ".join(args for word, args in dockerfile if word == "RUN")
    assert "copy-dependencies" in runs and "LoopbackHttpServerProvider.java" in runs
    cmd = next(args for word, args in dockerfile if word == "CMD")
    for flag in ("-Dsun.net.httpserver.nodelay=true",
                 "-Dcom.sun.net.httpserver.HttpServerProvider=LoopbackHttpServerProvider",
                 "-threads 2", "-quiet", "-timeout", "-maxCharLength", "-port 9000"):
        assert flag in cmd, flag


def test_corenlp_healthcheck_sends_the_clients_properties() -> None:
    """deploy/corenlp/healthcheck.sh carries shared.corenlp.ner_properties
    URL-encoded (the image has no Python); the two must not drift."""
    from urllib.parse import unquote

    from shared.corenlp import CORENLP_LANGUAGES, ner_properties
    from wirestream.dev.local_services import CORENLP_PROBES

    script = (ROOT / "deploy" / "corenlp" / "healthcheck.sh").read_text()
    probes = re.findall(r"^probe (\w+) '([^']*)' '([^']*)' \\\n  '([^']*)'$", script, re.M)
    assert [lang for lang, *_ in probes] == list(CORENLP_LANGUAGES)
    for lang, text, tags, props in probes:
        assert json.loads(unquote(props)) == ner_properties(lang), (
            f"{lang}: healthcheck.sh properties differ from shared.corenlp.ner_properties"
        )
        sentence, expected = CORENLP_PROBES[lang]
        assert text == sentence
        assert tags.split() == list(dict.fromkeys(expected.values()))


# ----------------------------------------------------------- Elasticsearch
def test_elasticsearch_service() -> None:
    service = services()["elasticsearch"]
    env = environment(service)
    assert env["xpack.security.enabled"] == "true"
    assert env["discovery.type"] == "single-node"
    assert "-Xms2g" in env["ES_JAVA_OPTS"] and "-Xmx2g" in env["ES_JAVA_OPTS"]
    assert references(env["ELASTIC_PASSWORD"])[0][0] == "ELASTIC_PASSWORD"
    assert service["ulimits"]["memlock"] == {"soft": -1, "hard": -1}
    assert service["ulimits"]["nofile"]["soft"] >= 65535
    check = " ".join(service["healthcheck"]["test"])
    assert "curl" in check and "wirestream_writer:" in check
    assert "/_cluster/health?wait_for_status=yellow&timeout=5s" in check
    # HTTPS with the certificates es-config made
    assert env["xpack.security.http.ssl.enabled"] == "true"
    assert env["xpack.security.http.ssl.certificate"] == "certs/elasticsearch/elasticsearch.crt"
    assert env["xpack.security.http.ssl.key"] == "certs/elasticsearch/elasticsearch.key"
    assert env["xpack.security.http.ssl.certificate_authorities"] == "certs/ca/ca.crt"
    assert "https://localhost:9200" in check and "--cacert config/certs/ca/ca.crt" in check
    # every application container trusts that CA, read-only
    for name in APP_SERVICES:
        assert ("es-ca", "/run/es-ca") in bind_mounts(services()[name]), name
    assert ("es-ca", "/es-ca") in bind_mounts(services()["es-config"])
    assert environment(services()["es-config"])["ES_CA_DIR"] == "/es-ca"
    assert service["depends_on"]["es-config"]["condition"] == "service_completed_successfully"


# ------------------------------------------- the three-node cluster overlay
CLUSTER_OVERLAY = ROOT / "deploy" / "compose" / "es-cluster.yml"


def _merge(base: Any, over: Any) -> Any:
    """Compose's merge of a file given with a second ``--file``: mappings
    merge key by key, anything else is replaced."""
    if isinstance(base, dict) and isinstance(over, dict):
        merged = dict(base)
        for key, value in over.items():
            merged[key] = _merge(base.get(key), value) if key in base else value
        return merged
    return over


@cache
def with_cluster() -> dict[str, Any]:
    overlay = yaml.safe_load(CLUSTER_OVERLAY.read_text())
    merged: dict[str, Any] = _merge(compose(), overlay)
    return merged


def cluster_nodes() -> list[str]:
    nodes = [name for name, service in with_cluster()["services"].items()
             if str(service.get("image", "")).startswith("docker.elastic.co/elasticsearch/")
             and name != "es-config"]
    return nodes


def test_the_cluster_overlay_makes_three_nodes_that_find_each_other() -> None:
    merged = with_cluster()["services"]
    nodes = cluster_nodes()
    assert nodes == ["elasticsearch", "es02", "es03"]
    volumes = with_cluster()["volumes"]
    data: set[str] = set()
    for name in nodes:
        service = merged[name]
        env = {k: str(v) for k, v in service["environment"].items()}
        assert service["image"] == compose()["services"]["elasticsearch"]["image"], name
        assert env["discovery.type"] == "multi-node", name
        assert env["node.name"] == name
        assert env["discovery.seed_hosts"].split(",") == nodes
        assert env["cluster.initial_master_nodes"].split(",") == nodes
        assert env["cluster.name"] == "wirestream"
        # a secured cluster over a network needs transport TLS: the
        # certificate es-config makes (make-certs.sh names every node)
        assert env["xpack.security.transport.ssl.enabled"] == "true"
        for kind in ("key", "certificate", "certificate_authorities"):
            assert (env[f"xpack.security.transport.ssl.{kind}"]
                    == env[f"xpack.security.http.ssl.{kind}"]), (name, kind)
        assert env["xpack.security.http.ssl.enabled"] == "true"
        mounts = dict((target, source) for source, target in bind_mounts(service))
        assert mounts["/usr/share/elasticsearch/config"].split(":")[0] == "es-config"
        store = mounts["/usr/share/elasticsearch/data"]
        assert store in volumes and store not in data, (name, store)
        data.add(store)
        assert service["depends_on"]["es-config"]["condition"] == (
            "service_completed_successfully")
        check = " ".join(service["healthcheck"]["test"])
        assert "wait_for_status=yellow" in check and "--cacert" in check
        assert service["restart"] == "unless-stopped"
        assert service["deploy"]["resources"]["limits"]["memory"]
        assert service["ulimits"]["memlock"] == {"soft": -1, "hard": -1}
    # the other nodes read the config volume es-config prepared, never write it
    for name in nodes[1:]:
        assert "es-config:/usr/share/elasticsearch/config:ro" in merged[name]["volumes"]
        # only the first node sets the bootstrap password (in the keystore)
        assert "ELASTIC_PASSWORD" not in merged[name]["environment"]


def test_the_cluster_overlay_tells_every_app_container_every_node() -> None:
    merged = with_cluster()["services"]
    want = [f"https://{node}:9200" for node in cluster_nodes()]
    told = [name for name, service in compose()["services"].items()
            if "WIRESTREAM_ES__URL" in environment(service)]
    assert set(told) == set(APP_SERVICES)
    for name in told:
        url = str(merged[name]["environment"]["WIRESTREAM_ES__URL"])
        assert url.split(",") == want, name
        # and the settings read that as three nodes
        from shared.settings import ElasticsearchSettings
        assert ElasticsearchSettings(url=url).urls == want


def test_es_config_service_runs_the_script_on_the_volume() -> None:
    service = services()["es-config"]
    env = environment(service)
    mounts = dict((target, source) for source, target in bind_mounts(service))
    assert mounts.get(env["ES_PATH_CONF"]) == "es-config", "ES_PATH_CONF is not the volume"
    shell, script = service["entrypoint"]
    assert shell == "/bin/bash"
    mount_target = str(Path(script).parent)
    assert mounts.get(mount_target) == "./deploy/elasticsearch"
    assert (ROOT / "deploy" / "elasticsearch" / Path(script).name) == ES_CONFIG_SCRIPT
    assert {"ES_WRITER_PASSWORD", "ES_READER_PASSWORD"} <= set(env)
    assert service["restart"] == "no"


def test_roles_file() -> None:
    """Least privilege (deploy/elasticsearch/roles.yml): the writer indexes
    (the index API only: `create`, not `index`, which also grants the update
    API and with it a read) and creates wirestream indices, nothing else
    (`monitor` for health checks and the exporter's probe); the reader
    searches the read alias."""
    roles = yaml.safe_load(ROLES_FILE.read_text())
    writer, reader = roles["wirestream_writer"], roles["wirestream_reader"]
    assert writer["cluster"] == ["monitor"]
    assert writer["indices"][0]["names"] == ["wirestream-*"]
    assert set(writer["indices"][0]["privileges"]) == {
        "create_index",
        "create",
        "view_index_metadata",
    }
    alias, directory = reader["indices"]
    pattern = re.compile(alias["names"][0].strip("/"))
    assert pattern.fullmatch("wirestream-news") and pattern.fullmatch("wirestream-news-t0a1b2c3d")
    assert not pattern.fullmatch("wirestream-news-2026.11")
    assert not pattern.fullmatch("wirestream-news-entities")
    privileges = set(alias["privileges"])
    assert "indices:data/read/search*" in privileges
    assert not privileges & {"read", "all", "write", "indices:data/read/get*"}
    # the entity directory: GET by id (the terms lookup), nothing else
    pattern = re.compile(directory["names"][0].strip("/"))
    assert pattern.fullmatch("wirestream-news-entities")
    assert pattern.fullmatch("wirestream-news-t0a1b2c3d-entities")
    assert not pattern.fullmatch("wirestream-news") and not pattern.fullmatch(
        "wirestream-news-v1-2026.11")
    assert directory["privileges"] == ["indices:data/read/get"]
    assert not reader.get("cluster")


# Stub of bin/elasticsearch-certutil: the PEM zip files the real tool writes
# (ca/ca.crt + ca/ca.key; <name>/<name>.crt + .key), with placeholder text;
# calls logged. tests/integration/test_es_tls.py runs the real tool.
STUB_CERTUTIL = r"""#!/usr/bin/env python3
import os, sys, zipfile
args = sys.argv[1:]
with open(os.environ["STUB_LOG"], "a") as log:
    log.write("certutil " + " ".join(args) + "\n")
out = args[args.index("--out") + 1]
name = "ca" if args[0] == "ca" else args[args.index("--name") + 1]
with zipfile.ZipFile(out, "w") as z:
    z.writestr(f"{name}/{name}.crt", f"CERT {name}\n")
    z.writestr(f"{name}/{name}.key", f"KEY {name}\n")
"""

STUB_USERS_TOOL = r"""#!/usr/bin/env bash
# Stub of bin/elasticsearch-users: users as user:password lines, roles as
# role:user lines, in $ES_PATH_CONF like the real tool; calls logged.
set -euo pipefail
echo "$*" >> "$STUB_LOG"
[[ -d "${ES_PATH_CONF:-}" ]] || { echo "ES_PATH_CONF unset" >&2; exit 78; }
users="$ES_PATH_CONF/users"; roles="$ES_PATH_CONF/users_roles"
touch "$users" "$roles"
cmd=$1; user=$2; shift 2
has_user() { grep -q "^$user:" "$users"; }
case "$cmd" in
  list) has_user || { echo "User [$user] doesn't exist" >&2; exit 67; } ;;
  useradd)
    if has_user; then echo "User [$user] already exists" >&2; exit 65; fi
    [[ $1 == -p && $3 == -r ]] || exit 64
    echo "$user:$2" >> "$users"; echo "$4:$user" >> "$roles" ;;
  passwd)
    has_user || exit 67
    [[ $1 == -p ]] || exit 64
    { grep -v "^$user:" "$users" || true; echo "$user:$2"; } > "$users.new"
    mv "$users.new" "$users" ;;
  roles)
    has_user || exit 67
    [[ $1 == -a ]] || exit 64
    grep -qx "$2:$user" "$roles" || echo "$2:$user" >> "$roles" ;;
  *) exit 64 ;;
esac
"""


@pytest.fixture
def fake_es(tmp_path: Path) -> dict[str, Path]:
    home = tmp_path / "es"
    (home / "config" / "jvm.options.d").mkdir(parents=True)
    (home / "config" / "elasticsearch.yml").write_text('cluster.name: "docker-cluster"\n')
    (home / "config" / "jvm.options").write_text("-XX:+UseG1GC\n")
    for empty in ("users", "users_roles", "roles.yml", "role_mapping.yml"):
        (home / "config" / empty).write_text("")
    (home / "bin").mkdir()
    tool = home / "bin" / "elasticsearch-users"
    tool.write_text(STUB_USERS_TOOL)
    tool.chmod(0o755)
    certutil = home / "bin" / "elasticsearch-certutil"
    certutil.write_text(STUB_CERTUTIL)
    certutil.chmod(0o755)
    volume = tmp_path / "volume"
    volume.mkdir()
    return {"home": home, "volume": volume, "log": tmp_path / "calls.log",
            "ca": tmp_path / "es-ca"}


def run_es_config(fake: dict[str, Path], **overrides: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "ES_HOME": str(fake["home"]),
        "ES_PATH_CONF": str(fake["volume"]),
        "ES_CONFIG_OWNER": f"{os.getuid()}:{os.getgid()}",
        "ES_WRITER_PASSWORD": "writer-secret-1",
        "ES_READER_PASSWORD": "reader-secret-1",
        "STUB_LOG": str(fake["log"]),
        "ES_CA_DIR": str(fake["ca"]),
        **overrides,
    }
    env = {k: v for k, v in env.items() if v != "<unset>"}
    return subprocess.run(
        ["bash", str(ES_CONFIG_SCRIPT)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_es_config_seeds_the_volume_and_creates_users(fake_es: dict[str, Path]) -> None:
    result = run_es_config(fake_es)
    assert result.returncode == 0, result.stderr
    volume = fake_es["volume"]
    assert (volume / "elasticsearch.yml").read_text() == 'cluster.name: "docker-cluster"\n'
    assert (volume / "jvm.options.d").is_dir()
    assert (volume / "roles.yml").read_text() == ROLES_FILE.read_text()
    users = (volume / "users").read_text().splitlines()
    assert sorted(users) == [
        "wirestream_reader:reader-secret-1",
        "wirestream_writer:writer-secret-1",
    ]
    roles = (volume / "users_roles").read_text().splitlines()
    assert sorted(roles) == [
        "wirestream_reader:wirestream_reader",
        "wirestream_writer:wirestream_writer",
    ]
    # Password hashes are not for other users of the host.
    assert stat.S_IMODE((volume / "users").stat().st_mode) & 0o007 == 0
    # HTTPS: a CA and the node's certificate in the volume, the keys for
    # Elasticsearch alone, the CA's certificate for the clients
    certs = volume / "certs"
    for name in ("ca/ca.crt", "ca/ca.key", "elasticsearch/elasticsearch.crt",
                 "elasticsearch/elasticsearch.key"):
        assert (certs / name).is_file(), name
    for key in ("ca/ca.key", "elasticsearch/elasticsearch.key"):
        assert stat.S_IMODE((certs / key).stat().st_mode) & 0o007 == 0, key
    assert (fake_es["ca"] / "ca.crt").read_text() == (certs / "ca" / "ca.crt").read_text()
    assert not (fake_es["ca"] / "ca.key").exists()
    calls = fake_es["log"].read_text()
    # every node of deploy/compose/es-cluster.yml is a name of the certificate
    names = f"--dns {','.join(cluster_nodes())},localhost --ip 127.0.0.1"
    assert names in calls


def test_es_config_is_idempotent_and_keeps_existing_files(fake_es: dict[str, Path]) -> None:
    assert run_es_config(fake_es).returncode == 0
    volume = fake_es["volume"]
    (volume / "elasticsearch.yml").write_text("# operator edit\n")
    (volume / "elasticsearch.keystore").write_text("keystore")
    (volume / "roles.yml").write_text("stale: {}\n")
    (fake_es["home"] / "config" / "jvm.options").write_text("-XX:+NewerDefault\n")
    fake_es["log"].unlink()

    result = run_es_config(
        fake_es, ES_WRITER_PASSWORD="writer-secret-2", ES_READER_PASSWORD="reader-secret-2"
    )
    assert result.returncode == 0, result.stderr
    assert (volume / "elasticsearch.yml").read_text() == "# operator edit\n"
    assert (volume / "elasticsearch.keystore").read_text() == "keystore"
    assert (volume / "jvm.options").read_text() == "-XX:+UseG1GC\n"
    assert (volume / "roles.yml").read_text() == ROLES_FILE.read_text()
    users = (volume / "users").read_text().splitlines()
    assert sorted(users) == [
        "wirestream_reader:reader-secret-2",
        "wirestream_writer:writer-secret-2",
    ]
    roles = (volume / "users_roles").read_text().splitlines()
    assert len(roles) == 2
    calls = fake_es["log"].read_text()
    assert "useradd" not in calls
    assert "passwd wirestream_writer -p writer-secret-2" in calls
    # the certificates are made once: the clients' trust holds across re-runs
    assert "certutil" not in calls


def test_es_config_refuses_without_passwords(fake_es: dict[str, Path]) -> None:
    result = run_es_config(fake_es, ES_READER_PASSWORD="<unset>")
    assert result.returncode != 0
    assert "ES_READER_PASSWORD" in result.stderr


def test_es_config_refuses_the_example_passwords(fake_es: dict[str, Path]) -> None:
    for name in ("ES_WRITER_PASSWORD", "ES_READER_PASSWORD", "ELASTIC_PASSWORD"):
        result = run_es_config(fake_es, **{name: env_example()[name]})
        assert result.returncode != 0
        assert f"{name} still holds the example value" in result.stderr


def test_es_config_refuses_the_image_config_dir(fake_es: dict[str, Path]) -> None:
    result = run_es_config(fake_es, ES_PATH_CONF=str(fake_es["home"] / "config"))
    assert result.returncode != 0
    assert not (fake_es["home"] / "config" / "users_roles").read_text()


# ------------------------------------------------------------------- Redis
def test_redis_service() -> None:
    service = services()["redis"]
    assert service["image"] == "redis:7"
    command = " ".join(service["command"])
    for flag in (
        "sh /wirestream-redis/render-users.sh /wirestream-redis/users.acl.in /run/secrets"
        " > /tmp/users.acl",
        "--aclfile /tmp/users.acl",
        "--appendonly yes",
        "--appendfsync everysec",
        "--maxmemory-policy noeviction",
    ):
        assert flag in command, flag
    # The image's entrypoint must still run: it drops root for redis-server.
    assert "exec docker-entrypoint.sh redis-server" in command
    check = " ".join(service["healthcheck"]["test"])
    assert "REDISCLI_AUTH" in check and "ping" in check and " -a " not in check
    assert "/run/secrets/redis_password" in check
    # every user's password, as files, and the template beside the script
    assert set(service["secrets"]) == {s for s in SECRETS if s.startswith("redis_")}
    assert ("./deploy/redis", "/wirestream-redis") in bind_mounts(service)
    assert "environment" not in service  # no password in `docker inspect`


def _secret_files(tmp_path: Path, passwords: dict[str, str]) -> Path:
    directory = tmp_path / "run-secrets"
    directory.mkdir(exist_ok=True)
    for role, password in passwords.items():
        name = "redis_password" if role == "default" else f"redis_{role}_password"
        (directory / name).write_text(password)
    return directory


def test_compose_renders_the_same_users_as_the_local_services(tmp_path: Path) -> None:
    from wirestream.dev.redis_users import TEMPLATE, render

    passwords = {role: f"pw-{role}-{n}" for n, role in enumerate(("default", *ROLES))}
    result = subprocess.run(["sh", str(ROOT / "deploy" / "redis" / "render-users.sh"),
                             str(TEMPLATE), str(_secret_files(tmp_path, passwords))],
                            capture_output=True, text=True, check=True)
    assert result.stdout == render(passwords)
    assert not any(p in result.stdout for p in passwords.values())


@pytest.mark.parametrize(("service", "variables"), [
    ("grafana", {"GF_SECURITY_ADMIN_PASSWORD": "GRAFANA_ADMIN_PASSWORD"}),
    ("flower", {"FLOWER_BASIC_AUTH": "FLOWER_BASIC_AUTH",
                "REDIS_OPERATOR_PASSWORD": "REDIS_OPERATOR_PASSWORD"}),
])
def test_grafana_and_flower_refuse_the_example_values(service: str,
                                                     variables: dict[str, str]) -> None:
    """Their start scripts, as the container's shell runs them (compose's
    `$$` is `$`), with the image's own program replaced by an echo."""
    script = services()[service]["command"][0].replace("$$", "$")
    script = re.sub(r"^exec .*$", "echo started", script, flags=re.M)
    filled = {k: v.replace("change-me", "chosen") for k, v in env_example().items()}
    for container, variable in variables.items():
        env = {"PATH": os.environ["PATH"], **{c: filled[v] for c, v in variables.items()}}
        env[container] = env_example()[variable]
        result = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True)
        assert result.returncode == 1 and "example value" in result.stderr, (service, variable)
    env = {"PATH": os.environ["PATH"], **{c: filled[v] for c, v in variables.items()}}
    result = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True)
    assert result.stdout.strip().endswith("started"), result.stderr


@pytest.mark.parametrize("bad", ["", "change-me-redis-index"])
def test_redis_refuses_to_start_without_a_real_password_per_user(tmp_path: Path,
                                                                 bad: str) -> None:
    passwords = {role: f"pw-{role}" for role in ("default", *ROLES)}
    passwords["index"] = bad
    result = subprocess.run(["sh", str(ROOT / "deploy" / "redis" / "render-users.sh"),
                             str(ROOT / "deploy" / "redis" / "users.acl.in"),
                             str(_secret_files(tmp_path, passwords))],
                            capture_output=True, text=True)
    assert result.returncode == 1 and result.stdout == ""
    assert "Redis user index" in result.stderr


# ---------------------------------------------------------------- Apertium
def test_apertium_image() -> None:
    instructions = dockerfile_instructions(APERTIUM_DOCKERFILE)
    words = [word for word, _ in instructions]
    assert instructions[0] == ("FROM", "debian:bookworm-slim")
    run = " ".join(args for word, args in instructions if word == "RUN")
    for package in ("apertium-apy", "apertium", "apertium-eng-spa", "apertium-eng-cat", "curl"):
        assert re.search(rf"(?<![\w-]){re.escape(package)}(?![\w-])", run), package
    user = [args for word, args in instructions if word == "USER"]
    assert user and user[-1].split(":")[0] not in ("root", "0")
    assert "HEALTHCHECK" in words
    health = next(args for word, args in instructions if word == "HEALTHCHECK")
    assert "http://localhost:2737/listPairs" in health
    cmd = json.loads(next(args for word, args in instructions if word == "CMD"))
    assert cmd[0] == "apertium-apy" and cmd[-1] == "/usr/share/apertium/modes"
    assert cmd[cmd.index("--port") + 1] == "2737"


def test_apertium_flags_are_real() -> None:
    apy = shutil.which("apertium-apy")
    if apy is None:
        pytest.skip("apertium-apy is not installed here; cannot check its flags")
    helptext = subprocess.run(
        [apy, "--help"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    instructions = dockerfile_instructions(APERTIUM_DOCKERFILE)
    cmd = json.loads(next(args for word, args in instructions if word == "CMD"))
    for flag in (arg for arg in cmd[1:] if arg.startswith("-")):
        assert re.search(rf"(?<![\w-]){re.escape(flag)}\b", helptext), flag


# --------------------------------------------------------- the app image
def test_app_dockerfile() -> None:
    instructions = dockerfile_instructions(APP_DOCKERFILE)
    args = {
        k: v
        for word, value in instructions
        if word == "ARG" and "=" in value
        for k, v in [value.split("=", 1)]
    }
    stages = [
        re.sub(r"\$\{(\w+)\}", lambda m: args[m[1]], value).split()[0]
        for word, value in instructions
        if word == "FROM"
    ]
    assert len(stages) >= 2, "multi-stage build"
    assert set(stages) == {"python:3.11-slim-bookworm"}
    copies = [value for word, value in instructions if word == "COPY"]
    assert any("requirements.lock" in value for value in copies)
    runs = [value for word, value in instructions if word == "RUN"]
    assert any("pip wheel" in run and "-r requirements.lock" in run for run in runs)
    install = [run for run in runs if "pip install" in run]
    assert install, "no pip install"
    steps = [step for run in install for step in run.split("&&") if "pip install" in step]
    lock_steps = [step for step in steps if "requirements.lock" in step]
    assert lock_steps and all("--no-deps" in step for step in lock_steps)
    assert any("--no-deps" in step and ".whl" in step for step in steps), "project: --no-deps"
    assert all("--no-index" in step for step in steps), "installs only the built wheels"
    user = [value for word, value in instructions if word == "USER"]
    assert user and user[-1].split(":")[0] not in ("root", "0")
    entrypoint = [json.loads(value) for word, value in instructions if word == "ENTRYPOINT"]
    assert entrypoint[-1] == ["wirestream"]


def test_requirements_lock_is_pinned() -> None:
    lock = ROOT / "requirements.lock"
    if not lock.exists():
        pytest.skip("requirements.lock does not exist yet")
    pinned = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[^\]]+\])?==[^\s;]+(\s*;.*)?$")
    digest = re.compile(r"^--hash=sha256:[0-9a-f]{64}$")
    for path in (lock, ROOT / "requirements-dev.lock"):
        # logical lines: a requirement and its hashes are joined by backslashes
        text = re.sub(r"\s*\\\n\s*", " ", path.read_text())
        for line in text.splitlines():
            line = line.split(" #", 1)[0].strip()
            if not line or line.startswith("#") or line == "-r requirements.lock":
                continue
            requirement, *hashes = line.split(" --hash=")
            assert pinned.match(requirement), f"{path.name}: not name==version: {line!r}"
            # every pin carries the sha256 of its files (pip --require-hashes)
            assert hashes, f"{path.name}: {requirement} has no --hash"
            assert all(digest.match("--hash=" + h) for h in hashes), requirement
            name = re.split(r"[\[=]", requirement, maxsplit=1)[0].lower()
            assert name != "wirestream", "the lock must not pin the project itself"
    dockerfile = APP_DOCKERFILE.read_text()
    assert "pip wheel --require-hashes --no-deps" in dockerfile


def test_dockerignore_keeps_secrets_and_state_out() -> None:
    entries = {
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", "var", ".git", ".env"} <= entries
    assert "README.md" not in entries, "pyproject's readme is needed to build the wheel"


# ---------------------------------------------------- Prometheus, Grafana
def _container_to_host(service: str, container_path: str) -> Path:
    for source, target in bind_mounts(services()[service]):
        if source.startswith(".") and (
            container_path == target or container_path.startswith(target.rstrip("/") + "/")
        ):
            return ROOT / source / os.path.relpath(container_path, target)
    raise AssertionError(f"{service}: {container_path} is not inside a bind mount")


def test_prometheus_scrapes_every_worker() -> None:
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    for rule_file in config["rule_files"]:
        assert _container_to_host("prometheus", rule_file).is_file(), rule_file
    port = int(compose()["x-app"]["environment"]["WIRESTREAM_METRICS_PORT"])
    scraped: set[str] = set()
    for job in config["scrape_configs"]:
        for sd in job.get("dns_sd_configs", []):
            assert sd["port"] == port
            scraped |= set(sd["names"])
        for static in job.get("static_configs", []):
            for target in static["targets"]:
                host, _, target_port = target.partition(":")
                if host in WORKERS:
                    assert int(target_port) == port
                    scraped.add(host)
    assert set(WORKERS) <= scraped


def test_alert_rules_are_valid_groups() -> None:
    rules = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())
    assert rules["groups"], "at least one rule group"
    for group in rules["groups"]:
        assert group["name"] and group["rules"]
        for rule in group["rules"]:
            assert ("alert" in rule) != ("record" in rule)
            assert rule["expr"].strip()


def _promtool() -> str:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian package prometheus)")
    return promtool


def test_promtool_checks_rules_and_config(tmp_path: Path) -> None:
    promtool = _promtool()
    for args in (
        ["check", "rules", str(PROMETHEUS_DIR / "alerts.yml")],
        ["test", "rules", str(PROMETHEUS_DIR / "alerts_test.yml")],
    ):
        result = subprocess.run(
            [promtool, *args], capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr
    # The config names rule files by their container path: check a copy.
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    config["rule_files"] = [str(_container_to_host("prometheus", f)) for f in config["rule_files"]]
    copy = tmp_path / "prometheus.yml"
    copy.write_text(yaml.safe_dump(config))
    result = subprocess.run(
        [promtool, "check", "config", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_amtool_checks_the_alertmanager_routes() -> None:
    amtool = shutil.which("amtool")
    if amtool is None:
        pytest.skip("amtool is not installed (Debian package prometheus-alertmanager)")
    result = subprocess.run(
        [amtool, "check-config", str(ROOT / "deploy" / "alertmanager" / "alertmanager.yml")],
        capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    # critical alerts page, everything else (warning, info) goes to the team
    config = yaml.safe_load((ROOT / "deploy" / "alertmanager" / "alertmanager.yml").read_text())
    assert [r["matchers"] for r in config["route"]["routes"]] == [['severity="critical"']]
    assert config["route"]["receiver"] == "team"
    assert {rule["labels"]["severity"] for rule in alert_rules().values()} <= {
        "critical", "warning", "info"}
    prometheus = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    assert prometheus["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == [
        "alertmanager:9093"]
    assert "alertmanager" in services()


def test_every_alert_links_its_runbook() -> None:
    for name, rule in alert_rules().items():
        anchor = name.lower()
        assert rule["annotations"]["runbook_url"] == (
            "{{ $externalLabels.runbook_base }}/operations.md#" + anchor), name


def test_grafana_provisioning() -> None:
    datasource_files = list(
        _container_to_host("grafana", "/etc/grafana/provisioning/datasources").glob("*.y*ml")
    )
    assert datasource_files
    uids = set()
    for path in datasource_files:
        doc = yaml.safe_load(path.read_text())
        assert doc["apiVersion"] == 1
        for source in doc["datasources"]:
            host = source["url"].split("://", 1)[1].split(":", 1)[0]
            assert host in services(), f"{path.name}: {source['url']} is no service"
            uids.add(source["uid"])
    provider_files = list(
        _container_to_host("grafana", "/etc/grafana/provisioning/dashboards").glob("*.y*ml")
    )
    assert provider_files
    for path in provider_files:
        doc = yaml.safe_load(path.read_text())
        assert doc["apiVersion"] == 1
        for provider in doc["providers"]:
            folder = _container_to_host("grafana", provider["options"]["path"])
            assert folder == ROOT / "deploy" / "grafana" / "dashboards"
            dashboards = list(folder.glob("*.json"))
            assert dashboards, "no dashboard JSON"
            for dashboard_path in dashboards:
                dashboard = json.loads(dashboard_path.read_text())
                assert dashboard["uid"] and dashboard["title"] and dashboard["panels"]
                # importable into any Grafana: every query names the
                # datasource variable, which defaults to the provisioned one
                [variable] = [v for v in dashboard["templating"]["list"]
                              if v["type"] == "datasource"]
                assert variable["query"] == "prometheus"
                assert variable["current"]["value"] in uids
                assert "wirestream-prometheus" not in json.dumps(
                    [dashboard["panels"], [v for v in dashboard["templating"]["list"]
                                           if v is not variable]])
                for panel in dashboard["panels"]:
                    for ref in (
                        panel.get("datasource"),
                        *[t.get("datasource") for t in panel.get("targets", [])],
                    ):
                        if isinstance(ref, dict):
                            assert ref["uid"] == "${" + variable["name"] + "}", ref


# ------------------------------------------- exporter, alerts, dashboards
def test_exporter_service_is_scraped_and_checked() -> None:
    service = services()["exporter"]
    command = service["command"]
    assert command[0] == "exporter"
    port = int(command[command.index("--port") + 1])
    assert port == EXPORTER_PORT
    check = service["healthcheck"]["test"]
    assert check[:4] == ["CMD", "wirestream", "health", "exporter"]
    assert check[check.index("--url") + 1] == f"http://127.0.0.1:{port}/metrics"
    assert service["depends_on"]["redis"]["condition"] == "service_healthy"
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    [job] = [j for j in config["scrape_configs"] if j["job_name"] == "wirestream-exporter"]
    targets = [t for static in job["static_configs"] for t in static["targets"]]
    assert targets == [f"exporter:{port}"]
    interval = duration_seconds(job.get("scrape_interval", config["global"]["scrape_interval"]))
    assert duration_seconds(job["scrape_timeout"]) <= interval


# The alerts the operations issue asks for (plus the ones that keep them honest).
REQUIRED_ALERTS = {
    "WirestreamWorkerDown",
    "WirestreamStageWithoutWorkers",
    "WirestreamExporterDown",
    "WirestreamSourceStale",
    "WirestreamSourceFailing",
    "WirestreamDeadLettersGrowing",
    "WirestreamQueueBacklogGrowing",
    "WirestreamEsWriteErrors",
    "WirestreamElasticsearchDown",
    "WirestreamTranslatorDown",
    "WirestreamTranslatorErrors",
    "WirestreamNothingIndexed",
    "WirestreamRedisDown",
}


def alert_rules() -> dict[str, dict[str, Any]]:
    rules = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())
    return {
        rule["alert"]: rule
        for group in rules["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }


def _github_anchor(heading: str) -> str:
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_alerts_cover_the_issue_and_each_has_a_runbook() -> None:
    alerts = alert_rules()
    assert set(alerts) >= REQUIRED_ALERTS, sorted(REQUIRED_ALERTS - set(alerts))
    anchors = {
        _github_anchor(line.lstrip("#"))
        for line in OPERATIONS_DOC.read_text().splitlines()
        if line.startswith("#")
    }
    for name, rule in alerts.items():
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, name
        notes = rule["annotations"]
        assert notes["summary"] and notes["description"], name
        doc, _, anchor = notes["runbook"].partition("#")
        assert doc == "docs/operations.md", name
        assert anchor == name.lower() and anchor in anchors, f"{name}: no runbook section"


def test_every_alert_has_a_promtool_test_that_fires_it() -> None:
    tests = yaml.safe_load((PROMETHEUS_DIR / "alerts_test.yml").read_text())
    assert tests["rule_files"] == ["alerts.yml"]
    fired = {
        case["alertname"]
        for test in tests["tests"]
        for case in test["alert_rule_test"]
        if case.get("exp_alerts")
    }
    missing = set(alert_rules()) - fired
    assert not missing, f"alerts without a promtool test that fires them: {sorted(missing)}"


def dashboards() -> dict[str, dict[str, Any]]:
    return {p.name: json.loads(p.read_text()) for p in sorted(DASHBOARD_DIR.glob("*.json"))}


def dashboard_queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title, PromQL) of every target, rows' nested panels included."""
    found = []
    for panel in dashboard["panels"]:
        for inner in [panel, *panel.get("panels", [])]:
            for target in inner.get("targets", []):
                found.append((inner["title"], target["expr"]))
    return found


_METRIC = re.compile(r"\b(?:wirestream_[a-zA-Z0-9_]+|up)\b(?![\w-])")


def promql_metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression: ours all start with wirestream_
    (label values of ours use hyphens, so they do not match), plus `up`."""
    without_strings = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    return set(_METRIC.findall(without_strings))


def exposed_names(text: str) -> set[str]:
    """Sample names a /metrics text offers: every sample line, and every
    declared family with its suffixes (a labelled metric nothing has observed
    yet shows only its # TYPE line)."""
    names: set[str] = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            suffixes = {"histogram": ("_bucket", "_sum", "_count")}.get(kind, ("",))
            names |= {name + suffix for suffix in suffixes}
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names


def declared_metric_names(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """What shared/metrics.py and wirestream/ops/exporter.py export, rendered as
    /metrics text (the exporter on a made-up state, no Redis)."""
    from prometheus_client import REGISTRY, CollectorRegistry, generate_latest

    from shared.metrics import metrics
    from wirestream.ops import exporter

    metrics()  # registers the worker metrics once per process
    state = exporter.PipelineState(
        queues=dict.fromkeys(QUEUES, 1),
        unacked=1,
        dead_letters=1,
        dead_letters_oldest=1.0,
        sources=[exporter.SourceHealth("s", True, 60.0, 1.0, 1.0, 0, 1, None)],
        services={"redis": True, "elasticsearch": True, "translator": True, "ner": True},
    )
    monkeypatch.setattr(exporter, "collect_state", lambda *_a, **_k: state)
    registry = CollectorRegistry()
    registry.register(exporter.StateCollector(None, None))  # type: ignore[arg-type]
    return exposed_names(generate_latest(REGISTRY).decode()) | exposed_names(
        generate_latest(registry).decode()
    )


def test_promql_metric_names_parser() -> None:
    assert promql_metric_names(
        'sum by (le) (rate(wirestream_stage_duration_seconds_bucket{stage="index",'
        ' job="wirestream-workers"}[5m])) / up{job="x"} > wirestream_other'
    ) == {"wirestream_stage_duration_seconds_bucket", "up", "wirestream_other"}
    assert exposed_names('# TYPE a_seconds histogram\n# TYPE b_total counter\nc{x="1"} 2.0\n') == {
        "a_seconds_bucket",
        "a_seconds_sum",
        "a_seconds_count",
        "b_total",
        "c",
    }


def test_dashboards_and_rules_reference_only_exported_metrics(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    known = declared_metric_names(monkeypatch) | {"up"}
    referenced: dict[str, set[str]] = {}
    for name, dashboard in dashboards().items():
        for title, expr in dashboard_queries(dashboard):
            referenced.setdefault(f"{name}: {title}", set()).update(promql_metric_names(expr))
    for alert, rule in alert_rules().items():
        referenced[f"alert {alert}"] = promql_metric_names(rule["expr"])
    for where, names in referenced.items():
        assert names, f"{where}: no metric found in its query"
        assert names <= known, f"{where}: unknown metrics {sorted(names - known)}"


def test_dashboard_has_a_row_per_stage_and_the_operators_panels() -> None:
    dashboard = dashboards()["wirestream-overview.json"]
    rows = [p["title"] for p in dashboard["panels"] if p["type"] == "row"]
    for wanted in ("Ingest", "Enrich", "Index", "Sources", "Latency", "Queues and dead letters"):
        assert wanted in rows, wanted
    titles = {title for title, _ in dashboard_queries(dashboard)}
    for wanted in (
        "Source health",
        "Queue depth",
        "Dead-letter store",
        "Elasticsearch errors",
        "Translator errors",
        "Translator request latency",
        "End-to-end latency, published → searchable",
        "End-to-end latency, fetched → searchable",
    ):
        assert wanted in titles, wanted
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in dashboard["panels"]:
        box = panel["gridPos"]
        assert box["x"] + box["w"] <= 24, panel["title"]
        if panel["type"] != "row":
            assert panel.get("description"), f"{panel['title']}: say what it shows"
    queries = " ".join(expr for _, expr in dashboard_queries(dashboard))
    assert "histogram_quantile(0.5," in queries and "histogram_quantile(0.95," in queries


# ------------------------------------------------------- docker compose
def _compose_env() -> dict[str, str]:
    """A clean environment: variables of the caller's shell must not mask
    missing ones in the env file."""
    keep = ("PATH", "HOME", "DOCKER_CONFIG", "DOCKER_HOST", "DOCKER_CONTEXT")
    return {k: os.environ[k] for k in keep if k in os.environ}


@cache
def _compose_available() -> str | None:
    """None if `docker compose` works, else the reason it does not."""
    if shutil.which("docker") is None:
        return "the docker client is not installed"
    try:
        result = subprocess.run(
            ["docker", "compose", "version"],
            capture_output=True,
            text=True,
            timeout=60,
            env=_compose_env(),
            check=False,
        )
    except subprocess.TimeoutExpired:
        return "`docker compose version` timed out"
    if result.returncode != 0:
        return f"the docker compose plugin is absent ({result.stderr.strip()[:120]})"
    return None


def docker_compose(*args: str, env_file: Path) -> subprocess.CompletedProcess[str]:
    reason = _compose_available()
    if reason:
        pytest.skip(f"docker compose unavailable: {reason}")
    return subprocess.run(
        [
            "docker",
            "compose",
            "--project-directory",
            str(ROOT),
            "--file",
            str(COMPOSE_FILE),
            "--env-file",
            str(env_file),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=_compose_env(),
        check=False,
    )


@pytest.mark.parametrize("profile", [[], ["--profile", "flower"],
                                     ["--file", str(CLUSTER_OVERLAY)]])
def test_docker_compose_config_is_valid(profile: list[str]) -> None:
    result = docker_compose(*profile, "config", "--quiet", env_file=ENV_EXAMPLE)
    assert result.returncode == 0, result.stderr


def test_docker_compose_renders_the_secrets() -> None:
    result = docker_compose("config", "--format", "json", env_file=ENV_EXAMPLE)
    assert result.returncode == 0, result.stderr
    rendered = json.loads(result.stdout)["services"]
    example = env_example()
    assert (
        rendered["elasticsearch"]["environment"]["ELASTIC_PASSWORD"] == example["ELASTIC_PASSWORD"]
    )
    for name in APP_SERVICES:
        env = rendered[name]["environment"]
        # the app containers get files, not values
        assert env["WIRESTREAM_ES__PASSWORD_FILE"] == "/run/secrets/es_writer_password", name
        assert "WIRESTREAM_ES__PASSWORD" not in env and "WIRESTREAM_REDIS__PASSWORD" not in env
        mounted = {m["source"] if isinstance(m, dict) else m for m in rendered[name]["secrets"]}
        assert {f"redis_{REDIS_USER[name]}_password", "es_writer_password",
                "es_reader_password"} <= mounted, name


def test_docker_compose_refuses_to_start_without_secrets(tmp_path: Path) -> None:
    empty = tmp_path / "empty.env"
    empty.write_text("")
    result = docker_compose("config", "--quiet", env_file=empty)
    assert result.returncode != 0
    assert "required variable" in result.stderr and "in .env" in result.stderr
