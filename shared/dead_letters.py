"""What a stage knows of dead letters: the record, its id, and the port
(:class:`DeadLetters`) it adds them through. The Redis store is
:mod:`shared.dlq`; this module imports no client library.

An entry's id is a digest of what failed (:func:`entry_id`): one entry per
stage, reason and item version (id, version, content hash), or per payload
where there are no items; a redelivered message that fails the same way
finds its entry already there and adds none.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Protocol

from pydantic import BaseModel

__all__ = ["DeadLetter", "DeadLetters", "entry_id"]


class DeadLetter(BaseModel):
    id: str
    stage: str
    reason: str
    message: str
    error_type: str
    attempts: int
    source: str | None = None
    item_ids: list[str] = []
    at: float
    payload: dict[str, Any]


def entry_id(stage: str, reason: str, payload: dict[str, Any], item_ids: list[str]) -> str:
    """The id of the dead letter of this failure: the same for the same
    stage, reason and item versions (or, without items, the same payload)."""
    items = payload.get("items") if isinstance(payload, dict) else None
    if item_ids and isinstance(items, list) and all(isinstance(i, dict) for i in items):
        what: Any = sorted((str(i.get("id")), str(i.get("version")), str(i.get("content_hash")))
                           for i in items)
    else:
        what = payload
    basis = json.dumps([stage, reason, what], sort_keys=True, default=str)
    return hashlib.sha256(basis.encode()).hexdigest()[:32]


class DeadLetters(Protocol):
    """What a stage needs of the dead-letter store: to add an entry.
    :class:`DeadLetterStore` is the Redis adapter; the unit tests pass an
    in-memory one (``tests/unit/fakes.py``)."""

    def add(self, *, stage: str, reason: str, message: str, error_type: str,
            payload: dict[str, Any], attempts: int, source: str | None = None,
            item_ids: list[str] | None = None) -> DeadLetter: ...
