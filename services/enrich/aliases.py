"""What the entity step hands the registry, and the registry's port.

:class:`Candidate` is a document-level entity waiting for its id;
:class:`Resolver` gives ids (the Redis adapter is
:class:`services.enrich.adapters.entity_registry.EntityRegistry`, whose
docstring describes the lookups); :class:`OfflineResolver` gives ids from the
keys alone, for the single-document CLI without Redis.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["Candidate", "EntityRecord", "OfflineResolver", "Resolver", "entity_id_for",
           "exact_key"]


def entity_id_for(key: str) -> str:
    """Deterministic id of a new entity from its first key."""
    kind = key.split(":", 1)[0].lower()
    return f"{kind}-{hashlib.sha1(key.encode()).hexdigest()[:12]}"


def exact_key(entity_type: str, surface: str) -> str:
    return f"X:{entity_type}:{' '.join(surface.split()).casefold()}"


@dataclass
class Candidate:
    """A document-level entity waiting for its registry id."""

    type: str
    name: str
    key: str
    variants: list[str] = field(default_factory=list)
    surname: str | None = None  # folded, people only
    surname_only: bool = False
    extra_keys: list[str] = field(default_factory=list)  # e.g. an ORG's acronym
    skeletons: list[str] = field(default_factory=list)  # people only
    # people with a given name: keys to meet their spelling in another script
    # (services.enrich.names.cross_script_keys): written under, looked for
    cross_keys: list[str] = field(default_factory=list)
    cross_lookups: list[str] = field(default_factory=list)


@dataclass
class EntityRecord:
    id: str
    type: str
    name: str
    locked: bool = False
    merged_into: str | None = None
    variants: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)


class Resolver(Protocol):
    def resolve(self, candidates: Sequence[Candidate]) -> list[tuple[str, str]]:
        """(id, canonical name) per candidate, same order."""
        ...


class OfflineResolver:
    """No registry: ids straight from keys, names as found. For the
    single-document CLI without Redis; cross-document merging then rests on
    the folded keys alone."""

    def resolve(self, candidates: Sequence[Candidate]) -> list[tuple[str, str]]:
        return [(entity_id_for(c.key), c.name) for c in candidates]
