"""`wirestream sources ...` against the real Redis, as an operator uses it."""

from __future__ import annotations

import json
from pathlib import Path

import redis
from typer.testing import CliRunner

from services.ingest.adapters.source_registry import SourceRegistry
from wirestream.cli import app
from wirestream.dev.harness import FeedServer

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def run(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_add_show_disable_enable_remove(redis_db: redis.Redis) -> None:
    run(
        "sources",
        "add",
        "wire-a",
        "https://wire.example/feed.xml",
        "--type",
        "rss",
        "--language",
        "en",
        "--min-interval",
        "30",
    )
    registry = SourceRegistry(redis_db)
    assert registry.get("wire-a") is not None and registry.next_due("wire-a") is not None
    assert "wire-a" in run("sources", "list")
    shown = run("sources", "show", "wire-a")
    assert "https://wire.example/feed.xml" in shown and "consecutive failures" in shown
    [listed] = [json.loads(line) for line in run("sources", "list", "--json").splitlines()]
    assert listed["id"] == "wire-a" and listed["enabled"] is True
    assert listed["next_poll"] == registry.next_due("wire-a")
    as_json = json.loads(run("sources", "show", "wire-a", "--json"))
    assert as_json["source"]["url"] == "https://wire.example/feed.xml"
    assert as_json["state"]["consecutive_failures"] == 0 and as_json["quiet"] is False
    run("sources", "disable", "wire-a")
    disabled = registry.get("wire-a")
    assert disabled is not None and not disabled.enabled
    assert registry.next_due("wire-a") is None  # no longer scheduled
    run("sources", "enable", "wire-a")
    assert registry.next_due("wire-a") is not None
    run("sources", "remove", "wire-a")
    assert registry.get("wire-a") is None
    missing = runner.invoke(app, ["sources", "show", "wire-a"])
    assert missing.exit_code == 1


def test_load_yaml_keeps_secrets_out_of_redis(redis_db: redis.Redis) -> None:
    run("sources", "load", str(ROOT / "sources.example.yaml"))
    registry = SourceRegistry(redis_db)
    assert [s.id for s in registry.all()] == ["agency-ninjs", "guardian-world", "publisher-sitemap"]
    agency = registry.get("agency-ninjs")
    assert agency is not None and agency.auth is not None
    assert agency.auth.secret_env == "AGENCY_API_KEY"
    raw = b"".join(redis_db.hvals("wirestream:sources"))
    assert b"secret_env" in raw and b"AGENCY_API_KEY" in raw


def test_sources_test_fetches_and_parses_without_enqueuing(redis_db: redis.Redis) -> None:
    sample = ROOT / "data" / "samples" / "heise-developer_atom_de_2016.atom"
    with FeedServer() as server:
        url = server.publish_file(sample)
        output = run("sources", "test", url)
    assert "format atom" in output and "15 items" in output
    assert redis_db.llen("enrich") == 0


def test_poll_now_makes_a_backed_off_source_due_and_the_scheduler_takes_it(
        redis_db: redis.Redis) -> None:
    import time

    from services.ingest.scheduler import Scheduler

    run("sources", "add", "wire-b", "https://wire.example/b.xml", "--type", "rss")
    registry = SourceRegistry(redis_db)
    later = time.time() + 6 * 3600  # a failing source backed off for hours
    registry.schedule("wire-b", later)
    # enabling an enabled source changes nothing: it keeps its next poll
    run("sources", "enable", "wire-b")
    assert registry.next_due("wire-b") == later
    taken: list[str] = []
    scheduler = Scheduler(redis_db, taken.append, auto_reconcile=False)
    assert scheduler.run_once() == []
    assert "is due now" in run("sources", "poll-now", "wire-b")
    due = registry.next_due("wire-b")
    assert due is not None and due <= time.time()
    assert scheduler.run_once() == ["wire-b"] and taken == ["wire-b"]
    # a disabled or unknown source is not polled
    run("sources", "disable", "wire-b")
    disabled = runner.invoke(app, ["sources", "poll-now", "wire-b"])
    assert disabled.exit_code == 1 and "is disabled" in disabled.output
    assert registry.next_due("wire-b") is None
    assert runner.invoke(app, ["sources", "poll-now", "nope"]).exit_code == 1
