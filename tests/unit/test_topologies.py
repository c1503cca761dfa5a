"""Settings and configuration of the topologies past one host (issue #22):
an Elasticsearch cluster (several URLs, replicas that follow its size) and
Redis behind Sentinels (every client and the broker asking them for the
primary). The running topologies are tested in tests/cluster/."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.index.mapping import AnalysisPlan, index_settings, replica_settings
from shared.celery_app import create_app, sentinel_options
from shared.errors import ConfigError
from shared.settings import ElasticsearchSettings, RedisSettings, Settings
from wirestream.dev.redis_users import (
    REPLICATION_ROLES,
    REPLICATION_TEMPLATE,
    ROLES,
    render,
)


def test_the_es_url_may_list_the_nodes_of_a_cluster() -> None:
    assert ElasticsearchSettings(url="http://a:9200").urls == ["http://a:9200"]
    assert ElasticsearchSettings(url=" https://a:9200, https://b:9200 ,https://c:9200").urls == [
        "https://a:9200", "https://b:9200", "https://c:9200"]
    with pytest.raises(ConfigError):
        _ = ElasticsearchSettings(url=" , ").urls


@pytest.mark.parametrize(("value", "settings"), [
    ("0-1", {"auto_expand_replicas": "0-1"}),
    ("0-all", {"auto_expand_replicas": "0-all"}),
    ("1", {"number_of_replicas": 1, "auto_expand_replicas": "false"}),
    ("0", {"number_of_replicas": 0, "auto_expand_replicas": "false"}),
])
def test_replicas_are_a_number_or_a_range_that_follows_the_cluster(
        value: str, settings: dict[str, object]) -> None:
    assert ElasticsearchSettings(replicas=value).replicas == value
    assert replica_settings(value) == settings
    built = index_settings(AnalysisPlan(hunspell=frozenset()), replicas=value)
    assert {k: built[k] for k in settings} == settings
    assert built["number_of_shards"] == 1


@pytest.mark.parametrize("value", ["one", "-1", "1-", "0-some", ""])
def test_other_replica_values_are_refused(value: str) -> None:
    with pytest.raises(ValidationError):
        ElasticsearchSettings(replicas=value)


def test_the_default_is_no_replica_on_one_node_and_one_from_two_nodes() -> None:
    assert ElasticsearchSettings().replicas == "0-1"
    assert index_settings(AnalysisPlan(hunspell=frozenset()))["auto_expand_replicas"] == "0-1"


def test_without_sentinels_redis_is_the_url() -> None:
    conf = RedisSettings(url="redis://h:6379/3", username="ingest", password="p w")
    assert conf.sentinel_addresses == []
    assert conf.url_with_password == "redis://ingest:p%20w@h:6379/3"
    assert sentinel_options(Settings(redis=conf)) == {}


def test_with_sentinels_the_broker_asks_them_for_the_primary() -> None:
    conf = RedisSettings(url="redis://ignored:1/4", username="enrich", password="s3:cret",
                         sentinels="10.0.0.1:26379, 10.0.0.2:26380,[::1]:26381",
                         sentinel_master="news", sentinel_password="sp")
    assert conf.sentinel_addresses == [("10.0.0.1", 26379), ("10.0.0.2", 26380),
                                       ("::1", 26381)]
    assert conf.db == 4
    # kombu's form: one sentinel:// URL per Sentinel, ';' between them; the
    # user and password are the primary's
    assert conf.url_with_password.split(";") == [
        "sentinel://enrich:s3%3Acret@10.0.0.1:26379/4",
        "sentinel://enrich:s3%3Acret@10.0.0.2:26380/4",
        "sentinel://enrich:s3%3Acret@[::1]:26381/4"]
    settings = Settings(redis=conf)
    options = sentinel_options(settings)
    assert options["master_name"] == "news"
    assert options["sentinel_kwargs"]["password"] == "sp"
    app = create_app(settings)
    transport = app.conf.broker_transport_options
    assert transport["master_name"] == "news"
    assert transport["visibility_timeout"] == settings.celery.visibility_timeout
    assert app.conf.broker_url.startswith("sentinel://")


@pytest.mark.parametrize("value", ["host", "host:port", ":1"])
def test_a_sentinel_that_is_not_host_and_port_is_refused(value: str) -> None:
    with pytest.raises(ConfigError):
        _ = RedisSettings(sentinels=value).sentinel_addresses


def test_the_replication_users_are_a_template_apart_and_need_their_passwords() -> None:
    passwords = {r: f"pw-{r}" for r in ("default", *ROLES, *REPLICATION_ROLES)}
    users = render(passwords, REPLICATION_TEMPLATE)
    lines = users.splitlines()
    assert [line.split()[1] for line in lines] == list(REPLICATION_ROLES)
    replica, sentinel = lines
    # the replica may replicate and nothing else
    assert replica.endswith("-@all +psync +replconf +ping")
    # the Sentinel gets what it sends, and no data command
    for command in ("+slaveof", "+replicaof", "+config|rewrite", "+client|kill", "+info"):
        assert command in sentinel
    assert "+@all" not in sentinel and "~" not in sentinel
    with pytest.raises(ValueError, match="sentinel"):
        render({"replica": "x"}, REPLICATION_TEMPLATE)
    # the pipeline's users file knows nothing of them
    assert not set(render(passwords).split()) & {"replica", "sentinel"}
