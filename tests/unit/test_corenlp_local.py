"""The CoreNLP parts of the local services script that need no server."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from shared.corenlp import CORENLP_LANGUAGES
from wirestream.dev.local_services import CORENLP_PROBES, LocalServices


def test_credentials_point_the_ner_client_at_the_local_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WIRESTREAM_LOCAL_CORENLP_PORT", "19555")
    creds = LocalServices(tmp_path).credentials()
    assert creds["WIRESTREAM_NER__CORENLP_URL"] == "http://127.0.0.1:19555"
    monkeypatch.delenv("WIRESTREAM_LOCAL_CORENLP_PORT")
    assert LocalServices(tmp_path).ports.corenlp == 19000


def test_server_command_binds_loopback_and_bounds_requests(tmp_path: Path) -> None:
    command = LocalServices(tmp_path).corenlp_command(Path("/jdk"), "cp")
    assert command[0] == "/jdk/bin/java"
    for flag in (
        "-Dcom.sun.net.httpserver.HttpServerProvider=LoopbackHttpServerProvider",
        "-Dwirestream.corenlp.bind=127.0.0.1",
        "-Dsun.net.httpserver.nodelay=true",
        "-quiet",
    ):
        assert flag in command, flag
    options = dict(itertools.pairwise(command))
    assert options["-threads"] == "2"
    assert int(options["-maxCharLength"]) >= 50_000
    # Below the client's timeout (NerSettings.timeout, seconds).
    from shared.settings import NerSettings

    assert int(options["-timeout"]) < NerSettings().timeout * 1000


def test_health_probes_cover_every_language() -> None:
    assert set(CORENLP_PROBES) == set(CORENLP_LANGUAGES)
    for text, expected in CORENLP_PROBES.values():
        assert all(word in text for word in expected)
