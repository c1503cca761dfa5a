# ruff: noqa: RUF001  (multilingual news text: Cyrillic letters are meant)
"""The enrich stage with every model, the real APy, the real Redis
(registry, translation cache, clusters), the `entities` commands, and
re-enrichment from a real Elasticsearch index."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
import typer
from click.testing import Result
from elasticsearch import Elasticsearch
from typer.testing import CliRunner

from services.enrich.adapters.translation_backends import http_client
from services.enrich.loading import load_models
from services.enrich.reenrich import Reenricher
from services.enrich.stage import Models, enrich_items
from services.index.documents import to_document
from services.index.search import each_document
from shared.models import NewsItem, TranslationStatus
from shared.settings import ClusterSettings, Settings
from tests.unit.test_shared import make_item
from wirestream.enrich_cli import entities_app

EN = make_item(
    id="en", headline="Zelensky meets Macron in Paris",
    body_text=("PARIS (AP) — Ukrainian President Volodymyr Zelenskyy met French President "
               "Emmanuel Macron on Monday. Macron promised more air defence systems, and "
               "Zelenskyy thanked France. Moscow denied attacking civilians."),
    language="en")
ES = make_item(
    id="es", headline="Zelenski se reúne con Macron en París",
    body_text=("El presidente ucraniano, Volodímir Zelenski, se reunió el lunes con el "
               "presidente francés, Emmanuel Macron, en París."),
    language="es")
RU = make_item(
    id="ru", headline="Зеленский встретился с Макроном в Париже",
    body_text="Президент Украины Владимир Зеленский в понедельник встретился с Эммануэлем "
              "Макроном в Париже. Москва заявила, что удары наносились по военным объектам.",
    language="ru")


def ids_of(item: NewsItem, kind: str) -> set[str]:
    assert item.enrichment is not None
    return {e.id for e in item.enrichment.entities if e.type == kind}


def test_one_story_in_three_languages(models: Models, redis_db: redis.Redis) -> None:
    en, es, ru = enrich_items([EN, ES, RU], models)
    for item in (en, es, ru):
        assert item.enrichment is not None and item.enrichment.errors == []
    assert es.enrichment is not None and es.enrichment.translation is not None
    assert es.enrichment.translation.status is TranslationStatus.translated
    assert es.enrichment.translation.headline is not None
    # the same two people, whatever the language and script
    people_en = ids_of(en, "PERSON")
    assert len(people_en) == 2
    assert ids_of(ru, "PERSON") == people_en
    assert ids_of(es, "PERSON") & people_en
    # the canonical name in the registry is Latin script
    ru_names = {e.name for e in ru.enrichment.entities if e.type == "PERSON"}  # type: ignore[union-attr]
    assert "Emmanuel Macron" in ru_names
    # Paris everywhere, and Moscow speaking for Russia
    for item in (en, es, ru):
        assert item.enrichment is not None
        assert any(p.name == "Paris" for p in item.enrichment.places)
    assert en.enrichment is not None
    assert any(e.id == "geo:RU" and e.role == "government" for e in en.enrichment.entities)
    assert en.enrichment.cluster_id == "c-en"


def test_re_enrichment_translates_nothing_twice(
    settings: Settings, redis_db: redis.Redis, http: httpx.Client
) -> None:
    first = load_models(settings, redis_db, http)
    [done] = enrich_items([ES], first)
    second = load_models(settings, redis_db, http)  # another worker process
    [again] = enrich_items([ES], second)
    assert done.enrichment is not None and again.enrichment is not None
    tr = again.enrichment.translation
    assert tr is not None and tr.cached_chunks == tr.chunks > 0
    assert tr.headline == done.enrichment.translation.headline  # type: ignore[union-attr]
    assert again.enrichment.cluster_id == done.enrichment.cluster_id


def test_the_redis_state_expires_after_the_configured_windows(
    settings: Settings, redis_db: redis.Redis, http: httpx.Client
) -> None:
    """WIRESTREAM_TRANSLATOR__CACHE_DAYS and WIRESTREAM_CLUSTERS__WINDOW_DAYS
    (docs/operations.md, "Capacity") reach the keys the workers write."""
    configured = settings.model_copy(update={
        "translator": settings.translator.model_copy(update={"cache_days": 2.0}),
        "clusters": ClusterSettings(window_days=0.5)})
    enrich_items([ES], load_models(configured, redis_db, http))
    translated = list(redis_db.scan_iter(match="ws:enrich:tr:*"))
    clustered = list(redis_db.scan_iter(match="ws:lsh:*"))
    assert translated and clustered
    for key in translated:
        assert 2 * 86400 - 60 <= redis_db.ttl(key) <= 2 * 86400
    for key in clustered:
        assert 43200 - 60 <= redis_db.ttl(key) <= 43200


def test_translator_down_indexes_the_rest_with_a_step_error(
    settings: Settings, redis_db: redis.Redis
) -> None:
    dead = settings.model_copy(update={"translator": settings.translator.model_copy(
        update={"apertium_url": "http://127.0.0.1:9", "timeout": 1.0})})
    with http_client(dead.translator) as client:
        models = load_models(dead, redis_db, client)
        assert models.translator is not None
        models.translator.backend.sleep = lambda s: None  # type: ignore[attr-defined]
        [out] = enrich_items([ES.model_copy(update={"headline": "Otro titular distinto"})],
                             models)
    assert out.enrichment is not None
    assert [(e.step, e.reason) for e in out.enrichment.errors] == [
        ("translation", "translator_unavailable")]
    assert out.enrichment.language is not None and out.enrichment.keywords


def test_entities_commands_against_the_registry(
    models: Models, redis_db: redis.Redis, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    test_env: dict[str, str],
) -> None:
    enrich_items([EN, RU], models)
    app = typer.Typer()
    app.add_typer(entities_app, name="entities")
    runner = CliRunner()
    shown = runner.invoke(app, ["entities", "show", "Зеленский"])
    assert shown.exit_code == 0, shown.output
    [record] = json.loads(shown.stdout)
    assert record["name"] == "Volodymyr Zelenskyy"
    assert {"Владимир Зеленский", "Volodymyr Zelenskyy"} <= set(record["variants"])
    seed = tmp_path / "aliases.yaml"
    seed.write_text("entities:\n  - name: Volodymyr Zelensky\n    type: PERSON\n"
                    "    aliases: [Зеленський, Selenskyj]\n", encoding="utf-8")
    loaded = runner.invoke(app, ["entities", "load", str(seed)])
    assert loaded.exit_code == 0, loaded.output
    assert record["id"] in loaded.stdout
    assert "Volodymyr Zelensky" in loaded.stdout
    unknown = runner.invoke(app, ["entities", "merge", record["id"], "No Such Person"])
    assert unknown.exit_code == 1


@pytest.fixture
def reenrich_index(es_admin: Elasticsearch, settings: Settings) -> Iterator[str]:
    """A throwaway index under the session prefix with the fields the
    re-enricher sorts and filters on typed; the rest dynamic."""
    name = f"{settings.es.index_prefix}-reenrich"
    es_admin.indices.create(index=name, mappings={"properties": {
        "id": {"type": "keyword"}, "updated": {"type": "date"},
        "enrichment_errors": {"properties": {"reason": {"type": "keyword"}}}}})
    yield name
    es_admin.options(ignore_status=404).indices.delete(index=name)


def test_again_resends_what_the_query_finds(
    models: Models, es_admin: Elasticsearch, reenrich_index: str,
) -> None:
    items = [make_item(id=f"s{n}", uri=f"g{n}", headline=f"Titular número {n}",
                       body_text="El gobierno aprobó el presupuesto.", language="es")
             for n in range(5)]
    enriched = enrich_items(items, models)
    # pretend two of them were indexed while the translator was down
    docs = []
    for n, item in enumerate(enriched):
        doc = to_document(item)
        if n in (1, 3):
            doc["enrichment_errors"] = [{"step": "translation",
                                         "reason": "translator_unavailable"}]
        docs.append(doc)
    for doc in docs:
        es_admin.index(index=reenrich_index, id=doc["id"], document=doc)
    es_admin.indices.refresh(index=reenrich_index)
    sent: list[NewsItem] = []
    reenricher = Reenricher(search=es_admin.search, index=reenrich_index, send=sent.extend,
                            queue_depth=lambda: 0, walk=each_document,
                            batch_size=25)
    count = reenricher.run("enrichment_errors.reason:translator_unavailable")
    assert count == (2, 0)
    assert sorted(i.id for i in sent) == ["s1", "s3"]
    # what comes back is the story itself, ready for the enrich queue
    again = enrich_items(sent, models)
    for item in again:
        assert item.enrichment is not None and item.enrichment.errors == []
        assert item.enrichment.translation is not None
        assert item.enrichment.translation.cached_chunks == item.enrichment.translation.chunks


def _again(models: Models, es_admin: Elasticsearch, index: str, *args: str) -> Result:
    """``wirestream enrich --again ARGS`` over ``index`` holding EN and ES."""
    from wirestream.enrich_cli import enrich

    for item in enrich_items([EN, ES], models):
        es_admin.index(index=index, id=item.id, document=to_document(item))
    es_admin.indices.refresh(index=index)
    app = typer.Typer()
    app.command()(enrich)
    app.command("noop")(lambda: None)
    # the reader user may not read this throwaway index: search as admin
    return CliRunner().invoke(app, ["enrich", "--again", *args, "--index", index],
                              env={"WIRESTREAM_ES__READER_USERNAME": "elastic",
                                   "WIRESTREAM_ES__READER_PASSWORD": es_admin_password()})


def test_the_again_command_puts_matching_documents_on_the_enrich_queue(
    models: Models, es_admin: Elasticsearch, reenrich_index: str, redis_db: redis.Redis,
    test_env: dict[str, str],
) -> None:
    from shared.queues import ENRICH, queue_depth

    result = _again(models, es_admin, reenrich_index, "language:es")
    assert result.exit_code == 0, result.output
    assert "re-sent 1 documents" in result.stdout
    assert queue_depth(redis_db, ENRICH) == 1
    # no worker runs in this test: said at once, not discovered by waiting
    assert "no worker answers" in result.stderr


def test_again_gives_up_on_a_full_queue_nobody_takes(
    models: Models, es_admin: Elasticsearch, reenrich_index: str, redis_db: redis.Redis,
    test_env: dict[str, str],
) -> None:
    from shared.queues import ENRICH, queue_depth
    from wirestream.failures import UNAVAILABLE, explain

    # a backlog above the back-pressure mark that no worker takes
    redis_db.rpush(ENRICH, *[b"{}"] * 201)
    result = _again(models, es_admin, reenrich_index, "*", "--max-wait", "2")
    assert result.exception is not None
    failure = explain(result.exception)
    assert failure is not None and failure.code == UNAVAILABLE
    assert "no enrich worker is taking them" in failure.message
    assert "waiting for the enrich workers to take them (0 s of at most 2 s)" in result.stderr
    assert queue_depth(redis_db, ENRICH) == 201  # nothing sent over the mark


def es_admin_password() -> str:
    from shared.settings import Settings

    secret = Settings().es.admin_password
    assert secret is not None
    return secret.get_secret_value()
