"""Translation: splitting, language codes, the two backends' protocols, the
cache and the outcomes (no pair, translator down) - no real services."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from services.enrich.adapters.translation_backends import ApertiumBackend, LibreTranslateBackend
from services.enrich.adapters.translation_cache import MemoryTranslationCache
from services.enrich.langcodes import candidates_639_3, to_639_1, to_639_3
from services.enrich.translate import NullBackend, Translator, split_text
from shared.errors import PermanentError, ServiceUnavailable
from shared.models import TranslationStatus
from tests.unit.enrich._fake_libretranslate import fake_libretranslate
from tests.unit.test_shared import make_item

# ------------------------------------------------------------------ splitting


def test_short_paragraphs_share_a_chunk_and_long_ones_split_at_boundaries() -> None:
    text = "Uno dos.\n\nTres cuatro.\n\n" + "Frase larga aquí. " * 20
    chunks = split_text(text, 60)
    assert chunks[0] == "Uno dos.\n\nTres cuatro."
    assert all(len(c) <= 60 for c in chunks)
    # nothing lost: every word comes back in order
    assert " ".join(" ".join(chunks).split()) == " ".join(text.split())
    # sentence ends are respected when a paragraph is too long
    assert all(c.endswith(".") for c in chunks)


def test_a_word_longer_than_the_limit_is_cut_hard() -> None:
    chunks = split_text("a" * 25, 10)
    assert chunks == ["a" * 10, "a" * 10, "a" * 5]


def test_split_is_deterministic_and_drops_blank_paragraphs() -> None:
    text = "Alpha.\n\n   \n\nBeta.\n \nGamma."
    assert split_text(text, 1000) == split_text(text, 1000) == ["Alpha.\n\nBeta.\n\nGamma."]


# ------------------------------------------------------------- language codes


@pytest.mark.parametrize(("two", "three"), [("es", "spa"), ("ca", "cat"), ("en", "eng"),
                                             ("ru", "rus"), ("pt-BR", "por")])
def test_iso_639_1_to_3_and_back(two: str, three: str) -> None:
    assert to_639_3(two) == three
    assert to_639_1(three) == two.split("-")[0]


def test_macrolanguage_candidates_for_apertium() -> None:
    assert candidates_639_3("sr") == ("srp", "hbs")
    assert to_639_3("xx") is None
    assert to_639_1("hbs") == "sh"


# ----------------------------------------------------------- APy via MockTransport
APY_PAIRS = {
    "responseData": [
        {"sourceLanguage": "spa", "targetLanguage": "eng_US"},
        {"sourceLanguage": "spa", "targetLanguage": "eng"},
        {"sourceLanguage": "cat_valencia", "targetLanguage": "eng"},
        {"sourceLanguage": "cat", "targetLanguage": "eng"},
        {"sourceLanguage": "eng", "targetLanguage": "spa"},
        {"sourceLanguage": "hbs", "targetLanguage": "eng"},
    ],
    "responseDetails": None,
    "responseStatus": 200,
}


def apy(handler: Callable[[httpx.Request], httpx.Response]) -> tuple[ApertiumBackend, list[float]]:
    sleeps: list[float] = []
    client = httpx.Client(transport=httpx.MockTransport(handler))
    return ApertiumBackend(client, "http://apy.test", sleep=sleeps.append), sleeps


def apy_ok(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/listPairs":
        return httpx.Response(200, json=APY_PAIRS)
    form = dict(httpx.QueryParams(request.content.decode()))
    assert form["markUnknown"] == "no"
    text = form["q"].replace("hola", "hello").replace("mundo", "world")
    return httpx.Response(200, json={"responseData": {"translatedText": text},
                                     "responseDetails": None, "responseStatus": 200})


def test_apertium_pairs_are_discovered_in_639_1_preferring_plain_eng() -> None:
    backend, _ = apy(apy_ok)
    assert backend.pairs() == {"es": "spa|eng", "ca": "cat|eng", "sh": "hbs|eng"}


def test_apertium_translates_each_chunk_by_form_post() -> None:
    backend, _ = apy(apy_ok)
    assert backend.translate("spa|eng", ["hola mundo", "mundo"]) == ["hello world", "world"]


def test_apertium_joins_chunks_into_few_requests_and_splits_the_answer() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(dict(httpx.QueryParams(request.content.decode()))["q"])
        return apy_ok(request)

    backend, _ = apy(handler)
    backend.max_request_chars = 30
    texts = ["hola", "mundo hola", "hola mundo, hola mundo", "mundo"]
    assert backend.translate("spa|eng", texts) == [
        "hello", "world hello", "hello world, hello world", "world"]
    # grouped under the request limit, joined by a paragraph holding a full stop
    assert seen == ["hola\n\n.\n\nmundo hola", "hola mundo, hola mundo\n\n.\n\nmundo"]


def test_apertium_sends_chunks_alone_when_the_separator_cannot_be_trusted() -> None:
    seen: list[str] = []

    def eats_separators(request: httpx.Request) -> httpx.Response:
        q = dict(httpx.QueryParams(request.content.decode()))["q"]
        seen.append(q)
        text = q.replace("\n\n.\n\n", " ").replace("hola", "hello")
        return httpx.Response(200, json={"responseData": {"translatedText": text},
                                         "responseStatus": 200})

    backend, _ = apy(eats_separators)
    assert backend.translate("spa|eng", ["hola", "hola"]) == ["hello", "hello"]
    assert seen == ["hola\n\n.\n\nhola", "hola", "hola"]  # the lost split is redone alone
    seen.clear()
    # a chunk that holds the separator itself is never joined
    backend, _ = apy(eats_separators)
    assert backend.translate("spa|eng", ["uno\n\n.\n\ndos", "hola"]) == ["uno dos", "hello"]
    assert seen == ["uno\n\n.\n\ndos", "hola"]


def test_apertium_transient_errors_are_retried_with_backoff() -> None:
    calls = {"n": 0}

    def flaky(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            raise httpx.ConnectError("refused", request=request)
        if calls["n"] == 2:
            return httpx.Response(503, text="busy")
        return apy_ok(request)

    backend, sleeps = apy(flaky)
    assert backend.translate("spa|eng", ["hola"]) == ["hello"]
    assert sleeps == [0.5, 1.0]


def test_apertium_down_raises_translator_unavailable_after_bounded_attempts() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    backend, sleeps = apy(down)
    with pytest.raises(ServiceUnavailable) as info:
        backend.translate("spa|eng", ["hola"])
    assert info.value.reason == "translator_unavailable"
    assert len(sleeps) == backend.attempts - 1


def test_apertium_4xx_is_a_refusal_not_retried() -> None:
    backend, sleeps = apy(lambda r: httpx.Response(400, json={"explanation": "That pair is "
                                                                               "not installed"}))
    with pytest.raises(PermanentError) as info:
        backend.translate("deu|eng", ["Hallo"])
    assert info.value.reason == "translator_refused"
    assert sleeps == []


# ------------------------------------- LibreTranslate against a loopback fake
# Protocol tests: the fake implements LibreTranslate's documented API.


def test_libretranslate_protocol_pairs_and_batched_translation() -> None:
    with fake_libretranslate(api_key="k") as (url, state), httpx.Client() as client:
        backend = LibreTranslateBackend(client, url, api_key="k")
        assert backend.pairs() == {"es": "es|en", "de": "de|en"}
        out = backend.translate("es|en", ["hola mundo", "el presidente habló"])
    assert out == ["hello world", "the president spoke"]
    [request] = state.requests  # one request carries both chunks
    assert request == {"q": ["hola mundo", "el presidente habló"], "source": "es",
                       "target": "en", "format": "text", "api_key": "k"}


def test_libretranslate_protocol_groups_requests_under_the_char_limit() -> None:
    with fake_libretranslate(char_limit=30) as (url, state), httpx.Client() as client:
        backend = LibreTranslateBackend(client, url)
        backend.max_request_chars = 30
        out = backend.translate("es|en", ["hola mundo " * 2, "mundo " * 3, "hola"])
    assert [len(r["q"]) for r in state.requests] == [1, 2]
    assert out[2] == "hello"


def test_libretranslate_protocol_bad_key_is_refused_and_429_retried() -> None:
    with fake_libretranslate(api_key="right", fail_first=1) as (url, state), \
            httpx.Client() as client:
        sleeps: list[float] = []
        backend = LibreTranslateBackend(client, url, api_key="wrong", sleep=sleeps.append)
        with pytest.raises(PermanentError) as info:
            backend.translate("es|en", ["hola"])
    assert info.value.reason == "translator_refused"
    assert sleeps == [0.5]  # the 429 was retried once, then the 403 stopped it
    assert len(state.requests) == 2


# --------------------------------------------------------------- translator


class CountingBackend:
    name = "fake"
    max_chars = 50

    def __init__(self, pairs: dict[str, str], *, down: bool = False) -> None:
        self._pairs = pairs
        self.down = down
        self.pair_calls = 0
        self.sent: list[tuple[str, list[str]]] = []

    def pairs(self) -> dict[str, str]:
        self.pair_calls += 1
        return self._pairs

    def translate(self, pair: str, texts: Any) -> list[str]:
        if self.down:
            raise ServiceUnavailable("connection refused", reason="translator_unavailable")
        self.sent.append((pair, list(texts)))
        return [f"EN[{t}]" for t in texts]


ES_ITEM = make_item(headline="Hola mundo", summary=None,
                    body_text="Primer párrafo.\n\nSegundo párrafo bastante largo, de verdad.")


def test_a_spanish_item_is_translated_field_by_field() -> None:
    backend = CountingBackend({"es": "spa|eng"})
    [(tr, failure)] = Translator(backend, MemoryTranslationCache()).translate_batch(
        [ES_ITEM], ["es"])
    assert failure is None
    assert tr.status is TranslationStatus.translated
    assert tr.headline == "EN[Hola mundo]"
    assert tr.body_text == "EN[Primer párrafo.]\n\nEN[Segundo párrafo bastante largo, de verdad.]"
    assert tr.summary is None
    assert (tr.pair, tr.source_language, tr.chunks, tr.cached_chunks) == ("spa|eng", "es", 3, 0)


def test_unchanged_text_is_never_translated_twice() -> None:
    backend = CountingBackend({"es": "spa|eng"})
    translator = Translator(backend, MemoryTranslationCache())
    translator.translate_batch([ES_ITEM], ["es"])
    edited = ES_ITEM.model_copy(update={"headline": "Hola mundo nuevo"})
    [(tr, _)] = translator.translate_batch([edited, ES_ITEM], ["es", "es"])[:1]
    # second round: only the edited headline went to the backend
    assert backend.sent[1] == ("spa|eng", ["Hola mundo nuevo"])
    assert tr.cached_chunks == 2


def test_no_pair_is_not_an_error_and_english_needs_nothing() -> None:
    backend = CountingBackend({"es": "spa|eng"})
    out = Translator(backend, None).translate_batch([ES_ITEM, ES_ITEM, ES_ITEM],
                                                      ["de", "en", None])
    assert [(t.status, f) for t, f in out] == [
        (TranslationStatus.no_pair, None),
        (TranslationStatus.not_needed, None),
        (TranslationStatus.unknown_language, None),
    ]
    assert backend.sent == []


def test_pairs_are_cached_with_a_ttl() -> None:
    now = [0.0]
    backend = CountingBackend({"es": "spa|eng"})
    translator = Translator(backend, None, pairs_ttl=60, clock=lambda: now[0])
    translator.pair_for("es")
    now[0] = 59
    translator.pair_for("es")
    assert backend.pair_calls == 1
    now[0] = 61
    translator.pair_for("es")
    assert backend.pair_calls == 2


def test_translator_down_leaves_the_item_untranslated_with_a_reason() -> None:
    backend = CountingBackend({"es": "spa|eng"}, down=True)
    [(tr, failure), (en, ok)] = Translator(backend, MemoryTranslationCache()).translate_batch(
        [ES_ITEM, ES_ITEM], ["es", "en"])
    assert tr.status is TranslationStatus.failed
    assert tr.headline is None
    assert failure is not None and failure.reason == "translator_unavailable"
    assert (en.status, ok) == (TranslationStatus.not_needed, None)


def test_pair_discovery_failing_marks_only_non_english_items() -> None:
    class Down(CountingBackend):
        def pairs(self) -> dict[str, str]:
            raise ServiceUnavailable("refused", reason="translator_unavailable")

    out = Translator(Down({}), None).translate_batch([ES_ITEM, ES_ITEM], ["es", "en"])
    assert out[0][0].status is TranslationStatus.failed
    assert out[0][1] is not None and out[0][1].reason == "translator_unavailable"
    assert out[1] == (out[1][0], None)
    assert out[1][0].status is TranslationStatus.not_needed


def test_backend_none_disables_translation() -> None:
    [(tr, failure)] = Translator(NullBackend(), None).translate_batch([ES_ITEM], ["es"])
    assert (tr.status, failure) == (TranslationStatus.disabled, None)


def test_the_json_of_a_translation_round_trips() -> None:
    backend = CountingBackend({"es": "spa|eng"})
    [(tr, _)] = Translator(backend, None).translate_batch([ES_ITEM], ["es"])
    assert json.loads(tr.model_dump_json())["status"] == "translated"


# ------------------------------------------------------------ pivot routes
APY_PIVOT_PAIRS = {
    "responseData": [
        {"sourceLanguage": "spa", "targetLanguage": "eng"},
        {"sourceLanguage": "por", "targetLanguage": "spa"},
        {"sourceLanguage": "ita", "targetLanguage": "spa"},
        {"sourceLanguage": "ukr", "targetLanguage": "rus"},
    ],
    "responseStatus": 200,
}
# a toy Apertium: word for word, per pair
WORDS = {"por|spa": {"olá": "hola", "mundo": "mundo"},
         "ita|spa": {"ciao": "hola", "mondo": "mundo"},
         "spa|eng": {"hola": "hello", "mundo": "world"}}


def apy_pivot(fail: dict[str, int] | None = None,
              seen: list[tuple[str, str]] | None = None) -> ApertiumBackend:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/listPairs":
            return httpx.Response(200, json=APY_PIVOT_PAIRS)
        form = dict(httpx.QueryParams(request.content.decode()))
        pair, q = form["langpair"], form["q"]
        if seen is not None:
            seen.append((pair, q))
        if fail and pair in fail:
            return httpx.Response(fail[pair], text="no")
        words = WORDS[pair]
        text = re.sub(r"\w+", lambda m: words.get(m[0], m[0]), q)
        return httpx.Response(200, json={"responseData": {"translatedText": text},
                                         "responseStatus": 200})

    backend, _ = apy(handler)
    return backend


def test_apertium_routes_languages_without_an_english_pair_through_a_pivot() -> None:
    backend = apy_pivot()
    assert backend.pairs() == {"es": "spa|eng", "pt": "por|spa|eng", "it": "ita|spa|eng"}
    # not English: offered for a reader of Russian only
    assert backend.routes("rus") == {"uk": "ukr|rus"}


def test_both_legs_of_a_route_are_batched_like_a_pair() -> None:
    seen: list[tuple[str, str]] = []
    backend = apy_pivot(seen=seen)
    assert backend.translate("por|spa|eng", ["olá", "olá mundo"]) == ["hello", "hello world"]
    # one joined request per leg, the second leg fed the first leg's Spanish
    assert seen == [("por|spa", "olá\n\n.\n\nolá mundo"), ("spa|eng", "hola\n\n.\n\nhola mundo")]


def test_a_pivot_translation_names_its_route_and_caches_apart() -> None:
    cache = MemoryTranslationCache()
    translator = Translator(apy_pivot(), cache)
    pt = make_item(headline="olá mundo", summary=None, body_text=None)
    [(tr, failure)] = translator.translate_batch([pt], ["pt-PT"])
    assert failure is None
    assert (tr.status, tr.pair, tr.headline) == (TranslationStatus.translated,
                                                 "por|spa|eng", "hello world")
    assert [k.split(":")[4] for k in cache.values] == ["por|spa|eng"]
    # the same text as Italian or Spanish goes another route: its own key
    translator.translate_batch([pt, pt], ["it", "es"])
    assert sorted(k.split(":")[4] for k in cache.values) == [
        "ita|spa|eng", "por|spa|eng", "spa|eng"]


@pytest.mark.parametrize(("status", "leg", "reason"), [
    (503, "por|spa", "translator_unavailable"),
    (503, "spa|eng", "translator_unavailable"),
    (400, "spa|eng", "translator_refused"),
])
def test_a_failing_leg_fails_only_the_documents_of_its_route(
    status: int, leg: str, reason: str
) -> None:
    seen: list[tuple[str, str]] = []
    backend = apy_pivot({leg: status}, seen)
    pt = make_item(headline="olá mundo", summary=None, body_text=None)
    it = make_item(headline="ciao mondo", summary=None, body_text=None)
    es_item = make_item(headline="hola", summary=None, body_text=None)
    out = Translator(backend, None).translate_batch([pt, it, es_item], ["pt", "it", "es"])
    [(tr_pt, f_pt), (tr_it, f_it), (tr_es, f_es)] = out
    assert tr_pt.status is TranslationStatus.failed and tr_pt.headline is None
    assert f_pt is not None and f_pt.reason == reason
    if leg == "por|spa":  # the other routes went on
        assert (tr_it.headline, f_it) == ("hello world", None)
        assert (tr_es.headline, f_es) == ("hello", None)
    else:  # every route ends in the broken leg
        assert f_it is not None and f_es is not None and f_es.reason == reason
