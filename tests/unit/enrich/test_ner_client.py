"""The CoreNLP client's own logic: spans from token tags, offsets (UTF-16,
the Italian tokenizer's drift), request packing and failures. HTTP edge
cases use httpx.MockTransport; the real server is exercised in
tests/integration/test_enrich_ner_server.py."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from services.enrich.adapters.corenlp import (
    CoreNlpClient,
    _pieces,
    corenlp_type,
    spans_from_document,
    trim_span,
)
from services.enrich.ports import NerFailure, NerSpan


def _tokens(text: str, tags: list[tuple[str, str]], utf16: bool = False) -> dict[str, Any]:
    """A CoreNLP JSON document whose tokens are the given words, found in
    order in ``text``, with their tags."""
    out = []
    cursor = 0
    for word, tag in tags:
        start = text.index(word, cursor)
        cursor = start + len(word)
        begin, end = start, cursor
        if utf16:
            begin = len(text[:start].encode("utf-16-le")) // 2
            end = len(text[:cursor].encode("utf-16-le")) // 2
        out.append({"word": word, "originalText": word, "characterOffsetBegin": begin,
                    "characterOffsetEnd": end, "ner": tag})
    return {"sentences": [{"tokens": out}]}


def test_tags_of_every_model_family_map_to_our_types() -> None:
    assert corenlp_type("PERSON") == ("PERSON", False)
    assert corenlp_type("I-PER") == ("PERSON", False)
    assert corenlp_type("B-ORG") == ("ORG", True)
    assert corenlp_type("LOCATION") == ("LOC", False)
    assert corenlp_type("LOC") == ("LOC", False)
    assert corenlp_type("MISC")[0] is None
    assert corenlp_type("O")[0] is None


def test_consecutive_tokens_of_one_tag_are_one_span_and_b_starts_a_new_one() -> None:
    text = "Angela Merkel met Siemens Energy in Paris Berlin"
    doc = _tokens(text, [("Angela", "PERSON"), ("Merkel", "PERSON"), ("met", "O"),
                         ("Siemens", "B-ORG"), ("Energy", "I-ORG"), ("in", "O"),
                         ("Paris", "B-LOC"), ("Berlin", "B-LOC")])
    spans = spans_from_document(doc, text)
    assert [(text[s.start:s.end], s.type) for s in spans] == [
        ("Angela Merkel", "PERSON"), ("Siemens Energy", "ORG"), ("Paris", "LOC"),
        ("Berlin", "LOC")]


def test_utf16_offsets_after_an_emoji_are_turned_into_str_indices() -> None:
    text = "Fans 😀😀 cheered Lionel Messi in Miami"
    doc = _tokens(text, [("Fans", "O"), ("cheered", "O"), ("Lionel", "PERSON"),
                         ("Messi", "PERSON"), ("in", "O"), ("Miami", "LOCATION")], utf16=True)
    spans = spans_from_document(doc, text)
    assert [text[s.start:s.end] for s in spans] == ["Lionel Messi", "Miami"]


def test_italian_offsets_that_drift_after_a_multiword_token_are_realigned() -> None:
    # As the Italian tokenizer answers: "della" -> "di" + "la", each given a
    # 3-character span, so every later offset is one too far.
    text = "Il segretario della Lega, Matteo Salvini."
    tokens = [("Il", 0, 2, "O"), ("segretario", 3, 13, "O"), ("di", 14, 17, "O"),
              ("la", 17, 20, "O"), ("Lega", 20, 24, "ORG"), (",", 24, 25, "O"),
              ("Matteo", 26, 32, "PER"), ("Salvini", 33, 40, "PER"), (".", 40, 40, "O")]
    originals = {"di": "della", "la": "della"}
    doc = {"sentences": [{"tokens": [
        {"word": w, "originalText": originals.get(w, w), "characterOffsetBegin": b,
         "characterOffsetEnd": e, "ner": t} for w, b, e, t in tokens]}]}
    spans = spans_from_document(doc, text, "it")
    assert [(text[s.start:s.end], s.type) for s in spans] == [
        ("Lega", "ORG"), ("Matteo Salvini", "PERSON")]


def test_french_multiword_parts_keep_their_offsets() -> None:
    # "du" -> "de" + "le": both parts carry the word's own offsets
    text = "Le président du Sénat au Mali."
    doc = {"sentences": [{"tokens": [
        {"word": w, "originalText": w, "characterOffsetBegin": b, "characterOffsetEnd": e,
         "ner": t} for w, b, e, t in [
            ("Le", 0, 2, "O"), ("président", 3, 12, "O"), ("de", 13, 15, "O"),
            ("le", 13, 15, "O"), ("Sénat", 16, 21, "I-ORG"), ("à", 22, 24, "O"),
            ("le", 22, 24, "O"), ("Mali", 25, 29, "I-LOC")]]}]}
    spans = spans_from_document(doc, text, "fr")
    assert [text[s.start:s.end] for s in spans] == ["Sénat", "Mali"]


@pytest.mark.parametrize(("text", "span", "language", "expected"), [
    ("contre la France hier", "la France", "fr", "France"),
    ("Les Pays-Bas ont gagné", "Les Pays-Bas", "fr", "Pays-Bas"),
    ("selon Le Monde hier", "Le Monde", "fr", "Le Monde"),
    ("avec l'Irlande", "l'Irlande", "fr", "Irlande"),
    ("«Le Monde» écrit", "«Le Monde»", "fr", "Le Monde"),
    ("in Kyiv' s centre", "Kyiv'", "en", "Kyiv"),
    ("per la Juventus", "la Juventus", "it", "Juventus"),
    ("con el Barcelona", "el Barcelona", "es", "Barcelona"),
])
def test_trim_drops_edge_punctuation_and_a_leading_article(
        text: str, span: str, language: str, expected: str) -> None:
    start = text.index(span)
    a, b = trim_span(text, start, start + len(span), language)
    assert text[a:b] == expected


def test_a_long_text_is_cut_at_paragraph_ends_then_spaces() -> None:
    paragraphs = ["word " * 30 + "end." for _ in range(10)]
    text = "\n\n".join(paragraphs)
    pieces = _pieces(text, 400)
    assert all(len(p) <= 400 for _, p in pieces)
    assert all(text[offset:offset + len(p)] == p for offset, p in pieces)
    assert all(p.endswith("end.") for _, p in pieces[:-1])
    one_line = "x" * 50 + " " + "y" * 50
    assert [p for _, p in _pieces(one_line, 60)] == ["x" * 50, "y" * 50]


def _server(handler: Any) -> tuple[CoreNlpClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        result: httpx.Response = handler(request)
        return result

    http = httpx.Client(transport=httpx.MockTransport(record))
    return CoreNlpClient(http, "http://corenlp:9000", max_chars=1000), seen


def _echo_names(request: httpx.Request) -> httpx.Response:
    """Tags every capitalised word PERSON, like a (bad) model would."""
    text = request.content.decode()
    tokens = []
    position = 0
    for word in text.split():
        start = text.index(word, position)
        position = start + len(word)
        tokens.append({"word": word, "originalText": word, "characterOffsetBegin": start,
                       "characterOffsetEnd": position,
                       "ner": "PERSON" if word[0].isupper() else "O"})
    return httpx.Response(200, json={"sentences": [{"tokens": tokens}]})


def test_texts_of_one_language_share_requests_and_come_back_to_their_text() -> None:
    client, seen = _server(_echo_names)
    texts = [("en", "hello Alice"), ("de", "hallo Bernd"), ("en", "hi Carol"), ("pl", "Dawid"),
             ("en", "")]
    answers = client.recognise(texts)
    assert len(seen) == 2  # one English, one German request; Polish is not sent
    got = [[texts[i][1][s.start:s.end] for s in a] for i, a in enumerate(answers)
           if isinstance(a, list)]
    assert got == [["Alice"], ["Bernd"], ["Carol"], [], []]
    props = json.loads(seen[0].url.params["properties"])
    assert props["ner.model"].endswith("english.all.3class.distsim.crf.ser.gz")


def test_a_big_document_is_read_in_bounded_requests() -> None:
    client, seen = _server(_echo_names)
    big = "\n\n".join(f"paragraph {n} names Zed{n} here." for n in range(200))
    [answer] = client.recognise([("en", big)])
    assert isinstance(answer, list)
    assert len(seen) > 1 and all(len(r.content) <= 1000 for r in seen)
    assert [big[s.start:s.end] for s in answer] == [f"Zed{n}" for n in range(200)]


def test_a_down_server_fails_the_texts_and_skips_the_rest_of_the_batch() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client, seen = _server(refuse)
    answers = client.recognise([("en", "a " * 600), ("en", "b " * 600), ("de", "c")])
    assert all(isinstance(a, NerFailure) and a.reason == "ner_unavailable" for a in answers)
    assert len(seen) == 2  # the first request, tried twice; the others skipped


def test_a_timeout_is_unavailable_and_a_bad_answer_is_refused() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    client, _ = _server(slow)
    [answer] = client.recognise([("en", "text")])
    assert isinstance(answer, NerFailure) and answer.reason == "ner_unavailable"
    assert "timed out" in answer.message

    client, _ = _server(lambda r: httpx.Response(200, text="<html>not json</html>"))
    [answer] = client.recognise([("en", "text")])
    assert isinstance(answer, NerFailure) and answer.reason == "ner_refused"

    client, _ = _server(lambda r: httpx.Response(503, text="busy"))
    [answer] = client.recognise([("fr", "texte")])
    assert isinstance(answer, NerFailure) and answer.reason == "ner_unavailable"


def test_spans_are_frozen_values() -> None:
    assert NerSpan(0, 1, "LOC") == NerSpan(0, 1, "LOC")
