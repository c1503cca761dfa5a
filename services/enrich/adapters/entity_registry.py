"""The entity alias registry: one entity, one id, whatever the spelling.

Shared by every worker through Redis. Layout (prefix ``ws:ent:``)::

    ws:ent:alias            HASH  key -> entity id
                                  keys: "PERSON:vladimir selenski" (folded name,
                                  see services.enrich.names), "ORG:nato",
                                  "X:PERSON:зеленский" (exact surface, operator-set)
                                  "RL:PERSON:dshankarlo dshordsheti" (a Latin
                                  name as Cyrillic copy transcribes it),
                                  "RC:PERSON:..." (a Cyrillic name, softened):
                                  names.cross_script_keys
    ws:ent:e:<id>           HASH  name, type, locked ("1" = operator-set name),
                                  merged_into (after a merge)
    ws:ent:v:<id>           SET   surface forms seen (the variants)
    ws:ent:k:<id>           SET   alias keys that point at the entity
    ws:ent:sn:<surname>     SET   ids of people with this folded surname
    ws:ent:sk:<skeleton>    SET   ids of people whose surname has this skeleton
                                  (services.enrich.names.surname_skeletons)
    ws:ent:m:<id>           SET   ids merged into the entity, at any depth (its
                                  merge group, less itself)
    ws:ent:review           STREAM joins made by a rule weaker than a key, near
                                  misses, operator merges and unmerges, with
                                  their evidence (capped)
    ws:ent:published        SET   ids written to the entity directory (so a
                                  full publish rewrites an unmerged one too)
    ws:ent:scheme           STRING the key scheme of the newest keys
                                  (services.enrich.names.KEY_SCHEME; see rekey)

Contract of :meth:`EntityRegistry.resolve` (a handful of round trips per
batch, whatever its size):

* lookup order per candidate: an operator's exact-surface alias, then the
  folded full key, then - for a bare surname ("Zelensky") - the one person
  with that surname if there is exactly one; a full name adopts an entity
  first seen by its bare surname when their given names fit; then the one
  entity whose name in the other script is ours as that script transcribes
  it (Giancarlo Giorgetti, Джанкарло Джорджетти; Xi Jinping, Си Цзиньпин);
  last, the one
  person whose surname shares a skeleton with ours (Putin, Poutine, Путин;
  Netanjahu, Nétanyahou), if exactly one does and the given names fit (or
  ours is a bare surname);
* a new entity's id is derived from its first key (``person-3f2a...``), so
  two workers meeting a new name at once agree on the id (HSETNX);
* ids are never reused; a merged entity keeps ``merged_into`` and lookups
  follow it, so ids already in the index stay meaningful;
* the canonical name is the operator's (locked) name, else the first
  Latin-script full form seen.

Operators correct it with :meth:`merge`, :meth:`unmerge`, :meth:`split`
and :meth:`load` (a YAML file; see docs/enrichment.md), through
``wirestream entities``. A merge is reversible: the dropped entity keeps its
keys and variants (``k:``/``v:``), so :meth:`unmerge` gives them back. The
index is never rewritten for either: documents keep the id they were given,
and :meth:`groups` (published to Elasticsearch's entity directory by
``wirestream entities publish``) says which ids are one entity now.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import redis

from services.enrich.aliases import Candidate, EntityRecord, entity_id_for, exact_key
from services.enrich.known_names import KnownNames
from services.enrich.names import (
    KEY_SCHEME,
    clean_surface,
    cross_script_keys,
    fold,
    given_names_fit,
    given_names_match,
    is_latin,
    name_key,
    person_parts,
    surname_core,
    surname_skeletons,
    surname_surface,
    surnames_alike,
)
from shared.errors import PayloadError, ServiceUnavailable
from shared.redis_writes import WriteBatch

__all__ = ["ALIAS", "SCHEME", "EntityRegistry", "known_names_from_registry"]

P = "ws:ent:"
ALIAS = f"{P}alias"
# Every join made by a rule weaker than a key, and every near miss, with its
# evidence, newest last (``wirestream entities review``); about this many kept
REVIEW = f"{P}review"
REVIEW_LENGTH = 10_000
SCHEME = f"{P}scheme"
PUBLISHED = f"{P}published"
JOIN, NEAR, MERGE, UNMERGE = "join", "near", "merge", "unmerge"
MAX_MERGE_HOPS = 8


def _s(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


class EntityRegistry:
    """The Redis-backed registry (see the module docstring)."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    # ------------------------------------------------------------- resolve
    def resolve(self, candidates: Sequence[Candidate]) -> list[tuple[str, str]]:
        if not candidates:
            return []
        try:
            return self._resolve(candidates)
        except redis.RedisError as exc:
            raise ServiceUnavailable(f"entity registry: {exc}",
                                     reason="redis_unavailable") from exc

    def _resolve(self, candidates: Sequence[Candidate]) -> list[tuple[str, str]]:
        lookups: list[list[str]] = []
        for c in candidates:
            keys = [exact_key(c.type, v) for v in dict.fromkeys([c.name, *c.variants])]
            keys.append(c.key)
            if c.type == "PERSON" and c.surname and not c.surname_only:
                keys.append(f"PERSON:{c.surname}")
                if core := surname_core(c.surname):
                    keys.append(f"PERSON:{core}")  # first seen as "Assad"
            lookups.append(keys)
        flat = sorted({k for keys in lookups for k in keys}
                      | {k for c in candidates for k in c.cross_lookups})
        found = dict(zip(flat, (_s(v) for v in self.client.hmget(ALIAS, flat)), strict=True))
        surnames = sorted({s for c in candidates if c.surname
                           for s in (c.surname, surname_core(c.surname)) if s})
        skeletons = sorted({k for c in candidates for k in c.skeletons})
        with self.client.pipeline(transaction=False) as pipe:
            for surname in surnames:
                pipe.smembers(f"{P}sn:{surname}")
            for skeleton in skeletons:
                pipe.smembers(f"{P}sk:{skeleton}")
            members = pipe.execute()
        people = {s: sorted(_s(m) or "" for m in ids) for s, ids in zip(
            surnames, members[:len(surnames)], strict=True)}
        alike = {k: {_s(m) or "" for m in ids} for k, ids in zip(
            skeletons, members[len(surnames):], strict=True)}
        namesakes = self._names(sorted({i for ids in people.values() for i in ids}
                                       | {i for ids in alike.values() for i in ids}
                                       | {self._bare(found, c) or "" for c in candidates
                                          if c.surname and self._bare(found, c)}))
        ids: list[str | None] = []
        evidence: dict[int, tuple[str, str, str]] = {}  # index -> (kind, rule, detail)
        for n, (c, keys) in enumerate(zip(candidates, lookups, strict=True)):
            hit = next((found[k] for k in keys[:-1] if k.startswith("X:") and found[k]), None)
            hit = hit or found.get(c.key)
            if hit is None and c.type == "PERSON" and c.surname:
                same = people.get(c.surname, [])
                bare = self._bare(found, c)
                if c.surname_only and len(same) == 1:
                    hit = same[0]
                    evidence[n] = (JOIN, "bare_surname", f"the one person surnamed {c.surname}")
                elif (not c.surname_only and bare and (not same or same == [bare])
                      and self._fits(c.name, namesakes.get(bare, ""))):
                    # adopt the entity first seen by its bare surname, unless
                    # another full name took it first (Barack, not Michelle)
                    hit = bare
                    evidence[n] = (JOIN, "adopted_bare_surname",
                                   f"first seen as {namesakes.get(bare, '')!r}")
                elif not c.surname_only:
                    # the one person with this surname (or, none having it,
                    # with its core: "ben laden", "bin laden") whose given
                    # name is a spelling variant of ours ("Recep"/"Реджеп";
                    # "Oussama" is Osama, not Hamza bin Laden)
                    core = surname_core(c.surname)
                    fitting = _given_name_fits(c.name, same or people.get(core, []), namesakes)
                    if len(fitting) == 1:
                        hit = fitting[0]
                        evidence[n] = (JOIN, "given_name_spelling",
                                       f"{person_parts(c.name)[0].split()[0]} ~ "
                                       f"{person_parts(namesakes[hit])[0].split()[0]}, "
                                       f"surname {c.surname}")
                if c.surname_only and len(same) > 1:
                    evidence[n] = (NEAR, "surname_of_several",
                                   ", ".join(namesakes.get(i, i) for i in same[:5]))
            if hit is None and c.cross_lookups:
                # the one entity whose name in the other script is ours as
                # that script transcribes it (Giorgetti, Джорджетти)
                across = sorted({e for k in c.cross_lookups if (e := found.get(k))})
                if len(across) == 1:
                    hit = across[0]
                    evidence[n] = (JOIN, "transcription", next(
                        k for k in c.cross_lookups if found.get(k) == hit)[3:])
                elif across:
                    evidence[n] = (NEAR, "transcription", ", ".join(across[:5]))
            if hit is None and c.type == "PERSON" and c.skeletons and not people.get(
                    c.surname or ""):
                spelt = sorted(set().union(*(alike.get(k, set()) for k in c.skeletons)))
                detail = (f"skeleton {'/'.join(c.skeletons)}: "
                          + ", ".join(namesakes.get(i, i) for i in spelt[:5]))
                # more than the consonants must agree: the spellings too
                # ("Mueller" is no Millar, "Holtz" no Gallois)
                ours = surname_surface(c.name, c.surname)
                similar = [i for i in spelt if surnames_alike(
                    ours, surname_surface(namesakes.get(i) or "?"))]
                named = _given_name_fits(c.name, similar, namesakes)
                if len(spelt) == 1 and similar and self._fits(c.name, namesakes[similar[0]]):
                    hit = similar[0]  # the one person spelt alike
                    evidence[n] = (JOIN, "surname_skeleton", detail)
                elif len(named) == 1:
                    # several spelt alike, one with our given name ("Барака
                    # Обамы" is Barack, not Michelle Obama)
                    hit = named[0]
                    evidence[n] = (JOIN, "surname_skeleton", detail)
                elif spelt:
                    evidence[n] = (NEAR, "surname_skeleton", detail)
            ids.append(hit)
        self._one_adopter(candidates, ids, evidence)
        for n, entity_id in self._join_in_batch(candidates, ids):
            evidence[n] = (JOIN, "same_batch", f"a full name of the batch ({entity_id})")
        # allocate the new ones; HSETNX makes concurrent workers agree
        new = [(i, c) for i, (c, hit) in enumerate(zip(candidates, ids, strict=True))
               if hit is None]
        if new:
            keys = [self._allocation_key(c, candidates) for _, c in new]
            with self.client.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.hsetnx(ALIAS, key, entity_id_for(key))
                pipe.execute()
            winners = self.client.hmget(ALIAS, keys)
            for (i, _), winner in zip(new, winners, strict=True):
                ids[i] = _s(winner)
        final, records = self._follow_records([i or "" for i in ids])
        self._remember(candidates, final, records, evidence)
        # every candidate of one entity gets the name the registry now holds
        return [(entity_id, records[entity_id]["name"]) for entity_id in final]

    @staticmethod
    def _bare(found: dict[str, str | None], c: Candidate) -> str | None:
        """The entity first seen by ``c``'s bare surname, or by its core
        ("Assad" for Bashar al-Assad)."""
        if not c.surname:
            return None
        core = surname_core(c.surname)
        return found.get(f"PERSON:{c.surname}") or (found.get(f"PERSON:{core}") if core
                                                      else None)

    @staticmethod
    def _one_adopter(candidates: Sequence[Candidate], ids: list[str | None],
                     evidence: dict[int, tuple[str, str, str]]) -> None:
        """Two full names of one batch that would adopt one bare-surname
        entity ("Barack Obama" and "Michelle Obama" meeting "Obama"), and
        whose given names do not fit each other: neither does; each is a
        near miss instead."""
        adopters: dict[str, list[int]] = {}
        for n, (kind, rule, _) in evidence.items():
            if kind == JOIN and rule == "adopted_bare_surname" and ids[n]:
                adopters.setdefault(ids[n] or "", []).append(n)
        for entity_id, found in adopters.items():
            names = [person_parts(candidates[n].name)[0].split()[:1] or [""] for n in found]
            if all(given_names_match(a[0], b[0]) for a in names for b in names):
                continue
            for n in found:
                ids[n] = None
                evidence[n] = (NEAR, "adopted_bare_surname",
                               "another full name of the batch fits "
                               f"{entity_id} as well: "
                               + ", ".join(candidates[k].name for k in found))

    @staticmethod
    def _namesake_in_batch(c: Candidate, candidates: Sequence[Candidate]) -> list[int]:
        """Indices of the full names of one person, in this batch, whose
        surname a bare surname ``c`` has (one person: one distinct key)."""
        if not (c.type == "PERSON" and c.surname_only and c.surname):
            return []
        found = [i for i, o in enumerate(candidates)
                 if o.type == "PERSON" and not o.surname_only and o.surname == c.surname]
        return found if len({candidates[i].key for i in found}) == 1 else []

    def _join_in_batch(self, candidates: Sequence[Candidate],
                       ids: list[str | None]) -> list[tuple[int, str]]:
        """A bare surname the registry does not know yet takes the id of the
        one full name with its surname in the same batch, when that one is
        known ("Putin" and "Vladimir Putin" met in one batch). Returns the
        (index, id) joined."""
        joined = []
        for i, c in enumerate(candidates):
            if ids[i] is None:
                known = {ids[j] for j in self._namesake_in_batch(c, candidates)} - {None}
                if len(known) == 1:
                    ids[i] = known.pop()
                    joined.append((i, ids[i] or ""))
        return joined

    def _allocation_key(self, c: Candidate, candidates: Sequence[Candidate]) -> str:
        """The key a new entity's id derives from: a bare surname new in
        this batch shares the id of its one full name new in the batch."""
        same = self._namesake_in_batch(c, candidates)
        return candidates[same[0]].key if same else c.key

    @staticmethod
    def _fits(ours: str, theirs: str) -> bool:
        """Our full name may join an entity named ``theirs``: it has no
        given name yet, or one that matches ours."""
        return given_names_fit(ours, theirs)

    def _names(self, ids: list[str]) -> dict[str, str]:
        if not ids:
            return {}
        with self.client.pipeline(transaction=False) as pipe:
            for entity_id in ids:
                pipe.hget(f"{P}e:{entity_id}", "name")
            return {i: _s(n) or "" for i, n in zip(ids, pipe.execute(), strict=True)}

    def _follow(self, ids: list[str]) -> list[str]:
        """Replace merged ids by their survivors."""
        current = list(ids)
        for _ in range(MAX_MERGE_HOPS):
            with self.client.pipeline(transaction=False) as pipe:
                for entity_id in current:
                    pipe.hget(f"{P}e:{entity_id}", "merged_into")
                targets = [_s(t) for t in pipe.execute()]
            if not any(targets):
                return current
            current = [t or c for c, t in zip(current, targets, strict=True)]
        return current

    def _follow_records(self, ids: list[str]) -> tuple[list[str], dict[str, dict[str, str]]]:
        """:meth:`_follow`, then :meth:`_records` of the survivors, from the
        same reads: an entity's hash holds its ``merged_into``, so one HGETALL
        per entity serves both (usually a single pipeline; one more per
        merge hop)."""
        records: dict[str, dict[str, str]] = {}
        current = list(ids)
        for _ in range(MAX_MERGE_HOPS):
            missing = sorted({i for i in current if i not in records})
            records.update(self._records(missing) if missing else {})
            targets = [records[i].get("merged_into") or "" for i in current]
            if not any(targets):
                break
            current = [t or c for c, t in zip(current, targets, strict=True)]
        else:
            missing = sorted({i for i in current if i not in records})
            records.update(self._records(missing) if missing else {})
        return current, {i: records[i] for i in set(current)}

    def _records(self, ids: Iterable[str]) -> dict[str, dict[str, str]]:
        unique = sorted(set(ids))
        with self.client.pipeline(transaction=False) as pipe:
            for entity_id in unique:
                pipe.hgetall(f"{P}e:{entity_id}")
            raw = pipe.execute()
        return {i: {_s(k) or "": _s(v) or "" for k, v in r.items()}
                for i, r in zip(unique, raw, strict=True)}

    def _remember(self, candidates: Sequence[Candidate], ids: list[str],
                  records: dict[str, dict[str, str]],
                  evidence: dict[int, tuple[str, str, str]] | None = None) -> None:
        # thousands of small writes per batch: one script call, not a pipeline
        writes = WriteBatch(self.client)
        now = _now()
        for n, (kind, rule, detail) in sorted((evidence or {}).items()):
            c = candidates[n]
            writes.add("XADD", REVIEW, "MAXLEN", "~", str(REVIEW_LENGTH), "*",
                       "kind", kind, "rule", rule, "name", c.name, "type", c.type,
                       "id", ids[n], "into", records.get(ids[n], {}).get("name", c.name),
                       "detail", detail, "at", now)
        for c, entity_id in zip(candidates, ids, strict=True):
            key = f"{P}e:{entity_id}"
            record = records.setdefault(entity_id, {})
            writes.add("HSETNX", key, "name", c.name)
            writes.add("HSETNX", key, "type", c.type)
            # mirror HSETNX in memory: the first candidate names a new entity
            record.setdefault("name", c.name)
            if not record["name"]:
                record["name"] = c.name
            if _better_name(c, record):
                writes.add("HSET", key, "name", c.name)
                record["name"] = c.name
            if c.variants:
                writes.add("SADD", f"{P}v:{entity_id}", *c.variants)
            keys = [c.key, *c.extra_keys, *c.cross_keys]
            for alias in keys:
                writes.add("HSETNX", ALIAS, alias, entity_id)
            writes.add("SADD", f"{P}k:{entity_id}", *keys)
            if c.type == "PERSON" and c.surname and not c.surname_only:
                writes.add("SADD", f"{P}sn:{c.surname}", entity_id)
                if core := surname_core(c.surname):
                    # a bare "Assad" finds Bashar al-Assad
                    writes.add("SADD", f"{P}sn:{core}", entity_id)
                for skeleton in c.skeletons:
                    writes.add("SADD", f"{P}sk:{skeleton}", entity_id)
        writes.execute()

    # ----------------------------------------------------------- operators
    def review(self, count: int = 50, kind: str | None = None) -> list[dict[str, str]]:
        """The newest joins and near misses (``kind``: join, near, or both),
        newest first, each with its rule and evidence."""
        out: list[dict[str, str]] = []
        last = "+"
        while len(out) < count:
            batch = self.client.xrevrange(REVIEW, max=last, min="-", count=max(count, 100))
            if not batch:
                break
            for raw_id, fields in batch:
                entry = {_s(k) or "": _s(v) or "" for k, v in (fields or {}).items()}
                entry["entry"] = _s(raw_id) or ""
                if kind is None or entry.get("kind") == kind:
                    out.append(entry)
            last = "(" + (_s(batch[-1][0]) or "")
        return out[:count]

    def get(self, entity_id: str) -> EntityRecord | None:
        raw = self.client.hgetall(f"{P}e:{entity_id}")
        if not raw:
            return None
        data = {_s(k) or "": _s(v) or "" for k, v in raw.items()}
        return EntityRecord(
            id=entity_id,
            type=data.get("type", ""),
            name=data.get("name", ""),
            locked=data.get("locked") == "1",
            merged_into=data.get("merged_into") or None,
            variants=sorted(_s(v) or "" for v in self.client.smembers(f"{P}v:{entity_id}")),
            keys=sorted(_s(k) or "" for k in self.client.smembers(f"{P}k:{entity_id}")),
        )

    def find(self, query: str, entity_type: str | None = None) -> list[EntityRecord]:
        """Entities by id, or by a name in any spelling (folded-key match)."""
        record = self.get(query)
        if record is not None:
            return [record]
        types = [entity_type] if entity_type else ["PERSON", "ORG", "GPE", "LOC", "EVENT",
                                                    "NORP"]
        keys: list[str] = []
        surnames: list[str] = []
        for t in types:
            cleaned = clean_surface(query, t)
            keys.append(exact_key(t, cleaned))
            key = name_key(cleaned, t)
            if key:
                keys.append(key)
            if t == "PERSON":
                given, surname = person_parts(cleaned)
                if surname:
                    keys.append(f"PERSON:{surname}")
                    if not given:  # a bare surname: every person who has it
                        surnames.append(surname)
        hits = {_s(v) for v in self.client.hmget(ALIAS, keys)}
        for surname in surnames:
            hits |= {_s(m) for m in self.client.smembers(f"{P}sn:{surname}")}
        ids = self._follow(sorted({h for h in hits if h}))
        return [r for r in (self.get(i) for i in dict.fromkeys(ids)) if r is not None]

    def _one(self, ref: str, entity_type: str | None = None) -> EntityRecord:
        found = self.find(ref, entity_type)
        if len(found) != 1:
            raise PayloadError(
                f"{ref!r} matches {len(found)} entities"
                + (": " + ", ".join(f"{r.id} ({r.name})" for r in found) if found else ""),
                reason="entity_ambiguous" if found else "entity_unknown",
            )
        return found[0]

    def merge(self, keep_ref: str, drop_refs: Sequence[str]) -> EntityRecord:
        """Fold ``drop_refs`` into ``keep_ref``: their keys point at the
        survivor, their variants join it, they are marked ``merged_into``."""
        keep = self._one(keep_ref)
        for ref in drop_refs:
            drop = self._one(ref)
            if drop.id == keep.id:
                continue
            inner = sorted(_s(m) or "" for m in self.client.smembers(f"{P}m:{drop.id}"))
            ancestors = self._ancestors(keep.id)
            with self.client.pipeline(transaction=True) as pipe:
                for survivor in (keep.id, *ancestors):
                    pipe.sadd(f"{P}m:{survivor}", drop.id, *inner)
                pipe.xadd(REVIEW, {"kind": MERGE, "rule": "operator", "name": drop.name,
                                   "type": drop.type, "id": keep.id, "into": keep.name,
                                   "detail": f"{drop.id} merged into {keep.id}",
                                   "at": _now()},
                          maxlen=REVIEW_LENGTH, approximate=True)
                for alias in drop.keys:
                    pipe.hset(ALIAS, alias, keep.id)
                if drop.keys:
                    pipe.sadd(f"{P}k:{keep.id}", *drop.keys)
                if drop.variants:
                    pipe.sadd(f"{P}v:{keep.id}", *drop.variants)
                pipe.hset(f"{P}e:{drop.id}", "merged_into", keep.id)
                for pattern in (f"{P}sn:*", f"{P}sk:*"):
                    for set_key in self.client.scan_iter(match=pattern, count=1000):
                        if self.client.sismember(set_key, drop.id):
                            pipe.srem(set_key, drop.id)
                            pipe.sadd(set_key, keep.id)
                pipe.execute()
        record = self.get(keep.id)
        assert record is not None
        return record

    def _ancestors(self, entity_id: str) -> list[str]:
        """The entities ``entity_id`` is merged into, nearest first."""
        out: list[str] = []
        current = entity_id
        for _ in range(MAX_MERGE_HOPS):
            parent = _s(self.client.hget(f"{P}e:{current}", "merged_into"))
            if not parent or parent in out:
                break
            out.append(parent)
            current = parent
        return out

    def unmerge(self, entity_id: str) -> EntityRecord:
        """Undo the merge of ``entity_id`` (an id marked ``merged_into``): its
        keys point at it again, it leaves its survivor's merge group (with
        whatever was merged into it), and its surname counts again. The
        survivor keeps the variants it saw."""
        record = self.get(entity_id)
        if record is None or not record.merged_into:
            raise PayloadError(f"{entity_id!r} is not a merged entity (give the id that "
                               "`entities show` lists with merged_into)",
                               reason="entity_not_merged")
        inner = sorted(_s(m) or "" for m in self.client.smembers(f"{P}m:{entity_id}"))
        ancestors = self._ancestors(entity_id)
        parent = record.merged_into
        parent_record = self.get(parent)
        with self.client.pipeline(transaction=True) as pipe:
            for alias in record.keys:
                pipe.hset(ALIAS, alias, entity_id)
            if record.keys:
                pipe.srem(f"{P}k:{parent}", *record.keys)
            for survivor in ancestors:
                pipe.srem(f"{P}m:{survivor}", entity_id, *inner)
            pipe.hdel(f"{P}e:{entity_id}", "merged_into")
            if record.type == "PERSON":
                given, surname = person_parts(record.name)
                if surname and given:
                    pipe.sadd(f"{P}sn:{surname}", entity_id)
                    if core := surname_core(surname):
                        pipe.sadd(f"{P}sn:{core}", entity_id)
                    for skeleton in surname_skeletons(record.name.split()[-1]):
                        pipe.sadd(f"{P}sk:{skeleton}", entity_id)
            pipe.xadd(REVIEW, {"kind": UNMERGE, "rule": "operator", "name": record.name,
                               "type": record.type, "id": entity_id,
                               "into": parent_record.name if parent_record else parent,
                               "detail": f"{entity_id} no longer merged into {parent}",
                               "at": _now()},
                      maxlen=REVIEW_LENGTH, approximate=True)
            pipe.execute()
        out = self.get(entity_id)
        assert out is not None
        return out

    def group(self, entity_id: str) -> tuple[str, list[str]]:
        """(survivor, every id that is that entity now: the survivor and all
        merged into it) for any id ever issued."""
        survivor = self._follow([entity_id])[0]
        members = {_s(m) or "" for m in self.client.smembers(f"{P}m:{survivor}")}
        return survivor, sorted(members | {survivor})

    def groups(self) -> list[tuple[str, list[str]]]:
        """Every merge group: (survivor, its ids), survivors not merged
        themselves."""
        out = []
        for key in self.client.scan_iter(match=f"{P}m:*", count=1000):
            survivor = (_s(key) or "")[len(f"{P}m:"):]
            if self.client.hget(f"{P}e:{survivor}", "merged_into"):
                continue
            members = {_s(m) or "" for m in self.client.smembers(key)}
            if members:
                out.append((survivor, sorted(members | {survivor})))
        return sorted(out)

    def directory_groups(self, ids: Iterable[str] | None = None) -> list[tuple[str, list[str]]]:
        """The merge groups to write to the entity directory: those of
        ``ids``, or (None) every group plus every id ever written there (an
        unmerged id is a group of itself). Marks their ids as written."""
        if ids is None:
            wanted = [i for _, members in self.groups() for i in members]
            wanted += sorted(_s(m) or "" for m in self.client.smembers(PUBLISHED))
        else:
            wanted = list(ids)
        groups: dict[str, list[str]] = {}
        grouped: set[str] = set()
        for entity_id in dict.fromkeys(wanted):
            if entity_id not in grouped:
                survivor, members = self.group(entity_id)
                groups[survivor] = members
                grouped.update(members)
        every = sorted({i for members in groups.values() for i in members})
        if every:
            self.client.sadd(PUBLISHED, *every)
        return sorted(groups.items())

    def rekey(self) -> tuple[int, int]:
        """Add the current scheme's keys (names.KEY_SCHEME: folded keys,
        cross-script keys, surname skeletons) for every variant of every
        entity, never moving a key that exists; returns
        (entities read, keys added). Keys of an older scheme stay, so ids
        never change; run after an upgrade that changes the scheme."""
        read = added = 0
        ids = [(_s(k) or "")[len(f"{P}e:"):]
               for k in self.client.scan_iter(match=f"{P}e:*", count=1000)]
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            with self.client.pipeline(transaction=False) as pipe:
                for entity_id in chunk:
                    pipe.hmget(f"{P}e:{entity_id}", ["type", "merged_into"])
                    pipe.smembers(f"{P}v:{entity_id}")
                raw = pipe.execute()
            writes: list[tuple[str, str]] = []
            skeletons: set[tuple[str, str]] = set()
            for n, entity_id in enumerate(chunk):
                kind, merged = (_s(v) for v in raw[2 * n])
                if not kind or merged:
                    continue
                read += 1
                for variant in sorted(_s(v) or "" for v in raw[2 * n + 1]):
                    name = clean_surface(variant, kind)
                    key = name_key(name, kind)
                    if key:
                        writes.append((key, entity_id))
                    if kind == "PERSON" and key and person_parts(name)[0]:
                        writes += [(k, entity_id) for k in cross_script_keys(name)[0]]
                        skeletons.update((k, entity_id) for k in surname_skeletons(
                            name.split()[-1]))
            with self.client.pipeline(transaction=False) as pipe:
                for key, entity_id in writes:
                    pipe.hsetnx(ALIAS, key, entity_id)
                    pipe.sadd(f"{P}k:{entity_id}", key)
                for skeleton, entity_id in sorted(skeletons):
                    pipe.sadd(f"{P}sk:{skeleton}", entity_id)
                results = pipe.execute()
            added += sum(1 for r in results[0:2 * len(writes):2] if r)
        self.client.set(SCHEME, KEY_SCHEME)
        return read, added

    def split(self, ref: str, variant: str) -> EntityRecord:
        """Make ``variant`` its own entity: an exact alias for that surface
        points at a new id from now on (documents already indexed keep the
        old id until they are re-enriched)."""
        source = self._one(ref)
        cleaned = clean_surface(variant, source.type) or variant
        alias = exact_key(source.type, cleaned)
        new_id = entity_id_for(f"{alias}:split-from:{source.id}")
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(ALIAS, alias, new_id)
            pipe.hset(f"{P}e:{new_id}", mapping={"name": cleaned, "type": source.type,
                                                 "locked": "1"})
            pipe.sadd(f"{P}k:{new_id}", alias)
            pipe.sadd(f"{P}v:{new_id}", cleaned)
            pipe.srem(f"{P}v:{source.id}", variant, cleaned)
            pipe.execute()
        record = self.get(new_id)
        assert record is not None
        return record

    def load(self, data: Any) -> list[EntityRecord]:
        """Seed or correct from a parsed YAML document::

            entities:
              - name: Volodymyr Zelensky     # canonical, locked
                type: PERSON
                aliases: [Зеленський, Selenskyj, Vladimir Zelensky]
        """
        entries = data.get("entities") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise PayloadError("the file needs a top-level `entities:` list",
                               reason="invalid_entities_file")
        out: list[EntityRecord] = []
        for entry in entries:
            if not isinstance(entry, dict) or not entry.get("name") or not entry.get("type"):
                raise PayloadError(f"entity entry needs name and type: {entry!r}",
                                   reason="invalid_entities_file")
            out.append(self._load_one(str(entry["type"]).upper(), str(entry["name"]),
                                      [str(a) for a in entry.get("aliases") or []]))
        return out

    def _load_one(self, entity_type: str, name: str, aliases: list[str]) -> EntityRecord:
        surfaces = [name, *aliases]
        keys: list[str] = []
        for surface in surfaces:
            cleaned = clean_surface(surface, entity_type) or surface
            keys.append(exact_key(entity_type, cleaned))
            folded = name_key(cleaned, entity_type)
            if folded:
                keys.append(folded)
        keys = list(dict.fromkeys(keys))
        existing = [_s(v) for v in self.client.hmget(ALIAS, keys)]
        current = self._follow(list(dict.fromkeys(i for i in existing if i)))
        main_key = name_key(name, entity_type) or keys[0]
        keep = current[0] if current else entity_id_for(main_key)
        with self.client.pipeline(transaction=True) as pipe:
            for alias in keys:
                pipe.hset(ALIAS, alias, keep)
            pipe.sadd(f"{P}k:{keep}", *keys)
            pipe.sadd(f"{P}v:{keep}", *surfaces)
            pipe.hset(f"{P}e:{keep}", mapping={"name": name, "type": entity_type, "locked": "1"})
            pipe.hdel(f"{P}e:{keep}", "merged_into")
            if entity_type == "PERSON":
                _, surname = person_parts(name)
                if surname:
                    pipe.sadd(f"{P}sn:{surname}", keep)
                    if core := surname_core(surname):
                        pipe.sadd(f"{P}sn:{core}", keep)
            pipe.execute()
        others = [i for i in dict.fromkeys(current) if i != keep]
        if others:
            self.merge(keep, others)
        record = self.get(keep)
        assert record is not None
        return record


def _given_name_fits(name: str, ids: Sequence[str], names: dict[str, str]) -> list[str]:
    """Those of ``ids`` (entities named in ``names``) whose first given name
    is a spelling of ``name``'s, in its script or as the other script
    transcribes it (services.enrich.names.given_names_fit);
    none when ``name`` has no given name."""
    if not person_parts(name)[0]:
        return []
    return [i for i in ids if person_parts(names.get(i, ""))[0]
            and given_names_fit(name, names.get(i, ""))]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _better_name(candidate: Candidate, record: dict[str, str]) -> bool:
    """Whether the candidate's name should replace the stored canonical one."""
    current = record.get("name")
    if not current or record.get("locked") == "1" or candidate.surname_only:
        return False
    if is_latin(candidate.name) and not is_latin(current):
        return True
    return (is_latin(candidate.name) == is_latin(current)
            and candidate.type == "PERSON"
            and len(candidate.name.split()) > len(current.split()))


def known_names_from_registry(client: redis.Redis) -> KnownNames:
    """Every key of the registry's alias hash (``ws:ent:alias``), read with
    HSCAN. Exact-surface operator aliases ("X:PERSON:зеленский") are folded
    like the rest. A Redis fault is :class:`shared.errors.ServiceUnavailable`."""
    names: list[tuple[str, str]] = []
    try:
        for raw, _ in client.hscan_iter(ALIAS, count=2000):
            key = raw.decode() if isinstance(raw, bytes) else str(raw)
            if key.startswith("X:"):
                kind, _, surface = key[2:].partition(":")
                names.append((kind, fold(surface)))
            else:
                kind, _, name = key.partition(":")
                names.append((kind, name))
    except redis.RedisError as exc:
        raise ServiceUnavailable(f"entity registry: {exc}", reason="redis_unavailable") from exc
    return KnownNames(names)
