# ruff: noqa: RUF001, RUF002, RUF003  (docstrings and comments show Cyrillic examples on purpose)
"""How Russian and Ukrainian copy writes a Latin-script name.

Cyrillic copy does not transliterate a foreign name letter by letter; it
transcribes how the name is said in its own language, by that language's
practical rules: Giorgetti is Джорджетти (Italian ``gi``/``ge``), Hansi
Flick is Ханси Флик or Гансі Флік (German ``h``), Rutte is Рютте (Dutch
``u``), Yerlikaya is Ерликая (Turkish ``ye``), Xi Jinping is Си Цзиньпин
(pinyin by the Palladius system), Kowalczyk is Ковальчик (Polish ``cz``).
Folded (services.enrich.names.fold), the Cyrillic form and the Latin form
read by the right rules meet; the Latin form read as English does not.

A name does not say which language it is from, so :func:`readings` reads it
by every orthography of :data:`ORTHOGRAPHIES` and returns all the results.
The rules write what ``unidecode`` gives for the Cyrillic transcription
(ж ``zh``, х ``kh``, ц ``ts``, ч ``ch``, ш ``sh``, я ``ia``, ю ``iu``), so a
reading and the Cyrillic name fold to one string. :func:`soften` then
drops the ``i`` that marks a soft consonant before a vowel (Ляйен
``liaien``, Рютте ``riutte``), which Latin spellings never write.

The readings are keys for matching only (the entity registry joins a
Cyrillic and a Latin name when a reading of one is the other, under a key
of its own; see services.enrich.adapters.entity_registry); nobody reads them.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["ORTHOGRAPHIES", "readings", "soften"]

_V = "aeiouyàáâãäåèéêëìíîïòóôõöùúûüı"


class _Rules:
    """One orthography's rules, applied in one pass from left to right: at
    each position the first rule that matches writes its replacement, and
    what a rule wrote is never read again (``gi`` -> ``dzh`` keeps its
    ``z``, though ``z`` -> ``ts`` is a rule too)."""

    def __init__(self, *pairs: tuple[str, str]) -> None:
        self.replacements = [new for _, new in pairs]
        self.pattern = re.compile("|".join(f"({pattern})" for pattern, _ in pairs))

    def apply(self, text: str) -> str:
        return self.pattern.sub(lambda m: self.replacements[(m.lastindex or 1) - 1], text)


# Per source orthography, in order: regular expression -> what Cyrillic copy
# writes, romanised as unidecode romanises Cyrillic. A language with two
# conventions in Cyrillic copy has two entries (German h: Russian х,
# Ukrainian г; Polish ś: сь, or ш in the older spellings; European
# Portuguese final o and s: у, ш).
ORTHOGRAPHIES: dict[str, _Rules] = {
    "it": _Rules(("gli", "li"), ("gn", "n"), (r"sc(?=[ei])", "sh"), (r"ci(?=[aou])", "ch"),
                 (r"c(?=[ei])", "ch"), (r"gi(?=[aou])", "dzh"), (r"g(?=[ei])", "dzh"),
                 ("ch", "k"), ("gh", "g"), ("qu", "kv"), ("z", "ts"), ("h", ""), ("c", "k")),
    "de": _Rules(("tsch", "ch"), ("sch", "sh"), ("ch", "kh"), ("ck", "k"), ("e[iy]", "ai"),
                 ("[eä]u", "oi"), ("ie", "i"), ("ß", "ss"), ("z", "ts"), ("v", "f"), ("w", "v"),
                 ("qu", "kv"), (r"\bj", "i"), ("ä", "e"), ("ö", "e"), ("ü", "iu"),
                 (rf"(?<=[{_V}])h", ""), ("h", "kh")),
    "de-uk": _Rules(("tsch", "ch"), ("sch", "sh"), ("ch", "kh"), ("ck", "k"), ("e[iy]", "ai"),
                    ("[eä]u", "oi"), ("ie", "i"), ("ß", "ss"), ("z", "ts"), ("v", "f"),
                    ("w", "v"), ("qu", "kv"), (r"\bj", "i"), ("ä", "e"), ("ö", "e"),
                    ("ü", "iu"), (rf"(?<=[{_V}])h", ""), ("h", "g")),
    "fr": _Rules(("chr", "kr"), ("ean", "an"), ("eau", "o"), ("au", "o"), ("ou", "u"),
                 ("oi", "ua"), ("ph", "f"), ("ch", "sh"),
                 ("qu", "k"), ("gn", "n"), (rf"ill(?=[{_V}]|\b)", "i"), ("bapt", "bat"),
                 (r"c(?=[eéèiy])", "s"), (r"g(?=[eéèiy])", "zh"), ("j", "zh"), ("ç", "s"),
                 (r"(?<=[^aeiouy])e\b", ""), (r"(?<=[aeiouy])[stxdp]\b", ""), ("h", "")),
    "es": _Rules(("ll", "l"), ("j", "kh"), (r"gu(?=[eéií])", "g"), (r"g(?=[eéií])", "kh"),
                 ("qu", "k"), ("ñ", "ni"), (r"c(?=[eéií])", "s"), ("z", "s"), ("h", ""),
                 (r"y\b", "i")),
    "pt": _Rules(("lh", "l"), ("nh", "n"), ("ç", "s"), ("ch", "sh"), ("x", "sh"), ("j", "zh"),
                 (r"g(?=[eéêií])", "zh"), ("qu", "k"), ("ão", "an"), (r"c(?=[eéêií])", "s"),
                 ("h", "")),
    "pt-pt": _Rules(("lh", "l"), ("nh", "n"), ("ç", "s"), ("ch", "sh"), ("x", "sh"),
                    ("j", "zh"), (r"g(?=[eéêií])", "zh"), ("qu", "k"), ("ão", "an"),
                    (r"c(?=[eéêií])", "s"), ("h", ""), (r"o\b", "u"), (r"os\b", "ush"),
                    (r"s\b", "sh")),
    "pl": _Rules(("szcz", "shch"), ("sz", "sh"), ("cz", "ch"), ("rz", "zh"), ("ch", "kh"),
                 (r"ski\b", "skii"), (r"cki\b", "tskii"), (r"ska\b", "skaia"),
                 (r"cka\b", "tskaia"), ("ś", "s"), ("ć", "ch"), ("ń", "n"), ("[żź]", "zh"),
                 ("ł", "l"), ("w", "v"), ("ie", "e"), ("c", "ts"), ("ó", "u"), ("ą", "on"),
                 ("ę", "en")),
    "pl-old": _Rules(("szcz", "shch"), ("sz", "sh"), ("cz", "ch"), ("rz", "zh"), ("ch", "kh"),
                     (r"ski\b", "skii"), (r"cki\b", "tskii"), (r"ska\b", "skaia"),
                     (r"cka\b", "tskaia"), ("ś", "sh"), ("ć", "ch"), ("ń", "n"),
                     ("[żź]", "zh"), ("ł", "l"), ("w", "v"), ("ie", "e"), ("c", "ts"),
                     ("ó", "u"), ("ą", "on"), ("ę", "en")),
    "tr": _Rules(("ç", "ch"), ("ş", "sh"), ("ğ", "g"), ("ı", "y"), ("c", "dzh"), ("j", "zh"),
                 (r"\bye", "e"), ("ö", "e"), ("ü", "iu")),
    "nl": _Rules(("oe", "u"), ("ij", "ei"), ("ui", "ei"), ("sch", "skh"), ("ch", "kh"),
                 (r"u(?=[^aeiou]|\b)", "iu"), ("ee", "e"), ("oo", "o"), ("aa", "a"),
                 ("g", "kh"), ("w", "v"), ("j", "i")),
    # pinyin by the Palladius system (Xi Jinping: Си Цзиньпин; Zhou: Чжоу)
    "zh": _Rules(("zh", "chzh"), ("x", "s"), ("q", "ts"), ("j", "tsz"), (r"z(?!h)", "tsz"),
                 (r"c(?!h)", "ts"), (r"\br|(?<=[^aeiou])r", "zh"), ("ong", "un"),
                 (r"(?<=[ei])ng\b", "n"), ("ng", "n"), (r"\byi", "i"), (r"\byu", "iu"),
                 (r"\by", "i"), (r"\bwu", "u"), ("w", "v"), ("ie", "e"), ("h", "kh")),
    "en": _Rules((r"\bj", "dzh"), ("th", "t"), ("ee", "i"), ("oo", "u")),
}

# a word of pinyin syllables (Xi, Jinping, Wang, Zhou): only such names are
# read by the Palladius rules, which would make "Frier" "Фжиер"
_PINYIN = re.compile(
    "(?:(?:zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?"
    "(?:iang|iong|uang|ueng|iao|ian|ing|ang|eng|ong|uai|uan|ai|ei|ao|ou|an|en|er|ia|ie"
    "|iu|in|ua|uo|ui|un|ue|a|o|e|i|u|ü))+")
_SOFT = re.compile("i(?=[aeou])")
_DOUBLE = re.compile(r"(.)\1+")


def soften(folded: str) -> str:
    """A folded name less the ``i`` of a soft consonant before a vowel, and
    doubled letters collapsed (``liaien`` -> ``laen``, ``riute`` -> ``rute``)."""
    return _DOUBLE.sub(r"\1", _SOFT.sub("", folded))


@lru_cache(maxsize=65536)
def readings(name: str) -> frozenset[str]:
    """The Latin-script ``name`` as Cyrillic copy might transcribe it, one
    form per orthography of :data:`ORTHOGRAPHIES`, in lower case (not yet
    folded); empty for a name with a non-Latin letter."""
    lowered = " ".join(name.lower().split())
    if any(ch.isalpha() and not ("a" <= ch <= "z" or "à" <= ch <= "ž" or ch == "ı")
           for ch in lowered):
        return frozenset()
    pinyin = all(_PINYIN.fullmatch(w) for w in re.split(r"[\s-]+", lowered) if w)
    return frozenset(rules.apply(lowered) for name, rules in ORTHOGRAPHIES.items()
                     if name != "zh" or pinyin)
