"""People found by their given name, in languages no model of ours reads.

A run of capitalised words whose first word is a known given name, in any
case form ("Donald Tusk", "Donaldem Tuskiem", "Swiatłaną Cichanouską",
"Recep Tayyip Erdoğan", "Marcelo Rebelo de Sousa"), is a person. The given
names come from the ``nam_dict.txt`` table shipped in the ``gender-guesser``
package (about 45,000 given names of Europe and beyond with the countries
that use them; data under the GNU Free Documentation License, read as
published). Latin-script words match without their accents ("Luís" is
"Luis"); words in another script match by :func:`services.enrich.names.fold`
("Володимир" is "Volodymyr").

A word is a given name when its folded form is one; in a language whose
names take case endings (:data:`INFLECTING`), also when it is one plus an
ending of at most three letters (Donald -> Donaldem), or a name ending in a
vowel less the vowel plus such an ending (Swiatłana -> Swiatłany). Names
shorter than four letters must match exactly. The run goes on over capitalised words and
surname particles ("de", "von der"), at most five words, and ends on a
capitalised word; a run of one word is not a person.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources

from unidecode import unidecode

from services.enrich.names import fold, is_latin

__all__ = ["GivenNames", "load_given_names"]

MAX_WORDS = 5
MIN_LETTERS = 3
# Lower-case words that stand inside a surname; joiners ("y", "e", "i",
# "und") are not among them: "Felipe VI y Letizia" is two people.
PARTICLES = frozenset({
    "de", "da", "do", "dos", "das", "di", "del", "della", "van", "von", "der", "den", "ter",
    "la", "le", "du", "bin", "ben", "ibn", "al", "el", "zu", "af", "av",
})
# languages whose names take case endings (Donald -> Donaldem, Tuskiem)
INFLECTING = frozenset({"pl", "uk", "ru", "be", "cs", "sk", "sl", "hr", "sr", "bs", "bg", "lt",
                        "lv"})
_WORD = re.compile(r"[^\W\d_]+(?:[-'\u2019\u02bc][^\W\d_]+)*")
_VOWELS = frozenset("aeiouy")
_ROMAN = re.compile(r"[IVX]{1,4}")  # "Felipe VI"
_SENTENCE_START = re.compile(r"(?:^|[.!?:;…\n])[\s\"«„“(]*$")
_LINE_HEAD = re.compile(r"^(?:1M|\?M|1F|\?F|M|F|\?)\s+(\S+)")


@dataclass(frozen=True)
class GivenNames:
    """Folded given names; :meth:`find` is pure."""

    names: frozenset[str]  # Latin script, accents dropped, lower case
    folded: frozenset[str]  # by :func:`fold`, for names in another script
    # capitalised words that are far more often something else at the head
    # of a capitalised run ("Santa Catarina", "Saint Louis")
    stop: frozenset[str] = frozenset()

    def is_given(self, word: str, inflected: bool = False) -> bool:
        """``word`` is a given name; with ``inflected`` (a Slavic language),
        in any case form."""
        key = _plain(word)
        if key in self.stop or len(key) < MIN_LETTERS:
            return False
        keys = [(key, self.names)] if is_latin(word) else []
        if inflected or not keys:
            # a Slavic spelling of a name of another Slavic language
            # ("Wołodymyr", "Swiatłana") matches by the folded key
            keys.append((fold(word), self.folded))
        for key, names in keys:
            if key in names:
                return True
            if len(key) < 4 or not inflected:
                continue
            for cut in (1, 2, 3):
                stem = key[:-cut]
                if len(stem) >= 4 and (stem in names or any(stem + v in names for v in _VOWELS)):
                    return True
        return False

    def find(self, text: str, language: str,
             is_place: Callable[[str], bool] = lambda _: False) -> list[tuple[int, int]]:
        """``(start, end)`` of every person named by a given name and at
        least one more capitalised word, in text order, without overlaps;
        a run ``is_place`` knows ("Santa Catarina") is not a person."""
        inflected = language in INFLECTING
        words = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(text)]
        # a word also written in lower case in the text is an ordinary word
        lowered = {w for _, _, w in words if w[:1].islower()}
        out: list[tuple[int, int]] = []
        i = 0
        while i < len(words):
            start, _, word = words[i]
            # a sentence's first word is capitalised anyway: it must be a
            # given name as written, not a case form ("Заява Умєрова")
            first = _SENTENCE_START.search(text, max(0, start - 8), start) is not None
            if not (word[:1].isupper() and word.lower() not in lowered
                    and self.is_given(word, inflected and not first)):
                i += 1
                continue
            last = i
            j = i + 1
            while j < len(words) and j - i < MAX_WORDS:
                if text[words[j - 1][1]:words[j][0]] not in (" ", "\u00a0"):
                    break
                nxt = words[j][2]
                if nxt[:1].isupper() and (not nxt.isupper() or _ROMAN.fullmatch(nxt)):
                    last = j
                elif nxt.isupper():
                    break  # an acronym ("Армія РФ") is not a surname
                elif nxt not in PARTICLES:
                    break
                j += 1
            if last == i or is_place(text[start:words[last][1]]):
                i += 1
                continue
            out.append((start, words[last][1]))
            i = last + 1
        return out


def _read_table() -> list[str]:
    path = resources.files("gender_guesser") / "data" / "nam_dict.txt"
    return path.read_text(encoding="utf-8").splitlines()


# The table's frequency columns (one character per country from column 30,
# in this order); names used only in East and South Asia are left out: they
# are short syllables that collide with ordinary words ("Sao", "Bang").
COUNTRIES = (
    "great_britain", "ireland", "usa", "italy", "malta", "portugal", "spain", "france",
    "belgium", "luxembourg", "the_netherlands", "east_frisia", "germany", "austria", "swiss",
    "iceland", "denmark", "norway", "sweden", "finland", "estonia", "latvia", "lithuania",
    "poland", "czech_republic", "slovakia", "hungary", "romania", "bulgaria", "bosniaand",
    "croatia", "kosovo", "macedonia", "montenegro", "serbia", "slovenia", "albania", "greece",
    "russia", "belarus", "moldova", "ukraine", "armenia", "azerbaijan", "georgia", "the_stans",
    "turkey", "arabia", "israel", "china", "india", "japan", "korea", "vietnam",
    "other_countries")
_LEFT_OUT = frozenset({"china", "india", "japan", "korea", "vietnam", "other_countries"})
_KEPT_COLUMNS = tuple(30 + n for n, c in enumerate(COUNTRIES) if c not in _LEFT_OUT)


# Capitalised words of the table that head place names and titles far more
# often than people's names ("Santa Catarina", "Los Reyes", "Rio Grande")
STOP = frozenset({"Santa", "Santo", "San", "Sao", "Saint", "Sainte", "Sankt", "Reyes", "Rio",
                  "Papa", "Mar", "Monte", "Porto", "Villa", "Nova", "Nowa", "Gran", "Grand"})


@cache
def load_given_names(stop: frozenset[str] = STOP) -> GivenNames:
    """The given names of the shipped table used in Europe, the Americas or
    West Asia, keyed twice (about 0.5 s, once per process)."""
    plain: set[str] = set()
    folded: set[str] = set()
    for line in _read_table():
        if not line or line[0] in "#=":
            continue
        head = _LINE_HEAD.match(line)
        if head is None or not any(line[c:c + 1].strip() for c in _KEPT_COLUMNS):
            continue
        for variant in {head.group(1).replace("+", sep) for sep in ("", "-")}:
            plain.add(_plain(variant))
            folded.add(_fold_uncached(variant))  # keep fold's cache for running text
    return GivenNames(frozenset(plain), frozenset(folded),
                      frozenset(_plain(w) for w in stop))


_fold_uncached = fold.__wrapped__


def _plain(word: str) -> str:
    return unidecode(word).lower()
