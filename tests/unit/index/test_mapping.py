"""Analysis settings per distribution capability, and the mapping's
references to them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from services.index.mapping import (
    LANGUAGES,
    TEXT_LANGUAGES,
    AnalysisPlan,
    index_settings,
    mappings,
)
from services.index.names import IndexNames

ROOT = Path(__file__).resolve().parents[3]


def analyzers_used(spec: dict[str, Any]) -> set[str]:
    found = set()
    for sub in spec.get("properties", {}).values():
        if "analyzer" in sub:
            found.add(sub["analyzer"])
        for multi in sub.get("fields", {}).values():
            if "analyzer" in multi:
                found.add(multi["analyzer"])
        found |= analyzers_used(sub)
    return found


def test_every_analyzer_the_mapping_uses_is_defined_without_dictionaries() -> None:
    defined = set(index_settings(AnalysisPlan())["analysis"]["analyzer"]) | {"standard"}
    assert analyzers_used(mappings()) <= defined


def test_without_dictionaries_only_server_built_in_components_are_used() -> None:
    analysis = index_settings(AnalysisPlan())["analysis"]
    assert {f["type"] for f in analysis["filter"].values()} == {"stop"}
    for analyzer in analysis["analyzer"].values():
        assert analyzer["tokenizer"] == "standard"
        assert analyzer["filter"][0] == "lowercase"


def test_hunspell_only_for_the_dictionaries_the_cluster_has() -> None:
    analysis = index_settings(AnalysisPlan(hunspell=frozenset({"de", "en"})))["analysis"]
    assert analysis["analyzer"]["ws_de"]["filter"] == ["ws_de_stem", "lowercase", "ws_de_stop"]
    assert analysis["filter"]["ws_de_stem"] == {
        "type": "hunspell", "locale": "de_DE", "dedup": True, "longest_only": True}
    assert analysis["analyzer"]["ws_fr"]["filter"] == ["lowercase", "ws_fr_stop"]
    assert AnalysisPlan(frozenset({"de"})).describe()["de"] == "hunspell:de_DE+stop"


def test_per_language_text_fields_exist_for_every_analysed_language() -> None:
    properties = mappings()["properties"]
    for code in TEXT_LANGUAGES:
        fields = properties[f"text_{code}"]["properties"]
        assert {f["analyzer"] for f in fields.values()} == {f"ws_{code}"}
    assert "text_en" not in properties  # English originals live in *_en


def test_hunspell_locales_are_all_installable() -> None:
    listing = (ROOT / "deploy" / "elasticsearch" / "hunspell-locales.txt").read_text()
    locales = {line.split()[0] for line in listing.splitlines()
               if line.strip() and not line.startswith("#")}
    assert {lang.hunspell for lang in LANGUAGES if lang.hunspell} <= locales


def test_index_names() -> None:
    names = IndexNames("wirestream-news")
    assert names.index(3, "2026.11") == "wirestream-news-v3-2026.11"
    assert names.parse("wirestream-news-v3-2026.11") == (3, "2026.11")
    assert names.parse("wirestream-news-t1234abcd-v1-2026.11") is None
    assert names.parse("wirestream-news-v3-2026.11-x") is None
    assert (names.read_alias, names.write_alias) == ("wirestream-news", "wirestream-news-write")
