"""The index template: mapping and settings of the wirestream news indices.

The mapping is the same on every distribution. What the per-language
analyzers (``ws_<lang>``) do is decided at ``wirestream index setup`` by
probing the cluster (:func:`services.index.setup.probe_analysis`), using only
analysis components built into the server itself, so it works on both Elastic's
minimal integ-test-zip (no analysis-common module) and the full image:

* standard tokenizer, ``lowercase``, ``stop`` with the server's built-in
  per-language lists (``_german_`` ...);
* ``hunspell`` stemming when the dictionary is installed under
  ``config/hunspell/<locale>/`` (Debian's ``hunspell-*`` packages; see
  ``deploy/elasticsearch/hunspell-locales.txt``); without it the analyzer is
  stop words only.

``dynamic: strict`` everywhere: a document with an unknown field is rejected
(and dead-lettered) instead of growing the mapping. docs/search.md describes
every field for consumers; docs/index.md the design.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ENTITY_TYPES",
    "LANGUAGES",
    "MAPPING_VERSION",
    "TEXT_LANGUAGES",
    "AnalysisPlan",
    "Language",
    "hidden_filter",
    "index_settings",
    "index_template",
    "mappings",
    "replica_settings",
]

# Bump on every mapping change (additive or not) so `index setup` can tell
# what an index was built with (recorded in each index's mapping `_meta`).
# Additive changes reach live indices through `index setup`; anything else
# (a changed analyzer or field type) needs `wirestream index migrate`.
MAPPING_VERSION = 4


@dataclass(frozen=True)
class Language:
    code: str  # ISO 639-1: suffix of the text_<code> field and ws_<code> analyzer
    stopwords: str | None  # the server's built-in stop list
    hunspell: str | None  # locale directory under config/hunspell/
    stemmer: str  # analysis-common's stemmer of the full image (docs only)


LANGUAGES: tuple[Language, ...] = (
    Language("en", "_english_", "en_US", "english"),
    Language("de", "_german_", "de_DE", "light_german"),
    Language("es", "_spanish_", "es_ES", "light_spanish"),
    Language("fr", "_french_", "fr_FR", "light_french"),
    Language("it", "_italian_", "it_IT", "light_italian"),
    Language("pt", "_portuguese_", "pt_PT", "light_portuguese"),
    Language("nl", "_dutch_", "nl_NL", "dutch"),
    Language("ru", "_russian_", "ru_RU", "russian"),
    Language("sv", "_swedish_", "sv_SE", "swedish"),
    Language("no", "_norwegian_", "nb_NO", "norwegian"),
    Language("da", "_danish_", "da_DK", "danish"),
    Language("fi", "_finnish_", None, "finnish"),
    Language("uk", None, "uk_UA", "(none: stempel/ukrainian plugin)"),
)
# Languages whose original text also goes into `text_<code>`; English
# originals are analysed in the `*_en` fields instead.
TEXT_LANGUAGES = tuple(lang.code for lang in LANGUAGES if lang.code != "en")
ENTITY_TYPES = ("person", "org", "gpe", "loc", "event", "norp")


@dataclass(frozen=True)
class AnalysisPlan:
    """Which hunspell dictionaries the cluster has, per language code."""

    hunspell: frozenset[str] = frozenset()

    def describe(self) -> dict[str, str]:
        out = {}
        for lang in LANGUAGES:
            parts = [f"hunspell:{lang.hunspell}"] if lang.code in self.hunspell else []
            if lang.stopwords:
                parts.append("stop")
            out[lang.code] = "+".join(parts) or "lowercase"
        return out


def _analysis(plan: AnalysisPlan) -> dict[str, Any]:
    analyzers: dict[str, Any] = {}
    filters: dict[str, Any] = {}
    for lang in LANGUAGES:
        chain = []
        if lang.hunspell and lang.code in plan.hunspell:
            # Before lowercasing: hunspell handles case itself and German
            # nouns are capitalised in the dictionary. longest_only: one stem
            # per word, so index and query agree and the index does not grow
            # with every alternative stem.
            filters[f"ws_{lang.code}_stem"] = {
                "type": "hunspell",
                "locale": lang.hunspell,
                "dedup": True,
                "longest_only": True,
            }
            chain.append(f"ws_{lang.code}_stem")
        chain.append("lowercase")
        if lang.stopwords:
            filters[f"ws_{lang.code}_stop"] = {"type": "stop", "stopwords": lang.stopwords}
            chain.append(f"ws_{lang.code}_stop")
        analyzers[f"ws_{lang.code}"] = {"type": "custom", "tokenizer": "standard", "filter": chain}
    return {
        "analyzer": analyzers,
        "filter": filters,
        # Case-insensitive exact match on keywords (entity variants, names).
        "normalizer": {"ws_lowercase": {"type": "custom", "filter": ["lowercase"]}},
    }


DEFAULT_REPLICAS = "0-1"


def replica_settings(replicas: str = DEFAULT_REPLICAS) -> dict[str, Any]:
    """The index settings of :attr:`ElasticsearchSettings.replicas`: a range
    lets Elasticsearch follow the cluster's size (one node: no replica, so a
    single node stays green; two or more: one); a number is fixed."""
    if "-" in replicas:
        return {"auto_expand_replicas": replicas}
    return {"number_of_replicas": int(replicas), "auto_expand_replicas": "false"}


def index_settings(
    plan: AnalysisPlan, *, shards: int = 1, replicas: str = DEFAULT_REPLICAS
) -> dict[str, Any]:
    return {
        # One shard per monthly index: a month of news is a few GB at most,
        # well under the ~50 GB a shard handles comfortably, and the
        # migration's catch-up relies on one sequence-number stream per index.
        "number_of_shards": shards,
        **replica_settings(replicas),
        # Near-real-time: a document is searchable within a second.
        "refresh_interval": "1s",
        # Entities, topics, places are nested: a story has tens, not thousands.
        "mapping": {"nested_objects": {"limit": 2000}},
        "analysis": _analysis(plan),
    }


# ------------------------------------------------------------------ mapping
def _keyword(ignore_above: int = 512, **extra: Any) -> dict[str, Any]:
    return {"type": "keyword", "ignore_above": ignore_above, **extra}


DATE: dict[str, Any] = {"type": "date"}
FLOAT: dict[str, Any] = {"type": "float"}
INTEGER: dict[str, Any] = {"type": "integer"}
GEO: dict[str, Any] = {"type": "geo_point"}


def _text(analyzer: str = "standard", *, raw: bool = False) -> dict[str, Any]:
    field: dict[str, Any] = {"type": "text", "analyzer": analyzer}
    if raw:
        field["fields"] = {"raw": _keyword()}
    return field


def _named_keyword() -> dict[str, Any]:
    """A name: exact keyword (aggregations) plus a text subfield (search)."""
    return {**_keyword(), "fields": {"text": {"type": "text", "analyzer": "standard"}}}


def _object(properties: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "dynamic": "strict", "properties": dict(properties), **extra}


def _nested(properties: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": "nested", "dynamic": "strict", "properties": dict(properties)}


CODE_OBJECT = {"code": _keyword(), "name": _keyword(), "scheme": _keyword(), "origin": _keyword()}
CONCEPT = {"name": _named_keyword(), "code": _keyword(), "scheme": _keyword(), "rel": _keyword()}


def mappings() -> dict[str, Any]:
    """The mapping of every wirestream news index (one per generation+month)."""
    text_per_language = {
        f"text_{code}": _object(
            {
                "headline": _text(f"ws_{code}"),
                "summary": _text(f"ws_{code}"),
                "body_text": _text(f"ws_{code}"),
            }
        )
        for code in TEXT_LANGUAGES
    }
    entity_arrays = {f"entities_{kind}": _keyword() for kind in ENTITY_TYPES}
    return {
        "dynamic": "strict",
        "_meta": {"mapping_version": MAPPING_VERSION, "managed_by": "wirestream"},
        "properties": {
            # ---- identity and source
            "id": _keyword(),
            "uri": _keyword(2048),
            "guid": _keyword(2048),
            "source": _keyword(),
            "url": _keyword(2048),
            "canonical_url": _keyword(2048),
            "type": _keyword(),
            "urgency": INTEGER,
            "content_hash": _keyword(),
            "correlation_id": _keyword(),
            # ---- text: original (language-neutral analysis)
            "headline": _text(raw=True),
            "summary": _text(),
            "body_text": _text(),
            "byline": _text(raw=True),
            "byline_role": {"type": "keyword", "ignore_above": 256},
            # ---- text: original, analysed for its language (non-English)
            **text_per_language,
            # ---- text: English (the original when English, else the translation)
            "headline_en": _text("ws_en", raw=True),
            "summary_en": _text("ws_en"),
            "body_text_en": _text("ws_en"),
            # ---- language and translation
            "language": _keyword(),
            "language_declared": _keyword(),
            "language_confidence": FLOAT,
            "language_method": _keyword(),
            "language_note": _keyword(),
            "translation": _object(
                {
                    "status": _keyword(),
                    "backend": _keyword(),
                    "source_lang": _keyword(),
                    "pair": _keyword(),
                }
            ),
            # ---- versioning and visibility
            "version": INTEGER,
            "pubstatus": _keyword(),
            "embargoed": DATE,
            # ---- timestamps
            "published": DATE,
            "updated": DATE,
            "fetched": DATE,
            "enriched": DATE,
            "indexed": DATE,
            # ---- provider metadata
            "subjects": _object(CODE_OBJECT),
            "genres": _object(CODE_OBJECT),
            "provider_places": _object(CONCEPT),
            "provider_people": _object(CONCEPT),
            "provider_organisations": _object(CONCEPT),
            "provider_keywords": _keyword(),
            "associations": _keyword(2048),
            "ingest_flags": _keyword(),
            # Kept for consumers, never searched: not indexed at all.
            "rights": {"type": "object", "enabled": False},
            # ---- enrichment: entities
            "entities": _nested(
                {
                    "id": _keyword(),
                    "name": _named_keyword(),
                    "type": _keyword(),
                    "variants": {
                        **_keyword(),
                        "fields": {"lower": _keyword(normalizer="ws_lowercase")},
                    },
                    "mentions": INTEGER,
                    "country_code": _keyword(),
                    "geonames_id": {"type": "long"},
                    "role": _keyword(),
                }
            ),
            "entity_ids": _keyword(),
            **entity_arrays,
            # ---- enrichment: topics, places, keywords, clusters
            "topics": _nested(
                {
                    "code": _keyword(),
                    "label": _keyword(),
                    "score": FLOAT,
                    "level": INTEGER,
                    "parent": _keyword(),
                    "origin": _keyword(),
                    "source_code": _keyword(),
                }
            ),
            "topic_codes": _keyword(),
            "places": _nested(
                {
                    "name": _named_keyword(),
                    "kind": _keyword(),
                    "country_code": _keyword(),
                    "geonames_id": {"type": "long"},
                    "location": GEO,
                    "primary": {"type": "boolean"},
                    "mentions": INTEGER,
                    "score": FLOAT,
                    "origin": _keyword(),
                }
            ),
            "primary_location": GEO,
            "country_codes": _keyword(),
            "keywords": _object({"text": _named_keyword(), "score": FLOAT}),
            "cluster_id": _keyword(),
            # ---- pipeline
            "pipeline_version": _keyword(),
            "model_versions": _keyword(),
            "entities_status": _keyword(),
            "enrichment_errors": _object(
                {
                    "step": _keyword(),
                    "reason": _keyword(),
                    "message": {"type": "text", "index": False},
                    "at": DATE,
                }
            ),
        },
    }


def hidden_filter() -> dict[str, Any]:
    """What readers of the alias never see: killed stories (tombstones) and
    stories whose embargo has not lifted yet."""
    return {
        "bool": {
            "must_not": [
                {"terms": {"pubstatus": ["withheld", "canceled"]}},
                {"range": {"embargoed": {"gt": "now"}}},
            ]
        }
    }


def index_template(
    read_alias: str,
    write_alias: str,
    pattern: str,
    generation: int,
    plan: AnalysisPlan,
    *,
    replicas: str = DEFAULT_REPLICAS,
) -> dict[str, Any]:
    """The composable template of one generation. Every index it creates
    (the indexer creates a month's index on its first document) joins the
    read alias, with the filter that hides kills and embargoed stories, and
    the write alias, from which the indexer learns the live generation."""
    return {
        "index_patterns": [pattern],
        "priority": 100,
        "template": {
            "settings": index_settings(plan, replicas=replicas),
            "mappings": mappings(),
            "aliases": {read_alias: {"filter": hidden_filter()}, write_alias: {}},
        },
        "_meta": {
            "managed_by": "wirestream",
            "generation": generation,
            "mapping_version": MAPPING_VERSION,
            "analysis": plan.describe(),
        },
    }
