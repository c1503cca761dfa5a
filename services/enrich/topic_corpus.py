"""Training data of the topic model (services.enrich.topic_model).

The seed corpus ships with the project (``data/topics/mewsc16.tsv.gz``,
built by ``scripts/build_topic_corpus.py``): 64,393 Wikinews lead sentences
in 16 languages whose editors' category maps to an IPTC Media Topic top
level (:data:`MEWSC16_TOPICS`; Wikinews text, CC BY 2.5, attribution:
Wikinews contributors). Documents the system has indexed whose agency sent
Media Topic or IPTC subject codes, or whose publisher's section maps to a
topic (data/sections.yaml), label themselves and are added by ``wirestream
topics train --indexed`` (:func:`indexed_examples`).

Every example belongs to a fold by a hash of its text (:func:`fold_of`), so
cross-validation is the same on every machine and a sentence met twice is
never on both sides.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.enrich.sections import SectionMap
from shared.datafiles import gzipped_text
from shared.errors import ConfigError

__all__ = ["MEWSC16_TOPICS", "SEED_CORPUS", "Example", "fold_of", "indexed_examples",
           "seed_examples"]

ROOT = Path(__file__).resolve().parents[2]
SEED_CORPUS = ROOT / "data" / "topics" / "mewsc16.tsv.gz"

# Wikinews top-level categories (their English names in MewsC-16's
# categories.json) -> IPTC Media Topic top level. "Politics and conflicts"
# joins two Media Topics; its sentences train politics (war and peace is
# left to the rules). "Obituaries" has no top-level equivalent and is left
# out.
MEWSC16_TOPICS = {
    "Politics and conflicts": "medtop:11000000",
    "Sports": "medtop:15000000",
    "Economy and business": "medtop:04000000",
    "Crime and law": "medtop:02000000",
    "Culture and entertainment": "medtop:01000000",
    "Media": "medtop:01000000",
    "Disasters and accidents": "medtop:03000000",
    "Science and technology": "medtop:13000000",
    "Health": "medtop:07000000",
    "Weather": "medtop:17000000",
    "Environment": "medtop:06000000",
    "Education": "medtop:05000000",
}


@dataclass(frozen=True)
class Example:
    language: str
    topic: str  # a Media Topic top level, medtop:XX000000
    text: str
    origin: str  # "mewsc16", "provider", "section"


def fold_of(text: str, folds: int) -> int:
    return int(hashlib.sha1(text.encode("utf-8")).hexdigest()[:8], 16) % folds


def seed_examples(path: Path = SEED_CORPUS) -> list[Example]:
    """The shipped seed corpus, or a ConfigError saying how to build it."""
    raw = gzipped_text(path, "topic corpus", "scripts/build_topic_corpus.py")
    out = []
    for number, line in enumerate(raw.splitlines(), 1):
        parts = line.split("\t")
        if len(parts) != 3 or not parts[1].startswith("medtop:"):
            raise ConfigError(f"topic corpus {path}:{number}: not language/topic/text")
        out.append(Example(parts[0], parts[1], parts[2], "mewsc16"))
    return out


def indexed_examples(documents: Iterable[dict[str, Any]],
                     sections: SectionMap | None = None) -> Iterator[Example]:
    """Examples from indexed documents (their ``_source``) that label
    themselves: the top level of the agency's first code our vocabulary
    places (origin ``provider:...``; the code itself at level 1, its parent
    at level 2), else - with ``sections`` - the topic of the publisher's
    first mapped section (services.enrich.sections). The headline, summary
    and body start are the text (services.enrich.topic_model.document_text)."""
    from services.enrich.sections import section_topics
    from services.enrich.topic_model import document_text
    from shared.models import NewsItem

    for doc in documents:
        tops = [str(t["code"]) if t.get("level") == 1 else str(t.get("parent") or "")
                for t in doc.get("topics") or []
                if str(t.get("origin", "")).startswith("provider:") and t.get("code")]
        tops = [t for t in tops if t.startswith("medtop:")]
        origin = "provider"
        if not tops and sections is not None:
            item = NewsItem.model_construct(
                provider_keywords=[str(k) for k in doc.get("provider_keywords") or []],
                url=doc.get("url"), canonical_url=doc.get("canonical_url"),
                source=str(doc.get("source") or ""))
            tops, origin = [code for code, _ in section_topics(item, sections)][:1], "section"
        text = document_text(doc.get("headline"), doc.get("summary"), doc.get("body_text"))
        if tops and text:
            yield Example(str(doc.get("language") or "").split("-")[0], tops[0], text, origin)
