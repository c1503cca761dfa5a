# ruff: noqa: RUF001  (multilingual news text: Cyrillic letters are meant)
"""The entity alias registry against the real Redis: cross-document and
cross-script merging, and the operator commands."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from services.enrich.adapters.entity_registry import EntityRegistry
from services.enrich.aliases import Candidate
from services.enrich.names import clean_surface, cross_script_keys, name_key, person_parts
from shared.errors import PayloadError


def person(surface: str) -> Candidate:
    name = clean_surface(surface, "PERSON")
    given, surname = person_parts(name)
    written, looked = cross_script_keys(name)
    return Candidate(type="PERSON", name=name, key=name_key(name, "PERSON"), variants=[name],
                     surname=surname, surname_only=not given, cross_keys=written,
                     cross_lookups=looked)


def org(name: str, *extra: str) -> Candidate:
    return Candidate(type="ORG", name=name, key=name_key(name, "ORG"), variants=[name, *extra],
                     extra_keys=[name_key(e, "ORG") for e in extra])


def test_zelensky_in_every_spelling_is_one_entity(redis_db: redis.Redis) -> None:
    registry = EntityRegistry(redis_db)
    spellings = ["Зеленский Владимир", "Volodymyr Zelenskyy", "Vladimir Zelensky",
                 "Володимир Зеленський", "President Volodymyr Zelensky", "Zelenskiy",
                 "Zelensky", "Зеленський", "Selenskyj"]
    # one document per spelling, as separate batches (as separate workers would)
    results = [registry.resolve([person(s)])[0] for s in spellings]
    ids = {entity_id for entity_id, _ in results}
    assert len(ids) == 1, results
    [entity_id] = ids
    # the canonical name is the first Latin full form, whatever came first
    assert {name for _, name in results[1:]} == {"Volodymyr Zelenskyy"}
    record = registry.get(entity_id)
    assert record is not None
    assert {"Volodymyr Zelenskyy", "Зеленский Владимир", "Zelensky"} <= set(record.variants)


def test_a_bare_surname_first_is_adopted_by_the_full_name(redis_db: redis.Redis) -> None:
    registry = EntityRegistry(redis_db)
    [(bare_id, _)] = registry.resolve([person("Scholz")])
    [(full_id, name)] = registry.resolve([person("Olaf Scholz")])
    [(again, _)] = registry.resolve([person("Шольц")])
    assert bare_id == full_id == again
    assert name == "Olaf Scholz"


def test_a_shared_surname_is_not_guessed(redis_db: redis.Redis) -> None:
    registry = EntityRegistry(redis_db)
    (joe, _), (jill, _) = registry.resolve([person("Joe Biden"), person("Jill Biden")])
    assert joe != jill
    [(bare, _)] = registry.resolve([person("Biden")])
    assert bare not in (joe, jill)


def test_initials_are_evidence_across_documents(redis_db: redis.Redis) -> None:
    registry = EntityRegistry(redis_db)
    [(j, _)] = registry.resolve([person("J. Murray")])
    [(m, _)] = registry.resolve([person("M. Murray")])
    assert j != m
    # the one Zelensky whose given name starts with V takes "V. Zelensky"
    [(full, _)] = registry.resolve([person("Volodymyr Zelensky")])
    [(initial, _)] = registry.resolve([person("V. Zelensky")])
    assert initial == full


def test_a_bare_surname_adopted_by_one_full_name_is_not_adopted_by_another(
        redis_db: redis.Redis) -> None:
    registry = EntityRegistry(redis_db)
    [(bare, _)] = registry.resolve([person("Obama")])
    [(barack, _)] = registry.resolve([person("Barack Obama")])
    [(michelle, _)] = registry.resolve([person("Michelle Obama")])
    assert bare == barack != michelle


def test_two_full_names_of_one_batch_do_not_both_adopt_a_bare_surname(
        redis_db: redis.Redis) -> None:
    registry = EntityRegistry(redis_db)
    [(bare, _)] = registry.resolve([person("Obama")])
    (barack, _), (michelle, _) = registry.resolve([person("Barack Obama"),
                                                   person("Michelle Obama")])
    assert len({bare, barack, michelle}) == 3
    near = [e for e in registry.review(kind="near") if e["rule"] == "adopted_bare_surname"]
    assert {e["name"] for e in near} == {"Barack Obama", "Michelle Obama"}
    # two spellings of one given name in a batch still adopt it together
    [(bare, _)] = registry.resolve([person("Lukashenko")])
    ids = registry.resolve([person("Alexander Lukashenko"), person("Aleksandr Lukashenko")])
    assert {i for i, _ in ids} == {bare}


def test_a_bare_surname_and_its_full_name_in_one_batch_are_one_person(
        redis_db: redis.Redis) -> None:
    registry = EntityRegistry(redis_db)
    (bare, _), (full, name) = registry.resolve([person("Putin"), person("Vladimir Putin")])
    assert bare == full and name == "Vladimir Putin"
    [(later, _)] = registry.resolve([person("Putin")])
    assert later == full
    # two full names of the surname in the batch: the bare one joins neither
    ids = registry.resolve([person("Biden"), person("Joe Biden"), person("Jill Biden")])
    assert len({i for i, _ in ids}) == 3


def test_ids_are_stable_and_agree_between_workers(redis_db: redis.Redis) -> None:
    first = EntityRegistry(redis_db).resolve([org("European Union")])
    second = EntityRegistry(redis_db).resolve([org("European Union")])
    assert first == second
    assert first[0][0].startswith("org-")


def test_acronym_keys_join_across_documents(redis_db: redis.Redis) -> None:
    registry = EntityRegistry(redis_db)
    [(nato, _)] = registry.resolve([org("North Atlantic Treaty Organization", "NATO")])
    [(again, _)] = registry.resolve([org("NATO")])
    [(russian, _)] = registry.resolve([org("НАТО")])
    assert nato == again == russian


def test_operator_merge_split_and_load(redis_db: redis.Redis) -> None:
    registry = EntityRegistry(redis_db)
    [(ronaldo, _)] = registry.resolve([person("Ronaldo de Assis Moreira")])
    [(nickname, _)] = registry.resolve([person("Роналдиньо")])
    assert ronaldo != nickname  # no spelling rule bridges a nickname
    merged = registry.merge(ronaldo, [nickname])
    assert merged.id == ronaldo and "Роналдиньо" in merged.variants
    [(after, name)] = registry.resolve([person("Роналдиньо")])
    assert (after, name) == (ronaldo, "Ronaldo de Assis Moreira")
    dropped = registry.get(nickname)
    assert dropped is not None and dropped.merged_into == ronaldo

    # split: a wrongly merged spelling becomes its own entity
    [(biden, _)] = registry.resolve([person("Joe Biden")])
    registry.merge(biden, [registry.resolve([person("Hunter Biden")])[0][0]])
    split = registry.split(biden, "Hunter Biden")
    [(hunter, _)] = registry.resolve([person("Hunter Biden")])
    assert hunter == split.id != biden
    assert registry.resolve([person("Joe Biden")])[0][0] == biden

    # load: the operator's file names and locks the canonical form
    [(xi, _)] = registry.resolve([person("Xi Jinping")])
    [loaded] = registry.load({"entities": [
        {"name": "Xi Jinping", "type": "PERSON", "aliases": ["Xi", "习近平", "Си Цзиньпин"]},
    ]})
    assert loaded.id == xi and loaded.locked
    assert registry.resolve([person("习近平")])[0] == (xi, "Xi Jinping")
    assert [r.id for r in registry.find("Си Цзиньпин")] == [xi]


def test_load_merges_entities_the_file_says_are_one(redis_db: redis.Redis) -> None:
    registry = EntityRegistry(redis_db)
    [(a, _)] = registry.resolve([org("Organisation for Economic Co-operation and Development")])
    [(b, _)] = registry.resolve([org("OECD")])
    assert a != b
    [record] = registry.load({"entities": [{"name": "OECD", "type": "ORG", "aliases": [
        "Organisation for Economic Co-operation and Development", "ОЭСР"]}]})
    assert registry.resolve([org("ОЭСР")])[0] == (record.id, "OECD")
    assert registry.resolve([org("Organisation for Economic Co-operation and Development")])[0][
        0] == record.id


def test_given_name_spelling_variants_meet_when_the_surname_is_unique(
    redis_db: redis.Redis,
) -> None:
    registry = EntityRegistry(redis_db)
    [(latin, _)] = registry.resolve([person("Recep Tayyip Erdogan")])
    [(cyrillic, name)] = registry.resolve([person("Реджеп Тайип Эрдоган")])
    assert cyrillic == latin and name == "Recep Tayyip Erdogan"


def test_resolve_follows_a_chain_of_merges_to_the_survivor(redis_db: redis.Redis) -> None:
    """A name whose entity was merged into one that was merged in turn gets
    the last survivor's id and name (each hash holds its ``merged_into``)."""
    registry = EntityRegistry(redis_db)
    [(first, _)] = registry.resolve([person("Ada Lovelace")])
    [(middle, _)] = registry.resolve([person("Augusta Byron")])
    [(last, _)] = registry.resolve([person("Augusta King")])
    assert len({first, middle, last}) == 3
    redis_db.hset(f"ws:ent:e:{last}", "merged_into", middle)
    redis_db.hset(f"ws:ent:e:{middle}", "merged_into", first)
    assert registry.resolve([person("Augusta King"), person("Augusta Byron")]) == [
        (first, "Ada Lovelace"), (first, "Ada Lovelace")]


def skeleton_person(surface: str, language: str) -> Candidate:
    from services.enrich.names import surname_skeletons

    candidate = person(surface)
    surname = candidate.name.split()[-1]
    candidate.skeletons = sorted(surname_skeletons(surname, language))
    return candidate


def test_surnames_spelt_alike_in_other_languages_are_one_person(
        redis_db: redis.Redis) -> None:
    registry = EntityRegistry(redis_db)
    [(putin, _)] = registry.resolve([skeleton_person("Vladimir Putin", "en")])
    [(netanyahu, _)] = registry.resolve([skeleton_person("Benjamin Netanyahu", "en")])
    assert putin != netanyahu
    for surface, language in [("Poutine", "fr"), ("Vladimir Poutine", "fr"),
                              ("Władimir Putin", "pl")]:
        assert registry.resolve([skeleton_person(surface, language)])[0][0] == putin, surface
    for surface, language in [("Nétanyahou", "fr"), ("Benjamin Netanjahu", "de"),
                              ("Биньямин Нетаниягу", "ru")]:
        assert registry.resolve([skeleton_person(surface, language)])[0][0] == netanyahu, surface
    # a different given name is a different person, however alike the surname
    [(other, _)] = registry.resolve([skeleton_person("Sara Netanjahu", "de")])
    assert other != netanyahu


def test_a_name_and_its_transcription_in_the_other_script_are_one_person(
        redis_db: redis.Redis) -> None:
    registry = EntityRegistry(redis_db)
    # Latin first, then Russian and Ukrainian copy
    [(giorgetti, _)] = registry.resolve([person("Giancarlo Giorgetti")])
    for surface in ("Джанкарло Джорджетти", "Джанкарло Джорджетті"):
        assert registry.resolve([person(surface)])[0] == (giorgetti, "Giancarlo Giorgetti")
    # Cyrillic first, then Latin: the Latin name takes the entity and names it
    [(xi, name)] = registry.resolve([person("Си Цзиньпин")])
    assert name == "Си Цзиньпин"
    assert registry.resolve([person("Xi Jinping")])[0] == (xi, "Xi Jinping")
    assert xi != giorgetti
    joins = [e for e in registry.review(kind="join") if e["rule"] == "transcription"]
    # (Ukrainian Джорджетті folds to the Russian form's key)
    assert {e["name"] for e in joins} == {"Джанкарло Джорджетти", "Xi Jinping"}
    # another person of the surname in Cyrillic stays apart
    [(massimo, _)] = registry.resolve([person("Массимо Джорджетти")])
    assert massimo != giorgetti


def test_a_transcription_two_people_share_decides_nothing(redis_db: redis.Redis) -> None:
    registry = EntityRegistry(redis_db)
    # two Cyrillic entities, each written under a key that one Latin name
    # reads as (German h is Russian kha, Ukrainian ghe); both are built by
    # hand, as the surname rules would join two real such spellings first
    latin_name = person("Helmut Kohl")
    keys = ["RC:PERSON:helmuth kol", "RC:PERSON:gelmut kol"]
    assert set(keys) <= set(latin_name.cross_lookups)
    ids = set()
    for n, (surface, key) in enumerate(zip(("Хельмут Коль", "Гельмут Коль"), keys, strict=True)):
        cyrillic = person(surface)
        cyrillic.surname = f"kol{n}"
        cyrillic.cross_keys = [key]
        ids.add(registry.resolve([cyrillic])[0][0])
    assert len(ids) == 2
    [(latin, _)] = registry.resolve([latin_name])
    assert latin not in ids
    near = [e for e in registry.review(kind="near") if e["rule"] == "transcription"]
    assert near and near[0]["name"] == "Helmut Kohl"


def test_a_bare_surname_needs_more_than_a_skeleton_in_common(redis_db: redis.Redis) -> None:
    registry = EntityRegistry(redis_db)
    [(millar, _)] = registry.resolve([skeleton_person("David Millar", "en")])
    # "Mueller" shares the skeleton mlr, but is no spelling of Millar
    [(mueller, name)] = registry.resolve([skeleton_person("Mueller", "en")])
    assert mueller != millar and name == "Mueller"
    near = [e for e in registry.review(kind="near") if e["rule"] == "surname_skeleton"]
    assert near and near[0]["name"] == "Mueller"


def test_a_skeleton_two_people_share_decides_nothing(redis_db: redis.Redis) -> None:
    registry = EntityRegistry(redis_db)
    ids = {i for i, _ in registry.resolve([skeleton_person("Anna Tusk", "en"),
                                            skeleton_person("Piotr Task", "en")])}
    [(bare, name)] = registry.resolve([skeleton_person("Tuska", "pl")])
    assert bare not in ids and name == "Tuska"


def test_weak_joins_and_near_misses_are_kept_for_review(redis_db: redis.Redis) -> None:
    registry = EntityRegistry(redis_db)
    [(putin, _)] = registry.resolve([skeleton_person("Vladimir Putin", "en")])
    [(poutine, _)] = registry.resolve([skeleton_person("Vladimir Poutine", "fr")])
    assert poutine == putin
    registry.resolve([person("Joe Biden"), person("Jill Biden")])
    registry.resolve([person("Biden")])
    joins = registry.review(kind="join")
    assert [(e["rule"], e["name"], e["into"], e["id"]) for e in joins] == [
        ("surname_skeleton", "Vladimir Poutine", "Vladimir Putin", putin)]
    assert "ptn" in joins[0]["detail"]
    [near] = registry.review(kind="near")
    assert (near["rule"], near["name"]) == ("surname_of_several", "Biden")
    assert "Joe Biden" in near["detail"] and "Jill Biden" in near["detail"]
    assert [e["kind"] for e in registry.review()] == ["near", "join"]  # newest first
    # the operator undoes the join: the spelling is its own entity from now on
    split = registry.split(putin, "Vladimir Poutine")
    assert registry.resolve([skeleton_person("Vladimir Poutine", "fr")])[0][0] == split.id


def test_entities_review_command(redis_db: redis.Redis, monkeypatch: Any) -> None:
    from typer.testing import CliRunner

    from wirestream import enrich_cli as cli

    monkeypatch.setattr(cli, "_registry", lambda: EntityRegistry(redis_db))
    registry = EntityRegistry(redis_db)
    registry.resolve([skeleton_person("Benjamin Netanyahu", "en")])
    registry.resolve([skeleton_person("Nétanyahou", "fr")])
    result = CliRunner().invoke(cli.entities_app, ["review", "--joins"])
    assert result.exit_code == 0, result.output
    assert "surname_skeleton" in result.output and "'Nétanyahou' -> 'Benjamin Netanyahu'" in (
        result.output)
    assert "undo: wirestream entities split" in result.output
    empty = CliRunner().invoke(cli.entities_app, ["review", "--near"])
    assert empty.exit_code == 0 and "nothing to review" in empty.output


def test_rekey_adds_the_current_scheme_keys_and_moves_none(redis_db: redis.Redis) -> None:
    from services.enrich.adapters.entity_registry import ALIAS, SCHEME
    from services.enrich.names import KEY_SCHEME

    registry = EntityRegistry(redis_db)
    [(zelensky, _)] = registry.resolve([person("Volodymyr Zelensky")])
    [(biden, _)] = registry.resolve([person("Joe Biden")])
    # as a registry of the older scheme would hold it: its old key only
    redis_db.hdel(ALIAS, "PERSON:vladimir selenski")
    redis_db.srem(f"ws:ent:k:{zelensky}", "PERSON:vladimir selenski")
    redis_db.hset(ALIAS, "PERSON:volodimir selenski", zelensky)
    # ... and none of the cross-script keys (names.cross_script_keys), nor
    # the skeletons of readings, that fold-3 added
    cross = cross_script_keys("Volodymyr Zelensky")[0]
    redis_db.hdel(ALIAS, *cross)
    redis_db.srem(f"ws:ent:k:{zelensky}", *cross)
    redis_db.delete("ws:ent:sk:slnsk")
    # a key another entity holds is never moved
    redis_db.hset(ALIAS, "PERSON:ioe biden", "person-someone-else")
    assert registry.rekey() == (2, 1 + len(cross))
    assert all(redis_db.hget(ALIAS, k) == zelensky.encode() for k in cross)
    assert redis_db.smembers("ws:ent:sk:slnsk") == {zelensky.encode()}
    assert redis_db.hget(ALIAS, "PERSON:vladimir selenski") == zelensky.encode()
    assert redis_db.hget(ALIAS, "PERSON:volodimir selenski") == zelensky.encode()
    assert redis_db.hget(ALIAS, "PERSON:ioe biden") == b"person-someone-else"
    assert redis_db.get(SCHEME) == KEY_SCHEME.encode()
    assert registry.rekey() == (2, 0)  # idempotent
    assert redis_db.hget(ALIAS, "PERSON:ioe biden") != biden.encode()


def test_unmerge_gives_an_entity_back_its_keys_and_surname(redis_db: redis.Redis) -> None:
    registry = EntityRegistry(redis_db)
    [(edward, _)] = registry.resolve([person("Edward Heath")])
    [(ted, _)] = registry.resolve([person("Ted Heath")])
    assert edward != ted
    registry.merge(edward, [ted])
    assert registry.resolve([person("Ted Heath")])[0][0] == edward
    assert registry.group(ted) == (edward, sorted([edward, ted]))
    assert registry.groups() == [(edward, sorted([edward, ted]))]
    restored = registry.unmerge(ted)
    assert restored.merged_into is None and "PERSON:ted heath" in restored.keys
    assert registry.resolve([person("Ted Heath")])[0][0] == ted
    assert registry.group(ted) == (ted, [ted]) and registry.groups() == []
    # two people with the surname again: a bare "Heath" is neither
    assert registry.resolve([person("Heath")])[0][0] not in (edward, ted)
    with pytest.raises(PayloadError):
        registry.unmerge(edward)  # never merged


def test_of_several_people_with_one_surname_the_one_whose_given_name_fits(
        redis_db: redis.Redis) -> None:
    registry = EntityRegistry(redis_db)
    [(osama, _)] = registry.resolve([person("Osama bin Laden")])
    [(hamza, _)] = registry.resolve([person("Hamza bin Laden")])
    # particles spelt otherwise: the surname's core, and the one given name that fits
    assert registry.resolve([person("Oussama ben Laden")])[0][0] == osama
    [(bashar, _)] = registry.resolve([person("Bashar al-Assad")])
    assert registry.resolve([person("Assad")])[0][0] == bashar  # the core, bare
    assert hamza != osama
    # a given name neither fits: no guess
    assert registry.resolve([person("Saad bin Laden")])[0][0] not in (osama, hamza)
    # a case form of a foreign name in Russian: two Obamas spelt alike, one Barack
    [(barack, _)] = registry.resolve([skeleton_person("Barack Obama", "en")])
    [(michelle, _)] = registry.resolve([skeleton_person("Michelle Obama", "en")])
    assert registry.resolve([skeleton_person("Барака Обамы", "ru")])[0][0] == barack != michelle
    # a Belarusian name in its Russian form
    [(sviatlana, _)] = registry.resolve([skeleton_person("Sviatlana Tsikhanouskaya", "en")])
    for surface, language in [("Светлана Тихановская", "ru"), ("Swiatłana Cichanouska", "pl"),
                              ("Swjatlana Zichanouskaja", "de")]:
        assert registry.resolve([skeleton_person(surface, language)])[0][0] == sviatlana, surface


def test_round_trips_per_batch_do_not_grow_with_the_batch(
        redis_db: redis.Redis, monkeypatch: Any) -> None:
    """Issue #16's speed promise: a batch costs the same few round trips
    whether it holds 5 people or 60 (new ones, then the same ones again)."""
    from redis.client import Pipeline

    trips = [0]
    direct = redis_db.execute_command
    pipelined = Pipeline.execute

    def count_direct(*args: Any, **options: Any) -> Any:
        trips[0] += 1
        return direct(*args, **options)

    def count_pipeline(self: Pipeline, *args: Any, **options: Any) -> Any:
        trips[0] += 1
        return pipelined(self, *args, **options)

    monkeypatch.setattr(redis_db, "execute_command", count_direct)
    monkeypatch.setattr(Pipeline, "execute", count_pipeline)
    registry = EntityRegistry(redis_db)
    given = ["Anna", "Boris", "Clara", "David", "Emil", "Fiona", "Georg", "Hanna", "Ivan", "Jana",
             "Karl", "Lena"]
    surnames = ["Novak", "Kowalski", "Horvat", "Petrov", "Jensen"]

    def batch(count: int, offset: int) -> list[Candidate]:
        people = [skeleton_person(f"{given[n % 12]} {surnames[(n // 12) % 5]}{offset + n}", "en")
                  for n in range(count)]
        return [*people, person(f"{surnames[0]}{offset}")]  # and a bare surname

    costs = []
    for count, offset in ((5, 1000), (60, 2000)):
        trips[0] = 0
        registry.resolve(batch(count, offset))
        new = trips[0]
        trips[0] = 0
        registry.resolve(batch(count, offset))
        costs.append((new, trips[0]))
    assert costs[0] == costs[1], costs
    assert max(costs[0]) <= 8, costs
