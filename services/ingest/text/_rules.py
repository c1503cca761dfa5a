"""Boilerplate rules: data (``boilerplate.yaml`` beside the package, plus
any operator files) that drop or cut paragraphs, compiled per language into
a plan that runs few regex calls per paragraph."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml

from services.ingest.text._clean import (
    LINK_MACRO,
    SPACE_BUT_TAB_RE,
    SPACE_RE,
    has_markers,
    remove_link_markers,
)
from services.ingest.text._gates import (
    SCRIPT_LETTERS,
    Gate,
    anchored,
    fold_case,
    gate_for,
    required_script,
)
from shared import yaml_data
from shared.errors import ConfigError

__all__ = [
    "DEFAULT_BOILERPLATE_PATH", "DROP_TAGS", "BoilerplateRule", "BoilerplateRules", "HtmlDrop",
    "default_boilerplate_rules", "load_boilerplate_rules", "strip_boilerplate",
]

DEFAULT_BOILERPLATE_PATH = Path(__file__).parent.parent / "boilerplate.yaml"


# Elements whose whole subtree is dropped. Names are local names (namespace
# stripped) so XHTML/NITF inline XML works the same as parsed HTML.
DROP_TAGS = frozenset(
    {
        "script", "style", "noscript", "template", "iframe", "object", "embed",
        "form", "button", "input", "select", "textarea", "nav", "aside", "svg",
        "canvas", "figure", "picture", "video", "audio", "img", "map", "head",
        "header", "footer", "title", "meta", "link",
        # NITF: body.head repeats headline/byline/dateline, body.end holds the
        # tagline; media is an embedded photo/video reference.
        "body.head", "body.end", "media", "docdata",
        # trafilatura's XML: images
        "graphic",
    }
)  # fmt: skip


@dataclass(frozen=True)
class HtmlDrop:
    tags: frozenset[str]
    class_tokens: frozenset[str]


@dataclass(frozen=True)
class BoilerplateRule:
    pattern: re.Pattern[str]
    action: Literal["drop", "cut"] = "drop"
    where: Literal["any", "tail"] = "any"
    links: bool = False  # match against text that still has link markers
    # "drop" rules only look at paragraphs up to this length: boilerplate is
    # short, and the cap keeps a bad pattern from scanning megabytes.
    max_chars: int = 400
    origin: str = ""


@dataclass(frozen=True)
class BoilerplateRules:
    by_language: Mapping[str, tuple[BoilerplateRule, ...]] = field(default_factory=dict)
    html_drop: HtmlDrop = field(
        default_factory=lambda: HtmlDrop(tags=DROP_TAGS, class_tokens=frozenset())
    )

    def for_language(self, language: str | None) -> tuple[BoilerplateRule, ...]:
        primary = (language or "").split("-")[0].split("_")[0].lower()
        if primary and primary in self.by_language:
            return self.by_language.get("*", ()) + self.by_language[primary]
        if primary:
            return self.by_language.get("*", ())
        # unknown language: every rule (they are anchored and specific)
        rules: list[BoilerplateRule] = list(self.by_language.get("*", ()))
        for lang, lang_rules in sorted(self.by_language.items()):
            if lang != "*":
                rules.extend(lang_rules)
        return tuple(rules)


def _rule_from_data(entry: Any, origin: str) -> BoilerplateRule:
    if isinstance(entry, str):
        entry = {"pattern": entry}
    if not isinstance(entry, dict) or not isinstance(entry.get("pattern"), str):
        raise ConfigError(f"{origin}: each rule needs a 'pattern' string, got {entry!r}")
    action = entry.get("action", "drop")
    where = entry.get("where", "any")
    if action not in ("drop", "cut") or where not in ("any", "tail"):
        raise ConfigError(f"{origin}: bad action/where in rule {entry!r}")
    source = entry["pattern"].replace("{link}", LINK_MACRO)
    try:
        compiled = re.compile(source, re.IGNORECASE)
    except re.error as exc:
        raise ConfigError(f"{origin}: bad pattern {entry['pattern']!r}: {exc}") from exc
    return BoilerplateRule(
        pattern=compiled,
        action=action,
        where=where,
        links=bool(entry.get("links", "{link}" in entry["pattern"])),
        max_chars=int(entry.get("max_chars", 400)),
        origin=origin,
    )


def load_boilerplate_rules(
    extra_paths: Sequence[Path | str] = (), *, base: Path | None = DEFAULT_BOILERPLATE_PATH
) -> BoilerplateRules:
    """Read the shipped rules plus operator files (same schema, merged: rules
    are appended per language, HTML drop lists are unioned). Bad files raise
    :class:`ConfigError`, so a worker with a broken rule file fails at boot."""
    by_language: dict[str, list[BoilerplateRule]] = {}
    tags = set(DROP_TAGS)
    classes: set[str] = set()
    paths = ([base] if base is not None else []) + [Path(p) for p in extra_paths]
    for path in paths:
        try:
            data = yaml_data.load_table(path.read_text(encoding="utf-8"), str(path))
        except (OSError, yaml.YAMLError, UnicodeDecodeError, yaml_data.TableError) as exc:
            raise ConfigError(f"cannot read boilerplate rules {path}: {exc}") from exc
        html_part = data.get("html") or {}
        tags.update(str(t).lower() for t in html_part.get("drop_tags") or [])
        classes.update(str(c).lower() for c in html_part.get("drop_classes") or [])
        languages = data.get("languages") or {}
        if not isinstance(languages, dict):
            raise ConfigError(f"{path}: 'languages' must be a mapping")
        for lang, entries in languages.items():
            key = str(lang).lower()
            for i, entry in enumerate(entries or []):
                rule = _rule_from_data(entry, f"{path.name}:{key}[{i}]")
                by_language.setdefault(key, []).append(rule)
    return BoilerplateRules(
        by_language={k: tuple(v) for k, v in by_language.items()},
        html_drop=HtmlDrop(tags=frozenset(tags), class_tokens=frozenset(classes)),
    )


@lru_cache(maxsize=1)
def default_boilerplate_rules() -> BoilerplateRules:
    """The shipped rules, read once per process."""
    return load_boilerplate_rules()


def _drops(rule: BoilerplateRule, text: str) -> bool:
    subject = text if rule.links else remove_link_markers(text)
    return len(subject) <= rule.max_chars and rule.pattern.search(subject) is not None


def _apply(rule: BoilerplateRule, paragraph: str) -> str | None:
    """The paragraph after the rule: unchanged, cut, or None when dropped.
    Drop rules look at each line of a multi-line paragraph on its own (a
    "Quelle: ..." line under a table, a promo line after a <br>)."""
    if rule.action == "drop":
        if "\n" not in paragraph:
            return None if _drops(rule, paragraph) else paragraph
        lines = paragraph.split("\n")
        kept = [line for line in lines if not _drops(rule, line)]
        if len(kept) == len(lines):
            return paragraph
        return "\n".join(kept) or None
    subject = paragraph if rule.links else remove_link_markers(paragraph)
    cut = rule.pattern.sub("", subject)
    if cut == subject:
        return paragraph
    cut = SPACE_RE.sub(" ", cut).strip()
    return cut or None


@dataclass(frozen=True)
class _Plan:
    """The active rules of one language, compiled for speed: the drop rules
    that ignore link markers are merged into one alternation per length cap
    and anchoring (one regex call per short line instead of one per rule;
    the rules anchored at the start with ``^`` are tried at position 0 only,
    ``re.match``, instead of at every position; the rules that can only match
    a line with a Cyrillic or Greek letter run only on lines that have one),
    the others run one by one, in file order, each behind a gate (None: no
    gate) that skips it when the text lacks the script or every one of the
    literal strings that any match of the rule needs: a cheap ``in`` test
    instead of a regex scan that tries the rule at every position."""

    merged_drops: tuple[tuple[int, re.Pattern[str] | None,
                              Callable[[str], re.Match[str] | None]], ...]
    other_anywhere: tuple[tuple[BoilerplateRule, Gate | None], ...]
    tail: tuple[tuple[BoilerplateRule, Gate | None], ...]


# rules object id -> (the rules, kept alive so the id stays theirs; plans by language)
_PLANS: dict[int, tuple[BoilerplateRules, dict[str | None, _Plan]]] = {}


def _plan(rules: BoilerplateRules, language: str | None) -> _Plan:
    entry = _PLANS.get(id(rules))
    if entry is None or entry[0] is not rules:
        if len(_PLANS) > 32:  # rule sets are built once per process; stay bounded
            _PLANS.clear()
        entry = _PLANS[id(rules)] = (rules, {})
    plans = entry[1]
    if language not in plans:
        plans[language] = _build_plan(rules, language)
    return plans[language]


def _build_plan(rules: BoilerplateRules, language: str | None) -> _Plan:
    active = rules.for_language(language)
    anywhere = [r for r in active if r.where == "any"]
    by_cap: dict[tuple[int, bool, str], list[str]] = {}
    others: list[BoilerplateRule] = []
    for rule in anywhere:
        if rule.action == "drop" and not rule.links:
            pattern = rule.pattern.pattern
            key = (rule.max_chars, anchored(pattern), required_script(pattern) or "")
            by_cap.setdefault(key, []).append(pattern)
        else:
            others.append(rule)
    merged = []
    for (cap, at_start, script), patterns in sorted(by_cap.items()):
        compiled = re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)
        gate = SCRIPT_LETTERS[script] if script else None
        merged.append((cap, gate, compiled.match if at_start else compiled.search))
    return _Plan(tuple(merged), tuple((r, gate_for(r.pattern.pattern)) for r in others),
                 tuple((r, gate_for(r.pattern.pattern)) for r in active if r.where == "tail"))


def _apply_all(gated: Sequence[tuple[BoilerplateRule, Gate | None]],
               paragraph: str) -> str | None:
    """Each rule in turn (:func:`_apply`), skipping those the paragraph cannot
    match; the paragraph is case-folded once for all the gates and again
    only after a rule changed it."""
    current: str | None = paragraph
    folded: str | None = None
    for rule, gate in gated:
        if current is None:
            return None
        if gate is not None:
            if gate.literals and folded is None:
                folded = fold_case(current)
            if not gate.may_match(current, folded):
                continue
        changed = _apply(rule, current)
        if changed is not current:
            folded = None
        current = changed
    return current


def _merged_drop(plan: _Plan, paragraph: str) -> str | None:
    """Apply the merged drop rules line by line (like :func:`_apply`)."""
    if not plan.merged_drops:
        return paragraph
    lines = paragraph.split("\n")
    kept = []
    for line in lines:
        subject = remove_link_markers(line)
        dropped = any(
            len(subject) <= cap
            and (gate is None or (not subject.isascii() and gate.search(subject) is not None))
            and find(subject) is not None
            for cap, gate, find in plan.merged_drops
        )
        if not dropped:
            kept.append(line)
    if len(kept) == len(lines):
        return paragraph
    return "\n".join(kept) or None


def strip_boilerplate(
    paragraphs: Sequence[str], language: str | None, rules: BoilerplateRules | None = None
) -> list[str]:
    """Apply the rules; returns paragraphs without link markers."""
    plan = _plan(rules or default_boilerplate_rules(), language)
    kept: list[str] = []
    for paragraph in paragraphs:
        current: str | None = _merged_drop(plan, paragraph)
        before = current
        if current is not None and plan.other_anywhere:
            current = _apply_all(plan.other_anywhere, current)
        if current is not None and current != before:
            # a cut may leave a short line that a drop rule now matches
            current = _merged_drop(plan, current)
        if current is not None:
            kept.append(current)
    # Tail rules peel paragraphs off the end while any rule still matches the
    # last one (a bio after a "read more" link after a share line ...).
    tail = plan.tail
    budget = 4 * len(kept) + 16  # every pass shortens the text; this is a backstop
    while kept and tail and budget > 0:
        budget -= 1
        last = kept[-1]
        changed = _apply_all(tail, last)
        if changed is None:
            kept.pop()
            continue
        if changed != last:
            kept[-1] = changed
            continue
        break
    cleaned = [
        SPACE_BUT_TAB_RE.sub(" ", remove_link_markers(p)).strip() if has_markers(p)
        else p.strip()
        for p in kept
    ]
    return [p for p in cleaned if p]
