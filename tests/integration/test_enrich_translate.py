"""Translation against the real Apertium APy and the real Redis cache."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis

from services.enrich._translation_routes import legs
from services.enrich.adapters.translation_backends import (
    ApertiumBackend,
    build_backend,
    http_client,
)
from services.enrich.adapters.translation_cache import RedisTranslationCache
from services.enrich.translate import Translator
from shared.models import TranslationStatus
from shared.settings import Settings
from tests.unit.test_shared import make_item


@pytest.fixture
def client(settings: Settings) -> Iterator[httpx.Client]:
    with http_client(settings.translator) as c:
        yield c


@pytest.fixture
def apy(settings: Settings, client: httpx.Client) -> ApertiumBackend:
    backend = build_backend(settings.translator, client)
    assert isinstance(backend, ApertiumBackend)
    return backend


class Spy:
    """Counts what reaches the real backend."""

    def __init__(self, backend: ApertiumBackend) -> None:
        self.backend = backend
        self.name = backend.name
        self.max_chars = backend.max_chars
        self.sent: list[str] = []

    def pairs(self) -> dict[str, str]:
        return self.backend.pairs()

    def translate(self, pair: str, texts: Any) -> list[str]:
        self.sent.extend(texts)
        return self.backend.translate(pair, texts)


def test_pairs_are_discovered_from_the_running_apy(apy: ApertiumBackend) -> None:
    pairs = apy.pairs()
    assert pairs["es"] == "spa|eng"
    assert pairs["ca"] == "cat|eng"
    assert "en" not in pairs


def test_pair_discovery_lists_the_pivot_routes(apy: ApertiumBackend) -> None:
    pairs = apy.pairs()
    # Debian has no Portuguese/Italian/French/Romanian-English pair: through Spanish
    assert pairs["pt"] == "por|spa|eng"
    assert pairs["it"] == "ita|spa|eng"
    assert pairs["fr"] == "fra|spa|eng"
    assert pairs["ro"] == "ron|spa|eng"
    # direct pairs stay direct
    assert (pairs["gl"], pairs["eu"], pairs["sh"]) == ("glg|eng", "eus|eng", "hbs|eng")
    # Ukrainian reaches Russian only: offered as such, never as English
    assert "uk" not in pairs
    assert apy.routes("rus")["uk"] == "ukr|rus"


def test_portuguese_and_italian_come_back_in_english_through_spanish(
    apy: ApertiumBackend, redis_db: redis.Redis
) -> None:
    pt = make_item(headline="O presidente de Portugal visitou Lisboa.")
    it = make_item(headline="Il presidente della Repubblica ha visitato Roma.")
    out = Translator(apy, RedisTranslationCache(redis_db)).translate_batch([pt, it], ["pt", "it"])
    (tr_pt, f_pt), (tr_it, f_it) = out
    assert f_pt is None and f_it is None
    assert (tr_pt.status, tr_pt.pair) == (TranslationStatus.translated, "por|spa|eng")
    assert (tr_it.status, tr_it.pair) == (TranslationStatus.translated, "ita|spa|eng")
    # what APy 0.11 with Debian 12's pairs gives
    assert tr_pt.headline == "The president of Portugal visited Lisbon."
    assert tr_it.headline is not None
    assert "president of the Republic" in tr_it.headline and "Rome" in tr_it.headline
    keys = {k.decode() for k in redis_db.scan_iter("ws:enrich:tr:*")}
    assert {k.split(":")[4] for k in keys} == {"por|spa|eng", "ita|spa|eng"}


def test_spanish_and_catalan_documents_come_back_in_english(
    apy: ApertiumBackend, redis_db: redis.Redis
) -> None:
    es = make_item(headline="El presidente habló ayer en Madrid.",
                   body_text="El gobierno aprobó el presupuesto.\n\nLa oposición votó en contra.")
    ca = make_item(headline="El govern ha aprovat el pressupost.")
    out = Translator(apy, RedisTranslationCache(redis_db)).translate_batch([es, ca], ["es", "ca"])
    (tr_es, f_es), (tr_ca, f_ca) = out
    assert f_es is None and f_ca is None
    assert tr_es.status is TranslationStatus.translated
    assert tr_es.headline is not None and "president" in tr_es.headline.lower()
    assert tr_es.body_text is not None and "government" in tr_es.body_text.lower()
    # both paragraphs went in one chunk and came back as two paragraphs
    assert tr_es.chunks == 2
    assert tr_es.body_text.split("\n\n")[1].lower().startswith("the opposition")
    assert tr_ca.headline is not None and "approved" in tr_ca.headline.lower()


def test_the_redis_cache_spares_every_repeat(apy: ApertiumBackend, redis_db: redis.Redis) -> None:
    spy = Spy(apy)
    translator = Translator(spy, RedisTranslationCache(redis_db))
    item = make_item(headline="La lluvia llegó a Sevilla.", body_text="Hace frío en Bilbao.")
    [(first, _)] = translator.translate_batch([item], ["es"])
    sent_once = len(spy.sent)
    # a second worker (new Translator, same Redis) re-enriching the same text
    [(again, _)] = Translator(spy, RedisTranslationCache(redis_db)).translate_batch([item], ["es"])
    assert sent_once == 2
    assert len(spy.sent) == sent_once
    assert again.cached_chunks == again.chunks == 2
    assert (again.headline, again.body_text) == (first.headline, first.body_text)
    assert any(k.startswith(b"ws:enrich:tr:apertium:spa|eng:") for k in redis_db.scan_iter())
    assert redis_db.ttl(redis_db.keys("ws:enrich:tr:*")[0]) > 0


def test_a_language_without_pair_is_untranslated_not_failed(apy: ApertiumBackend) -> None:
    item = make_item(headline="Die Regierung hat den Haushalt beschlossen.")
    [(tr, failure)] = Translator(apy, None).translate_batch([item], ["de"])
    assert (tr.status, failure) == (TranslationStatus.no_pair, None)


def test_translator_down_gives_a_failed_translation_with_the_reason(
    settings: Settings,
) -> None:
    # nothing listens on this loopback port
    dead = settings.translator.model_copy(update={"apertium_url": "http://127.0.0.1:9",
                                                  "timeout": 2.0})
    with http_client(dead) as client:
        backend = build_backend(dead, client)
        assert isinstance(backend, ApertiumBackend)
        backend.sleep = lambda s: None
        [(tr, failure)] = Translator(backend, None).translate_batch(
            [make_item(headline="Hola mundo")], ["es"])
    assert tr.status is TranslationStatus.failed
    assert failure is not None and failure.reason == "translator_unavailable"


# Headline-like fragments without a full stop, whose words Apertium would
# reorder or re-case across a plain blank line ("La casa" + "blanca y grande"
# came back as "The white" + "and big house"), plus ordinary sentences.
FRAGMENTS = [
    "Madrid aprueba un plan de vivienda",
    "Casa roja",
    "crisis económica",
    "La casa",
    "blanca y grande",
    "El presidente del Gobierno",
    "Los precios suben en Barcelona.",
    "Miles de personas se concentraron en el centro de Sevilla el lunes contra la reforma. "
    "Las autoridades informaron de 163 nuevos casos, la cifra más alta desde la primavera.",
    "Seguir leyendo",
]


FRAGMENTS_BY_ROUTE = {
    "spa|eng": FRAGMENTS,
    "cat|eng": ["La casa", "blanca i gran", "El govern de Catalunya", "crisi econòmica",
                "Els preus pugen a Girona."],
    "por|spa|eng": ["A casa", "branca e grande", "O presidente do Governo", "crise económica",
                    "Os preços sobem em Lisboa.", "Benfica e Sporting medem forças na Luz"],
    "ita|spa|eng": ["La casa", "bianca e grande", "Il presidente del Consiglio",
                    "crisi economica", "I prezzi salgono a Milano."],
}


@pytest.mark.parametrize("route", list(FRAGMENTS_BY_ROUTE))
def test_joined_requests_translate_each_chunk_as_it_would_alone(
    apy: ApertiumBackend, route: str
) -> None:
    """Chunks sent together come back exactly as each sent alone: the
    separator (a paragraph holding only a full stop) is a sentence end that
    no word, rule or capitalisation crosses, on either leg of a pivot route."""
    texts = FRAGMENTS_BY_ROUTE[route]
    alone = [apy.translate(route, [text])[0] for text in texts]
    sent: list[httpx.Request] = []
    apy.client.event_hooks["request"].append(sent.append)
    assert apy.translate(route, texts) == alone
    assert len(sent) == len(legs(route))  # all of them in one request per leg
    # the fragments are sensitive: joined by a mere blank line, they do cross
    naive = texts
    for leg in legs(route):
        naive = apy._translate_one(leg, "\n\n".join(naive)).split("\n\n")
    assert naive != alone
