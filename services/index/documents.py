"""NewsItem → Elasticsearch document, and the month a document belongs to.

Contract:

* A document goes to the monthly index of its *first* creation
  (:func:`index_month`), so every later version of the same story lands in
  the same index and replaces the earlier one there: external versioning is
  per index, and this is what makes "one document per story" hold.
* A kill (pubstatus ``withheld``/``canceled``) becomes a *tombstone*
  (:func:`tombstone`): the story's id, uri, version, pubstatus and
  timestamps, and no content. It replaces the story under external
  versioning, so nothing of the killed text remains anywhere in the index
  (not even for a GET by id, which ignores alias filters), and a late, older
  usable version gets a 409 instead of resurrecting the story. The read
  alias hides tombstones from every search.
* Derived fields (:func:`derive`: the per-language text copy, English
  fields of English originals, entity/topic arrays, primary location,
  country codes) are computed from the other fields of the document alone,
  so ``wirestream index migrate`` recomputes them without re-ingesting.
* Only mapped fields are emitted and empty values are dropped, so the
  strict mapping holds (the unit tests check every emitted field is mapped).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.index.mapping import ENTITY_TYPES, TEXT_LANGUAGES
from services.index.names import month_of
from shared.models import Concept, Enrichment, NewsItem, PubStatus, Subject, TranslationStatus

__all__ = ["KILLED", "derive", "index_month", "normalise_language", "to_document", "tombstone"]

KILLED = frozenset({PubStatus.withheld, PubStatus.canceled})
TEXT_FIELDS = ("headline", "summary", "body_text")
# Language codes that share one analysed field.
LANGUAGE_ALIASES = {"nb": "no", "nn": "no"}
_TRANSLATED = frozenset({TranslationStatus.translated, TranslationStatus.partial})


def index_month(item: NewsItem) -> str:
    """``YYYY.MM`` of the story's first creation (its version time when the
    provider sent no first-created time)."""
    return month_of(item.firstcreated or item.versioncreated)


def normalise_language(code: str | None) -> str | None:
    """``en-GB`` → ``en``, ``nb-NO`` → ``no``; None stays None."""
    if not code:
        return None
    primary = code.replace("_", "-").split("-", 1)[0].lower()
    return LANGUAGE_ALIASES.get(primary, primary) or None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _prune(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if v is not None and v != "" and v != [] and v != {}}


def _codes(values: list[Subject]) -> list[dict[str, Any]]:
    return [_prune(v.model_dump()) for v in values]


def _concepts(values: list[Concept]) -> list[dict[str, Any]]:
    return [_prune(v.model_dump()) for v in values if v.name or v.code]


def tombstone(item: NewsItem, *, indexed_at: datetime | None = None) -> dict[str, Any]:
    """The document that replaces a killed story: identity, version,
    status and timestamps only."""
    return _prune(
        {
            "id": item.id,
            "uri": item.uri,
            "source": item.source,
            "version": item.version,
            "pubstatus": item.pubstatus.value,
            "published": _iso(item.firstcreated),
            "updated": _iso(item.versioncreated),
            "fetched": _iso(item.fetched_at),
            "indexed": _iso(indexed_at or datetime.now(UTC)),
            "correlation_id": item.correlation_id,
        }
    )


def to_document(item: NewsItem, *, indexed_at: datetime | None = None) -> dict[str, Any]:
    """The document body of ``item`` (a tombstone for a kill)."""
    if item.pubstatus in KILLED:
        return tombstone(item, indexed_at=indexed_at)
    enrichment = item.enrichment or Enrichment()
    detected = enrichment.language
    doc: dict[str, Any] = {
        "id": item.id,
        "uri": item.uri,
        "guid": item.guid,
        "source": item.source,
        "url": item.url,
        "canonical_url": item.canonical_url,
        "type": item.type,
        "urgency": item.urgency,
        "content_hash": item.content_hash,
        "correlation_id": item.correlation_id,
        "headline": item.headline,
        "summary": item.summary,
        "body_text": item.body_text,
        "byline": item.byline,
        "byline_role": item.byline_role,
        "language": (detected.code if detected and detected.code else None) or item.language,
        "language_declared": item.language,
        "language_confidence": detected.confidence if detected else None,
        "language_method": (detected.method or None) if detected else None,
        "language_note": detected.note if detected else None,
        "version": item.version,
        "pubstatus": item.pubstatus.value,
        "embargoed": _iso(item.embargoed),
        "published": _iso(item.firstcreated),
        "updated": _iso(item.versioncreated),
        "fetched": _iso(item.fetched_at),
        "enriched": _iso(enrichment.enriched_at),
        "indexed": _iso(indexed_at or datetime.now(UTC)),
        "subjects": _codes(item.subjects),
        "genres": _codes(item.genres),
        "provider_places": _concepts(item.places),
        "provider_people": _concepts(item.people),
        "provider_organisations": _concepts(item.organisations),
        "provider_keywords": item.provider_keywords,
        "associations": item.associations,
        "ingest_flags": item.ingest_flags,
        "rights": _prune(item.rights.model_dump()) if item.rights else None,
        "pipeline_version": enrichment.pipeline_version,
        "model_versions": enrichment.model_versions,
        "entities_status": enrichment.entities_status,
        "enrichment_errors": [e.model_dump(mode="json") for e in enrichment.errors],
        "cluster_id": enrichment.cluster_id,
        "entities": [
            _prune(
                {
                    "id": e.id,
                    "name": e.name,
                    "type": e.type,
                    "variants": e.variants,
                    "mentions": len(e.mentions),
                    "country_code": e.country_code,
                    "geonames_id": e.geonames_id,
                    "role": e.role,
                }
            )
            for e in enrichment.entities
        ],
        "topics": [_prune(t.model_dump()) for t in enrichment.topics],
        "places": [_prune(p.model_dump()) for p in enrichment.places],
        "keywords": [k.model_dump() for k in enrichment.keywords],
    }
    translation = enrichment.translation
    if translation is not None:
        doc["translation"] = _prune(
            {
                "status": translation.status.value,
                "backend": translation.backend,
                "source_lang": translation.source_language,
                "pair": translation.pair,
            }
        )
        if translation.status in _TRANSLATED:
            for name in TEXT_FIELDS:
                doc[f"{name}_en"] = getattr(translation, name)
    return derive(_prune(doc))


def derive(doc: dict[str, Any]) -> dict[str, Any]:
    """Recompute the derived fields of a document from its other fields.
    Idempotent; used by :func:`to_document` and by the migration."""
    out = {k: v for k, v in doc.items() if not k.startswith("text_")}
    language = normalise_language(out.get("language"))
    if language:
        out["language"] = language
    if language == "en":
        # English originals: the *_en fields hold the original text.
        for name in TEXT_FIELDS:
            out.pop(f"{name}_en", None)
            if out.get(name):
                out[f"{name}_en"] = out[name]
    elif language in TEXT_LANGUAGES:
        texts = {name: out[name] for name in TEXT_FIELDS if out.get(name)}
        if texts:
            out[f"text_{language}"] = texts
    entities = out.get("entities") or []
    for kind in ENTITY_TYPES:
        out.pop(f"entities_{kind}", None)
    out.pop("entity_ids", None)
    if entities:
        out["entity_ids"] = _unique(e["id"] for e in entities)
        for kind in ENTITY_TYPES:
            names = _unique(e["name"] for e in entities if e.get("type", "").lower() == kind)
            if names:
                out[f"entities_{kind}"] = names
    out.pop("topic_codes", None)
    if out.get("topics"):
        out["topic_codes"] = _unique(t["code"] for t in out["topics"])
    places = out.get("places") or []
    out.pop("primary_location", None)
    primary = next((p for p in places if p.get("primary") and p.get("location")), None)
    if primary is not None:
        out["primary_location"] = primary["location"]
    out.pop("country_codes", None)
    countries = _unique(
        c["country_code"] for c in [*places, *entities] if c.get("country_code")
    )
    if countries:
        out["country_codes"] = sorted(countries)
    return out


def _unique(values: Any) -> list[str]:
    return list(dict.fromkeys(values))
