
"""In-memory stand-ins for the ports of services/enrich/ports.py, for unit
tests of the enrich stage without CoreNLP, APy or Redis. They keep the
contract, not the implementation: the real adapters are tested against the
real services in tests/integration/."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from services.enrich.ports import NerFailure, NerSpan
from shared.errors import ServiceUnavailable
from shared.models import NewsItem

__all__ = ["MemoryClusters", "ScriptedBackend", "ScriptedNerServer"]


class ScriptedBackend:
    """Spanish -> English by a phrase table; can be switched off."""

    name = "scripted"
    max_chars = 500
    table: ClassVar[dict[str, str]] = {
        "El presidente Pedro Sánchez viajó a Berlín para reunirse con Olaf Scholz.":
            "President Pedro Sánchez travelled to Berlin to meet Olaf Scholz.",
        "Sánchez y Scholz hablaron de la guerra en Ucrania.":
            "Sánchez and Scholz talked about the war in Ukraine.",
        "Sánchez viaja a Berlín": "Sánchez travels to Berlin",
    }

    def __init__(self) -> None:
        self.down = False

    def pairs(self) -> dict[str, str]:
        return {"es": "spa|eng", "ca": "cat|eng"}

    def translate(self, pair: str, texts: Any) -> list[str]:
        if self.down:
            raise ServiceUnavailable("connection refused", reason="translator_unavailable")
        return [self.table.get(t, t) for t in texts]


class ScriptedNerServer:
    """Finds the names of its table wherever they occur, in ``languages``;
    while ``failing``, every text gets a NerFailure as a dead server gives."""

    def __init__(self, names: dict[str, str], languages: Iterable[str]) -> None:
        self.names = names
        self.languages = frozenset(languages)
        self.failing = False
        self.asked: list[tuple[str, str]] = []

    def recognise(self, texts: Sequence[tuple[str, str]]) -> list[list[NerSpan] | NerFailure]:
        self.asked += texts
        if self.failing:
            return [NerFailure("ner_unavailable", "connection refused") for _ in texts]
        out: list[list[NerSpan] | NerFailure] = []
        for _, text in texts:
            spans = []
            for name, kind in self.names.items():
                start = text.find(name)
                while start >= 0:
                    spans.append(NerSpan(start, start + len(name), kind))
                    start = text.find(name, start + 1)
            out.append(sorted(spans, key=lambda s: s.start))
        return out


class MemoryClusters:
    """One cluster per distinct body text; raises as a down Redis does."""

    def __init__(self) -> None:
        self.down = False
        self.seen: dict[str, str] = {}

    def assign(self, items: Sequence[NewsItem]) -> list[str | None]:
        if self.down:
            raise ServiceUnavailable("cluster index: connection refused",
                                     reason="redis_unavailable")
        out: list[str | None] = []
        for item in items:
            digest = hashlib.sha256(item.body_text.encode()).hexdigest()[:12]
            out.append(self.seen.setdefault(digest, f"cluster-{digest}"))
        return out

