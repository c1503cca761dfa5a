"""The identity set's loader, validator and pair scoring (pure, no services)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.identity_quality import assign
from bench.identity_sets import load, pairs, score_pairs


def _write(tmp: Path, real: list[dict[str, object]], written: list[dict[str, object]]
           ) -> Path:
    for name, rows in (("real", real), ("written", written)):
        (tmp / f"{name}.jsonl").write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return tmp


REAL = [
    {"id": "a", "lang": "en", "source": "fixture:x#item=1",
     "text": "Bill Clinton met Hillary Clinton. Clinton spoke.",
     "people": [["Bill Clinton", 0, "Bill Clinton"], ["Hillary Clinton", 17, "Hillary Clinton"],
                ["Clinton", 34, "Hillary Clinton"]]},
    {"id": "b", "lang": "ru", "source": "mewsc16:ru:1",
     "text": "Хиллари Клинтон прилетела.",
     "people": [["Хиллари Клинтон", 0, "Hillary Clinton"]]},
]
WRITTEN = [{"id": "w", "lang": "en", "source": "written:wirestream",
            "text": "Hillary Clinton", "people": [["Hillary Clinton", 0, "Hillary Clinton"]]}]


def test_the_shipped_set_loads_and_is_big_enough() -> None:
    documents = load()
    real = [d for d in documents if not d.written]
    assert len({d.language for d in real}) >= 6
    same = sum(1 for p in pairs(real) if p.same)
    assert same >= 400
    assert {d.part for d in documents} == {"dev", "test"}


def test_pairs_have_kinds_and_labels(tmp_path: Path) -> None:
    documents = load(data=_write(tmp_path, REAL, WRITTEN))
    got = {(p.a, p.b): p for p in pairs(documents)}
    assert len(got) == 10  # 5 mentions
    assert got[(("a", 0), ("a", 1))].same is False
    assert got[(("a", 1), ("a", 2))].kind == "within" and got[(("a", 1), ("a", 2))].same
    assert got[(("a", 2), ("b", 0))].kind == "cross-lang" and got[(("a", 2), ("b", 0))].same
    assert got[(("a", 1), ("w", 0))].kind == "cross-doc" and got[(("a", 1), ("w", 0))].written


@pytest.mark.parametrize("people, message", [
    ([["Clinton", 0, "Bill Clinton"]], "not at offset"),
    ([["Bill Clinton", 0, ""]], "no person label"),
    ([["Hillary Clinton", 17, "H"], ["Bill Clinton", 0, "B"]], "text order"),
])
def test_the_validator_refuses_bad_rows(tmp_path: Path, people: list[object],
                                        message: str) -> None:
    row = {**REAL[0], "people": people}
    with pytest.raises(ValueError, match=message):
        load(data=_write(tmp_path, [row], []))


def test_written_text_is_refused_in_the_real_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not belong"):
        load(data=_write(tmp_path, WRITTEN, []))


def test_pairwise_precision_and_recall(tmp_path: Path) -> None:
    documents = load(data=_write(tmp_path, REAL, []))
    # the two Clintons merged, the Russian mention not found
    predicted = {("a", 0): "e1", ("a", 1): "e1", ("a", 2): "e1", ("b", 0): None}
    scored = score_pairs(documents, predicted)
    everything = scored.groups["all"]
    assert (everything.pairs, everything.gold, everything.predicted, everything.hits) == (
        6, 3, 3, 1)
    p, r, _ = everything.prf()
    assert p == pytest.approx(1 / 3) and r == pytest.approx(1 / 3)
    assert scored.groups["real within"].gold == 1
    assert scored.groups["real cross-lang"].predicted == 0
    kinds = sorted(what for _, what in scored.errors)
    assert kinds == ["merge", "merge", "split", "split"]


def test_a_mention_takes_the_exact_span_then_an_overlapping_person(tmp_path: Path) -> None:
    doc = load(data=_write(tmp_path, REAL, []))[0]
    found = [(0, 12, "org", "ORG"), (0, 4, "bill", "PERSON"), (17, 32, "h", "PERSON"),
             (30, 40, "x", "ORG")]
    assert assign(doc, found) == ["org", "h", "x"]
