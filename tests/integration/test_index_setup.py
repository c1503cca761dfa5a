"""`wirestream index setup` against the real Elasticsearch: idempotent,
additive mapping changes, adoption of a pre-write-alias cluster, and the
check of the roles."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from elasticsearch import Elasticsearch
from typer.testing import CliRunner

from services.index.cli import index_app
from services.index.mapping import hidden_filter, mappings
from services.index.names import IndexNames, month_of
from services.index.setup import run_setup
from shared.settings import Settings
from tests.integration.test_index_es import scratch_prefix

NOW = datetime(2026, 11, 15, tzinfo=UTC)


def _users(settings: Settings) -> dict[str, str]:
    return {"writer": settings.es.username, "reader": settings.es.reader_username}


def test_setup_is_idempotent_and_the_roles_are_as_expected(
    es_admin: Elasticsearch, settings: Settings
) -> None:
    with scratch_prefix(es_admin) as prefix:
        names = IndexNames(prefix)
        first = run_setup(es_admin, prefix, now=NOW, users=_users(settings))
        assert first.generation == 1
        assert f"created index {names.index(1, '2026.11')}" in first.lines
        assert first.security_problems == [] and first.needs_migration == {}
        second = run_setup(es_admin, prefix, now=NOW, users=_users(settings))
        assert not any(line.startswith("created") for line in second.lines)
        assert second.security_problems == [] and second.needs_migration == {}
        aliases = es_admin.indices.get_alias(index=names.index(1, "2026.11"))
        assert set(aliases[names.index(1, "2026.11")]["aliases"]) == {
            names.read_alias, names.write_alias}
        assert es_admin.indices.exists_index_template(name=names.template(1))


def test_additive_mapping_changes_reach_live_indices(es_admin: Elasticsearch) -> None:
    with scratch_prefix(es_admin) as prefix:
        names = IndexNames(prefix)
        run_setup(es_admin, prefix, now=NOW)
        # an index made by an older release that lacked some fields
        old = names.index(1, "2025.01")
        full = mappings()
        older = {k: v for k, v in full["properties"].items()
                 if k not in ("cluster_id", "keywords")}
        es_admin.indices.create(
            index=old,
            mappings={"dynamic": "strict", "properties": older},
            aliases={names.write_alias: {}},
        )
        report = run_setup(es_admin, prefix, now=NOW)
        assert report.needs_migration == {}
        properties = es_admin.indices.get_mapping(index=old)[old]["mappings"]["properties"]
        assert properties["cluster_id"]["type"] == "keyword"
        assert "keywords" in properties
        read = es_admin.indices.get_alias(index=old, name=names.read_alias)
        assert read[old]["aliases"][names.read_alias]["filter"] == hidden_filter()


def test_a_cluster_without_the_write_alias_is_adopted(es_admin: Elasticsearch) -> None:
    with scratch_prefix(es_admin) as prefix:
        names = IndexNames(prefix)
        legacy = names.index(1, "2018.01")
        es_admin.indices.create(
            index=legacy,
            mappings={"dynamic": "strict", "properties": {"id": {"type": "keyword"}}},
            aliases={names.read_alias: {"filter": hidden_filter()}},
        )
        run_setup(es_admin, prefix, now=NOW)
        assert names.write_alias in es_admin.indices.get_alias(index=legacy)[legacy]["aliases"]


def test_an_incompatible_index_is_reported_for_migration(es_admin: Elasticsearch) -> None:
    with scratch_prefix(es_admin) as prefix:
        names = IndexNames(prefix)
        clash = names.index(1, "2019.05")
        es_admin.indices.create(
            index=clash,
            mappings={"properties": {"headline": {"type": "keyword"}}},
            aliases={names.write_alias: {}, names.read_alias: {}},
        )
        report = run_setup(es_admin, prefix, now=NOW)
        assert clash in report.needs_migration
        assert "mapping" in report.needs_migration[clash]
        assert any("needs `wirestream index migrate`" in line for line in report.lines)


def test_the_setup_and_status_commands(
    es_admin: Elasticsearch, monkeypatch: pytest.MonkeyPatch
) -> None:
    with scratch_prefix(es_admin) as prefix:
        monkeypatch.setenv("WIRESTREAM_ES__INDEX_PREFIX", prefix)
        runner = CliRunner()
        result = runner.invoke(index_app, ["setup"])
        assert result.exit_code == 0, result.output
        assert "roles: writer and reader have exactly the expected privileges" in result.output
        status = runner.invoke(index_app, ["status"])
        assert status.exit_code == 0, status.output
        assert "generation 1" in status.output
        as_json = runner.invoke(index_app, ["status", "--json"])
        assert as_json.exit_code == 0, as_json.output
        reported = json.loads(as_json.output)
        assert reported["healthy"] is True and reported["generation"] == 1
        [live] = [i for i in reported["indices"] if i["read_alias"]]
        assert live["write_alias"] and not live["write_blocked"] and live["docs"] == 0


def test_setup_gives_live_indices_the_replica_setting_and_says_so(
        es_admin: Elasticsearch) -> None:
    """WIRESTREAM_ES__REPLICAS changed after the indices exist: setup puts it
    on every live index (a dynamic setting), reports each change, and a
    second run with the same value changes nothing."""
    with scratch_prefix(es_admin) as prefix:
        first = run_setup(es_admin, prefix, now=NOW)
        index = IndexNames(prefix).index(first.generation, month_of(NOW))

        def replicas() -> tuple[str, str]:
            flat = es_admin.indices.get_settings(index=index, flat_settings=True)
            values = flat.body[index]["settings"]
            return (values.get("index.auto_expand_replicas", "false"),
                    values["index.number_of_replicas"])

        assert replicas()[0] == "0-1"  # the default: follows the cluster's size
        fixed = run_setup(es_admin, prefix, now=NOW, replicas="0")
        assert replicas() == ("false", "0")
        assert f"replicas of {index}: 0" in fixed.lines
        again = run_setup(es_admin, prefix, now=NOW, replicas="0")
        assert not [line for line in again.lines if line.startswith("replicas of")]
        back = run_setup(es_admin, prefix, now=NOW)
        assert replicas()[0] == "0-1" and f"replicas of {index}: 0-1" in back.lines
