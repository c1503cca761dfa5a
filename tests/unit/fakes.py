"""In-memory stand-ins for the ports every stage shares (shared.dead_letters
DeadLetters); each service's own are in tests/unit/<service>/fakes.py. They
keep the contract, not the implementation: the real adapters are tested
against the real services in tests/integration/."""

from __future__ import annotations

import time
from typing import Any

from shared.dead_letters import DeadLetter, entry_id

__all__ = ["MemoryDeadLetters"]


class MemoryDeadLetters:
    def __init__(self) -> None:
        self.entries: dict[str, DeadLetter] = {}

    def add(self, *, stage: str, reason: str, message: str, error_type: str,
            payload: dict[str, Any], attempts: int, source: str | None = None,
            item_ids: list[str] | None = None) -> DeadLetter:
        entry = DeadLetter(id=entry_id(stage, reason, payload, item_ids or []), stage=stage,
                           reason=reason, message=message, error_type=error_type,
                           attempts=attempts, source=source, item_ids=item_ids or [],
                           at=time.time(), payload=payload)
        return self.entries.setdefault(entry.id, entry)
