"""Section signals: the section a publisher filed a story under, as an IPTC
Media Topic top level (``data/sections.yaml``, operator-editable).

A story's sections are its feed categories (``provider_keywords``: RSS/Atom
``<category>``, JSON Feed tags) and the first two segments of its URL path,
each read case-insensitively with "-" and "_" as spaces ("police-justice" is
"police justice"). :func:`section_topics` is pure; the topic step uses its
result as a prior for the learned model (services.enrich.topics.with_model).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

from shared import yaml_data
from shared.errors import ConfigError
from shared.models import NewsItem

__all__ = ["DATA", "SectionMap", "item_sections", "load_sections", "section_topics",
           "suggestions"]

DATA = Path(__file__).parent / "data" / "sections.yaml"
_CODE = re.compile(r"medtop:\d{8}")
_SEPARATORS = re.compile(r"[-_\s]+")


@dataclass(frozen=True)
class SectionMap:
    prior: float
    score: float
    names: dict[str, str]  # normalised section name -> Media Topic
    sources: dict[str, dict[str, str]] = field(default_factory=dict)  # per source id


def _norm(name: str) -> str:
    return _SEPARATORS.sub(" ", name.strip().casefold()).strip()


def _names(table: object, where: str) -> dict[str, str]:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected topic code -> list of section names")
    out: dict[str, str] = {}
    for code, names in table.items():
        if not _CODE.fullmatch(code) or not isinstance(names, list):
            raise ConfigError(f"{where}: {code!r} is not a Media Topic code with a list")
        for name in names:
            key = _norm(str(name))
            if key in out and out[key] != code:
                raise ConfigError(f"{where}: section {name!r} maps to {out[key]} and {code}")
            out[key] = code
    return out


def load_sections(path: Path = DATA) -> SectionMap:
    """Parse the mapping; a broken file is a ConfigError at boot."""
    try:
        data = yaml_data.load_table(path.read_text(encoding="utf-8"), str(path))
    except (OSError, yaml.YAMLError, yaml_data.TableError) as exc:
        raise ConfigError(f"cannot read section mapping {path}: {exc}") from exc
    sources = data.get("sources") or {}
    if not isinstance(sources, dict):
        raise ConfigError(f"{path}: sources must map source ids to their sections")
    prior, score = float(data.get("prior", 6.0)), float(data.get("score", 0.6))
    if prior < 1 or not 0 < score <= 1:
        raise ConfigError(f"{path}: prior must be at least 1 and score in (0, 1]")
    return SectionMap(prior, score, _names(data.get("topics") or {}, str(path)),
                      {str(k): _names(v, f"{path}: sources.{k}") for k, v in sources.items()})


def item_sections(item: NewsItem) -> list[str]:
    """The section names a story carries: feed categories, then the first
    two segments of its URL path, normalised."""
    names = [_norm(k) for k in item.provider_keywords]
    for url in (item.url, item.canonical_url):
        if url:
            names += [_norm(s) for s in urlparse(url).path.split("/") if s][:2]
            break
    return [n for n in dict.fromkeys(names) if n]


def section_topics(item: NewsItem, sections: SectionMap) -> list[tuple[str, str]]:
    """(Media Topic, the section name that said it) per topic, first section
    first; the source's own names win over the shared ones."""
    own = sections.sources.get(item.source, {})
    out: dict[str, str] = {}
    for name in item_sections(item):
        code = own.get(name) or sections.names.get(name)
        if code and code not in out:
            out[code] = name
    return list(out.items())


def suggestions(documents: Iterable[dict[str, Any]], sections: SectionMap, least: int = 5
                ) -> list[tuple[str, int, str, float]]:
    """Section names of indexed documents (their ``_source``) that the
    mapping does not know, each with how many documents carry it, the top
    level its documents were most often given first, and that share:
    (name, documents, topic, share), most frequent first, for names on at
    least ``least`` documents. A name whose stories mostly share one topic
    is a candidate line for data/sections.yaml."""
    counts: dict[str, dict[str, int]] = {}
    for doc in documents:
        item = NewsItem.model_construct(
            provider_keywords=[str(k) for k in doc.get("provider_keywords") or []],
            url=doc.get("url"), canonical_url=doc.get("canonical_url"),
            source=str(doc.get("source") or ""))
        tops = [str(t.get("code")) for t in doc.get("topics") or [] if t.get("level") == 1]
        own = sections.sources.get(item.source, {})
        for name in item_sections(item):
            if name in own or name in sections.names:
                continue
            row = counts.setdefault(name, {})
            topic = tops[0] if tops else "-"
            row[topic] = row.get(topic, 0) + 1
    out = []
    for name, row in counts.items():
        total = sum(row.values())
        if total >= least:
            topic, hits = max(row.items(), key=lambda kv: kv[1])
            out.append((name, total, topic, hits / total))
    return sorted(out, key=lambda r: (-r[1], r[0]))
