"""What any match of a regular expression needs, read from its parse tree
(CPython's ``re._parser``): a letter of one script, one of a few literal
strings, a start anchor. The boilerplate rules use it to skip a rule with a
cheap test (:class:`Gate`) instead of a regex scan, and to merge the rules
anchored at the start into one ``re.match``."""

from __future__ import annotations

import re
import re._casefix as re_casefix  # type: ignore[import-not-found]  # the regex engine's case classes
import re._parser as re_parser  # type: ignore[import-not-found]  # the stdlib regex parser
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["SCRIPT_LETTERS", "Gate", "anchored", "fold_case", "gate_for", "required_literals",
           "required_script"]


@dataclass(frozen=True)
class Gate:
    """What every match of a rule needs: a letter of ``script`` and/or one of
    the ``literals`` (case-folded). Link markers hold no letters, so testing
    the paragraph with its markers is safe."""

    script: re.Pattern[str] | None
    literals: tuple[str, ...]

    def may_match(self, text: str, folded: str | None = None) -> bool:
        """``folded`` is ``fold_case(text)`` when the caller has it."""
        if self.script is not None and (text.isascii() or self.script.search(text) is None):
            return False
        if self.literals:
            folded = fold_case(text) if folded is None else folded
            return any(literal in folded for literal in self.literals)
        return True


def gate_for(pattern: str) -> Gate | None:
    """The gate of a rule's pattern; None when a match needs no script and no
    literal."""
    script = required_script(pattern)
    literals = required_literals(pattern) or ()
    if not script and not literals:
        return None
    return Gate(SCRIPT_LETTERS[script] if script else None, literals)


# The regex engine matches a character against a literal, case ignored, when
# their simple lower cases are equal or in one of a few extra classes (long s
# and s, micro and mu, final and plain sigma ...). str.lower() is the simple
# lower case for every character except U+0130 (which it turns into two).
_CASE_CLASSES = {
    chr(code): chr(min(code, *others))
    for code, others in re_casefix._EXTRA_CASES.items()
    if min(others) < code
}


_CASE_CLASS_RE = re.compile("[" + "".join(sorted(_CASE_CLASSES)) + "]")


def fold_case(value: str) -> str:
    """A case folding under which ``literal`` (case ignored) matches somewhere
    in ``text`` exactly when ``fold_case(literal) in fold_case(text)``, as
    Python's regex engine decides it with ``re.IGNORECASE``."""
    if value.isascii():
        return value.lower()
    value = value.replace("\u0130", "i").lower()
    if _CASE_CLASS_RE.search(value) is None:
        return value
    return _CASE_CLASS_RE.sub(lambda m: _CASE_CLASSES[m.group()], value)


# Letters of a script, with every character outside its main block that
# case-folds to one of them (re.IGNORECASE): Cyrillic Extended-B/C/D,
# Greek Extended, MICRO SIGN, OHM SIGN, COMBINING YPOGEGRAMMENI.
SCRIPT_LETTERS = {
    "cyrillic": re.compile("[\u0400-\u052f\u1c80-\u1c8f\u2de0-\u2dff\ua640-\ua69f]"),
    "greek": re.compile("[\u0370-\u03ff\u1f00-\u1fff\u00b5\u0345\u2126]"),
}


def _script_of(code: int) -> str | None:
    if 0x0400 <= code <= 0x052F:
        return "cyrillic"
    if 0x0370 <= code <= 0x03FF:
        return "greek"
    return None


def required_script(pattern: str) -> str | None:
    """``"cyrillic"`` or ``"greek"`` when every match of ``pattern`` (case
    ignored) contains a letter of that script, found conservatively from the
    parsed pattern: a literal or character class of that script that no
    match can skip (not optional, not in a lookaround; in a branch, in every
    alternative). None when unsure."""
    try:
        parsed = re_parser.parse(pattern, re.IGNORECASE)
    except re.error:
        return None
    return _sequence_script(list(parsed))


def _sequence_script(items: Sequence[tuple[Any, Any]]) -> str | None:
    for op, av in items:
        found = _item_script(str(op), av)
        if found:
            return found
    return None


def _item_script(op: str, av: Any) -> str | None:
    if op == "LITERAL":
        return _script_of(av)
    if op == "IN":
        scripts = set()
        for member_op, member in av:
            if str(member_op) == "LITERAL":
                scripts.add(_script_of(member))
            elif str(member_op) == "RANGE":
                low, high = _script_of(member[0]), _script_of(member[1])
                scripts.add(low if low == high else None)
            else:  # NEGATE, CATEGORY ...: any script
                return None
        return scripts.pop() if len(scripts) == 1 else None
    part = _required_part(op, av)
    if part is not None:
        return _sequence_script(part)
    if op == "BRANCH":
        found = {_sequence_script(list(alternative)) for alternative in av[1]}
        return found.pop() if len(found) == 1 else None
    return None


# A literal gate is worth its ``in`` tests only when its strings are this long.
_MIN_LITERAL = 3


def required_literals(pattern: str) -> tuple[str, ...] | None:
    """Case-folded strings of which every match of ``pattern`` (case ignored)
    contains at least one, found conservatively from the parsed pattern: the
    first run of literal characters (or branch whose every alternative has
    one) that no match can skip, each string at least three characters.
    The strings are folded with :func:`fold_case`, so a text that could match
    has ``literal in fold_case(text)`` for one of them. None when unsure."""
    try:
        parsed = re_parser.parse(pattern, re.IGNORECASE)
    except re.error:
        return None
    found = _sequence_literals(list(parsed))
    return tuple(sorted(found)) if found else None


def _sequence_literals(items: Sequence[tuple[Any, Any]]) -> set[str] | None:
    run: list[str] = []
    for op, av in items:
        if str(op) == "LITERAL":
            run.append(chr(av))
            continue
        if len(run) >= _MIN_LITERAL:
            return {fold_case("".join(run))}
        run = []
        found = _item_literals(str(op), av)
        if found:
            return found
    return {fold_case("".join(run))} if len(run) >= _MIN_LITERAL else None


def _required_part(op: str, av: Any) -> list[tuple[Any, Any]] | None:
    """The items every match of a parsed group goes through: a group's body,
    or that of a repeat that runs at least once; None for other items."""
    if op == "SUBPATTERN":
        return list(av[-1])
    if op == "ATOMIC_GROUP":
        return list(av)
    if op in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        low, _, sub = av
        return list(sub) if low >= 1 else None
    return None


def _item_literals(op: str, av: Any) -> set[str] | None:
    part = _required_part(op, av)
    if part is not None:
        return _sequence_literals(part)
    if op == "BRANCH":
        found: set[str] = set()
        for alternative in av[1]:
            literals = _sequence_literals(list(alternative))
            if not literals:
                return None
            found |= literals
        return found
    return None


def anchored(pattern: str) -> bool:
    """True when every match of ``pattern`` starts at position 0: it begins
    with ``^`` and has no top-level ``|`` (whose other branch could match
    anywhere). Escapes and character classes are skipped."""
    if not pattern.startswith("^"):
        return False
    depth, in_class, i = 0, False, 1
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            if pattern[i + 1:i + 2] == "^":
                i += 1
            if pattern[i + 1:i + 2] == "]":  # "[]...]", "[^]...]": that "]" is a member
                i += 1
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            return False
        i += 1
    return True
