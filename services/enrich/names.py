# ruff: noqa: RUF001, RUF002, RUF003  (Cyrillic endings and examples on purpose)
"""Name normalisation: the keys that make spelling variants meet.

Contract (what the entity registry relies on): :func:`fold` maps spelling
and transliteration variants of one name to one string, and is stable - a
change here changes keys, so it bumps :data:`KEY_SCHEME`.

The scheme (``fold-2``), applied in order:

1. transliterate to ASCII with ``unidecode`` (Cyrillic by its BGN-like
   table: ``й`` -> ``i``, ``х`` -> ``kh``, ``ц`` -> ``ts``, ``ь`` -> ``'``;
   Latin diacritics dropped: ``Erdoğan`` -> ``Erdogan``);
2. lower case; apostrophes removed (``Zelens'kii`` -> ``zelenskii``); any
   other non-letter is a word break;
3. per word, the folds that transliteration schemes disagree on:
   ``sch`` -> ``sh``, ``kh`` -> ``h``, ``ph`` -> ``f``, ``ck``/``c``/``q`` -> ``k``
   (but ``ch`` stays), ``x`` -> ``ks``, ``w`` -> ``v``, ``j``/``y`` -> ``i``,
   ``z`` -> ``s``, ``ts`` -> ``s``;
4. doubled letters collapse (``zelenskii`` -> ``zelenski``).

So ``Zelensky``, ``Zelenskyy``, ``Zelenskiy``, ``Selenskyj``, ``Зеленский`` and
``Зеленський`` all fold to ``selenski``; ``Macron``/``Макрон`` to ``makron``;
``Scholz``/``Шольц`` to ``shols``. A person key's given name is then
replaced by its Wikidata-derived form (:func:`given_name_canonical`), so
given names that differ by more than spelling (``Volodymyr``/``Vladimir``)
meet too (``fold-1`` used a hand-written table of 17 Slavic and Arabic
names instead; the registry keeps ``fold-1`` keys and adds ``fold-2`` ones:
``wirestream entities rekey``). Given names the key still tells apart
(Serhii/Sergei: two Wikidata items) meet in the registry through
:func:`given_names_match`. ``fold-3`` leaves these keys as they were and
adds two kinds: cross-script keys (:func:`cross_script_keys`: a Latin name
as Cyrillic copy transcribes it, services.enrich.transcribe) and surname
skeletons read by every orthography. ``fold-4`` reads a word as a
particle only when it is written as one: "Lee", "Dell" and "Dee" fold to
"le", "del" and "de" but end a name as its surname ("Chang W. Lee" was keyed
as "chang v" before). Keys are for matching only; what people read is the
canonical name.
"""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher
from functools import cache, lru_cache
from pathlib import Path

from unidecode import unidecode

from services.enrich.transcribe import readings, soften

__all__ = [
    "KEY_SCHEME",
    "acronym",
    "clean_surface",
    "cross_script_keys",
    "feminine_given_readings",
    "fold",
    "fold_word",
    "given_name_canonical",
    "given_name_items",
    "given_name_spellings",
    "given_names_fit",
    "given_names_match",
    "is_latin",
    "name_key",
    "nicknames_related",
    "nominative_person",
    "person_parts",
    "surname_core",
    "surname_skeletons",
    "surname_surface",
    "surnames_alike",
]

KEY_SCHEME = "fold-4"

_APOSTROPHES = re.compile("['`\u2019\u02bc\u00b4\u02b9]")
_NON_LETTER = re.compile(r"[^a-z0-9]+")
_DOUBLE = re.compile(r"(.)\1+")

_WORD_FOLDS: tuple[tuple[str, str], ...] = (
    ("sch", "sh"),
    ("ch", "\x01"),  # protect "ch" from the c -> k fold
    ("kh", "h"),
    ("ph", "f"),
    ("ck", "k"),
    ("c", "k"),
    ("q", "k"),
    ("\x01", "ch"),
    ("x", "ks"),
    ("w", "v"),
    ("j", "i"),
    ("y", "i"),
    ("z", "s"),
    ("ts", "s"),
)

# Name particles that belong to the surname ("von der Leyen", "da Silva").
_PARTICLES = frozenset({"von", "van", "der", "den", "de", "da", "do", "dos", "das", "di",
                        "du", "del", "della", "la", "le", "al", "el", "bin", "ben", "ibn",
                        "ter"})

# Titles and honorifics stripped from the front of a person's name, longest
# first, in the languages we run NER on (English and Russian).
_TITLES = tuple(sorted((
    "president", "vice president", "prime minister", "deputy prime minister",
    "secretary of state", "secretary-general", "secretary general", "secretary",
    "foreign minister", "defence minister", "defense minister", "finance minister",
    "interior minister", "minister", "chancellor", "premier", "governor", "gov.",
    "senator", "sen.", "representative", "rep.", "congressman", "congresswoman",
    "mayor", "judge", "justice", "chief justice", "general", "gen.", "lt. gen.",
    "colonel", "col.", "admiral", "adm.", "commander", "king", "queen", "prince",
    "princess", "crown prince", "emperor", "pope", "cardinal", "archbishop", "bishop",
    "rabbi", "imam", "sheikh", "ayatollah", "sir", "dame", "lord", "lady", "mr", "mr.",
    "mrs", "mrs.", "ms", "ms.", "miss", "dr", "dr.", "prof", "prof.", "professor",
    "ceo", "chairman", "chairwoman", "spokesman", "spokeswoman", "ambassador",
    "former", "late", "acting", "then-president", "ex-president", "u.s.", "us",
    "президент", "премьер-министр", "премьер", "министр", "глава", "канцлер",
    "госсекретарь", "генсек", "генеральный секретарь", "мэр", "губернатор",
    "господин", "госпожа", "генерал", "патриарх", "спикер", "сенатор",
), key=len, reverse=True))

_TITLE_PREFIX = re.compile(
    "(?:" + "|".join(re.escape(t) for t in _TITLES) + r")\s+", re.IGNORECASE)
_POSSESSIVE = re.compile("(?:['\u2019]s|s['\u2019]|['\u2019])$", re.IGNORECASE)
_EDGE_JUNK = re.compile(r"^[\W_]+|(?<!\b[A-Z]\.)(?<!\b[A-Z])[\W_]+$")
_LEADING_THE = re.compile(r"^(?:the|a|an)\s+", re.IGNORECASE)


@cache
def fold_word(word: str) -> str:
    """Fold one already-ASCII lower-case word (step 3 and 4 of the scheme)."""
    for old, new in _WORD_FOLDS:
        word = word.replace(old, new)
    return _DOUBLE.sub(r"\1", word)


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """The matching key of a name: words folded and joined by one space."""
    return " ".join(fold_word(w) for w in _ascii_words(text))


@lru_cache(maxsize=65536)
def _ascii_words(text: str) -> tuple[str, ...]:
    """The words of ``text`` before the per-word folds: transliterated,
    lower case, apostrophes dropped, split at every other non-letter."""
    ascii_text = _APOSTROPHES.sub("", unidecode(text).lower())
    return tuple(w for w in _NON_LETTER.split(ascii_text) if w)


@lru_cache(maxsize=65536)
def is_latin(text: str) -> bool:
    """True when every letter of ``text`` is Latin script."""
    for ch in text:
        if ch.isalpha() and not unicodedata.name(ch, "").startswith("LATIN"):
            return False
    return True


def clean_surface(text: str, entity_type: str) -> str:
    """A mention as a name: whitespace collapsed, quotes and edge punctuation,
    a leading article, the possessive and (for people) leading titles
    removed. May return an empty string (nothing name-like was left)."""
    text = " ".join(text.split())
    text = _EDGE_JUNK.sub("", text)
    text = _POSSESSIVE.sub("", text)
    text = _EDGE_JUNK.sub("", text)
    if entity_type != "PERSON":
        return _LEADING_THE.sub("", text)
    while text and (match := _TITLE_PREFIX.match(text)):
        text = text[match.end():]
    return _EDGE_JUNK.sub("", text)


def person_parts(name: str) -> tuple[str, str]:
    """(given names, surname) of a cleaned person name, both folded; each
    given name in its :func:`given_name_canonical` form. The surname keeps
    its particles (``von der Leyen`` -> ``von der leien``); a one-word name
    is all surname; "Surname Given" in Cyrillic is recognised when the last
    word is a given name of the Wikidata table and the first is not."""
    # a particle is a word written as one: "Lee" and "Dell" fold to "le"
    # and "del" but are surnames ("Chang W. Lee", "Michael Dell")
    raw = list(_ascii_words(name))
    words = [fold_word(w) for w in raw]
    if not words:
        return "", ""
    canonical = given_name_canonical()
    # "Зеленський Володимир": agency metadata in Cyrillic often puts the
    # surname first; a known given name last and none first gives it away
    # (not in Latin script, where many surnames are given names too: Murray)
    if (len(words) == 2 and words[1] in canonical and words[0] not in canonical
            and len(words[0]) >= 3 and not is_latin(name)):
        words.reverse()
        raw.reverse()
    while len(words) > 1 and raw[-1] in _PARTICLES:
        words.pop()  # a name never ends in a particle ("Michael Phelps de")
        raw.pop()
    start = len(words) - 1
    while start > 0 and raw[start - 1] in _PARTICLES:
        start -= 1
    given = [canonical.get(w, w) for w in words[:start]]
    return " ".join(given), " ".join(words[start:])


_PARTICLES_FOLDED = frozenset(fold_word(p) for p in _PARTICLES)


def surname_core(surname: str) -> str:
    """A folded surname less its leading particles ("bin laden" -> "laden",
    "al asad" -> "asad", "von der leien" -> "leien"); empty when it has
    none. Copy drops them as often as it spells them differently (Assad,
    al-Assad; bin Laden, ben Laden)."""
    words = surname.split()
    start = 0
    while start < len(words) - 1 and words[start] in _PARTICLES_FOLDED:
        start += 1
    return " ".join(words[start:]) if start else ""


def name_key(name: str, entity_type: str) -> str:
    """The registry key of a cleaned name: ``PERSON:vladimir selenski``,
    ``ORG:nato``. People use their first given name only (middle names come
    and go between outlets); an initial stays in the key as evidence
    (``PERSON:i murai`` - j folds to i - is not ``PERSON:m murai``; the
    registry joins "V. Zelensky" to the one Zelensky whose given name
    starts with V)."""
    if entity_type == "PERSON":
        given, surname = person_parts(name)
        first = given.split()[0] if given else ""
        return f"PERSON:{first} {surname}".replace(": ", ":") if surname else ""
    folded = fold(name)
    return f"{entity_type}:{folded}" if folded else ""


# Two folded given names this alike are one name spelt two ways
# ("rekep"/"redshep" for Recep/Реджеп, "beniamin"/"biniamin"); "ioe"/"iill"
# (Joe/Jill), "danil"/"daria" (0.6) are not. difflib's ratio: 2 * matching
# characters / total.
GIVEN_SIMILARITY = 0.65


def given_names_match(a: str, b: str) -> bool:
    """Whether two folded first given names can be the same name: equal,
    one an initial of the other, spellings of one Wikidata given name
    (:func:`given_name_items`: Jarosław/Yaroslav, Mykola/Nikolai,
    Sviatlana/Svetlana), or spelling variants (first letter equal and
    similarity at least :data:`GIVEN_SIMILARITY`); never a man's name and a
    woman's (Aleksandr/Aleksandra)."""
    if not a or not b:
        return True
    if a == b or (len(a) == 1 and b.startswith(a)) or (len(b) == 1 and a.startswith(b)):
        return True
    items = given_name_items()
    ours, theirs = items.get(a), items.get(b)
    if ours and theirs and {ours[1], theirs[1]} == {"M", "F"}:
        return False  # Aleksandr is not Aleksandra, however alike
    if ours and theirs and ours[0] & theirs[0]:
        return True
    return a[0] == b[0] and SequenceMatcher(None, a, b).ratio() >= GIVEN_SIMILARITY


def given_names_fit(a: str, b: str) -> bool:
    """Whether two cleaned person names can be one person as far as their
    first given names tell: either has none, they match
    (:func:`given_names_match`), or - one name Latin, the other not - the
    Latin one as Cyrillic copy transcribes it (services.enrich.transcribe:
    "Giancarlo" read as Italian is "Джанкарло", "Jan" as Polish "Ян") is
    the other, or a spelling of its Wikidata given name ("Hansi" read as
    German is "Гансі", not "Ганна", however alike)."""
    ours, theirs = person_parts(a)[0].split(), person_parts(b)[0].split()
    if not ours or not theirs or given_names_match(ours[0], theirs[0]):
        return True
    if is_latin(a) == is_latin(b):
        return False
    latin, other = (a, theirs[0]) if is_latin(a) else (b, ours[0])
    items = given_name_items()
    theirs_items = items.get(other, (frozenset(), ""))[0]
    other = soften(other)
    for reading in readings(latin):
        given = person_parts(reading)[0].split()
        # a reading is a guess: it must give the very name (no similarity)
        if given and (soften(given[0]) == other
                      or theirs_items & items.get(given[0], (frozenset(), ""))[0]):
            return True
    return False


GIVEN_NAME_VARIANTS_FILE = Path(__file__).parent / "data" / "given_name_variants.tsv"


@cache
def _given_name_table() -> tuple[dict[str, tuple[frozenset[int], str]], dict[int, str],
                                 dict[int, frozenset[str]]]:
    """(folded spelling -> (items, gender), item -> its first spelling folded,
    item -> its spellings folded) from ``data/given_name_variants.tsv``."""
    items: dict[str, set[int]] = {}
    genders: dict[str, set[str]] = {}
    first: dict[int, str] = {}
    spelt: dict[int, set[str]] = {}
    for line in GIVEN_NAME_VARIANTS_FILE.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        item, gender, spellings = line.split("\t")
        number = int(item[1:])
        for spelling in spellings.split():
            key = fold.__wrapped__(spelling)
            if len(key) >= 3:
                items.setdefault(key, set()).add(number)
                genders.setdefault(key, set()).add(gender)
                first.setdefault(number, key)
                spelt.setdefault(number, set()).add(key)
    table = {k: (frozenset(v), g.pop() if len(g := genders[k] - {"?"}) == 1 else "?")
             for k, v in items.items()}
    return table, first, {n: frozenset(v) for n, v in spelt.items()}


def given_name_items() -> dict[str, tuple[frozenset[int], str]]:
    """Folded given name -> (the Wikidata items it spells, its gender: M or
    F when those of its items that have one agree, else "?"), from
    ``data/given_name_variants.tsv`` (built from the rigour package's
    Wikidata table by scripts/build_given_name_variants.py)."""
    return _given_name_table()[0]


@cache
def given_name_canonical() -> dict[str, str]:
    """Folded given name -> the form keys use: the first spelling (in the
    table's order) of the lowest-numbered Wikidata item it spells whose
    first spelling has the same initial. So Volodymyr, Vladimir, Wladimir,
    Владимир and Володимир are all ``vladimir``; a spelling of two items
    takes the older item's form. A name the table lacks, or whose items all
    begin with another letter (Olena, whose item is Elena's), is its own
    form."""
    table, first, _ = _given_name_table()
    out = {}
    for key, (numbers, _) in table.items():
        # the form keeps the initial, which keys hold as evidence ("J. Biden")
        same = [n for n in numbers if first[n][:1] == key[:1]]
        out[key] = first[min(same)] if same else key
    return out


@lru_cache(maxsize=4096)
def given_name_spellings(name: str) -> frozenset[str]:
    """Every folded spelling of the Wikidata items the folded given name
    ``name`` spells, of its gender or none ("vladimir" -> volodimir,
    vlodsimiers ...); empty when the table lacks it."""
    table, _, spelt = _given_name_table()
    found = table.get(name)
    if found is None:
        return frozenset()
    numbers, gender = found
    out = {s for n in numbers for s in spelt.get(n, ())}
    return frozenset(s for s in out if gender == "?" or table[s][1] in (gender, "?"))


GIVEN_NAME_NICKNAMES_FILE = Path(__file__).parent / "data" / "given_name_nicknames.tsv"


@cache
def _nickname_pairs() -> frozenset[tuple[str, str]]:
    """Folded (name, nickname) pairs, both ways round, from
    ``data/given_name_nicknames.tsv``; each name also in its
    :func:`given_name_canonical` form, as :func:`person_parts` gives it."""
    canonical = given_name_canonical()

    def forms(word: str) -> set[str]:
        folded = fold(word)
        return {folded, canonical.get(folded, folded)} - {""}

    pairs: set[tuple[str, str]] = set()
    for line in GIVEN_NAME_NICKNAMES_FILE.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        name, nicknames = line.split("\t")
        for nickname in nicknames.split():
            pairs.update((a, b) for a in forms(name) for b in forms(nickname) if a != b)
            pairs.update((b, a) for a in forms(name) for b in forms(nickname) if a != b)
    return frozenset(pairs)


def nicknames_related(a: str, b: str) -> bool:
    """Whether one folded first given name is an English nickname of the
    other (Ted and Edward, Bill and William; the ``nicknames`` package's
    table, built by scripts/build_given_name_nicknames.py), and the two are
    not a man's name and a woman's. Weaker evidence than
    :func:`given_names_match`: Ted is also Theodore, Bill also Robert; so
    the entity step uses it only between two people of one story, never
    across stories."""
    if (a, b) not in _nickname_pairs():
        return False
    items = given_name_items()
    genders = {items[n][1] for n in (a, b) if n in items}
    return not {"M", "F"} <= genders


_ACRONYM_STOP = frozenset({"of", "the", "and", "for", "on", "in", "de", "des", "du", "la",
                           "le", "et", "y"})


def acronym(name: str) -> str:
    """Initials of a multi-word name, ignoring short function words:
    ``North Atlantic Treaty Organization`` -> ``NATO``. Empty for one word."""
    words = [w for w in re.split(r"[\s\-]+", name) if w and w.lower() not in _ACRONYM_STOP]
    if len(words) < 2:
        return ""
    return "".join(w[0] for w in words if w[0].isalpha()).upper()


# ----------------------------------------------------- Cyrillic case forms
# Ukrainian endings of the feminine -ія names that a Russian morphology
# leaves as printed (Russian writes Летицию, Ukrainian Летицію)
_UKRAINIAN_IA = (("ією", "ія"), ("ію", "ія"), ("ії", "ія"))


def nominative_person(printed: str, normal: str, language: str) -> str:
    """A Cyrillic person's name in the nominative, completing the normal
    form a Russian morphology gave (``normal``, one word per printed word):
    a surname left as printed in the case of its given name loses the given
    name's ending when that ending is two letters or more ("Карлушем
    Моэдашем", normal "Карлуш Моэдашем" -> "Карлуш Моэдаш": the instrumental
    -ем of a foreign surname the model does not know); in Ukrainian, a word
    left as printed ending in -ію/-ією/-ії ends in -ія ("Летицію" ->
    "Летиція"). Anything else is ``normal`` unchanged."""
    words, lemma = printed.split(), normal.split()
    if len(words) != len(lemma):
        return normal
    out = list(lemma)
    if language == "uk":
        for i, (word, base) in enumerate(zip(words, lemma, strict=True)):
            if word != base:
                continue
            for ending, nominative in _UKRAINIAN_IA:
                if word.endswith(ending) and len(word) - len(ending) >= 2:
                    out[i] = word[:-len(ending)] + nominative
                    break
    if len(words) >= 2:
        given, base, last = words[0], out[0], words[-1]
        ending = given[len(base):] if given.startswith(base) else ""
        if (len(ending) >= 2 and out[-1] == last and last.endswith(ending)
                and len(last) - len(ending) >= 3):
            out[-1] = last[:-len(ending)]
    return " ".join(out)


def feminine_given_readings(printed: str, normal: str) -> list[str]:
    """The other nominative a Cyrillic full name's given name may have when
    a morphology read its -у/-ю as a man's dative: the accusative of a
    woman's name ends so too ("Джорджу Мелони" is the accusative of
    Джорджа, not the dative of Джордж, when the surname does not decline).
    Returns the name with that given name, or nothing."""
    words, lemma = printed.split(), normal.split()
    if len(words) < 2 or len(words) != len(lemma) or is_latin(printed):
        return []
    given, base = words[0], lemma[0]
    for ending, nominative in (("у", "а"), ("ю", "я")):
        if given.endswith(ending) and base in (given[:-1], given[:-1] + "й", given[:-1] + "ь"):
            return [" ".join([given[:-1] + nominative, *lemma[1:]])]
    return []


# ------------------------------------------------------------ cross-script
def _soft_key(name: str) -> str:
    key = name_key(name, "PERSON")
    return f"PERSON:{soften(key[len('PERSON:'):])}" if key else ""


def surname_surface(name: str, surname: str | None = None) -> str:
    """The words of ``name`` that make its surname as written (``surname``
    is its folded form, from :func:`person_parts` when not given):
    "Ursula von der Leyen" -> "von der Leyen", "Зеленський Володимир" ->
    "Зеленський"."""
    if surname is None:
        surname = person_parts(name)[1]
    count = len(surname.split())
    words = name.split()
    if len(words) == 2 and fold(words[0]) == surname:  # "Зеленський Володимир"
        return words[0]
    return " ".join(words[-count:]) if count else name


def cross_script_keys(name: str) -> tuple[list[str], list[str]]:
    """(keys a person's full name is written under, keys it looks for) to
    meet its spelling in another script. A Latin name is written under each
    way Cyrillic copy transcribes it (services.enrich.transcribe.readings:
    "Giancarlo Giorgetti" read as Italian is "Джанкарло Джорджетти",
    ``RL:PERSON:dshankarlo dshordsheti``) and looks for Cyrillic names
    written so (``RC:``); a Cyrillic name is written under its own key,
    softened (``RC:``), and looks for the Latin ones (``RL:``). Latin names
    never meet each other this way (a reading is not a spelling); a
    one-word name has none."""
    written, looked = _cross_script_keys(name)
    return list(written), list(looked)


@lru_cache(maxsize=16384)
def _cross_script_keys(name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    # every candidate of every batch asks: a name met again is not read again
    if len(fold(name).split()) < 2:
        return (), ()
    if is_latin(name):
        keys = sorted({k for r in readings(name) if (k := _soft_key(r))})
        return tuple(f"RL:{k}" for k in keys), tuple(f"RC:{k}" for k in keys)
    key = _soft_key(name)
    return ((f"RC:{key}",), (f"RL:{key}",)) if key else ((), ())


# ------------------------------------------------------------ skeletons
# How a language writes the sounds other languages spell differently, applied
# to a lower-case Latin-script surname before folding (Łukaszenka, Lukaschenko,
# Loukachenko, Miedwiediew, Netanjahu, Poutine all come out as the English
# transliteration would).
_WRITING: dict[str, tuple[tuple[str, str], ...]] = {
    "pl": (("sz", "sh"), ("cz", "ch"), ("rz", "zh"), ("ch", "kh"), ("ie", "e"), ("c", "ts"),
           ("w", "v"), ("ł", "l")),
    "de": (("tsch", "ch"), ("sch", "sh"), ("ch", "kh"), ("z", "ts"), ("w", "v"), ("j", "y")),
    "fr": (("ou", "u"), ("ch", "sh"), ("j", "zh")),
    "cs": (("ch", "kh"), ("c", "ts"), ("w", "v")),
}
_BELARUSIAN_AS_RUSSIAN = (("ts", "t"), ("dz", "d"), ("ou", "ov"))
_SKELETON_VOWELS = re.compile(r"[aeiouy]")
# h, kh and g are one sound class: Russian writes foreign h as г (Нетаниягу)
_SKELETON_CLASSES = (("kh", "h"), ("g", "h"))


SURNAME_SIMILARITY = 0.8


def surnames_alike(a: str, b: str) -> bool:
    """Two surnames as written (any script) are one surname spelt two ways,
    not just alike in their consonants: a form of each (folded, softened;
    for a Latin one also read as Cyrillic copy would transcribe it) at least
    :data:`SURNAME_SIMILARITY` alike ("Poutine"/"Putin", "Łukaszenka"/
    "Lukashenka"), or one a case form of the other ("Зеленському"/
    "Zelensky"); not "Mueller"/"Millar", whose skeletons agree."""
    def forms(name: str) -> set[str]:
        return {soften(fold(f).replace(" ", "")) for f in (name, *readings(name))}

    def case_form(x: str, y: str) -> bool:
        # a Slavic case ending on the same stem (Зеленському, Zełenskiego)
        short, long = sorted((x, y), key=len)
        return len(short) >= 4 and long.startswith(short[:-1]) and len(long) - len(short) <= 3

    plain_a, plain_b = soften(fold(a).replace(" ", "")), soften(fold(b).replace(" ", ""))
    # one side read, the other as written: two guesses never meet halfway
    return any(x == y or case_form(x, y)
               or SequenceMatcher(None, x, y).ratio() >= SURNAME_SIMILARITY
               for x, y in [*((f, plain_b) for f in forms(a)),
                            *((plain_a, f) for f in forms(b))])


def surname_skeletons(surname: str, language: str | None = None) -> frozenset[str]:
    """Transliteration-blind keys of a surname (with its particles): the
    folded surname's first letter and its consonants, h/kh/g as one class,
    a silent final e dropped; once as written, once read with the
    spelling rules of ``language`` (:data:`_WRITING`), once per way Cyrillic
    copy may transcribe it (services.enrich.transcribe: "Kowalczyk" in an
    English story is still read as Polish, Ковальчик), and each Latin form
    once more as Russian writes a Belarusian name (ts/t, dz/d, ou/ov:
    Tsikhanouskaya, Cichanouska and Тихановская share ``thnvsk``). Two surnames that
    share a skeleton may be one name spelt two ways ("Putin", "Poutine",
    "Путин" -> "ptn"; "Netanjahu", "Nétanyahou", "Нетаниягу" -> "ntnh");
    the registry joins them only under guards (same given name or none, one
    person with the skeleton)."""
    out = set()
    lowered = " ".join(surname.lower().split())
    forms = {lowered}
    rules = _WRITING.get((language or "").split("-")[0].lower())
    if rules and is_latin(lowered):
        written = lowered
        for old, new in rules:
            written = written.replace(old, new)
        forms.add(written)
    for form in list(forms):
        if is_latin(form):
            # a Belarusian name read the Russian way: Tsikhanouskaya is
            # Тихановская (ц/т, дз/д, ў/в)
            russian = form
            for old, new in _BELARUSIAN_AS_RUSSIAN:
                russian = russian.replace(old, new)
            forms.add(russian)
    # read the way Cyrillic copy transcribes it, by every orthography
    # (Kowalczyk as Polish is Ковальчик; Tijanóvskaya as Spanish has kh)
    forms.update(readings(lowered))
    for form in forms:
        folded = fold(form).replace(" ", "")
        if len(folded) < 3:
            continue
        if folded.endswith("e") and len(folded) > 4:
            folded = folded[:-1]
        for old, new in _SKELETON_CLASSES:
            folded = folded.replace(old, new)
        skeleton = folded[0] + _SKELETON_VOWELS.sub("", folded[1:])
        skeleton = _DOUBLE.sub(r"\1", skeleton)
        if len(skeleton) >= 3:
            out.add(skeleton)
    return frozenset(out)
