"""A loopback fake of the LibreTranslate API, for protocol tests only.

It implements the documented surface our client uses - ``GET /languages``
(a list of ``{code, name, targets}``) and ``POST /translate`` (JSON or form;
``q`` a string or a list; ``source``, ``target``, ``format``, ``api_key``;
answers ``{"translatedText": ...}`` or ``{"error": ...}`` with 400/403/429) -
and "translates" by looking words up in a tiny table. It says nothing about
translation quality; it checks that we speak the protocol.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

LANGUAGES = [
    {"code": "en", "name": "English", "targets": ["de", "es", "en", "fr"]},
    {"code": "es", "name": "Spanish", "targets": ["en", "fr"]},
    {"code": "de", "name": "German", "targets": ["en"]},
    {"code": "fr", "name": "French", "targets": ["es"]},  # no pair into English
]
WORDS = {"hola": "hello", "mundo": "world", "guten": "good", "tag": "day", "el": "the",
         "presidente": "president", "habló": "spoke"}


class FakeState:
    def __init__(self, api_key: str | None, char_limit: int, fail_first: int) -> None:
        self.api_key = api_key
        self.char_limit = char_limit
        self.fail_first = fail_first  # answer 429 to this many /translate calls first
        self.requests: list[dict[str, Any]] = []


def _fake_translate(text: str) -> str:
    return " ".join(WORDS.get(w.lower(), w) for w in text.split(" "))


def _handler(state: FakeState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/languages":
                self._answer(200, LANGUAGES)
            else:
                self._answer(404, {"error": "Not found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length).decode()
            if self.headers.get("Content-Type", "").startswith("application/json"):
                args = json.loads(raw)
            else:
                args = {k: v[0] for k, v in parse_qs(raw).items()}
            state.requests.append(args)
            if self.path != "/translate":
                self._answer(404, {"error": "Not found"})
                return
            if state.fail_first > 0:
                state.fail_first -= 1
                self._answer(429, {"error": "Slowdown: too many requests"})
                return
            if state.api_key and args.get("api_key") != state.api_key:
                self._answer(403, {"error": "Invalid API key"})
                return
            q = args.get("q")
            source, target = args.get("source"), args.get("target")
            if q is None or not source or not target:
                self._answer(400, {"error": "Invalid request: missing q/source/target"})
                return
            texts = q if isinstance(q, list) else [q]
            if sum(len(t) for t in texts) > state.char_limit:
                self._answer(400, {"error": f"Invalid request: over {state.char_limit} chars"})
                return
            pairs = {(lang["code"], t) for lang in LANGUAGES for t in lang["targets"]}
            if (source, target) not in pairs:
                self._answer(400, {"error": f"{source} -> {target} not supported"})
                return
            out = [_fake_translate(t) for t in texts]
            self._answer(200, {"translatedText": out if isinstance(q, list) else out[0]})

    return Handler


@contextmanager
def fake_libretranslate(
    *, api_key: str | None = None, char_limit: int = 5000, fail_first: int = 0
) -> Iterator[tuple[str, FakeState]]:
    state = FakeState(api_key, char_limit, fail_first)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
