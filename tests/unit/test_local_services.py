"""The local services script's pure parts: prerequisites, credentials, config."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wirestream.dev.local_services import LocalServices, Prerequisite
from wirestream.dev.redis_users import ROLES, password_variable, render


def test_missing_programs_are_named_in_one_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on PATH
    with pytest.raises(Prerequisite) as info:
        LocalServices(tmp_path).check_prerequisites()
    message = str(info.value)
    for name in ("redis-server", "apertium", "mvn"):
        assert name in message
    assert "make bootstrap" in message


def test_cli_prints_the_message_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import wirestream.cli as cli

    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("WIRESTREAM_HOME", str(tmp_path))
    monkeypatch.setattr("sys.argv", ["wirestream", "services", "up"])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == 2
    output = capsys.readouterr().err
    assert "missing prerequisite" in output and "redis-server" in output
    assert "Traceback" not in output


def test_credentials_are_generated_once_and_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("REDIS", "ES", "ES_TRANSPORT", "APY"):
        monkeypatch.delenv(f"WIRESTREAM_LOCAL_{name}_PORT", raising=False)
    services = LocalServices(tmp_path)
    first = services.credentials()
    again = LocalServices(tmp_path).credentials()
    assert first == again
    assert len(first["WIRESTREAM_REDIS__PASSWORD"]) >= 20
    env_file = tmp_path / "var" / "local.env"
    assert env_file.stat().st_mode & 0o777 == 0o600
    assert first["WIRESTREAM_ES__URL"] == "http://127.0.0.1:19200"


def test_redis_config_is_loopback_users_aof_noeviction(tmp_path: Path) -> None:
    services = LocalServices(tmp_path)
    creds = services.credentials()
    conf = services._redis_conf(creds).read_text().splitlines()
    users = tmp_path / "var" / "redis" / "users.acl"
    for line in ("bind 127.0.0.1", f"aclfile {users}", "appendonly yes",
                 "appendfsync everysec", "maxmemory-policy noeviction"):
        assert line in conf
    acl = users.read_text()
    assert users.stat().st_mode & 0o777 == 0o600
    # a user per role and the administrator's, by the SHA-256 of each
    # password: no password is written in clear
    assert [line.split()[1] for line in acl.splitlines()] == ["default", *ROLES]
    for role in ("default", *ROLES):
        password = creds["WIRESTREAM_REDIS__PASSWORD" if role == "default"
                          else password_variable(role)]
        assert password not in acl
        assert f"user {role} on #{hashlib.sha256(password.encode()).hexdigest()} " in acl


def test_redis_users_refuse_a_role_without_a_password() -> None:
    passwords = {role: "x" for role in ("default", *ROLES)}
    assert render(passwords).count("\nuser ") == len(ROLES)
    del passwords["exporter"]
    with pytest.raises(ValueError, match="exporter"):
        render(passwords)


def test_runner_is_importable_without_services() -> None:
    # `wirestream --help` must work on a machine with nothing running
    from wirestream.cli import app

    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0 and "services" in result.output


def test_apy_started_before_a_pair_was_installed_is_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    modes = tmp_path / "modes"
    modes.mkdir()
    monkeypatch.setattr("wirestream.dev.local_services.APY_MODES", modes)
    services = LocalServices(tmp_path)
    pid_file = services.var / "apy" / "apy.pid"
    pid_file.parent.mkdir(parents=True)
    pid_file.write_text("1")
    os.utime(modes, (1000, 1000))
    os.utime(pid_file, (2000, 2000))
    assert not services._apy_stale()
    (modes / "pt-es.mode").write_text("")  # apt-get install apertium-es-pt
    os.utime(modes, (3000, 3000))
    assert services._apy_stale()
