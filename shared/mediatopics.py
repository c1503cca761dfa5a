"""The IPTC Media Topics vocabulary the project ships
(shared/data/mediatopics.tsv.gz, CC BY 4.0, IPTC; shared/data/README.md): every
topic's parent, level, names in 14 languages, the IPTC Subject Code it
stands for and its Wikidata item.

Ingest uses it to give an agency's codes their hierarchy and names
(services.ingest.parsers), enrichment to place provider codes deeper than
its own rules (services.enrich.topics). Loaded once per process,
:func:`media_topics`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from shared.datafiles import gzipped_text
from shared.errors import ConfigError

__all__ = ["VOCABULARY", "MediaTopic", "MediaTopics", "media_topics", "subjectcode_parents"]

VOCABULARY = Path(__file__).with_name("data") / "mediatopics.tsv.gz"
# a language of ours -> the vocabulary's name column (others: English)
_NAME_COLUMN = {"pt-br": "pt-br", "pt": "pt", "nb": "nb", "no": "nb", "nn": "nn", "sv": "sv",
                "da": "da", "de": "de", "fr": "fr", "es": "es", "ar": "ar", "zh": "zh",
                "en": "en", "en-us": "en-us"}


@dataclass(frozen=True)
class MediaTopic:
    code: str  # medtop:20000189
    parent: str | None
    level: int  # 1 = top level
    retired: bool
    subjectcodes: tuple[str, ...]  # 8-digit IPTC Subject Codes it stands for
    wikidata: str | None
    names: dict[str, str] = field(default_factory=dict)  # column code -> name

    def name(self, language: str | None = None) -> str:
        """The name in ``language`` (a BCP 47 tag) when the vocabulary has
        one, else the English one."""
        tag = (language or "en").lower().replace("_", "-")
        for key in (tag, tag.split("-")[0]):
            column = _NAME_COLUMN.get(key)
            if column and self.names.get(column):
                return self.names[column]
        return self.names.get("en") or self.code


class MediaTopics:
    def __init__(self, topics: dict[str, MediaTopic]) -> None:
        self._topics = topics
        self._by_subjectcode: dict[str, MediaTopic] = {}
        for topic in sorted(topics.values(), key=lambda t: (t.retired, t.level, t.code)):
            for digits in topic.subjectcodes:
                self._by_subjectcode.setdefault(digits, topic)

    def __len__(self) -> int:
        return len(self._topics)

    def get(self, code: str) -> MediaTopic | None:
        """The topic of ``medtop:NNNNNNNN`` (or of its URI form)."""
        digits = code.rsplit("/", 1)[-1].rsplit(":", 1)[-1]
        return self._topics.get(f"medtop:{digits}")

    def ancestors(self, code: str) -> Iterator[MediaTopic]:
        """The parent, its parent ... up to the top level."""
        topic = self.get(code)
        seen = set()
        while topic is not None and topic.parent and topic.parent not in seen:
            seen.add(topic.parent)
            topic = self._topics.get(topic.parent)
            if topic is not None:
                yield topic

    def for_subjectcode(self, digits: str) -> MediaTopic | None:
        """The Media Topic a Subject Code maps to, else the one its nearest
        parent code maps to (Subject Codes nest by their digits)."""
        for code in (digits, *subjectcode_parents(digits)):
            if topic := self._by_subjectcode.get(code):
                return topic
        return None


def subjectcode_parents(digits: str) -> list[str]:
    """The parents of an 8-digit IPTC Subject Code, nearest first: a subject
    detail 15054001 is under the subject matter 15054000, under the subject
    15000000."""
    if len(digits) != 8 or not digits.isdigit():
        return []
    out = []
    if digits[5:] != "000":
        out.append(digits[:5] + "000")
    if digits[2:] != "000000":
        out.append(digits[:2] + "000000")
    return out


def load(path: Path = VOCABULARY) -> MediaTopics:
    text = gzipped_text(path, "IPTC vocabulary", "scripts/build_iptc_vocabulary.py")
    lines = text.splitlines()
    header = lines[0].split("\t")
    topics = {}
    for number, line in enumerate(lines[1:], 2):
        values = dict(zip(header, line.split("\t"), strict=False))
        try:
            topic = MediaTopic(
                code=values["code"], parent=values["parent"] or None,
                level=int(values["level"]), retired=values["retired"] == "1",
                subjectcodes=tuple(c for c in values["subjectcodes"].split(",") if c),
                wikidata=values["wikidata"] or None,
                names={k[5:]: v for k, v in values.items() if k.startswith("name_") and v})
        except (KeyError, ValueError) as exc:
            raise ConfigError(f"IPTC vocabulary {path}:{number}: {exc}") from exc
        topics[topic.code] = topic
    return MediaTopics(topics)


@cache
def media_topics() -> MediaTopics:
    """The shipped vocabulary, read once per process."""
    return load()
