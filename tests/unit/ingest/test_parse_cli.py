"""`wirestream ingest parse` (services.ingest.cli)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.ingest import cli

from ._parsing import GOLDEN_INPUTS

runner = CliRunner()
SITEMAP = GOLDEN_INPUTS / "news_sitemap.xml"
ARTICLE = GOLDEN_INPUTS / "article_en.html"
RSS = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>CLI feed</title>'
    b"<item><guid>g1</guid><title>Hello CLI</title><link>https://example.org/a</link>"
    b"<pubDate>Mon, 01 Jan 2024 12:00:00 GMT</pubDate></item></channel></rss>"
)


def test_parse_file_prints_json(tmp_path: Path) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_bytes(RSS)
    result = runner.invoke(cli.app, ["parse", str(feed), "--source", "demo", "--lang", "en"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["format"] == "rss"
    assert data["items"][0]["headline"] == "Hello CLI"
    assert data["items"][0]["source"] == "demo" and data["items"][0]["language"] == "en"


def test_parse_table_and_sitemap() -> None:
    result = runner.invoke(cli.app, ["parse", str(SITEMAP), "--table"])
    assert result.exit_code == 0, result.output
    assert "urlset" in result.stdout and "Harbour bridge" in result.stdout
    result = runner.invoke(cli.app, ["parse", str(ARTICLE), "--table", "-t", "html"])
    assert result.exit_code == 0, result.output
    assert "html: 1 items" in result.stdout and "Harbour" in result.stdout


def test_parse_stdin_with_fixed_clock() -> None:
    result = runner.invoke(
        cli.app, ["parse", "-", "--fetched-at", "2026-11-28T12:00:00"], input=RSS.decode()
    )
    assert result.exit_code == 0, result.output
    item = json.loads(result.stdout)["items"][0]
    assert item["fetched_at"] == "2026-11-28T12:00:00Z"


def test_parse_error_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"not": "news"}', encoding="utf-8")
    result = runner.invoke(cli.app, ["parse", str(path)])
    assert result.exit_code == 2
    assert "unknown_format" in result.output
    result = runner.invoke(cli.app, ["parse", str(SITEMAP), "--type", "ninjs"])
    assert result.exit_code == 2 and "format_mismatch" in result.output


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(cli.app, ["parse", str(tmp_path / "absent.xml")])
    assert result.exit_code == 2 and "cannot read" in result.output


def test_url_goes_through_fetch_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.ingest.adapters import fetch

    calls: list[str] = []

    def fetch_bytes(url: str) -> bytes:
        calls.append(url)
        return RSS.replace(b"https://example.org/a", b"/relative/a")

    monkeypatch.setattr(fetch, "fetch_bytes", fetch_bytes)
    result = runner.invoke(cli.app, ["parse", "https://feeds.example.org/news.xml"])
    assert result.exit_code == 0, result.output
    assert calls == ["https://feeds.example.org/news.xml"]
    item = json.loads(result.stdout)["items"][0]
    assert item["url"] == "https://feeds.example.org/relative/a"  # the URL is the base


def test_extra_boilerplate_file(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("languages:\n  en:\n    - '^hello cli$'\n", encoding="utf-8")
    feed = tmp_path / "feed.xml"
    feed.write_bytes(
        RSS.replace(
            b"<title>Hello CLI</title>", b"<title>T</title><description>Hello CLI</description>"
        )
    )
    plain = json.loads(runner.invoke(cli.app, ["parse", str(feed), "--lang", "en"]).stdout)
    assert plain["items"][0]["summary"] == "Hello CLI"
    result = runner.invoke(
        cli.app, ["parse", str(feed), "--lang", "en", "--boilerplate", str(rules)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["items"][0]["summary"] is None
    bad = tmp_path / "bad.yaml"
    bad.write_text("languages: [x]\n", encoding="utf-8")
    assert runner.invoke(cli.app, ["parse", str(feed), "--boilerplate", str(bad)]).exit_code == 2
