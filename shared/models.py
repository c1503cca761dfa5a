"""The shared document model, shaped after IPTC ninjs 2.x.

A :class:`NewsItem` is what flows between the stages (as JSON, never pickled)
and what the indexer writes. Field names follow ninjs 2.x where ninjs has the
concept (``uri``, ``headline``, ``versioncreated``, ``pubstatus`` ...); fields
ninjs lacks (``source``, ``content_hash``, ``enrichment``) are ours.

Contract callers may rely on:

* ``id`` is deterministic: the same (source, guid) always gives the same id,
  so redelivery overwrites and never duplicates.
* all datetimes are timezone-aware UTC.
* ``es_version`` grows with (``versioncreated``, ``version``), so an older
  version can never replace a newer one in the index.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

__all__ = [
    "Batch",
    "Concept",
    "Enrichment",
    "Entity",
    "GeoPoint",
    "Keyword",
    "LanguageResult",
    "Mention",
    "NewsItem",
    "Place",
    "PubStatus",
    "Rights",
    "StepError",
    "Subject",
    "TopicScore",
    "Translation",
    "TranslationStatus",
    "content_hash",
    "item_id",
    "utc",
]


def utc(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC; aware ones are converted to UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(utc)]


class PubStatus(StrEnum):
    """ninjs/NewsML-G2 publication status. ``withheld`` and ``canceled`` are
    kills: the indexer hides the story."""

    usable = "usable"
    withheld = "withheld"
    canceled = "canceled"


class Subject(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str
    name: str | None = None
    scheme: str | None = None
    origin: str = "provider"


class Concept(BaseModel):
    """A named thing an item is about or mentions: a place, person or
    organisation (ninjs ``places``/``people``/``organisations``, NewsML-G2
    ``subject``/``located`` of the matching ``cpnat:`` type). Unlike a
    :class:`Subject` it may have no code at all: wires often send names only."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    code: str | None = None  # qcode, uri or literal, as the provider sent it
    scheme: str | None = None  # qcode prefix or the uri minus its last segment
    rel: str | None = None  # "about", "mentions", ... when the provider says


class Rights(BaseModel):
    """Rights statements as the provider sent them (ninjs ``copyrightholder``/
    ``copyrightnotice``/``usageterms``/``rightsinfo``, NewsML-G2 ``rightsInfo``,
    feed ``copyright``/``rights``)."""

    model_config = ConfigDict(extra="forbid")

    holder: str | None = None
    notice: str | None = None
    usage_terms: str | None = None
    linked_rights: str | None = None
    encoded_rights: str | None = None


class StepError(BaseModel):
    """One enrichment step that failed; the document goes on without it."""

    model_config = ConfigDict(extra="forbid")

    step: str
    reason: str
    message: str
    at: UtcDatetime


class LanguageResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str | None
    confidence: float = 0.0
    method: str = ""
    hint: str | None = None
    note: str | None = None  # "too_short", "mixed", "hint_overruled", ...


class TranslationStatus(StrEnum):
    """What the translation step did with a document."""

    translated = "translated"  # every non-empty field has an English text
    partial = "partial"  # some fields translated, see the StepError
    not_needed = "not_needed"  # the document is English already
    no_pair = "untranslated_no_pair"  # no backend pair for the language: not an error
    unknown_language = "untranslated_unknown_language"
    failed = "failed"  # translator down or refused; a StepError says why
    disabled = "disabled"  # backend "none"


class Translation(BaseModel):
    """English text stored beside the original (``headline_en`` ...)."""

    model_config = ConfigDict(extra="forbid")

    status: TranslationStatus
    source_language: str | None = None  # ISO 639-1 of the original
    backend: str = ""
    pair: str | None = None  # as the backend names it, e.g. "spa|eng"
    headline: str | None = None
    summary: str | None = None
    body_text: str | None = None
    chunks: int = 0  # pieces sent or found in the cache
    cached_chunks: int = 0  # of which served by the translation cache


class Mention(BaseModel):
    """One occurrence of an entity: ``text[start:end]`` of ``field`` is
    ``surface``. ``field`` names a NewsItem text field (``headline``,
    ``summary``, ``body_text``) or its English translation (``headline_en``
    ...)."""

    model_config = ConfigDict(extra="forbid")

    field: str
    start: int
    end: int
    surface: str


class Entity(BaseModel):
    """A named entity of a document with its stable cross-document id."""

    model_config = ConfigDict(extra="forbid")

    id: str
    type: str  # PERSON, ORG, GPE, LOC, EVENT, NORP
    name: str  # canonical name (from the alias registry)
    variants: list[str] = Field(default_factory=list)  # spellings seen in this document
    mentions: list[Mention] = Field(default_factory=list)
    country_code: str | None = None  # ISO 3166-1 alpha-2 for GPE/LOC/NORP when known
    geonames_id: int | None = None
    role: str | None = None  # "government" when a capital stands for its government


class GeoPoint(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lat: float
    lon: float


class Place(BaseModel):
    """A place the story mentions or is located at, resolved offline."""

    model_config = ConfigDict(extra="forbid")

    name: str
    kind: str  # "country", "city", "region"
    country_code: str | None = None
    geonames_id: int | None = None
    location: GeoPoint | None = None
    mentions: int = 0
    score: float = 0.0
    primary: bool = False
    origin: str = "text"  # "text" or "provider"


class TopicScore(BaseModel):
    """An IPTC Media Topic assigned to a document. ``origin`` is ``rules``
    for our classifier or ``provider:<scheme>`` for an agency code mapped to
    Media Topics (the agency's code stays in ``source_code``)."""

    model_config = ConfigDict(extra="forbid")

    code: str  # "medtop:11000000"
    label: str
    score: float
    level: int = 1
    parent: str | None = None
    origin: str = "rules"
    source_code: str | None = None


class Keyword(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str
    score: float  # YAKE score: lower is more relevant; the list is sorted best first


class Enrichment(BaseModel):
    """What the enrich stage added. Every field is optional: a failed step
    leaves its field empty and records a :class:`StepError`."""

    model_config = ConfigDict(extra="forbid")

    language: LanguageResult | None = None
    enriched_at: UtcDatetime | None = None
    pipeline_version: str = ""
    # ``name:version`` of the engines and models the enrich worker used
    # (services.enrich.stage.model_versions)
    model_versions: list[str] = Field(default_factory=list)
    errors: list[StepError] = Field(default_factory=list)
    # --- added by the full enrich stage (issue 4); all optional ---
    translation: Translation | None = None
    entities: list[Entity] = Field(default_factory=list)
    # How the entities were found: "native" (a model of the document's
    # language read the original), "translated" (the English translation
    # was read; mentions whose surface stands in the original point there
    # too), "no_model" (nothing reads the language and there is no
    # translation), "failed" (the recogniser failed; see errors).
    entities_status: str | None = None
    places: list[Place] = Field(default_factory=list)
    topics: list[TopicScore] = Field(default_factory=list)
    keywords: list[Keyword] = Field(default_factory=list)
    cluster_id: str | None = None


class NewsItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    uri: str
    source: str
    url: str | None = None
    headline: str = ""
    summary: str | None = None
    body_text: str | None = None
    byline: str | None = None  # the author names ("By" and the role line apart)
    byline_role: str | None = None  # "AP Business Writer", "Reuters"
    language: str | None = None
    firstcreated: UtcDatetime | None = None
    versioncreated: UtcDatetime
    version: int = 1
    pubstatus: PubStatus = PubStatus.usable
    embargoed: UtcDatetime | None = None
    subjects: list[Subject] = Field(default_factory=list)
    fetched_at: UtcDatetime
    content_hash: str
    correlation_id: str = ""
    enrichment: Enrichment | None = None
    # --- added for the ingest parsers; all optional, ninjs 2.x names where
    # ninjs has the concept ---
    # the provider's own id as sent (RSS guid, Atom id, ninjs uri, G2 guid);
    # None when the source has none and ``id`` came from a fallback key
    guid: str | None = None
    # ``url`` normalised for de-duplication (tracking parameters, fragment,
    # default port and trailing slash removed); not meant for fetching
    canonical_url: str | None = None
    # ninjs type: text, picture, video, audio, graphic, composite
    type: str = "text"
    urgency: int | None = None
    genres: list[Subject] = Field(default_factory=list)
    places: list[Concept] = Field(default_factory=list)
    people: list[Concept] = Field(default_factory=list)
    organisations: list[Concept] = Field(default_factory=list)
    rights: Rights | None = None
    # free-text categories/tags/keywords the provider attached (RSS category,
    # JSON Feed tags, G2 keyword): not a controlled vocabulary
    provider_keywords: list[str] = Field(default_factory=list)
    # uris of the items a package/composite groups (G2 packageItem itemRefs,
    # ninjs associations)
    associations: list[str] = Field(default_factory=list)
    # data-quality notes from ingest, e.g. "date_missing", "date_future_clamped"
    ingest_flags: list[str] = Field(default_factory=list)

    @property
    def es_version(self) -> int:
        """External version for Elasticsearch: milliseconds of
        ``versioncreated`` times 1000 plus the provider's version number
        (capped at 999), so both a later timestamp and a higher version
        number win, and the value stays far below ES's 2^63 limit."""
        millis = int(self.versioncreated.timestamp() * 1000)
        return millis * 1000 + max(0, min(self.version, 999))


class Batch(BaseModel):
    """The payload of every stage task: a list of items plus a trace id.
    Stages pass ids plus validated payloads, never live objects."""

    model_config = ConfigDict(extra="forbid")

    items: list[NewsItem]
    correlation_id: str = ""
    # Re-enrichment of indexed documents: same version, new enrichment. The
    # indexer then lets an equal version replace the stored one (a newer one
    # still wins, an older one is still refused).
    reenrich: bool = False


def item_id(source: str, guid: str) -> str:
    """Deterministic document id from the source id and the provider's guid."""
    digest = hashlib.sha256(f"{source}\x1f{guid}".encode()).hexdigest()
    return digest[:32]


def content_hash(*parts: str | None) -> str:
    """Hash of the editorial content; a re-poll with the same hash is a no-op."""
    h = hashlib.sha256()
    for part in parts:
        h.update((part or "").encode("utf-8", "surrogatepass"))
        h.update(b"\x1f")
    return h.hexdigest()

