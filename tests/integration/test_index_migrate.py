"""`wirestream index migrate` against the real Elasticsearch: readers never
fail and never see an empty alias, writes during the migration are not lost,
a failure before the swap leaves the live generation as it was."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from typer.testing import CliRunner

from services.index.adapters.bulk import BulkIndexer
from services.index.cli import index_app
from services.index.migrate import MigrationError, migrate
from services.index.names import IndexNames
from services.index.setup import run_setup
from shared.runtime import es_client
from shared.settings import Settings
from tests.integration.test_index_es import scratch_prefix
from tests.unit.test_shared import make_item

MONTHS = [datetime(2026, m, 3, tzinfo=UTC) for m in (8, 9, 10, 11)]


def corpus(n: int) -> list[Any]:
    return [
        make_item(id=f"m-{i}", uri=f"m-{i}", headline=f"Election report {i}",
                  body_text="The parliament voted on the budget. " * 20, language="en",
                  firstcreated=MONTHS[i % len(MONTHS)], versioncreated=MONTHS[i % len(MONTHS)])
        for i in range(n)
    ]


def newer(item: Any, headline: str) -> Any:
    return item.model_copy(update={"headline": headline, "version": item.version + 1,
                                   "versioncreated": item.versioncreated + timedelta(hours=1)})


@pytest.fixture
def loaded(es_admin: Elasticsearch, settings: Settings) -> Iterator[tuple[str, list[Any]]]:
    with scratch_prefix(es_admin) as prefix:
        run_setup(es_admin, prefix, now=MONTHS[-1])
        writer = es_client(settings)
        items = corpus(3000)
        outcome = BulkIndexer(writer, prefix).write(items)
        assert len(outcome.indexed) == len(items)
        writer.close()
        es_admin.indices.refresh(index=f"{prefix}-*")
        yield prefix, items


class Reader(threading.Thread):
    """Queries the read alias as the consumer, as fast as it can."""

    def __init__(self, settings: Settings, alias: str) -> None:
        super().__init__(daemon=True)
        self.es = es_client(settings, role="reader")
        self.alias = alias
        self.stop = threading.Event()
        self.errors: list[str] = []
        self.counts: list[int] = []

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                result = self.es.search(
                    index=self.alias, query={"match": {"headline_en": "election"}}, size=5,
                    track_total_hits=True,
                )
                self.counts.append(result["hits"]["total"]["value"])
            except Exception as exc:  # the test asserts there are none
                self.errors.append(repr(exc))
        self.es.close()


class Writer(threading.Thread):
    """Keeps writing new versions of some stories in small batches, like the
    index workers, until stopped; remembers the last headline of each."""

    def __init__(self, settings: Settings, prefix: str, items: list[Any]) -> None:
        super().__init__(daemon=True)
        self.es = es_client(settings)
        self.indexer = BulkIndexer(self.es, prefix, backoff_base=0.05, max_attempts=12)
        self.items = {item.id: item for item in items}
        self.stop = threading.Event()
        self.last: dict[str, str] = {}
        self.errors: list[str] = []
        self.retries = 0

    def run(self) -> None:
        ids = list(self.items)
        round_ = 0
        while not self.stop.is_set():
            round_ += 1
            batch = [newer(self.items[i], f"Round {round_} of {i}") for i in ids]
            try:
                outcome = self.indexer.write(batch)
            except Exception as exc:  # the test asserts there are none
                self.errors.append(repr(exc))
                continue
            self.retries += outcome.retries
            assert sorted(outcome.indexed) == sorted(ids)
            for item in batch:
                self.items[item.id] = item
                self.last[item.id] = item.headline
            time.sleep(0.05)
        self.es.close()


def test_readers_never_fail_and_writes_during_the_migration_are_kept(
    loaded: tuple[str, list[Any]], es_admin: Elasticsearch, settings: Settings
) -> None:
    prefix, items = loaded
    names = IndexNames(prefix)
    reader = Reader(settings, prefix)
    writer = Writer(settings, prefix, items[:20])
    reader.start()
    writer.start()
    late_client = es_client(settings)
    late_indexer = BulkIndexer(late_client, prefix)
    late = [newer(items[i], f"Late update {i}") for i in range(40, 60)]

    def write_after_the_copy() -> None:
        # after the copy, before the freeze: only the catch-up can carry these
        assert sorted(late_indexer.write(late).indexed) == sorted(i.id for i in late)

    progress: list[tuple[str, int, int | None]] = []
    time.sleep(0.3)
    report = migrate(es_admin, prefix, page_size=500, after_copy=write_after_the_copy,
                     progress=lambda *p: progress.append(p))
    time.sleep(0.5)
    writer.stop.set()
    writer.join()
    # a writer that knew only the old generation finds its way by itself
    after = late_indexer.write([newer(items[100], "After the swap")])
    late_client.close()
    reader.stop.set()
    reader.join()

    assert reader.errors == [] and writer.errors == []
    assert writer.retries >= 1  # it met the frozen generation and went on
    assert len(reader.counts) > 10 and min(reader.counts) > 0
    assert report.source_generation == 1 and report.target_generation == 2
    assert report.copied >= len(items)
    assert after.indexed == ["m-100"] and after.retries >= 1
    assert late_indexer.generation() == 2
    assert {p[0] for p in progress} >= {"copy", "catch-up", "swap"}

    es_admin.indices.refresh(index=f"{prefix}-*")
    live = sorted(es_admin.indices.get_alias(name=names.write_alias))
    assert live == sorted(names.index(2, f"{m:%Y.%m}") for m in MONTHS)
    assert sorted(es_admin.indices.get_alias(name=names.read_alias)) == live
    assert es_admin.count(index=prefix)["count"] == len(items)
    expected = {**writer.last, **{i.id: i.headline for i in late}, "m-100": "After the swap"}
    found = es_admin.search(index=prefix, query={"ids": {"values": list(expected)}},
                            size=len(expected))["hits"]["hits"]
    assert {h["_id"]: h["_source"]["headline"] for h in found} == expected
    assert all(h["_index"].startswith(f"{prefix}-v2-") for h in found)
    old = names.index(1, "2026.08")
    assert es_admin.indices.get_settings(index=old)[old]["settings"]["index"]["blocks"][
        "write"] == "true"


def test_a_failure_before_the_swap_leaves_the_live_generation_as_it_was(
    loaded: tuple[str, list[Any]], es_admin: Elasticsearch, settings: Settings
) -> None:
    prefix, items = loaded
    names = IndexNames(prefix)

    def lose_a_document() -> None:
        # the copy is now one short: the count check after the catch-up fails
        es_admin.delete(index=names.index(2, "2026.08"), id=items[0].id, refresh=True)

    with pytest.raises(MigrationError, match="has 749 documents"):
        migrate(es_admin, prefix, after_copy=lose_a_document)
    assert sorted(es_admin.indices.get_alias(name=names.write_alias)) == sorted(
        names.index(1, f"{m:%Y.%m}") for m in MONTHS)
    assert not es_admin.indices.exists(index=names.index(2, "2026.08"))
    writer = es_client(settings)
    outcome = BulkIndexer(writer, prefix).write([newer(items[1], "still writable")])
    writer.close()
    assert outcome.indexed == [items[1].id]


def test_the_migrate_command_shows_progress_and_deletes_old_on_request(
    loaded: tuple[str, list[Any]], es_admin: Elasticsearch, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix, items = loaded
    monkeypatch.setenv("WIRESTREAM_ES__INDEX_PREFIX", prefix)
    result = CliRunner().invoke(index_app, ["migrate", "--delete-old"])
    assert result.exit_code == 0, result.output
    assert f"{len(items)} document(s) copied" in result.output
    assert "old indices deleted" in result.output
    names = IndexNames(prefix)
    assert not es_admin.indices.exists(index=names.index(1, "2026.08"))
    assert es_admin.indices.exists(index=names.index(2, "2026.08"))
