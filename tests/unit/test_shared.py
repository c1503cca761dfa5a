"""Pure parts of the shared library: errors, model, settings, redaction."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import ValidationError

from shared import errors, tasking
from shared.errors import ConfigError
from shared.models import Batch, NewsItem, PubStatus, content_hash, item_id
from shared.settings import RedisSettings, Settings
from shared.telemetry import redact, redact_headers


def make_item(**over: object) -> NewsItem:
    base: dict[str, object] = {
        "id": item_id("src", "guid-1"),
        "uri": "guid-1",
        "source": "src",
        "headline": "Headline",
        "versioncreated": datetime(2026, 11, 1, 12, 0, tzinfo=UTC),
        "fetched_at": datetime(2026, 11, 1, 12, 5, tzinfo=UTC),
        "content_hash": content_hash("Headline"),
    }
    base.update(over)
    return NewsItem.model_validate(base)


@pytest.mark.parametrize(
    "exc",
    [
        errors.PayloadError("bad payload", reason="invalid_payload"),
        errors.FetchFailed("503 from source", retry_after=30.0),
        errors.DocumentRejected("mapper_parsing_exception", status=400, doc_id="abc"),
        errors.ServiceUnavailable("es down", reason="es_unavailable"),
    ],
)
def test_every_error_pickles_with_its_state(exc: errors.WirestreamError) -> None:
    clone = pickle.loads(pickle.dumps(exc))
    assert type(clone) is type(exc)
    assert clone.reason == exc.reason
    assert str(clone) == str(exc)
    assert clone.__dict__ == exc.__dict__


def test_retry_tuples_partition_the_tree() -> None:
    assert issubclass(errors.FetchRefused, tasking.PERMANENT)
    assert issubclass(errors.ServiceUnavailable, tasking.TRANSIENT)
    assert not issubclass(errors.ParseError, tasking.TRANSIENT)


def test_item_id_is_deterministic_and_source_scoped() -> None:
    assert item_id("a", "g") == item_id("a", "g")
    assert item_id("a", "g") != item_id("b", "g")
    assert len(item_id("a", "g")) == 32


def test_naive_datetimes_become_utc_and_aware_ones_are_converted() -> None:
    item = make_item(
        versioncreated=datetime(2026, 1, 1, 12, 0),
        firstcreated=datetime(2026, 1, 1, 14, 0, tzinfo=timezone(timedelta(hours=2))),
    )
    assert item.versioncreated.tzinfo == UTC
    assert item.firstcreated == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def test_es_version_grows_with_time_then_version() -> None:
    v1 = make_item(version=1)
    v2_same_time = make_item(version=2)
    later = make_item(version=1, versioncreated=v1.versioncreated + timedelta(milliseconds=1))
    assert v1.es_version < v2_same_time.es_version < later.es_version
    assert later.es_version < 2**63


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError):
        make_item(unexpected="x")


def test_batch_round_trips_as_json() -> None:
    batch = Batch(items=[make_item(pubstatus=PubStatus.canceled)], correlation_id="c1")
    again = Batch.model_validate(batch.model_dump(mode="json"))
    assert again == batch


def test_redis_url_gets_the_password_quoted() -> None:
    settings = RedisSettings(url="redis://127.0.0.1:16379/3", password="p@ss/word")
    assert settings.url_with_password == "redis://:p%40ss%2Fword@127.0.0.1:16379/3"
    # a role's user (deploy/redis/users.acl.in) goes before the password
    settings = RedisSettings(url="redis://redis:6379/0", username="ingest", password="p@ss")
    assert settings.url_with_password == "redis://ingest:p%40ss@redis:6379/0"


def test_secrets_do_not_show_in_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIRESTREAM_ES__PASSWORD", "hunter2-secret")
    monkeypatch.setenv("WIRESTREAM_ENV_FILE", "/nonexistent")
    settings = Settings()
    assert settings.es.password is not None
    assert settings.es.password.get_secret_value() == "hunter2-secret"
    assert "hunter2-secret" not in repr(settings)


def test_a_setting_can_come_from_the_file_its_file_variable_names(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = tmp_path / "redis_password"
    secret.write_text("from-a-file\n")  # as `echo` writes it: the newline is dropped
    port = tmp_path / "metrics_port"
    port.write_text("9200")
    monkeypatch.delenv("WIRESTREAM_REDIS__PASSWORD", raising=False)
    monkeypatch.delenv("WIRESTREAM_METRICS_PORT", raising=False)
    monkeypatch.setenv("WIRESTREAM_REDIS__PASSWORD_FILE", str(secret))
    monkeypatch.setenv("WIRESTREAM_METRICS_PORT_FILE", str(port))
    # a *_FILE variable that names no setting is left alone
    monkeypatch.setenv("WIRESTREAM_REDIS__NOTHING_FILE", str(tmp_path / "missing"))
    settings = Settings()
    assert settings.redis.password is not None
    assert settings.redis.password.get_secret_value() == "from-a-file"
    assert settings.metrics_port == 9200  # validated as any other value
    # both set: which one wins would be a guess
    monkeypatch.setenv("WIRESTREAM_REDIS__PASSWORD", "from-the-environment")
    with pytest.raises(ConfigError, match="both WIRESTREAM_REDIS__PASSWORD and "):
        Settings()
    monkeypatch.delenv("WIRESTREAM_REDIS__PASSWORD")
    monkeypatch.setenv("WIRESTREAM_REDIS__PASSWORD_FILE", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="WIRESTREAM_REDIS__PASSWORD_FILE: cannot read"):
        Settings()


def test_redact_scrubs_userinfo_and_token_parameters() -> None:
    text = "GET https://user:pw@feeds.example/x?api_key=abc123&page=2 failed"
    assert redact(text) == "GET https://***:***@feeds.example/x?api_key=***&page=2 failed"
    assert redact_headers({"Authorization": "Bearer x", "Accept": "a"}) == {
        "Authorization": "***",
        "Accept": "a",
    }


def test_operator_boilerplate_files_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    from pathlib import Path

    from services.ingest.text import load_boilerplate_rules, strip_boilerplate

    extra = Path(str(tmp_path)) / "house.yaml"
    extra.write_text("languages:\n  en:\n    - pattern: '^Follow us on Mastodon$'\n")
    monkeypatch.setenv("WIRESTREAM_ENV_FILE", "/nonexistent")
    monkeypatch.setenv("WIRESTREAM_INGEST__BOILERPLATE_FILES", f'["{extra}"]')
    files = Settings().ingest.boilerplate_files
    assert files == [str(extra)]
    rules = load_boilerplate_rules(files)
    kept = strip_boilerplate(["Dock workers walked out.", "Follow us on Mastodon"], "en", rules)
    assert kept == ["Dock workers walked out."]
