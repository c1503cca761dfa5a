"""docs/search.md cannot rot: every documented query runs against an index
built from the bundled samples, as the read-only consumer, and must give the
documented output; every mapped field must be described there.

The corpus: every file of data/samples through the real ingest parsers
(``parse_document``), then **synthetic enrichment** from the fixed rules
below (entities, topics, places, clusters, a few English translations), all
marked ``pipeline_version: docs-fixture-1`` — the real enrich stage is not
used here, so the documented output does not move when its models do. Three
synthetic versions show kills, embargoes and updates.

Examples in docs/search.md look like::

    <!-- example: name [requires=hunspell] -->
    ```json
    POST /wirestream-news/_search
    { ...request... }
    ```
    <!-- output: name -->
    ```json
    { ...response, trimmed with filter_path... }
    ```

Run with ``WIRESTREAM_UPDATE_SEARCH_DOCS=1`` to rewrite the output blocks
from the current results, then review ``git diff docs/search.md``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from elasticsearch import Elasticsearch

from services.index.adapters.bulk import BulkIndexer
from services.index.adapters.entity_directory import publish_groups
from services.index.mapping import TEXT_LANGUAGES, AnalysisPlan, mappings
from services.index.names import IndexNames
from services.index.setup import probe_analysis, run_setup
from services.ingest.parsers import SourceRef, parse_document
from shared.models import (
    Enrichment,
    Entity,
    GeoPoint,
    LanguageResult,
    Mention,
    NewsItem,
    Place,
    PubStatus,
    TopicScore,
    Translation,
    TranslationStatus,
)
from shared.runtime import es_client
from shared.settings import Settings
from tests.integration.test_index_es import scratch_prefix

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "search.md"
SAMPLES = ROOT / "data" / "samples"
UPDATE = os.environ.get("WIRESTREAM_UPDATE_SEARCH_DOCS", "") not in ("", "0", "false")
FETCHED = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
PIPELINE = "docs-fixture-1"

# file -> (source id, language hint)
SOURCES = {
    "2.1_dpa_text.json": ("dpa-ninjs", "de"),
    "2.1_ntb_text.json": ("ntb", None),
    "LISTING_02_NewsML-G2_Text_Document.xml": ("iptc-g2", None),
    "aif_rss2_ru_2019.xml": ("aif", None),
    "dpa-es_empty_paragraph.newsmlg2.xml": ("dpa-es", "es"),
    "guardian-us_rss2_en_2018.rss": ("guardian-us", None),
    "heise-developer_atom_de_2016.atom": ("heise-developer", "de"),
    "jn-ultimas_rss2_pt_2018_iso-8859-1.rss": ("jn-ultimas", None),
}

# ---------------------------------------------------------- synthetic enrichment
MERGED_ID = "person-1f0e3dd2b1c4"
ENTITIES = [  # id, type, canonical name, spellings
    ("Q22686", "PERSON", "Donald Trump", r"(?:Donald )?Trump(?:['\u2019]s)?"),
    ("Q56226", "PERSON", "Kim Jong-un", r"Kim Jong-un"),
    ("Q43723", "PERSON", "Benjamin Netanyahu", r"(?:Benjamin )?Netanyahu"),
    ("Q355", "ORG", "Facebook", r"Facebook"),
    ("Q2283", "ORG", "Microsoft", r"Microsofts?"),
    ("Q95", "ORG", "Google", r"Google"),
    ("geo:PT", "GPE", "Portugal", r"Portugal"),
]
PLACES = [  # spelling in the text, name, kind, country, geonames id, lat, lon
    ("Lisboa", "Lisbon", "city", "PT", 2267057, 38.7223, -9.1393),
    ("Porto", "Porto", "city", "PT", 2735943, 41.1496, -8.611),
    ("Skien", "Skien", "city", "NO", 3155041, 59.2096, 9.609),
    ("Virginia", "Virginia", "region", "US", 6254928, 37.5, -78.5),
    ("Califórnia", "California", "region", "US", 5332921, 36.78, -119.42),
    ("Mosul", "Mosul", "city", "IQ", 99072, 36.34, 43.13),
    ("Peru", "Peru", "country", "PE", 3932488, -9.19, -75.02),
]
TOPICS = [  # code, label, pattern
    ("medtop:11000000", "politics",
     r"Trump|State of the Union|Democrats|GOP|Netanyahu|Marcelo|partidos|Puigdemont"),
    ("medtop:15000000", "sport",
     r"NBA|NFL|Premier League|Spurs|Benfica|Sporting|Elfmeter|Schiedsrichter"),
    ("medtop:04000000", "economy, business and finance",
     r"\btax\b|IRS|Uber|crédito|EDP|Google har kjøpt"),
    ("medtop:13000000", "science and technology",
     r"Java|Microsoft|Facebook|Apache|cryptocurrency|MySQL|Cordova|SourceForge|iPhone"),
    ("medtop:01000000", "arts, culture, entertainment and media",
     r"Oscar|Grammys|Lorde|Hollywood|Game of Thrones|Glee"),
]
CLUSTERS = [
    ("c-sotu", r"State of the Uni(?:on|om)"),
    ("c-stormy", r"Stormy Daniels"),
    ("c-rarissimas", r"Raríssimas"),
    ("c-edp", r"\bEDP\b"),
    ("c-lorde", r"\bLorde\b"),
]
TRANSLATIONS = {  # original headline -> English headline
    "Facebook schließt Parse-Plattform": "Facebook closes the Parse platform",
    "Microsoft veröffentlicht Cordova-Erweiterung für Visual Studio Code":
        "Microsoft releases Cordova extension for Visual Studio Code",
    "Änderungen bei der Authentifizierung in Microsofts v2.0 App Model":
        "Changes to authentication in Microsoft's v2.0 App Model",
    "Trump declara estado de desastre na Califórnia devido aos incêndios":
        "Trump declares a state of disaster in California because of the fires",
    "Tempestade Eleanor atinge França, Alemanha, Suíça e Reino Unido":
        "Storm Eleanor hits France, Germany, Switzerland and the United Kingdom",
    "Google har kjøpt giganttomt i Skien": "Google has bought a giant plot in Skien",
    "Faktencheck Derby-Elfmeter: Hat Schiedsrichter Zwayer recht?":
        "Fact check on the derby penalty: is referee Zwayer right?",
    "СМИ: собака в Таиланде спасла заживо похороненного младенца":
        "Media: a dog in Thailand saved a baby buried alive",
}
KILLED = "Earth's ultimate yogis \u2013 in pictures"
EMBARGOED = "Super blue blood moon - in pictures"
UPDATED = "Train carrying dozens of GOP lawmakers hits truck in Virginia"


def enrich(item: NewsItem) -> NewsItem:
    """The synthetic enrichment of one parsed item (see the module docstring)."""
    fields = {"headline": item.headline, "summary": item.summary or "",
              "body_text": item.body_text or ""}
    text = " ".join(fields.values())
    entities = []
    for entity_id, kind, name, pattern in ENTITIES:
        mentions = [
            Mention(field=field, start=m.start(), end=m.end(), surface=m.group(0))
            for field, value in fields.items() for m in re.finditer(pattern, value)
        ]
        if mentions:
            entities.append(Entity(
                id=entity_id, type=kind, name=name, mentions=mentions,
                variants=list(dict.fromkeys(m.surface for m in mentions)),
                country_code="PT" if entity_id == "geo:PT" else None,
            ))
    places = [
        Place(name=name, kind=kind, country_code=country, geonames_id=gid,
              location=GeoPoint(lat=lat, lon=lon), mentions=text.count(spelling),
              score=0.9, primary=False)
        for spelling, name, kind, country, gid, lat, lon in PLACES
        if re.search(rf"\b{spelling}\b", text)
    ]
    if places:
        places[0] = places[0].model_copy(update={"primary": True})
    lead = f"{item.headline} {item.summary or ''}"
    topics = [
        TopicScore(code=code, label=label,
                   score=0.9 if re.search(pattern, item.headline) else 0.6)
        for code, label, pattern in TOPICS if re.search(pattern, lead)
    ]
    cluster = next((cid for cid, pattern in CLUSTERS if re.search(pattern, item.headline)),
                   f"c-{item.id[:8]}")
    language = (item.language or "").split("-")[0] or None
    english = TRANSLATIONS.get(item.headline)
    translation = None
    if language and language != "en":
        translation = Translation(
            status=TranslationStatus.partial if english else TranslationStatus.no_pair,
            source_language=language, backend="docs-fixture", headline=english,
        )
    return item.model_copy(update={"enrichment": Enrichment(
        language=LanguageResult(code=language, confidence=1.0, method="docs-fixture"),
        enriched_at=FETCHED, pipeline_version=PIPELINE, translation=translation,
        entities=entities, places=places, topics=topics, cluster_id=cluster,
    )})


def corpus() -> tuple[list[NewsItem], list[NewsItem]]:
    """(first batch, later versions): the samples, enriched; then a kill, an
    embargo and an update of three of them."""
    items: list[NewsItem] = []
    for name, (source, language) in SOURCES.items():
        result = parse_document(
            (SAMPLES / name).read_bytes(),
            source=SourceRef(id=source, language=language),
            fetched_at=FETCHED,
        )
        items += [enrich(i) for i in result.items]
    by_headline = {i.headline: i for i in items}
    later = []
    for headline, change in (
        (KILLED, {"pubstatus": PubStatus.canceled}),
        (EMBARGOED, {"embargoed": datetime(2099, 1, 1, tzinfo=UTC)}),
        (UPDATED, {"headline": f"{UPDATED}; one dead"}),
    ):
        original = by_headline[headline]
        later.append(original.model_copy(update={
            "version": original.version + 1,
            "versioncreated": original.versioncreated + timedelta(hours=2),
            **change,
        }))
    return items, later


# ---------------------------------------------------------------- the examples
@dataclass(frozen=True)
class Example:
    name: str
    requires: str | None
    method: str
    path: str
    body: Any
    output: Any
    output_span: tuple[int, int]  # where the output JSON sits in the file


EXAMPLE = re.compile(
    r"<!-- example: (?P<name>[\w-]+)(?: requires=(?P<requires>[\w-]+))? -->\s*"
    r"```json\n(?P<method>GET|POST) (?P<path>\S+)\n(?P<body>.*?)```\s*"
    r"<!-- output: (?P=name) -->\s*```json\n(?P<output>.*?)```",
    re.S,
)


def examples(text: str) -> list[Example]:
    found = []
    for m in EXAMPLE.finditer(text):
        body = m.group("body").strip()
        found.append(Example(
            name=m.group("name"), requires=m.group("requires"), method=m.group("method"),
            path=m.group("path"), body=json.loads(body) if body else None,
            output=json.loads(m.group("output")) if m.group("output").strip() else None,
            output_span=m.span("output"),
        ))
    return found


DOC_TEXT = DOC.read_text() if DOC.exists() else ""
EXAMPLES = examples(DOC_TEXT)


@pytest.fixture(scope="module", params=["cluster-analysis", "no-dictionaries"])
def docs_index(
    request: pytest.FixtureRequest, es_admin: Elasticsearch, settings: Settings
) -> Iterator[dict[str, Any]]:
    """The corpus indexed twice: with the analysis the cluster supports, and
    as on a cluster without hunspell dictionaries (stop words only), where
    every example not marked ``requires=hunspell`` must give the same output."""
    plan = probe_analysis(es_admin) if request.param == "cluster-analysis" else AnalysisPlan()
    with scratch_prefix(es_admin) as prefix:
        run_setup(es_admin, prefix, plan=plan)
        first, later = corpus()
        writer = es_client(settings)
        indexer = BulkIndexer(writer, prefix)
        assert len(indexer.write(first).indexed) == len(first)
        assert len(indexer.write(later).indexed) == len(later)
        # an id merged into Donald Trump's after a consumer stored it
        publish_groups(writer, IndexNames(prefix), [("Q22686", ["Q22686", MERGED_ID])])
        writer.close()
        es_admin.indices.refresh(index=f"{prefix}-*")
        yield {"prefix": prefix, "hunspell": plan.hunspell, "plan": request.param}


def run(settings: Settings, prefix: str, example: Example) -> Any:
    assert example.path.startswith("/wirestream-news/"), example.path
    path = prefix + example.path[len("/wirestream-news"):]
    body = json.loads(json.dumps(example.body).replace('"wirestream-news-entities"',
                                                       json.dumps(f"{prefix}-entities")))
    secret = settings.es.reader_password
    assert secret is not None
    response = httpx.request(
        example.method, f"{settings.es.url}/{path}", json=body, timeout=30,
        auth=(settings.es.reader_username, secret.get_secret_value()),
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_the_document_has_examples() -> None:
    assert len(EXAMPLES) >= 12, "docs/search.md examples not found"
    assert len({e.name for e in EXAMPLES}) == len(EXAMPLES), "example names must be unique"


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_documented_query_gives_the_documented_output(
    example: Example, docs_index: dict[str, Any], settings: Settings
) -> None:
    actual = run(settings, docs_index["prefix"], example)
    if example.requires == "hunspell" and not {"de", "en", "pt"} <= docs_index["hunspell"]:
        # without the dictionaries (deploy/elasticsearch/hunspell-locales.txt)
        # the query still runs, and finds only what needs no stemming: fewer
        # of the documented hits, none else
        found = actual.get("hits", {}).get("hits", [])
        documented = example.output["hits"]["hits"]
        assert all(hit in documented for hit in found)
        assert len(found) < len(documented)
        return
    if UPDATE and docs_index["plan"] == "cluster-analysis":
        _rewrite(example, actual)
        return
    assert actual == example.output


def _rewrite(example: Example, actual: Any) -> None:
    text = DOC.read_text()
    current = examples(text)
    match = next(e for e in current if e.name == example.name)
    start, end = match.output_span
    DOC.write_text(text[:start] + json.dumps(actual, indent=2, ensure_ascii=False) + "\n"
                   + text[end:])


def documented_fields(text: str) -> set[str]:
    section = text.split("## Document fields", 1)[-1].split("\n## ", 1)[0]
    names = set()
    for cell in re.findall(r"^\| (`[^|]+`) \|", section, re.M):
        for name in re.findall(r"`([^`]+)`", cell):
            if "<lang>" in name:
                names |= {name.replace("<lang>", code) for code in TEXT_LANGUAGES}
            elif "<type>" in name:
                names |= {name.replace("<type>", t)
                          for t in ("person", "org", "gpe", "loc", "event", "norp")}
            else:
                names.add(name)
    return names


def mapped_fields(properties: dict[str, Any], prefix: str = "") -> set[str]:
    names = set()
    for name, spec in properties.items():
        names.add(prefix + name)
        names |= {f"{prefix}{name}.{sub}" for sub in spec.get("fields", {})}
        if "properties" in spec:
            names |= mapped_fields(spec.get("properties", {}), f"{prefix}{name}.")
    return names


def test_every_mapped_field_is_documented() -> None:
    mapped = mapped_fields(mappings()["properties"])
    documented = documented_fields(DOC_TEXT)
    assert mapped - documented == set(), "fields missing from docs/search.md"
    assert documented - mapped == set(), "docs/search.md describes fields that do not exist"


def test_the_cli_sends_the_documented_request() -> None:
    from services.index.search import SearchFilters, search_body

    [documented] = [e for e in EXAMPLES if e.name == "cli-search"]
    filters = SearchFilters(lang="pt", topic="medtop:11000000", since="2018-01-01")
    assert search_body("Trump", filters, 10) == documented.body
