"""IPTC Media Topics: transparent, operator-tunable rules plus the agency's
own subject codes.

The vocabulary and the rules are data (``data/topics.yaml``): all 17
top-level Media Topics and the second level we classify, each with
multilingual keywords, entity triggers and weights. :func:`load_rules`
compiles them once per process; :func:`classify` is pure.

Scoring (``topics-2``): every keyword hit counts 3 in the headline, 2 in the
summary, 1 in the body, times the topic's weight; each listed entity present
counts as one body hit per mention (capped at 3), an entity type trigger
adds its weight per entity. A second-level topic's raw score also counts
for its parent. ``score = raw / (raw + 4)``: one headline hit gives 0.43,
a body-only single hit 0.2. Top-level topics at or above ``min_score`` are
kept (``max_topics`` of them, best first); second-level ones need the same
score and a kept parent.

Agency codes (:func:`provider_topics`): Media Topic codes (``medtop:`` or
the cv.iptc.org URI) are kept as they are; old IPTC subject codes (``subj:``,
the subjectcode URI, bare 8-digit codes and schemes derived from it like
TT's ``subref``) map to their Media Topic top level, or to the second level
listed in the YAML's ``subjectcodes``. Each keeps ``origin`` =
``provider:<scheme>`` and the agency's code in ``source_code``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from shared import yaml_data
from shared.errors import ConfigError
from shared.mediatopics import media_topics
from shared.models import Entity, NewsItem, Subject, TopicScore, Translation

__all__ = ["TopicRule", "TopicRules", "classify", "load_rules", "provider_topics",
           "with_model", "with_sections"]

DATA = Path(__file__).parent / "data" / "topics.yaml"
FIELD_WEIGHT = {"headline": 3.0, "summary": 2.0, "body_text": 1.0}
SATURATION = 4.0
ENTITY_CAP = 3
# Bodies are long; what a story is about shows early. Reading the first
# 6,000 characters bounds the cost per document.
BODY_CHARS = 6000


_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class _Keys:
    """The first word of every keyword of a rule in one language. The
    rule's pattern can match a text only if the text has one of the
    ``exact`` words or a word starting with one of the ``prefixes``
    (``elect*``), so most rules skip the regex scan of most documents.
    ``always`` is set when a keyword starts without a word character."""

    exact: frozenset[str] = frozenset()
    prefixes: frozenset[str] = frozenset()
    always: bool = False

    def may_match(self, words: set[str], stems: set[str]) -> bool:
        return (self.always or not self.exact.isdisjoint(words)
                or not self.prefixes.isdisjoint(stems))


@dataclass
class TopicRule:
    code: str
    label: str
    level: int
    parent: str | None
    weight: float = 1.0
    patterns: dict[str, re.Pattern[str]] = field(default_factory=dict)
    # per language, the first words of the keywords (see _Keys)
    keys: dict[str, _Keys] = field(default_factory=dict)
    entities: frozenset[str] = frozenset()
    entity_types: dict[str, float] = field(default_factory=dict)
    places: frozenset[str] = frozenset()
    # an operator's rule: when it fires, its topic is kept first, whatever
    # the learned model says (with_model)
    override: bool = False


@dataclass
class TopicRules:
    version: str
    rules: list[TopicRule]
    by_code: dict[str, TopicRule]
    subjectcodes: dict[str, str]
    min_score: float = 0.3
    max_topics: int = 3
    max_subtopics: int = 3
    # per language, the lengths of the keyword prefixes (``elect*`` is 5)
    prefix_lengths: dict[str, frozenset[int]] = field(default_factory=dict)


# Case-insensitive matching by folding the text once (fold) and compiling
# patterns of folded keywords without re.IGNORECASE, which costs a third more
# per pattern. The replacements keep what IGNORECASE matched that str.lower()
# alone would not: dotted capital I (Istanbul) and the final sigma (the one
# a text holds and the one lower() makes of a word-final capital sigma).
# str.replace, not str.translate with a table: translate looks every
# character of a non-ASCII text up in a dict.


def fold(text: str) -> str:
    return text.replace("\u0130", "I").lower().replace("\u03c2", "\u03c3")


def _keywords(words: Iterable[str]) -> list[str]:
    return [k for k in (fold(str(w).strip()) for w in words) if k]


def _pattern(words: Iterable[str]) -> re.Pattern[str] | None:
    """One pattern for a rule's keywords in one language: whole words,
    any whitespace between the words of a phrase, and a word ending in ``*``
    as a prefix (``elect*``, ``prisoner* of war``)."""
    parts = [
        r"\s+".join(re.escape(w[:-1]) + r"\w*" if w.endswith("*") else re.escape(w)
                    for w in keyword.split())
        for keyword in _keywords(words)
    ]
    if not parts:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(sorted(parts, key=len, reverse=True)) + r")(?!\w)")


def _keys(words: Iterable[str]) -> _Keys:
    exact: set[str] = set()
    prefixes: set[str] = set()
    always = False
    for keyword in _keywords(words):
        first = keyword.split()[0]
        run = _WORD.match(first)
        if run is None:
            always = True
        elif first == run.group() + "*":
            prefixes.add(run.group())
        else:  # a whole word, or one joined by punctuation (cease-fire, s&p)
            exact.add(run.group())
    return _Keys(frozenset(exact), frozenset(prefixes), always)


def _rule(entry: dict[str, Any], level: int, parent: str | None) -> TopicRule:
    try:
        code, label = str(entry["code"]), str(entry["label"])
    except KeyError as exc:
        raise ConfigError(f"topic entry without code/label: {entry!r}") from exc
    patterns, keys = {}, {}
    for lang, words in (entry.get("keywords") or {}).items():
        compiled = _pattern(words or [])
        if compiled is not None:
            patterns[str(lang)] = compiled
            keys[str(lang)] = _keys(words)
    return TopicRule(
        code=code, label=label, level=level, parent=parent,
        weight=float(entry.get("weight", 1.0)), patterns=patterns, keys=keys,
        entities=frozenset(str(e).casefold() for e in entry.get("entities") or []),
        entity_types={str(k): float(v) for k, v in (entry.get("entity_types") or {}).items()},
        places=frozenset(str(p).upper() for p in entry.get("places") or []),
        override=entry.get("override") is True,
    )


def load_rules(path: Path = DATA) -> TopicRules:
    """Parse and compile the YAML; a broken file is a ConfigError at boot."""
    try:
        data = yaml_data.load_table(path.read_text(encoding="utf-8"), str(path))
    except (OSError, yaml.YAMLError, yaml_data.TableError) as exc:
        raise ConfigError(f"cannot read topic rules {path}: {exc}") from exc
    rules: list[TopicRule] = []
    for top in data.get("topics") or []:
        parent = _rule(top, 1, None)
        rules.append(parent)
        rules.extend(_rule(child, 2, parent.code) for child in top.get("children") or [])
    lengths: dict[str, set[int]] = {}
    for rule in rules:
        for lang, keys in rule.keys.items():
            lengths.setdefault(lang, set()).update(len(p) for p in keys.prefixes)
    return TopicRules(
        version=str(data.get("version", "")),
        rules=rules,
        by_code={r.code: r for r in rules},
        subjectcodes={str(k): str(v) for k, v in (data.get("subjectcodes") or {}).items()},
        min_score=float(data.get("min_score", 0.3)),
        max_topics=int(data.get("max_topics", 3)),
        max_subtopics=int(data.get("max_subtopics", 3)),
        prefix_lengths={lang: frozenset(n) for lang, n in lengths.items()},
    )


def _texts(item: NewsItem, language: str | None,
           translation: Translation | None) -> list[tuple[str, str, str]]:
    """(language, field, text) to match: the original in its language and,
    for a translated document, the English text too."""
    lang = (language or "").split("-")[0].lower()
    out = []
    for name in FIELD_WEIGHT:
        original = getattr(item, name)
        if original and lang:
            out.append((lang, name, fold(original[:BODY_CHARS])))
        english = getattr(translation, name, None) if translation is not None else None
        if english and lang != "en":
            out.append(("en", name, fold(english[:BODY_CHARS])))
    return out


def classify(
    item: NewsItem,
    language: str | None,
    translation: Translation | None,
    entities: Sequence[Entity],
    rules: TopicRules,
) -> list[TopicScore]:
    """Ranked rule-based Media Topics of one document (origin ``rules``)."""
    texts = []
    for lang, name, text in _texts(item, language, translation):
        words = set(_WORD.findall(text))
        lengths = rules.prefix_lengths.get(lang, frozenset())
        stems = {w[:n] for w in words for n in lengths if n <= len(w)}
        texts.append((lang, FIELD_WEIGHT[name], text, words, stems))
    # each entity's names, case-folded once rather than once per rule
    named = [(entity, {entity.name.casefold(), *(v.casefold() for v in entity.variants)})
             for entity in entities]
    raw: dict[str, float] = {}
    for rule in rules.rules:
        score = 0.0
        for lang, weight, text, words, stems in texts:
            pattern = rule.patterns.get(lang)
            if pattern is not None and rule.keys[lang].may_match(words, stems):
                score += weight * len(pattern.findall(text))
        for entity, names in named:
            if rule.entities and not names.isdisjoint(rule.entities):
                score += min(ENTITY_CAP, max(1, len(entity.mentions)))
            score += rule.entity_types.get(entity.type, 0.0)
            if entity.country_code and entity.country_code in rule.places:
                score += 1.0
        if score:
            raw[rule.code] = score * rule.weight
    for code, value in list(raw.items()):
        parent = rules.by_code[code].parent
        if parent:
            raw[parent] = raw.get(parent, 0.0) + value
    scored = {code: value / (value + SATURATION) for code, value in raw.items()}
    tops = sorted((c for c in scored if rules.by_code[c].level == 1
                   and scored[c] >= rules.min_score), key=lambda c: -scored[c])
    tops = tops[:rules.max_topics]
    kept_parents = set(tops)
    subs = sorted((c for c in scored if rules.by_code[c].level == 2
                   and rules.by_code[c].parent in kept_parents
                   and scored[c] >= rules.min_score), key=lambda c: -scored[c])
    subs = subs[:rules.max_subtopics]
    out = []
    for code in [*tops, *subs]:
        rule = rules.by_code[code]
        out.append(TopicScore(code=code, label=rule.label, score=round(scored[code], 4),
                              level=rule.level, parent=rule.parent, origin="rules"))
    return sorted(out, key=lambda t: (-t.score, t.level))


POLITICS, CONFLICT = "medtop:11000000", "medtop:16000000"


def with_model(probabilities: dict[str, float], found: Sequence[TopicScore],
               rules: TopicRules, min_probability: float, sections: Sequence[str] = (),
               prior: float = 1.0, section_score: float = 0.6) -> list[TopicScore]:
    """The topics of a document from the learned model's calibrated
    ``probabilities`` (Media Topic top level -> probability) and the rules'
    ``found`` (:func:`classify`):

    * the model decides the top levels it knows: those at or above
      ``min_probability``, best first (origin ``model``, score = its
      probability);
    * its training data (Wikinews) files war and peace under "politics and
      conflicts": a model politics is conflict, war and peace when the rules
      rank conflict above politics (origin ``model+rules``);
    * a top level the model does not know (religion, labour, society ...)
      comes from the rules when they are sure of it (origin ``rules``);
    * second-level topics come from the rules, under a kept top level;
    * the story's ``sections`` (services.enrich.sections: the topics its
      publisher's sections map to) make their topics ``prior`` times likelier
      before the rest (origin ``model+section``), and stand for a topic the
      model does not know (origin ``section``, score ``section_score``);
    * a top level whose rule the operator marked ``override: true`` comes
      first when the rule fires (origin ``rules:override``).

    At most ``rules.max_topics`` top levels, best first."""
    known = set(probabilities)
    boosted = {c for c in sections if c in known}
    if boosted and prior != 1.0:
        weighted = {c: p * (prior if c in boosted else 1.0) for c, p in probabilities.items()}
        total = sum(weighted.values()) or 1.0
        probabilities = {c: p / total for c, p in weighted.items()}
    rule_tops = {t.code: t for t in found if t.level == 1}
    tops: list[TopicScore] = []
    for code, p in sorted(probabilities.items(), key=lambda kv: -kv[1]):
        if p < min_probability:
            break
        origin = "model"
        conflict = rule_tops.get(CONFLICT)
        if (code == POLITICS and conflict is not None and CONFLICT not in known
                and conflict.score >= getattr(rule_tops.get(POLITICS), "score", 0.0)):
            code, origin = CONFLICT, "model+rules"
        rule = rules.by_code.get(code)
        if rule is None or any(t.code == code for t in tops):
            continue
        if code in boosted:
            origin += "+section"
        tops.append(TopicScore(code=code, label=rule.label, score=round(p, 4), level=1,
                               origin=origin))
    for code, topic in rule_tops.items():
        if code not in known and not any(t.code == code for t in tops):
            tops.append(topic)
    tops = _with_sections(tops, [c for c in sections if c not in known], rules, section_score)
    # an operator's override rule that fired comes first, at its rule score
    forced = [t.model_copy(update={"origin": "rules:override"}) for t in rule_tops.values()
              if rules.by_code[t.code].override]
    forced_codes = {t.code for t in forced}
    tops = forced + sorted((t for t in tops if t.code not in forced_codes),
                           key=lambda t: -t.score)
    tops = tops[:rules.max_topics]
    kept = {t.code for t in tops}
    subs = [t for t in found if t.level == 2 and t.parent in kept][:rules.max_subtopics]
    return [*tops[:len(forced)], *sorted([*tops[len(forced):], *subs],
                                         key=lambda t: (-t.score, t.level))]


def _with_sections(tops: list[TopicScore], sections: Sequence[str], rules: TopicRules,
                   score: float) -> list[TopicScore]:
    out = list(tops)
    for code in sections:
        rule = rules.by_code.get(code)
        if rule is None or rule.level != 1:
            continue
        same = next((t for t in out if t.code == code), None)
        if same is None:
            out.append(TopicScore(code=code, label=rule.label, score=score, level=1,
                                  origin="section"))
        elif same.score < score:
            out[out.index(same)] = same.model_copy(update={"score": score,
                                                           "origin": "section"})
    return out


def with_sections(found: Sequence[TopicScore], sections: Sequence[str], rules: TopicRules,
                  score: float) -> list[TopicScore]:
    """The rules' topics with the story's section topics (when there is no
    learned model): a section topic at ``score`` unless the rules are surer."""
    tops = _with_sections([t for t in found if t.level == 1], sections, rules, score)
    tops = sorted(tops, key=lambda t: -t.score)[:rules.max_topics]
    kept = {t.code for t in tops}
    subs = [t for t in found if t.level == 2 and t.parent in kept][:rules.max_subtopics]
    return sorted([*tops, *subs], key=lambda t: (-t.score, t.level))


_DIGITS = re.compile(r"(\d{8})$")


def _subject_kind(subject: Subject) -> tuple[str, str] | None:
    """('medtop' | 'subjectcode', 8-digit code) for IPTC codes, else None."""
    code = subject.code.strip()
    scheme = (subject.scheme or "").lower()
    match = _DIGITS.search(code)
    if match is None:
        return None
    digits = match.group(1)
    lowered = code.lower()
    if lowered.startswith("medtop:") or "mediatopic" in lowered or scheme in ("medtop",) \
            or "mediatopic" in scheme:
        return "medtop", digits
    if (lowered.startswith(("subj:", "iptc:")) or "subjectcode" in lowered
            or "subj" in scheme or "subref" in scheme or "subref" in lowered
            or (not scheme and code == digits)):
        return "subjectcode", digits
    return None


def provider_topics(subjects: Sequence[Subject], rules: TopicRules) -> list[TopicScore]:
    """Agency subject codes as Media Topics, with their origin kept (and the
    parents ingest added from the IPTC vocabulary, services.ingest.parsers)."""
    vocabulary = media_topics()
    out: dict[str, TopicScore] = {}
    for subject in subjects:
        kind = _subject_kind(subject)
        if kind is None:
            continue
        family, digits = kind
        if family == "medtop":
            code = f"medtop:{digits}"
        else:
            code = rules.subjectcodes.get(digits) or f"medtop:{digits[:2]}000000"
        rule = rules.by_code.get(code)
        known = vocabulary.get(code)
        if family == "subjectcode" and rule is None:
            continue  # a subject code whose top level is not a Media Topic (none today)
        origin_scheme = "medtop" if family == "medtop" else "subjectcode"
        out.setdefault(code, TopicScore(
            code=code,
            # our rules' English label, else the IPTC vocabulary's
            label=rule.label if rule else (known.name("en") if known
                                           else (subject.name or code)),
            score=1.0,
            level=rule.level if rule else (known.level if known else 0),  # 0: unknown code
            parent=rule.parent if rule else (known.parent if known else None),
            origin=f"provider:{origin_scheme}",
            source_code=subject.code,
        ))
    return list(out.values())
