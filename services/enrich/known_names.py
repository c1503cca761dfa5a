"""The gazetteer pass: names the entity registry already knows, found in
text of any language and script.

For a document in a language no recogniser reads (and no translation
reaches), the people and organisations the registry has met in other
documents are still found: "Donalda Tuska" and "Дональдом Туском" are
Donald Tusk once a story in any language named him. Each registry key
("PERSON:donald tusk", folded by :func:`services.enrich.names.fold`, so
script and spelling variants share it) is a known name; a person's surname
alone is known too when it is long enough not to be a common word.

Matching is on words that start with a capital letter (a name in running
text does, in every language we read), folded the same way; a word matches
a known word when it is equal, or when it is the known word plus a case
ending of at most three letters (Tusk -> Tuska, Tuskiem; Putin -> Putinu),
or, for a known word of five letters or more ending in a vowel, the known
word less that vowel plus an ending of at most four letters (Zelenski ->
Zelenskiego, Zelenskim; Lukashenka -> Lukashenki). Longest match first; no
overlaps. Short words (under four letters) must match exactly.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from services.enrich.names import fold, given_name_spellings
from shared.errors import ServiceUnavailable

__all__ = ["KnownNames", "KnownNamesCache", "is_form_of"]

# Types worth finding by name alone: nationalities and events are too
# often ordinary words.
TYPES = frozenset({"PERSON", "ORG"})
MAX_WORDS = 5
MIN_SURNAME = 4
_WORD = re.compile(r"\w+(?:[-'\u2019]\w+)*")
_VOWELS = frozenset("aeiouy")


def is_form_of(word: str, known: str) -> bool:
    """``word`` is ``known`` or one of its case forms (both folded; the
    rules of the module docstring; never a form of the other gender of an
    adjectival surname, :data:`_OTHER_GENDER`)."""
    if word == known:
        return True
    if len(known) < 4 or not word.startswith(known[:-1]):
        return False
    if any(known.endswith(stem) and word.endswith(_OTHER_GENDER[stem])
           for stem in _OTHER_GENDER):
        return False
    if known.endswith("ska") and word[len(known) - 1:] in ("i", "ii"):
        return False  # Zełenski, Зеленский: the man's nominative, not a case of -ska
    if word.startswith(known) and len(word) - len(known) <= 3:
        return True
    return len(known) >= 5 and known[-1] in _VOWELS and len(word) - len(known) + 1 <= 4


# Slavic surnames that are adjectives decline by gender: a case form of the
# man's name is never the woman's ("Zełenskiego", "Zełenskiemu" are not
# forms of Zełenska; "Zełenskiej", "Zełenska" not of Zełenski). Folded
# endings of the nominative -> endings of the other gender's forms.
_OTHER_GENDER = {
    "ka": ("ego", "emu", "ogo", "omu", "im"),
    "ki": ("a", "ei", "oi", "iu"),
}


# A registry key holds a person's given name in its Wikidata form
# ("vladimir" for Volodymyr, Wolodymyr, Wołodymyr ...): every spelling of
# its items matches it (services.enrich.names.given_name_spellings).


@dataclass(frozen=True)
class _Entry:
    words: tuple[str, ...]
    type: str

    def matches(self, folded: list[str], at: int) -> bool:
        last = len(self.words) - 1
        for k, known in enumerate(self.words):
            word = folded[at + k]
            if is_form_of(word, known):
                continue
            if self.type == "PERSON" and k < last and any(
                    is_form_of(word, spelling) for spelling in given_name_spellings(known)):
                continue
            return False
        return True


class KnownNames:
    """An immutable index of known names; :meth:`find` is pure."""

    def __init__(self, names: Iterable[tuple[str, str]]) -> None:
        """``names``: (type, folded name) pairs, e.g. ("PERSON", "donald tusk")."""
        self._by_prefix: dict[str, list[_Entry]] = {}
        self._types: dict[str, set[str]] = {}
        seen: set[_Entry] = set()
        for kind, name in names:
            words = tuple(name.split())
            if kind not in TYPES or not words or len(words) > MAX_WORDS:
                continue
            self._types.setdefault(" ".join(words), set()).add(kind)
            entries = [_Entry(words, kind)]
            if kind == "PERSON" and len(words) > 1 and len(words[-1]) >= MIN_SURNAME:
                entries.append(_Entry(words[-1:], kind))
            for entry in entries:
                if entry not in seen and (len(entry.words) > 1 or len(entry.words[0]) >= 4):
                    seen.add(entry)
                    first = entry.words[0]
                    spellings = (given_name_spellings(first) if kind == "PERSON"
                                 and len(entry.words) > 1 else ())
                    for prefix in {first[:3], *(s[:3] for s in spellings)}:
                        self._by_prefix.setdefault(prefix, []).append(entry)
        for entries in self._by_prefix.values():
            entries.sort(key=lambda e: -len(e.words))
        self.size = len(seen)

    def types_of(self, name: str) -> frozenset[str]:
        """The types the registry holds the folded ``name`` under as a whole
        name ("ORG" for "bloomberg"; not a person's surname alone)."""
        return frozenset(self._types.get(name, ()))

    def find(self, text: str) -> list[tuple[int, int, str, str]]:
        """(start, end, type, known name) of every known name in ``text``,
        longest first, without overlaps. The known name is the registry's
        folded form, capitalised ("Donald Tusk" for "Donalda Tuska"), so the
        mention's key is the registry's key."""
        words = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(text)]
        folded = [fold(w) for _, _, w in words]
        out: list[tuple[int, int, str, str]] = []
        index = 0
        while index < len(words):
            start, _, word = words[index]
            match = None
            if word[:1].isupper():
                for entry in self._by_prefix.get(folded[index][:3], ()):
                    n = len(entry.words)
                    if index + n <= len(words) and all(
                            words[index + k][2][:1].isupper() or len(entry.words[k]) <= 3
                            for k in range(n)) and entry.matches(folded, index):
                        match = entry
                        break
            if match is None:
                index += 1
                continue
            n = len(match.words)
            out.append((start, words[index + n - 1][1], match.type,
                        " ".join(w.capitalize() for w in match.words)))
            index += n
        return out


class KnownNamesCache:
    """The current :class:`KnownNames` of a worker process, rebuilt from the
    registry when older than ``max_age`` seconds (new names reach every
    worker within that time). A failed rebuild keeps the old index and
    tries again after ``max_age``."""

    def __init__(self, load: Callable[[], KnownNames], max_age: float = 300.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._load = load
        self.max_age = max_age
        self._clock = clock
        self._names: KnownNames | None = None
        self._at = float("-inf")

    def current(self) -> KnownNames:
        now = self._clock()
        if self._names is None or now - self._at >= self.max_age:
            self._at = now
            try:
                self._names = self._load()
            except (ServiceUnavailable, OSError):  # the registry is down: keep what we had
                if self._names is None:
                    raise
        return self._names
