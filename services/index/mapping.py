"""The index template: mapping and settings of the wirestream news indices.

Works on both the minimal integ-test-zip distribution and the full image: it
uses only analysis components built into the server (standard tokenizer,
lowercase and stop filters). ``dynamic: strict`` at the top level, so a
document with an unknown field is rejected (and dead-lettered) instead of
growing the mapping.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MAPPING_VERSION", "index_template", "mappings", "settings"]

# Bump when the mapping changes incompatibly; `wirestream index migrate`
# copies documents into the indices of the new version.
MAPPING_VERSION = 1

# Stop-word lists built into the server's stop filter.
STOP_LANGUAGES = {
    "en": "_english_",
    "es": "_spanish_",
    "de": "_german_",
    "fr": "_french_",
    "ru": "_russian_",
}

KEYWORD = {"type": "keyword", "ignore_above": 512}
DATE = {"type": "date"}


def _text(analyzer: str = "standard", keyword: bool = False) -> dict[str, Any]:
    field: dict[str, Any] = {"type": "text", "analyzer": analyzer}
    if keyword:
        field["fields"] = {"raw": {"type": "keyword", "ignore_above": 512}}
    return field


def settings(shards: int = 1, replicas: int = 0) -> dict[str, Any]:
    analyzers = {
        f"ws_{lang}": {"type": "custom", "tokenizer": "standard",
                       "filter": ["lowercase", f"ws_stop_{lang}"]}
        for lang in STOP_LANGUAGES
    }
    filters = {
        f"ws_stop_{lang}": {"type": "stop", "stopwords": words}
        for lang, words in STOP_LANGUAGES.items()
    }
    return {
        "number_of_shards": shards,
        # Single-node dev/CI cluster: a replica could never be assigned.
        "number_of_replicas": replicas,
        # Near-real-time: a document is searchable within a second.
        "refresh_interval": "1s",
        "analysis": {"analyzer": analyzers, "filter": filters},
    }


def mappings() -> dict[str, Any]:
    return {
        "dynamic": "strict",
        "properties": {
            "id": KEYWORD,
            "uri": KEYWORD,
            "guid": KEYWORD,
            "source": KEYWORD,
            "url": KEYWORD,
            "canonical_url": KEYWORD,
            "headline": _text(keyword=True),
            "summary": _text(),
            "body_text": _text(),
            "headline_en": _text("ws_en"),
            "summary_en": _text("ws_en"),
            "body_text_en": _text("ws_en"),
            "byline": _text(keyword=True),
            "language": KEYWORD,
            "language_confidence": {"type": "float"},
            "language_note": KEYWORD,
            "version": {"type": "integer"},
            "pubstatus": KEYWORD,
            "embargoed": DATE,
            "subjects": {
                "type": "object",
                "properties": {
                    "code": KEYWORD,
                    "name": KEYWORD,
                    "scheme": KEYWORD,
                    "origin": KEYWORD,
                },
            },
            "published": DATE,
            "updated": DATE,
            "fetched": DATE,
            "enriched": DATE,
            "indexed": DATE,
            "content_hash": KEYWORD,
            "correlation_id": KEYWORD,
            "pipeline_version": KEYWORD,
            "enrichment_errors": {
                "type": "object",
                "properties": {
                    "step": KEYWORD,
                    "reason": KEYWORD,
                    "message": {"type": "text", "index": False},
                    "at": DATE,
                },
            },
        },
    }


def hidden_filter() -> dict[str, Any]:
    """What readers of the alias never see: killed stories and embargoed ones
    whose embargo has not lifted yet."""
    return {
        "bool": {
            "must_not": [
                {"terms": {"pubstatus": ["withheld", "canceled"]}},
                {"range": {"embargoed": {"gt": "now"}}},
            ]
        }
    }


def index_template(prefix: str) -> dict[str, Any]:
    return {
        "index_patterns": [f"{prefix}-v{MAPPING_VERSION}-*"],
        "priority": 100,
        "template": {
            "settings": settings(),
            "mappings": mappings(),
            # Every new index joins the read alias automatically, with the
            # filter that hides kills and embargoed stories.
            "aliases": {prefix: {"filter": hidden_filter()}},
        },
        "_meta": {"mapping_version": MAPPING_VERSION, "managed_by": "wirestream"},
    }
