"""The local Stanford CoreNLP server as `wirestream services up` runs it:
NER in every configured language with the client's properties, bound to
loopback only, and brought back by `up` after it was killed."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from shared.corenlp import CORENLP_LANGUAGES, ner_properties
from wirestream.dev.local_services import LocalServices, _pid_alive

ROOT = Path(__file__).resolve().parents[2]

# The tag names differ by model (French uses IOB-style I-PER, Italian PER).
SENTENCES = {
    "en": ("Angela Merkel visited Paris.", "PERSON", "LOCATION"),
    "de": ("Angela Merkel besuchte Paris.", "PERSON", "LOCATION"),
    "fr": ("Angela Merkel a visité Paris.", "I-PER", "I-LOC"),
    "es": ("Angela Merkel visitó París.", "PERSON", "LOCATION"),
    "it": ("Angela Merkel ha visitato Parigi.", "PER", "LOC"),
}


@pytest.fixture(scope="module")
def corenlp_url(services: dict[str, str]) -> str:
    return services["WIRESTREAM_NER__CORENLP_URL"]


def annotate(url: str, language: str, text: str) -> list[tuple[str, int, int, str]]:
    response = httpx.post(
        url,
        params={"properties": json.dumps(ner_properties(language))},
        content=text.encode(),
        headers={"Content-Type": "text/plain; charset=utf-8"},
        timeout=60,
    )
    response.raise_for_status()
    return [
        (t["word"], t["characterOffsetBegin"], t["characterOffsetEnd"], t["ner"])
        for sentence in response.json()["sentences"]
        for token in sentence["tokens"]
        for t in [token]
    ]


@pytest.mark.parametrize("language", CORENLP_LANGUAGES)
def test_ner_in_every_language(corenlp_url: str, language: str) -> None:
    text, person, place = SENTENCES[language]
    tokens = annotate(corenlp_url, language, text)
    place_word = text.split()[-1].rstrip(".")
    by_word = {word: tag for word, _, _, tag in tokens}
    assert by_word["Angela"] == by_word["Merkel"] == person, tokens
    assert by_word[place_word] == place, tokens
    assert all(tag == "O" for word, *_, tag in tokens if word not in ("Angela", "Merkel",
                                                                      place_word)), tokens
    for i, (word, begin, end, _) in enumerate(tokens):
        if language == "it" and i == len(tokens) - 1 and begin == end:
            # CoreNLP 4.5.10's Italian cdc_tokenize gives the text's last
            # token an empty span (begin == end); only that one.
            continue
        assert text[begin:end] == word, (word, begin, end)


def test_multi_word_tokens_keep_the_surface_offsets(corenlp_url: str) -> None:
    """German "im" is two words, "in" + "dem", both spanning "im"."""
    text = "Sie wohnt im Haus von Olaf Scholz in Berlin."
    tokens = annotate(corenlp_url, "de", text)
    split = [(word, text[begin:end]) for word, begin, end, _ in tokens if begin == 10]
    assert split == [("in", "im"), ("dem", "im")], tokens
    assert ("Berlin", "LOCATION") in {(word, tag) for word, *_, tag in tokens}


def _listeners(port: int) -> list[str]:
    """Local addresses (hex, as in /proc/net/tcp*) listening on ``port``."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if int(hex_port, 16) == port and fields[3] == "0A":  # 0A: LISTEN
                found.append(address)
    return found


def test_listens_on_loopback_only(corenlp_url: str) -> None:
    port = int(corenlp_url.rsplit(":", 1)[1])
    listeners = _listeners(port)
    assert listeners, f"nothing listens on {port}"
    loopback = {
        "0100007F",  # 127.0.0.1
        "0000000000000000FFFF00000100007F",  # ::ffff:127.0.0.1 (Java's dual-stack socket)
        "00000000000000000000000001000000",  # ::1
    }
    assert set(listeners) <= loopback, f"CoreNLP listens beyond loopback: {listeners}"


def test_up_restarts_a_killed_server(corenlp_url: str) -> None:
    services = LocalServices(ROOT, echo=lambda _: None)
    pid = services.pids()["corenlp"]
    assert pid is not None and _pid_alive(pid)
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while _pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _pid_alive(pid)
    [state] = [s for s in services.status() if s.name == "corenlp"]
    assert not state.running and not state.healthy

    services.start_corenlp()  # what `wirestream services up` does for CoreNLP

    [state] = [s for s in services.status() if s.name == "corenlp"]
    assert state.running and state.healthy and state.pid != pid
    text, person, _ = SENTENCES["it"]
    assert ("Merkel", person) in {(w, tag) for w, *_, tag in annotate(corenlp_url, "it", text)}
